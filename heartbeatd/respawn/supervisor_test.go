// supervisor_test.go: the Supervisor over fake processes, a fake clock and
// fake timers: no sleeps, every step driven by the test.

package respawn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

// fakeProc is a process that exits when the test (or a signal) says so.
type fakeProc struct {
	pid        int
	ignoreTerm bool
	exit       chan Exit // buffered 1: the one exit

	mu   sync.Mutex
	sigs []syscall.Signal
	once sync.Once
}

func (p *fakeProc) Pid() int   { return p.pid }
func (p *fakeProc) Wait() Exit { return <-p.exit }

func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	p.sigs = append(p.sigs, sig)
	p.mu.Unlock()
	if sig == syscall.SIGKILL || (sig == syscall.SIGTERM && !p.ignoreTerm) {
		p.end(Exit{Signal: sig})
	}
	return nil
}

func (p *fakeProc) end(e Exit) { p.once.Do(func() { p.exit <- e }) }

func (p *fakeProc) signals() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.sigs...)
}

// harness drives a Supervisor built with fakes.
type harness struct {
	t      *testing.T
	s      *Supervisor
	events chan Event

	mu         sync.Mutex
	clock      time.Time
	nextPid    int
	procs      []*fakeProc
	fail       map[string]error // command -> start error
	ignoreTerm map[string]bool
	delays     []time.Duration // what after() was asked for
	graces     chan chan time.Time
}

func newHarness(t *testing.T, children ...config.Respawn) *harness {
	h := &harness{t: t, events: make(chan Event, 100), clock: time.Unix(1_000_000, 0), nextPid: 100,
		fail: map[string]error{}, ignoreTerm: map[string]bool{},
		graces: make(chan chan time.Time, 100)}
	now := func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.clock }
	after := func(d time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		h.mu.Lock()
		h.delays = append(h.delays, d)
		h.mu.Unlock()
		if d == DefaultRestartDelay {
			c <- time.Time{} // restart delays end at once: the test checks they were asked for
		} else {
			h.graces <- c // Stop's grace timers end when the test says so
		}
		return c
	}
	spawn := func(r config.Respawn, env []string) (process, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := h.fail[r.Command]; err != nil {
			return nil, err
		}
		h.nextPid++
		p := &fakeProc{pid: h.nextPid, exit: make(chan Exit, 1), ignoreTerm: h.ignoreTerm[r.Command]}
		h.procs = append(h.procs, p)
		return p, nil
	}
	h.s = newSupervisor(children, Options{Notify: func(e Event) { h.events <- e }}, now, after, spawn)
	return h
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.clock = h.clock.Add(d)
	h.mu.Unlock()
}

// next returns the next event; the timeout only guards against a hang.
func (h *harness) next() Event {
	h.t.Helper()
	select {
	case e := <-h.events:
		return e
	case <-time.After(10 * time.Second):
		h.t.Fatal("no event within 10 s")
		return Event{}
	}
}

// expect reads len(want) events and compares their kind, pid and exit.
func (h *harness) expect(want ...Event) {
	h.t.Helper()
	var got []Event
	for range want {
		got = append(got, h.next())
	}
	simplify := func(es []Event) []Event {
		out := make([]Event, len(es))
		for i, e := range es {
			out[i] = Event{Kind: e.Kind, Pid: e.Pid, Exit: e.Exit, Stopped: e.Stopped, Child: config.Respawn{Command: e.Child.Command}}
		}
		return out
	}
	if diff := cmp.Diff(simplify(want), simplify(got)); diff != "" {
		h.t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func (h *harness) proc(pid int) *fakeProc {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.procs {
		if p.pid == pid {
			return p
		}
	}
	h.t.Fatalf("no process %d", pid)
	return nil
}

func (h *harness) takeDelays() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.delays
	h.delays = nil
	return d
}

func (h *harness) stop() {
	h.t.Helper()
	if err := h.s.Stop(context.Background()); err != nil {
		h.t.Fatalf("Stop: %v", err)
	}
}

var (
	ipfail = config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Command: "/usr/lib/heartbeat/ipfail", Line: 3}
	watch  = config.Respawn{User: "root", Path: "/usr/sbin/watch", Command: "/usr/sbin/watch -x", Line: 4, Failfast: true}
)

