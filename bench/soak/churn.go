// churn.go: what the soak does to the cluster: a client requesting the VIP throughout, real servers flapping, and director failovers.

package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// client requests http://VIP/ from the client namespace every period,
// one connection each, and records when it got an answer.
type client struct {
	mu       sync.Mutex
	requests int
	errors   int
	answered []time.Duration // since t0, ascending
}

func (c *client) run(ctx context.Context, t0 time.Time, period time.Duration) error {
	return inNS("client", func() error {
		for ctx.Err() == nil {
			start := time.Now()
			ok := getOK(net.JoinHostPort(vip, "80"), time.Second)
			c.mu.Lock()
			c.requests++
			if ok {
				c.answered = append(c.answered, time.Since(t0))
			} else {
				c.errors++
			}
			c.mu.Unlock()
			if d := period - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
		return nil
	})
}

// getOK sends one GET / and reports a 200 answer (from the calling
// thread's namespace).
func getOK(addr string, timeout time.Duration) bool {
	c, err := net.DialTimeout("tcp4", addr, timeout)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr); err != nil {
		return false
	}
	b := make([]byte, 64)
	n, _ := c.Read(b)
	return strings.HasPrefix(string(b[:n]), "HTTP/1.") && strings.Contains(string(b[:n]), " 200 ")
}

// longestGap is the longest time without an answer that overlaps
// [from, to] (from the answer before to the answer after).
func (c *client) longestGap(from, to time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var longest time.Duration
	for i := 1; i < len(c.answered); i++ {
		a, b := c.answered[i-1], c.answered[i]
		if b >= from && a <= to && b-a > longest {
			longest = b - a
		}
	}
	return longest
}

// flapper takes one real server down and back at random: its web server
// stopped (SIGTERM) and restarted, black-holed (its cable pulled), or
// failing its health check (the demo server's SIGUSR1/SIGUSR2).
type flapper struct {
	bin   string // the demo binary, which is also the web server
	web   string
	mu    sync.Mutex
	flaps map[string]int
}

var flapModes = []string{"restart", "blackhole", "unhealthy"}

func (f *flapper) run(ctx context.Context, log func(string, ...any)) {
	for {
		if !sleepCtx(ctx, randIn(10*time.Second, 30*time.Second)) {
			return
		}
		mode := flapModes[rand.IntN(len(flapModes))]
		downFor := randIn(3*time.Second, 8*time.Second)
		if err := f.flap(mode, downFor); err != nil {
			log("flap %s %s: %v", f.web, mode, err)
			continue
		}
		f.mu.Lock()
		f.flaps[mode]++
		f.mu.Unlock()
	}
}

// flap takes the server down by mode for downFor, then back (even when
// the soak is ending: the cluster stays whole).
func (f *flapper) flap(mode string, downFor time.Duration) error {
	switch mode {
	case "restart":
		signalNS(f.web, syscall.SIGTERM)
		for i := 0; i < 100 && len(nsPids(f.web)) > 0; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(downFor)
		return f.startWeb()
	case "blackhole":
		if err := setHubPort(f.web, false); err != nil {
			return err
		}
		time.Sleep(downFor)
		return setHubPort(f.web, true)
	case "unhealthy":
		signalNS(f.web, syscall.SIGUSR1)
		time.Sleep(downFor)
		signalNS(f.web, syscall.SIGUSR2)
	}
	return nil
}

// startWeb starts the real server's web server as the demo does ("demo
// serve -name web1" in its namespace), in the background.
func (f *flapper) startWeb() error {
	out, err := os.OpenFile(filepath.Join(workDir, f.web+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", "netns", "exec", ns(f.web), f.bin, "serve", "-name", f.web)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	go func() { cmd.Wait(); out.Close() }()
	return nil
}

// signalNS sends sig to every process in host's namespace.
func signalNS(host string, sig syscall.Signal) {
	for _, p := range nsPids(host) {
		_ = syscall.Kill(p, sig)
	}
}

// failover is one director failover the soak caused.
type failover struct {
	method   string
	at, end  time.Duration // since t0: the cause, and the end of its window
	from, to string
	moved    time.Duration // until the VIP was on the other director
	ok       bool
	outage   time.Duration // the client's longest gap in [at, end]
	err      string
}

// failoverMethods: hb_standby on the active director, and its uplink
// (eth0) cut so ipfail moves the VIP, then plugged back. In this order
// each director gets both (from director1: standby to director2, cut
// back to director1, cut to director2 and auto_failback back to
// director1, standby to director2; then director2's standby).
var failoverMethods = []string{"hb_standby", "uplink-cut", "uplink-cut", "hb_standby"}

// doFailover moves the VIP away from the active director by method.
func doFailover(bin, method string, t0 time.Time) failover {
	f := failover{method: method, at: time.Since(t0), from: holder()}
	if f.from == "" {
		f.err = "no single director held the VIP"
		f.end = time.Since(t0)
		return f
	}
	other := map[string]string{director1: director2, director2: director1}[f.from]
	start := time.Now()
	var err error
	switch method {
	case "hb_standby":
		_, err = run(append(os.Environ(), "HA_API_SOCKET="+filepath.Join(workDir, f.from, "run", "register")),
			filepath.Join(bin, "hb_standby"))
	case "uplink-cut":
		err = setHubPort(f.from, false)
	}
	if err == nil {
		err = waitUntil(30*time.Second, func() bool { return holder() == other })
		f.moved = time.Since(start)
		f.ok = err == nil
	}
	if method == "uplink-cut" {
		time.Sleep(5 * time.Second)
		if e := setHubPort(f.from, true); e != nil && err == nil {
			err = e
		}
		// Plugged back, the preferred director may take the VIP back
		// (auto_failback on): that hand-over is part of this window.
		time.Sleep(10 * time.Second)
	}
	if err != nil {
		f.err = err.Error()
	}
	f.to = holder()
	f.end = time.Since(t0)
	return f
}

// waitUntil polls cond every 20 ms for up to within.
func waitUntil(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// randIn is a uniformly random duration in [lo, hi].
func randIn(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}

// sleepCtx sleeps d unless ctx ends first; it reports whether ctx is
// still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
