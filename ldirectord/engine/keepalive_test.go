// keepalive_test.go: checkkeepalive: a kept connection per check, closed when its check goes and at Close.

package engine

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hasuite/hasuite/ldirectord/check"
)

// TestKeepAliveLifetime runs a checkkeepalive check twice (one
// connection), reloads unchanged (kept), reloads without the real (closed)
// and checks that Close closes a kept connection too: with the checks run
// by the checker (a worker) and on the check loop (the job's Lean).
func TestKeepAliveLifetime(t *testing.T) {
	t.Run("checker", func(t *testing.T) { testKeepAliveLifetime(t, nil) })
	t.Run("loop", func(t *testing.T) {
		l, err := check.NewLoop()
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		testKeepAliveLifetime(t, l)
	})
}

func testKeepAliveLifetime(t *testing.T, l *check.Loop) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepts, open atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			open.Add(1)
			go func() {
				defer open.Add(-1)
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"))
					}
				}
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	lines := []string{"checkkeepalive=yes", "virtual=10.0.0.1:80", fmt.Sprintf("\treal=127.0.0.1:%d gate", port), "\tservice=http"}
	e := newEngine(t, Options{}, lines...)
	run := func(now time.Time) {
		t.Helper()
		for _, j := range e.Due(now) {
			if _, ok := j.Checker.(*check.KeepAlive); !ok {
				t.Fatalf("checker %T, want *check.KeepAlive", j.Checker)
			}
			var r check.Result
			if l != nil {
				if j.Lean == nil || j.Lean.Keep == nil {
					t.Fatal("no keep-alive exchange for the check loop")
				}
				r = onLoop(t, l, check.LoopJob{ID: j.ID, Exchange: *j.Lean, Timeout: 5 * time.Second})
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r = j.Checker.Check(ctx, *j.Target)
				cancel()
			}
			if !r.OK {
				t.Fatal(r.Err)
			}
			e.Result(now, j.ID, r)
		}
	}
	waitOpen := func(want int32) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); open.Load() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections open, want %d", open.Load(), want)
			}
		}
	}
	run(t0)
	run(t0.Add(time.Minute / 2))
	e.Reload(parse(t, lines...))
	run(t0.Add(time.Minute))
	waitOpen(1)
	if n := accepts.Load(); n != 1 {
		t.Fatalf("%d connections for 3 checks and an unchanged reload, want 1", n)
	}
	e.Reload(parse(t, "virtual=10.0.0.1:80", "\treal=10.0.0.2:80 gate", "\tservice=http"))
	waitOpen(0) // the real is gone: its connection closed

	e = newEngine(t, Options{}, lines...)
	run(t0)
	waitOpen(1)
	e.Close()
	waitOpen(0)
}

// onLoop runs job on l, stepping it until the job has finished.
func onLoop(t *testing.T, l *check.Loop, job check.LoopJob) check.Result {
	t.Helper()
	l.Start(job, time.Now())
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		for _, r := range l.Step(time.Now()) {
			if r.ID == job.ID && !r.Full {
				return r.Result
			}
		}
	}
	t.Fatal("no result from the check loop in 10 s")
	return check.Result{}
}