func ev(kind EventKind, c config.Respawn, pid int, e Exit) Event {
	return Event{Kind: kind, Child: c, Pid: pid, Exit: e}
}

func TestSupervisorRespawn(t *testing.T) {
	h := newHarness(t, ipfail)
	if err := h.s.Start(); err != nil {
		t.Fatal(err)
	}
	h.expect(ev(EventStarted, ipfail, 101, Exit{}))

	// A long run: restarted at once, no delay asked.
	h.advance(time.Minute)
	h.proc(101).end(Exit{Code: 1})
	h.expect(ev(EventExited, ipfail, 101, Exit{Code: 1}), ev(EventStarted, ipfail, 102, Exit{}))
	if d := h.takeDelays(); len(d) != 0 {
		t.Errorf("restart after a long run waited %v", d)
	}

	// A short run: restarted after the classic one-second pause.
	h.advance(time.Second)
	h.proc(102).end(Exit{Signal: syscall.SIGSEGV})
	h.expect(ev(EventExited, ipfail, 102, Exit{Signal: syscall.SIGSEGV}), ev(EventStarted, ipfail, 103, Exit{}))
	if diff := cmp.Diff([]time.Duration{DefaultRestartDelay}, h.takeDelays()); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}

	// Exit 100: never again.
	h.proc(103).end(Exit{Code: NoRespawnExit})
	h.expect(ev(EventExited, ipfail, 103, Exit{Code: 100}), ev(EventGaveUp, ipfail, 0, Exit{}))
	h.stop()
	want := []Status{{Command: ipfail.Command, State: StateDone, Respawns: 2}}
	if diff := cmp.Diff(want, h.s.Status()); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}
	if len(h.events) != 0 {
		t.Errorf("unexpected events after exit 100: %d", len(h.events))
	}
}

func TestSupervisorTooFast(t *testing.T) {
	h := newHarness(t, ipfail)
	if err := h.s.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 101
	h.expect(ev(EventStarted, ipfail, pid, Exit{}))
	for run := 1; run <= MaxShortRuns; run++ {
		h.advance(ShortRun - time.Second)
		h.proc(pid).end(Exit{Code: 1})
		h.expect(ev(EventExited, ipfail, pid, Exit{Code: 1}), ev(EventStarted, ipfail, pid+1, Exit{}))
		pid++
	}
	h.advance(time.Second)
	h.proc(pid).end(Exit{Code: 1})
	h.expect(ev(EventExited, ipfail, pid, Exit{Code: 1}), ev(EventGaveUp, ipfail, 0, Exit{}))
	if got := h.takeDelays(); len(got) != MaxShortRuns {
		t.Errorf("%d delayed restarts, want %d", len(got), MaxShortRuns)
	}
	got := h.s.Status()
	if got[0].State != StateTooFast || got[0].Respawns != MaxShortRuns+1 || got[0].Pid != 0 {
		t.Errorf("Status = %+v, want too-fast after %d respawn decisions", got[0], MaxShortRuns+1)
	}
	h.stop()
}

func TestSupervisorFailfast(t *testing.T) {
	h := newHarness(t, watch)
	if err := h.s.Start(); err != nil {
		t.Fatal(err)
	}
	h.expect(ev(EventStarted, watch, 101, Exit{}))
	h.advance(time.Hour)
	h.proc(101).end(Exit{Signal: syscall.SIGKILL})
	h.expect(ev(EventExited, watch, 101, Exit{Signal: syscall.SIGKILL}),
		ev(EventFailfast, watch, 101, Exit{Signal: syscall.SIGKILL}),
		ev(EventStarted, watch, 102, Exit{}))

	h.advance(time.Hour)
	h.proc(102).end(Exit{}) // a clean exit is not an emergency
	h.expect(ev(EventExited, watch, 102, Exit{}), ev(EventStarted, watch, 103, Exit{}))

	h.stop() // Stop's SIGTERM is not an emergency either
	h.expect(Event{Kind: EventExited, Child: watch, Pid: 103, Exit: Exit{Signal: syscall.SIGTERM}, Stopped: true})
	if len(h.events) != 0 {
		t.Errorf("unexpected event after Stop: %+v", <-h.events)
	}
}

