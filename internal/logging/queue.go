// The non-blocking hand-off from logging callers to the sinks.

package logging

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// defaultQueue is how many formatted entries may wait for the drain
// goroutine. At ~200 bytes an entry this bounds the backlog to about 1 MiB;
// a burst beyond it (a stuck disk or syslog) is dropped and counted.
const defaultQueue = 4096

// event is one formatted entry waiting to be written.
type event struct {
	t    time.Time
	sev  int
	body string // "LEVEL: message key=value..."
}

// route sends events to a sink; debug-severity events only when debug is set.
type route struct {
	name  string
	s     sink
	debug bool
	// failing is set while the sink returns errors, so the first error is
	// reported once on errOut rather than once per line.
	failing bool
	// lost counts the lines the failing sink did not take, failErr is
	// its first error; both go into the notice it gets when it recovers.
	lost     uint64
	failErr  error
	reported time.Time // last report on errOut, at most one a minute
}

// failReportEvery limits the reports of a failing sink on errOut when it
// flaps (a disk that fills up again as soon as a line gets through).
const failReportEvery = time.Minute

// dispatcher is the logrus hook: Fire formats the entry on the caller's
// goroutine and queues it without ever blocking; one goroutine drains the
// queue into the sinks.
type dispatcher struct {
	f      *Formatter
	routes []*route
	errOut io.Writer // where sink failures are reported (stderr)

	mu      sync.RWMutex // guards closed against the channel close
	closed  bool
	ch      chan event
	done    chan struct{}
	dropped atomic.Uint64

	reported  uint64 // drops already announced; drain goroutine only
	closeOnce sync.Once
	closeErr  error
}

func newDispatcher(f *Formatter, routes []*route, queue int, errOut io.Writer) *dispatcher {
	d := &dispatcher{
		f:      f,
		routes: routes,
		errOut: errOut,
		ch:     make(chan event, queue),
		done:   make(chan struct{}),
	}
	go d.run()
	return d
}

// Levels implements logrus.Hook: the logger's level does the filtering.
func (d *dispatcher) Levels() []logrus.Level { return logrus.AllLevels }

// Fire implements logrus.Hook. It never blocks on I/O: when the queue is
// full, or after close, the entry is dropped and counted.
func (d *dispatcher) Fire(e *logrus.Entry) error {
	ev := event{t: e.Time, sev: severity(e), body: body(e)}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		d.dropped.Add(1)
		return nil
	}
	select {
	case d.ch <- ev:
	default:
		d.dropped.Add(1)
	}
	return nil
}

// run drains the queue until close.
func (d *dispatcher) run() {
	defer close(d.done)
	for ev := range d.ch {
		d.emit(&ev)
		d.announceDrops(ev.t)
	}
	d.announceDrops(time.Now())
}

// announceDrops writes an ERROR line once entries have been dropped since
// the last announcement, like cl_log's "N messages were dropped".
func (d *dispatcher) announceDrops(t time.Time) {
	n := d.dropped.Load()
	if n == d.reported {
		return
	}
	ev := event{t: t, sev: sevErr, body: fmt.Sprintf("ERROR: logging: %d messages were dropped (log queue full)", n-d.reported)}
	d.reported = n
	d.emit(&ev)
}

func (d *dispatcher) emit(ev *event) {
	for _, r := range d.routes {
		if ev.sev == sevDebug && !r.debug {
			continue
		}
		if r.failing {
			// The sink's first line after a failure says what it missed.
			note := event{t: ev.t, sev: sevErr, body: fmt.Sprintf("ERROR: logging: %d lines could not be written to %s (%v)",
				r.lost, r.name, r.failErr)}
			if r.s.write(d.f, &note) != nil {
				r.lost++
				continue
			}
			r.failing, r.lost, r.failErr = false, 0, nil
		}
		if err := r.s.write(d.f, ev); err != nil {
			r.failing, r.lost, r.failErr = true, 1, err
			if ev.t.Sub(r.reported) >= failReportEvery || ev.t.Before(r.reported) {
				r.reported = ev.t
				fmt.Fprintf(d.errOut, "%s: logging to %s: %v\n", d.f.Ident, r.name, err)
			}
		}
	}
}

// close stops accepting entries, writes everything queued and closes the
// sinks. Safe to call more than once.
func (d *dispatcher) close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		close(d.ch)
		d.mu.Unlock()
		<-d.done
		var errs []error
		for _, r := range d.routes {
			if err := r.s.close(); err != nil {
				errs = append(errs, fmt.Errorf("closing %s: %w", r.name, err))
			}
		}
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}
