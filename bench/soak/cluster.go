// cluster.go: the soak's cluster is test/demo's, started with "demo -keep" under its own namespace prefix with metrics on; helpers to reach into it.

package soak

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The demo's names and addresses (test/demo/conf.go) under the soak's
// prefix: HASUITE_DEMO_PREFIX keeps it apart from a demo run alongside.
const (
	prefix    = "hssoak"
	director1 = "director1"
	director2 = "director2"
	vip       = "192.0.2.100"
	hbMetrics = "127.0.0.1:9707" // test/demo/conf.go, with HASUITE_DEMO_METRICS=1
	ldMetrics = "127.0.0.1:9708"
)

var (
	directors = []string{director1, director2}
	webs      = []string{"web1", "web2", "web3"}
	workDir   = filepath.Join(os.TempDir(), prefix)
)

// demoEnv is the environment of every demo command the soak runs.
var demoEnv = append(os.Environ(), "HASUITE_DEMO_PREFIX="+prefix, "HASUITE_DEMO_METRICS=1")

func ns(host string) string { return prefix + "-" + host }

// run runs a command to completion; an error carries its output.
func run(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// up builds the cluster and leaves it running ("demo -ci -keep": the
// demo's whole narrated scenario first, so it starts from a checked state).
func up(bin string) (string, error) {
	return run(demoEnv, filepath.Join(bin, "demo"), "-ci", "-keep", "-bin", bin)
}

// down removes the cluster ("demo -down").
func down(bin string) error {
	_, err := run(demoEnv, filepath.Join(bin, "demo"), "-down")
	return err
}

// nsPids lists the processes in host's namespace.
func nsPids(host string) []int {
	out, _ := run(nil, "ip", "netns", "pids", ns(host))
	var pids []int
	for _, f := range strings.Fields(out) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// daemonPid finds a daemon's process on a director: heartbeatd and
// ldirectord by their pid files, ipfail by its name (heartbeatd's child).
func daemonPid(director, daemon string) int {
	pidFile := map[string]string{"heartbeatd": "heartbeatd.pid", "ldirectord": "ldirectord.ldirectord.cf.pid"}[daemon]
	if pidFile != "" {
		b, err := os.ReadFile(filepath.Join(workDir, director, pidFile))
		if err != nil {
			return 0
		}
		p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if p > 0 && unix.Kill(p, 0) == nil {
			return p
		}
		return 0
	}
	for _, p := range nsPids(director) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.TrimSpace(string(b)) == daemon {
			return p
		}
	}
	return 0
}

// inNS runs f on a fresh OS thread inside host's namespace; the thread
// is discarded afterwards.
func inNS(host string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		fd, err := unix.Open("/run/netns/"+ns(host), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// httpGet sends GET path to addr from host's namespace (HTTP/1.0, one
// connection) and returns the status line and body.
func httpGet(host, addr, path string, timeout time.Duration) (status, body string, err error) {
	err = inNS(host, func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr); err != nil {
			return err
		}
		r := bufio.NewReader(c)
		status, err = r.ReadString('\n')
		if err != nil {
			return err
		}
		var b strings.Builder
		inBody := false
		for {
			line, err := r.ReadString('\n')
			if inBody {
				b.WriteString(line)
			} else if line == "\r\n" {
				inBody = true
			}
			if err != nil {
				break
			}
		}
		body = b.String()
		return nil
	})
	return strings.TrimSpace(status), body, err
}

// goroutineCount reads go_goroutines from a metrics endpoint in host's
// namespace.
func goroutineCount(host, addr string) (float64, error) {
	status, body, err := httpGet(host, addr, "/metrics", 3*time.Second)
	if err != nil {
		return 0, err
	}
	if !strings.Contains(status, " 200") {
		return 0, fmt.Errorf("%s/metrics: %s", addr, status)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s/metrics: no go_goroutines", addr)
}

// holder is the director holding the VIP on a plugged eth0, or "".
func holder() string {
	h := ""
	for _, d := range directors {
		out, err := run(nil, "ip", "-n", ns(d), "-4", "-o", "addr", "show", "dev", "eth0")
		link, _ := run(nil, "ip", "-n", ns(d), "-o", "link", "show", "dev", "eth0")
		if err == nil && strings.Contains(out, " "+vip+"/") && strings.Contains(link, "LOWER_UP") {
			if h != "" {
				return "" // both: not settled
			}
			h = d
		}
	}
	return h
}

// setHubPort sets the hub end of host's eth0 up or down (its cable).
func setHubPort(host string, up bool) error {
	state := map[bool]string{true: "up", false: "down"}[up]
	_, err := run(nil, "ip", "-n", ns("hub"), "link", "set", host+".eth0", state)
	return err
}