func TestSupervisorStop(t *testing.T) {
	first := config.Respawn{User: "root", Path: "/bin/a", Command: "/bin/a"}
	second := config.Respawn{User: "root", Path: "/bin/b", Command: "/bin/b"}
	h := newHarness(t, first, second)
	h.ignoreTerm["/bin/a"] = true
	if err := h.s.Start(); err != nil {
		t.Fatal(err)
	}
	h.expect(ev(EventStarted, first, 101, Exit{}), ev(EventStarted, second, 102, Exit{}))
	stopped := make(chan error)
	go func() { stopped <- h.s.Stop(context.Background()) }()
	// Reverse order; /bin/a ignores SIGTERM and gets SIGKILL after the grace.
	<-h.graces // /bin/b's grace: never ends, /bin/b obeys SIGTERM
	h.expect(Event{Kind: EventExited, Child: second, Pid: 102, Exit: Exit{Signal: syscall.SIGTERM}, Stopped: true})
	grace := <-h.graces // /bin/a's
	if got := h.proc(101).signals(); len(got) != 1 {
		t.Fatalf("/bin/a got %v before its grace ended", got)
	}
	grace <- time.Time{}
	h.expect(Event{Kind: EventExited, Child: first, Pid: 101, Exit: Exit{Signal: syscall.SIGKILL}, Stopped: true})
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if diff := cmp.Diff([]syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}, h.proc(101).signals()); diff != "" {
		t.Errorf("signals to /bin/a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]syscall.Signal{syscall.SIGTERM}, h.proc(102).signals()); diff != "" {
		t.Errorf("signals to /bin/b (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{DefaultStopGrace, DefaultStopGrace}, h.takeDelays()); diff != "" {
		t.Errorf("grace timers (-want +got):\n%s", diff)
	}
	for _, st := range h.s.Status() {
		if st.State != StateStopped || st.Pid != 0 {
			t.Errorf("after Stop: %+v", st)
		}
	}
	if err := h.s.Start(); err == nil {
		t.Error("Start after Stop succeeded")
	}
	h.stop() // twice is fine
}

func TestSupervisorStopCancelsPendingRestart(t *testing.T) {
	h := newHarness(t, ipfail)
	block := make(chan time.Time)
	h.s.after = func(time.Duration) <-chan time.Time { return block } // the restart delay never ends by itself
	if err := h.s.Start(); err != nil {
		t.Fatal(err)
	}
	h.expect(ev(EventStarted, ipfail, 101, Exit{}))
	h.proc(101).end(Exit{Code: 1}) // short run: restart waits
	h.expect(ev(EventExited, ipfail, 101, Exit{Code: 1}))
	h.stop()
	if got := h.s.Status()[0].State; got != StateStopped {
		t.Errorf("state after Stop = %s, want stopped", got)
	}
	if len(h.events) != 0 {
		t.Errorf("unexpected event: %+v", <-h.events)
	}
}

func TestSupervisorStartFailure(t *testing.T) {
	h := newHarness(t, ipfail, watch)
	h.fail[ipfail.Command] = errors.New("unknown user \"hacluster\"")
	err := h.s.Start()
	if err == nil || !strings.Contains(err.Error(), `respawn /usr/lib/heartbeat/ipfail (ha.cf line 3): unknown user "hacluster"`) {
		t.Fatalf("Start error = %v", err)
	}
	h.expect(Event{Kind: EventGaveUp, Child: ipfail}, ev(EventStarted, watch, 101, Exit{}))
	if err := h.s.Start(); err != nil {
		t.Errorf("second Start: %v", err)
	}
	h.stop()
	want := []Status{
		{Command: ipfail.Command, State: StateFailed},
		{Command: watch.Command, Failfast: true, State: StateStopped},
	}
	if diff := cmp.Diff(want, h.s.Status()); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}
}

func TestSupervisorStopContext(t *testing.T) {
	h := newHarness(t, ipfail)
	block := make(chan time.Time)
	h.s.after = func(time.Duration) <-chan time.Time { return block }
	h.ignoreTerm[ipfail.Command] = true
	if err := h.s.Start(); err != nil {
		t.Fatal(err)
	}
	h.expect(ev(EventStarted, ipfail, 101, Exit{}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // an ended context: SIGKILL without waiting for the grace
	if err := h.s.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop: %v", err)
	}
	if diff := cmp.Diff([]syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}, h.proc(101).signals()); diff != "" {
		t.Errorf("signals (-want +got):\n%s", diff)
	}
}
