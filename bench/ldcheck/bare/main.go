// Command bare is the benchmark's floor: hasuite's check loop
// (ldirectord/check.Loop) making the config's plain-http checks, every
// real once per checkinterval, and nothing else: no engine, no IPVS
// table, no logging. Its CPU is the kernel's TCP work for the checks and
// the loop's own; what ours costs above it is the daemon.
//
//	bare LDIRECTORD.CF start
//
// It puts every real "in the table" at once: one "add" line per real in
// $LDCHECK_OPS, in ours/'s format, so the benchmark's window starts.
package main

// main.go: the config's checks, the schedule, the loop.

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"time"

	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
)

// step is how often the loop is stepped, as the daemon's due quantum.
const step = 5 * time.Millisecond

func main() {
	if len(os.Args) != 3 || os.Args[2] != "start" {
		log.Fatal("usage: bare LDIRECTORD.CF start")
	}
	cfg, err := config.Load(os.Args[1], config.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ops, err := openOps()
	if err != nil {
		log.Fatal(err)
	}
	var jobs []check.LoopJob
	var interval time.Duration
	for _, v := range cfg.Virtuals {
		interval = max(v.CheckInterval, cfg.CheckInterval, interval)
		for _, r := range v.Reals {
			port := r.Port
			if port == 0 {
				port = v.Port
			}
			t := check.Target{Protocol: v.Proto, Real: netip.AddrPortFrom(r.Addr, port), Request: v.Request,
				Receive: v.Receive, HTTPMethod: v.HTTPMethod, VirtualHost: v.VirtualHost}
			ex, ok := check.HTTP{Service: v.Service}.Lean(t)
			if !ok {
				log.Fatalf("virtual %s real %s: not a plain-http check the loop runs", v.ID(), t.Real)
			}
			jobs = append(jobs, check.LoopJob{ID: uint64(len(jobs)), Exchange: ex, Timeout: max(v.NegotiateTimeout, cfg.NegotiateTimeout, time.Second)})
			fmt.Fprintf(ops, "%d add %s %s 1\n", time.Now().UnixNano(), v.ID(), t.Real)
		}
	}
	if err := ops.Flush(); err != nil {
		log.Fatal(err)
	}
	if len(jobs) == 0 || interval <= 0 {
		log.Fatal("no reals, or no checkinterval")
	}
	loop, err := check.NewLoop()
	if err != nil {
		log.Fatal(err)
	}
	run(loop, jobs, interval)
}

// run checks jobs[i] at i/len(jobs) of every interval, stepping the loop
// every step; a check still under way when its turn comes again waits a
// round, as the daemon's do.
func run(loop *check.Loop, jobs []check.LoopJob, interval time.Duration) {
	busy := make([]bool, len(jobs))
	start, next, failed := time.Now(), 0, 0
	tick := time.NewTicker(step)
	for now := range tick.C {
		for due := int(now.Sub(start) * time.Duration(len(jobs)) / interval); next < due; next++ {
			i := next % len(jobs)
			if !busy[i] {
				busy[i] = true
				loop.Start(jobs[i], now)
			}
		}
		for _, r := range loop.Step(now) {
			busy[r.ID] = false
			if r.Result.OK {
				continue
			}
			if failed++; failed <= 10 {
				log.Printf("check %d: %v (full %v)", r.ID, r.Result.Err, r.Full)
			}
		}
	}
}

// openOps opens $LDCHECK_OPS for appending (a discarding writer without
// it).
func openOps() (*bufio.Writer, error) {
	path := os.Getenv("LDCHECK_OPS")
	if path == "" {
		return bufio.NewWriter(io.Discard), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return bufio.NewWriter(f), nil // the file stays open while bare runs
}
