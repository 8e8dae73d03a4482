// workers_test.go: the check workers run every due job once, at most MaxChecks at a time.

package daemon

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// burstEngine hands out n jobs at once, then records their results.
type burstEngine struct {
	jobs    []Job
	handed  bool
	mu      sync.Mutex
	results map[uint64]int
	all     chan struct{}
}

func (e *burstEngine) Reload(*config.Config) {}
func (e *burstEngine) Events() []Event       { return nil }
func (e *burstEngine) Desired() []lvs.Virtual {
	return nil
}

func (e *burstEngine) NextDue() time.Time {
	if e.handed {
		return time.Time{}
	}
	return time.Now()
}

func (e *burstEngine) Due(time.Time) []Job {
	if e.handed {
		return nil
	}
	e.handed = true
	return e.jobs
}

func (e *burstEngine) Result(_ time.Time, id uint64, r check.Result) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.results[id]++
	if len(e.results) == len(e.jobs) {
		close(e.all)
	}
	return nil
}

// slowChecker counts the checks running at once.
type slowChecker struct{ running, peak, runs atomic.Int32 }

func (c *slowChecker) Check(ctx context.Context, _ check.Target) check.Result {
	n := c.running.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	time.Sleep(5 * time.Millisecond)
	c.running.Add(-1)
	c.runs.Add(1)
	return check.Result{OK: true}
}

func TestWorkersBoundAndRunAll(t *testing.T) {
	const jobs, maxChecks = 200, 7
	chk := &slowChecker{}
	eng := &burstEngine{results: map[uint64]int{}, all: make(chan struct{})}
	for i := range jobs {
		eng.jobs = append(eng.jobs, Job{ID: uint64(i + 1), Target: &check.Target{}, Checker: chk, Timeout: time.Second})
	}
	d := New(Options{
		Config:    &config.Config{CheckInterval: time.Second},
		IPVS:      &kernel.FakeIPVS{},
		MaxChecks: maxChecks,
		NewEngine: func(*config.Config, []lvs.Virtual, logrus.FieldLogger) Engine { return eng },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	select {
	case <-eng.all:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d results after 10s", chk.runs.Load(), jobs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := chk.runs.Load(); got != jobs {
		t.Errorf("%d checks run, want %d", got, jobs)
	}
	for id, n := range eng.results {
		if n != 1 {
			t.Errorf("job %d: %d results, want 1", id, n)
		}
	}
	if p := chk.peak.Load(); p != maxChecks {
		t.Errorf("at most %d checks ran at once, want MaxChecks = %d", p, maxChecks)
	}
	if d.workers > maxChecks {
		t.Errorf("%d workers started, want at most %d", d.workers, maxChecks)
	}
}

// TestPendingQueue checks that pending jobs leave in order and that the
// queue's array stays bounded while it never drains.
func TestPendingQueue(t *testing.T) {
	d := &Daemon{}
	var in, out uint64
	for round := 0; round < 200; round++ {
		for range 50 { // 50 in, 40 out: never empty
			in++
			d.pending = append(d.pending, Job{ID: in})
		}
		for range 40 {
			out++
			if got := d.pending[d.pendHead].ID; got != out {
				t.Fatalf("job %d out, want %d", got, out)
			}
			d.popPending()
		}
		if waiting := len(d.pending) - d.pendHead; waiting != int(in-out) {
			t.Fatalf("%d waiting, want %d", waiting, in-out)
		}
	}
	if waiting := in - out; len(d.pending) > 2*int(waiting)+256 {
		t.Errorf("queue array %d long for %d waiting jobs: the handed-out part is kept", len(d.pending), waiting)
	}
	for d.pendHead < len(d.pending) {
		d.popPending()
	}
	if len(d.pending) != 0 || d.pendHead != 0 {
		t.Errorf("drained queue: len %d, head %d", len(d.pending), d.pendHead)
	}
}
