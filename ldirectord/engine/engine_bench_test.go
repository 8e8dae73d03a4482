// engine_bench_test.go: the engine's share of a check at scale.

package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/hasuite/hasuite/ldirectord/check"
)

// BenchmarkDueResult10k is the engine's work per check with 10,000
// reals in 1,000 virtuals checked every second: the due checks handed
// out every 5 ms (the daemon's quantum), each result fed back 1 ms later.
// The in-flight checks' results are held a step, so results and due
// checks interleave as in the daemon.
func BenchmarkDueResult10k(b *testing.B) {
	lines := []string{"checkinterval = 1", "checktimeout = 1", "quiescent = no"}
	for v := range 1000 {
		lines = append(lines, fmt.Sprintf("virtual = 10.1.%d.%d:80", v/250, v%250+1))
		for r := range 10 {
			lines = append(lines, fmt.Sprintf("\treal = 10.%d.%d.%d:80 gate", 2+v/250, v%250, r+1))
		}
		lines = append(lines, "\tservice = http", "\tchecktype = negotiate", "\trequest = \"/\"", "\treceive = \"ok\"")
	}
	now := t0
	e := newEngine(b, Options{Now: func() time.Time { return now }}, lines...)
	ok := check.Result{OK: true}
	var held []Job
	// Every real up first, so the loop below changes no state.
	for range 400 {
		now = now.Add(5 * time.Millisecond)
		for _, j := range e.Due(now) {
			e.Result(now, j.ID, ok)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for checks := 0; checks < b.N; {
		now = now.Add(5 * time.Millisecond)
		for _, j := range held {
			e.Result(now, j.ID, ok)
		}
		held = e.Due(now)
		checks += len(held)
	}
}
