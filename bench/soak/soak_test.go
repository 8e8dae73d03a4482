// soak_test.go: TestSoak runs test/demo's cluster under churn for -soak.duration, samples every daemon and prints whether they stay flat (not in CI: it skips without the flag).

package soak

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

var (
	soakDuration = flag.Duration("soak.duration", 0, "how long to soak (e.g. 1h); 0 skips TestSoak")
	soakInterval = flag.Duration("soak.interval", 10*time.Second, "time between samples of the daemons")
	soakFailover = flag.Duration("soak.failover", 0, "mean time between failovers (±25 %); 0: 4 min, or a quarter of the duration when shorter")
	soakWarmup   = flag.Duration("soak.warmup", 0, "samples left out of the verdict at the start; 0: 5 min, or a sixth of the duration when shorter")
	soakCSV      = flag.String("soak.csv", filepath.Join(os.TempDir(), "soak.csv"), "every sample, as CSV")
	soakSummary  = flag.String("soak.summary", filepath.Join(os.TempDir(), "soak-summary.txt"), "the summary printed at the end, also written here")
)

func TestSoak(t *testing.T) {
	total := *soakDuration
	if total <= 0 {
		t.Skip("the soak runs only when asked: sh bench/soak.sh [duration] (go test ./bench/soak -run TestSoak -args -soak.duration 1h)")
	}
	netns.RequireRoot(t)
	bin := buildBinaries(t)

	// Ctrl-C or a kill: remove the cluster before going.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; ok {
			fmt.Fprintln(os.Stderr, "soak: interrupted: removing the cluster")
			down(bin)
			os.Exit(130)
		}
	}()

	t.Logf("soak: starting test/demo's cluster (demo -ci -keep, prefix %s)", prefix)
	if out, err := up(bin); err != nil {
		down(bin)
		t.Fatalf("demo -keep: %v\n%s", err, out)
	}
	defer func() {
		if err := down(bin); err != nil {
			t.Errorf("demo -down: %v", err)
		}
	}()

	csv, err := os.Create(*soakCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer csv.Close()
	io.WriteString(csv, csvHeader)

	every := *soakFailover
	if every <= 0 {
		every = min(4*time.Minute, total/4)
	}
	t0 := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), t0.Add(total))
	defer cancel()
	logf := func(format string, args ...any) {
		t.Logf("%7.1fs "+format, append([]any{time.Since(t0).Seconds()}, args...)...)
	}

	var wg sync.WaitGroup
	c := &client{}
	wg.Add(1)
	go func() { defer wg.Done(); c.run(ctx, t0, 100*time.Millisecond) }()
	var flappers []*flapper
	for _, w := range webs {
		f := &flapper{bin: filepath.Join(bin, "demo"), web: w, flaps: map[string]int{}}
		flappers = append(flappers, f)
		wg.Add(1)
		go func() { defer wg.Done(); f.run(ctx, logf) }()
	}
	var failovers []failover
	var fmu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			if !sleepCtx(ctx, randIn(every*3/4, every*5/4)) {
				return
			}
			f := doFailover(bin, failoverMethods[i%len(failoverMethods)], t0)
			logf("failover %d at %.0fs (%s): the VIP left %s in %v, now on %s %s", i+1, f.at.Seconds(), f.method, f.from,
				f.moved.Round(time.Millisecond), f.to, f.err)
			fmu.Lock()
			failovers = append(failovers, f)
			fmu.Unlock()
		}
	}()

	// Sample until the end.
	bySeries := map[string]*series{}
	var order []string
	pids := map[string]map[int]bool{}
	samples := 0
	add := func(key string, m measure, p point) {
		k := key + " " + string(m)
		s := bySeries[k]
		if s == nil {
			s = &series{daemon: key, m: m}
			bySeries[k] = s
			order = append(order, k)
		}
		if !math.IsNaN(p.v) {
			s.ps = append(s.ps, p)
		}
	}
	for {
		at := time.Since(t0)
		ss := take(at)
		writeCSV(csv, ss)
		for _, s := range ss {
			key := s.director + "/" + s.daemon
			if pids[key] == nil {
				pids[key] = map[int]bool{}
			}
			if s.pid != 0 {
				pids[key][s.pid] = true
			}
			if s.daemon != "ipfail" {
				add(key, goroutines, point{at, s.goroutines})
			}
			add(key, fds, point{at, s.fds})
			add(key, rssMiB, point{at, s.rss})
		}
		if samples++; samples%30 == 1 {
			c.mu.Lock()
			logf("sampled; client %d requests, %d errors", c.requests, c.errors)
			c.mu.Unlock()
		}
		if !sleepCtx(ctx, *soakInterval) {
			break
		}
	}
	cancel()
	wg.Wait()
	ran := time.Since(t0)

	// The summary.
	var b strings.Builder
	warmup := *soakWarmup
	if warmup <= 0 {
		warmup = min(5*time.Minute, total/6)
	}
	window := min(10*time.Minute, (ran-warmup)/3).Round(time.Second)
	fmt.Fprintf(&b, "soak: %v of test/demo's cluster under churn, a sample every %v (%s)\n\n", ran.Round(time.Second), *soakInterval, *soakCSV)
	var ss []series
	for _, k := range order {
		ss = append(ss, *bySeries[k])
	}
	allFlat := writeTable(&b, ss, warmup, ran, window)
	var restarted []string
	var keys []string
	for k := range pids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(pids[k]) != 1 {
			restarted = append(restarted, fmt.Sprintf("%s (%d pids)", k, len(pids[k])))
		}
	}
	if len(restarted) > 0 {
		fmt.Fprintf(&b, "daemons restarted or missing during the run: %s\n", strings.Join(restarted, ", "))
	} else {
		fmt.Fprintf(&b, "every daemon kept its pid throughout: the series are continuous.\n")
	}

	fmt.Fprintf(&b, "\nflaps (each real server down 3-8 s every 10-30 s):")
	totalFlaps := 0
	for _, f := range flappers {
		f.mu.Lock()
		n := 0
		for _, v := range f.flaps {
			n += v
		}
		totalFlaps += n
		fmt.Fprintf(&b, " %s %d (%d restart, %d blackhole, %d unhealthy);", f.web, n, f.flaps["restart"], f.flaps["blackhole"], f.flaps["unhealthy"])
		f.mu.Unlock()
	}
	fmt.Fprintf(&b, " total %d\n", totalFlaps)

	failed := 0
	for _, f := range failovers {
		if !f.ok {
			failed++
		}
	}
	fmt.Fprintf(&b, "failovers (every %v ±25 %%, by %s in turn): %d, %d did not move the VIP\n", every, strings.Join(failoverMethods, ", "), len(failovers), failed)
	fmt.Fprintf(&b, "  %8s  %-10s  %-9s  %-9s  %9s  %14s  %s\n", "at", "method", "from", "now on", "moved in", "client outage", "")
	for i := range failovers {
		f := &failovers[i]
		f.outage = c.longestGap(f.at, f.end)
		fmt.Fprintf(&b, "  %7.0fs  %-10s  %-9s  %-9s  %7dms  %12dms  %s\n", f.at.Seconds(), f.method, f.from, f.to,
			f.moved.Milliseconds(), f.outage.Milliseconds(), f.err)
	}
	longest := c.longestGap(0, ran)
	c.mu.Lock()
	fmt.Fprintf(&b, "client: %d requests to %s:80 (one every 100 ms, 1 s timeout), %d errors (%.2f %%), longest outage %v\n",
		c.requests, vip, c.errors, 100*float64(c.errors)/math.Max(1, float64(c.requests)), longest.Round(time.Millisecond))
	c.mu.Unlock()
	verdict := "FLAT: no daemon grows"
	if !allFlat {
		verdict = "GROWING: see the table"
	}
	fmt.Fprintf(&b, "verdict: %s\n", verdict)

	fmt.Print("\n" + b.String())
	if err := os.WriteFile(*soakSummary, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
	if !allFlat {
		t.Error("a daemon's goroutines, fds or RSS grew (table above)")
	}
	if len(restarted) > 0 {
		t.Errorf("daemons restarted during the soak: %v", restarted)
	}
	if failed > 0 {
		t.Errorf("%d of %d failovers did not move the VIP", failed, len(failovers))
	}
}

// buildBinaries builds the daemons, hb_standby and the demo into a
// directory that ipfail (run as hacluster when it exists) can read.
func buildBinaries(t *testing.T) string {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, d := range []string{filepath.Dir(bin), bin} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", bin+"/", "./heartbeatd", "./heartbeatd/cmd/cl_status",
		"./heartbeatd/cmd/hb_standby", "./ipfail", "./ldirectord", "./test/demo")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
