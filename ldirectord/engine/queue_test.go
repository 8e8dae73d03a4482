// queue_test.go: the due queue against a scan of every check.

package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hasuite/hasuite/ldirectord/check"
)

// scanNextDue is what NextDue answered before the queue: the earliest next
// of the scheduled checks.
func scanNextDue(e *Engine) time.Time {
	var t time.Time
	for _, c := range e.checks {
		if c.scheduled() && (t.IsZero() || c.next.Before(t)) {
			t = c.next
		}
	}
	return t
}

// TestQueueMatchesScan runs checks with random delays, results and a
// reload that drops, keeps and adds checks, and compares NextDue and Due
// with a scan of every check after each step.
func TestQueueMatchesScan(t *testing.T) {
	cfg := func(first, n int) []string {
		lines := []string{"checkinterval = 1", "virtual = 10.0.0.1:80"}
		for i := first; i < first+n; i++ {
			lines = append(lines, fmt.Sprintf("\treal = 10.0.%d.%d:80 gate", i/200, i%200+1))
		}
		return append(lines, "\tchecktype = connect")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	e := newEngine(t, Options{Rand: rng.Float64}, cfg(0, 50)...)
	now := t0
	type flight struct {
		id  uint64
		end time.Time
	}
	var inflight []flight
	for step := 0; step < 3000; step++ {
		if step == 1500 {
			// Keep 25 of the checks, add 25; in-flight results of dropped
			// ones are ignored.
			e.Reload(parse(t, cfg(25, 50)...))
		}
		if got, want := e.NextDue(), scanNextDue(e); !got.Equal(want) {
			t.Fatalf("step %d: NextDue %v, scan %v", step, got, want)
		}
		var wantDue []string
		for _, c := range e.checks {
			if c.scheduled() && !c.next.After(now) {
				wantDue = append(wantDue, c.target.Real.String())
			}
		}
		jobs := e.Due(now)
		if len(jobs) != len(wantDue) {
			t.Fatalf("step %d: %d jobs due, scan finds %d", step, len(jobs), len(wantDue))
		}
		for i, j := range jobs {
			if j.Target.Real.String() != wantDue[i] {
				t.Fatalf("step %d: job %d is %s, want %s (config order)", step, i, j.Target.Real, wantDue[i])
			}
			inflight = append(inflight, flight{j.ID, now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)})
		}
		now = now.Add(time.Duration(rng.IntN(100)) * time.Millisecond)
		kept := inflight[:0]
		for _, f := range inflight {
			if f.end.After(now) {
				kept = append(kept, f)
				continue
			}
			e.Result(now, f.id, check.Result{OK: rng.IntN(3) > 0})
		}
		inflight = kept
		if e.queue.len()+len(e.jobs) != len(e.checks) {
			t.Fatalf("step %d: %d queued + %d in flight, want %d checks", step, e.queue.len(), len(e.jobs), len(e.checks))
		}
	}
}
