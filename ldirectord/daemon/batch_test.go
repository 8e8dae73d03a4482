// batch_test.go: queued results are taken together, so a burst costs one reconcile.

package daemon

import (
	"testing"
	"time"

	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// countingEngine reports a state change for the results with an odd id.
type countingEngine struct{ results []uint64 }

func (e *countingEngine) Reload(*config.Config)  {}
func (e *countingEngine) Events() []Event        { return nil }
func (e *countingEngine) NextDue() time.Time     { return time.Time{} }
func (e *countingEngine) Due(time.Time) []Job    { return nil }
func (e *countingEngine) Desired() []lvs.Virtual { return nil }
func (e *countingEngine) Result(_ time.Time, id uint64, _ check.Result) []Event {
	e.results = append(e.results, id)
	if id%2 == 1 {
		return []Event{{Kind: EventOther, Name: "changed"}}
	}
	return nil
}

func TestResultTakesQueuedResults(t *testing.T) {
	eng := &countingEngine{}
	d := New(Options{Config: &config.Config{}})
	d.eng = eng
	d.results = make(chan result, 2*maxBatch)

	// Only even ids: every result is taken, no state changed.
	for id := uint64(2); id <= 10; id += 2 {
		d.results <- result{id: id}
	}
	if d.result(result{id: 0}) {
		t.Error("result reported a change for results without events")
	}
	if len(eng.results) != 6 || len(d.results) != 0 {
		t.Fatalf("took %v, %d left queued; want all 6, none left", eng.results, len(d.results))
	}

	// A burst larger than maxBatch: one call takes maxBatch, in order,
	// and reports the change.
	eng.results = nil
	for id := uint64(1); id < 2*maxBatch; id++ {
		d.results <- result{id: id}
	}
	if !d.result(result{id: 0}) {
		t.Error("result reported no change though odd ids changed state")
	}
	// 2*maxBatch-1 queued, maxBatch-1 of them taken with the first.
	if len(eng.results) != maxBatch || eng.results[maxBatch-1] != maxBatch-1 || len(d.results) != maxBatch {
		t.Fatalf("took %d results (last %d), %d left; want %d, the last %d, %d left",
			len(eng.results), eng.results[len(eng.results)-1], len(d.results), maxBatch, maxBatch-1, maxBatch)
	}
}
