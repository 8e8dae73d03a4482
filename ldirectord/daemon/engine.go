// engine.go: the adapter from ldirectord/engine to the daemon's Engine.

package daemon

import (
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/engine"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// NewEngine returns ldirectord/engine for cfg as the daemon's Engine.
func NewEngine(cfg *config.Config, initial []lvs.Virtual, log logrus.FieldLogger) Engine {
	return engineAdapter{engine.New(cfg, engine.Options{Log: log, Initial: initial})}
}

type engineAdapter struct{ e *engine.Engine }

func (a engineAdapter) Reload(cfg *config.Config) { a.e.Reload(cfg) }
func (a engineAdapter) Close()                    { a.e.Close() }
func (a engineAdapter) NextDue() time.Time        { return a.e.NextDue() }
func (a engineAdapter) Desired() []lvs.Virtual    { return a.e.Desired() }
func (a engineAdapter) Events() []Event           { return events(a.e.Events()) }
func (a engineAdapter) Result(now time.Time, id uint64, r check.Result) []Event {
	return events(a.e.Result(now, id, r))
}

// Status is the engine's per-real state, for metrics.
func (a engineAdapter) Status() []engine.RealStatus { return a.e.Status() }

func (a engineAdapter) Due(now time.Time) []Job { return a.e.Due(now) }

var kinds = map[engine.Kind]EventKind{
	engine.RealUp:      EventRealUp,
	engine.RealDown:    EventRealDown,
	engine.FallbackOn:  EventFallbackOn,
	engine.FallbackOff: EventFallbackOff,
	engine.SoftFailure: EventSoftFailure,
	engine.SoftReset:   EventSoftReset,
}

func events(evs []engine.Event) []Event {
	if len(evs) == 0 {
		return nil
	}
	out := make([]Event, len(evs))
	for i, ev := range evs {
		out[i] = Event{Kind: kinds[ev.Kind], Name: ev.Kind.String(), Virtual: ev.Virtual, Real: ev.Real,
			Result: ev.Result, Count: ev.Count, Of: ev.Of}
	}
	return out
}
