// Package respawn runs ha.cf's "respawn" and "failfast" children as
// heartbeat 3.0.6 does, and restarts them when they exit.
//
// Classic rules kept (heartbeat.c, start_a_child_client, ManagedChildDied):
//   - children start when communication comes up (the daemon calls Start),
//     in file order, as their user (uid, primary gid, supplementary
//     groups), each in its own process group, with stdin, stdout and
//     stderr on /dev/null, as `/bin/sh -c "exec <command>"`;
//   - a child that exits is started again, unless it exited with code 100;
//   - a run shorter than 30 s is "short"; a restart after a short run
//     waits one second; the 11th short run in a row logs
//     `Client <command> "respawning too fast"` and the child is not started
//     again until the daemon restarts;
//   - a command that is not executable, or whose user is unknown, is not
//     started (and so never respawned);
//   - on shutdown children are signalled in reverse order, each with
//     SIGTERM to its process group.
//
// Deliberate differences:
//   - failfast: classic reboots the machine when a failfast child dies
//     abnormally (a signal, or a non-zero exit). hasuite logs CRIT and calls
//     Options.Notify with an EventFailfast event; the daemon decides. Exits
//     caused by Stop are never failfast emergencies (classic would reboot
//     on its own shutdown SIGTERM).
//   - Stop does not wait for ever: a child still alive Options.StopGrace
//     after SIGTERM gets SIGKILL (classic waited without limit).
//   - the delay before a restart is spent in the supervisor, not in the
//     forked child, so no half-started child exists during the pause.
//   - a command whose program is classic ipfail (ClassicIpfail) runs
//     hasuite's ipfail instead when an executable "ipfail" lies next to the
//     daemon's own executable (logged once, at info); Check applies the
//     same mapping before checking the path.
package respawn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/internal/logging"
)

// DefaultStopGrace is how long Stop waits after SIGTERM before SIGKILL.
const DefaultStopGrace = 5 * time.Second

// EventKind says what happened to a child.
type EventKind int

// Event kinds reported to Options.Notify.
const (
	EventStarted  EventKind = iota // the child was started (Pid set)
	EventExited                    // the child exited (Exit set); a restart may follow
	EventFailfast                  // a failfast child died abnormally: classic rebooted here
	EventGaveUp                    // the child will not be started again (exit 100, too fast, cannot start)
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventExited:
		return "exited"
	case EventFailfast:
		return "failfast"
	case EventGaveUp:
		return "gave-up"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change in a child's life, for Options.Notify.
type Event struct {
	Kind    EventKind
	Child   config.Respawn
	Pid     int
	Exit    Exit          // EventExited, EventFailfast
	Lived   time.Duration // EventExited, EventFailfast: how long the run lasted
	Stopped bool          // EventExited: the exit came during Stop
	Reason  string        // EventGaveUp: why
}

// State is where a child is in its life.
type State string

// Child states.
const (
	StateIdle     State = "idle"     // Start not called yet
	StateRunning  State = "running"  // a process is alive
	StateWaiting  State = "waiting"  // dead, restart pending after the delay
	StateDone     State = "done"     // exited with code 100
	StateTooFast  State = "too-fast" // gave up: respawning too fast
	StateFailed   State = "failed"   // could not be started
	StateStopped  State = "stopped"  // Stop ended it
	stateStarting State = "starting" // internal: between decision and start
)

// Status describes one child.
type Status struct {
	Command  string
	Failfast bool
	State    State
	Pid      int // 0 unless running
	Respawns int // exits followed by a restart decision
}

// Options configure a Supervisor. The zero value works.
type Options struct {
	// Env is the complete environment of the children; nil means
	// os.Environ(). Build it with Environ(os.Environ(), Vars{...}.List()).
	Env []string
	// StopGrace is the time between SIGTERM and SIGKILL in Stop;
	// 0 means DefaultStopGrace.
	StopGrace time.Duration
	// RestartDelay is the pause before restarting after a short run;
	// 0 means DefaultRestartDelay.
	RestartDelay time.Duration
	// Notify, when set, is called for every Event, synchronously from the
	// supervisor's goroutines and with no lock held; it must not block for
	// long. EventFailfast is where classic heartbeat rebooted.
	Notify func(Event)
	// Log receives the supervisor's log lines; nil discards them.
	Log logrus.FieldLogger
}

// Supervisor runs the respawn and failfast children.
type Supervisor struct {
	opts  Options
	log   logrus.FieldLogger
	env   []string
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	spawn spawnFunc

	mu       sync.Mutex
	children []*child
	started  bool
	stopping bool
	stop     chan struct{} // closed by Stop: cancels pending restarts
	wg       sync.WaitGroup
}

// child is one configured child and its current process.
type child struct {
	cfg       config.Respawn
	state     State
	proc      process       // nil unless running
	done      chan struct{} // closed when proc has exited
	startedAt time.Time
	counters
}

// New returns a Supervisor for children (config.HACF.Respawn); nothing runs
// before Start.
func New(children []config.Respawn, opts Options) *Supervisor {
	return newSupervisor(children, opts, time.Now, time.After, startProcess)
}

// newSupervisor is New with the clock, timer and process starter injected.
func newSupervisor(children []config.Respawn, opts Options, now func() time.Time,
	after func(time.Duration) <-chan time.Time, spawn spawnFunc) *Supervisor {
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.RestartDelay <= 0 {
		opts.RestartDelay = DefaultRestartDelay
	}
	log := opts.Log
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	s := &Supervisor{opts: opts, log: log, env: env, now: now, after: after, spawn: spawn, stop: make(chan struct{})}
	for _, r := range children {
		r.Args = slices.Clone(r.Args)
		if m, ok := mapBuiltin(r); ok {
			log.WithFields(logrus.Fields{"line": r.Line, "classic": r.Path, "path": m.Path}).
				Infof("respawn %s: running hasuite's ipfail %s", r.Path, m.Path)
			r = m
		}
		s.children = append(s.children, &child{cfg: r, state: StateIdle})
	}
	return s
}

// Start starts every child, in configuration order; call it when
// communication comes up. Children that cannot start (unknown user, command
// not executable, exec failure) are logged and returned as joined errors; the
// others run regardless. A second call does nothing.
func (s *Supervisor) Start() error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return errors.New("respawn: Start after Stop")
	}
	if s.started {
		s.mu.Unlock()
		return nil
	}
	s.started = true
	var errs []error
	var events []Event
	for _, c := range s.children {
		ev, err := s.startLocked(c)
		events = append(events, ev)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.wg.Add(1)
		go s.watch(c)
	}
	s.mu.Unlock()
	s.notify(events...)
	return errors.Join(errs...)
}

// startLocked starts c's process; s.mu is held. It returns the event to
// report (EventStarted, or EventGaveUp on failure).
func (s *Supervisor) startLocked(c *child) (Event, error) {
	log := s.log.WithField("client", c.cfg.Command)
	log.Infof("Starting child client %q (user %s)", c.cfg.Command, c.cfg.User)
	p, err := s.spawn(c.cfg, s.env)
	if err != nil {
		c.state = StateFailed
		err = fmt.Errorf("respawn %s (ha.cf line %d): %w", c.cfg.Command, c.cfg.Line, err)
		log.WithError(err).Errorf("Cannot start child client %q", c.cfg.Command)
		return Event{Kind: EventGaveUp, Child: c.cfg, Reason: err.Error()}, err
	}
	c.proc, c.done, c.state, c.startedAt = p, make(chan struct{}), StateRunning, s.now()
	log.WithField("pid", p.Pid()).Infof("Started %q as user %s (pid %d)", c.cfg.Command, c.cfg.User, p.Pid())
	return Event{Kind: EventStarted, Child: c.cfg, Pid: p.Pid()}, nil
}

// watch waits for c's process to exit and restarts it while the rules
// allow; it runs in its own goroutine from the first start on.
func (s *Supervisor) watch(c *child) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		p := c.proc
		s.mu.Unlock()
		e := p.Wait()
		v := s.exited(c, p, e)
		if !v.restart() {
			return
		}
		if v == restartDelayed {
			select {
			case <-s.after(s.opts.RestartDelay):
			case <-s.stop:
			}
		}
		s.mu.Lock()
		if s.stopping {
			c.state = StateStopped
			s.mu.Unlock()
			return
		}
		ev, err := s.startLocked(c)
		s.mu.Unlock()
		s.notify(ev)
		if err != nil {
			return
		}
	}
}

// exited records that p, c's process, ended with e, logs it, notifies, and
// returns what to do next.
func (s *Supervisor) exited(c *child, p process, e Exit) verdict {
	s.mu.Lock()
	lived := s.now().Sub(c.startedAt)
	isStopping := s.stopping
	v, emergency := decide(&c.counters, lived, e, c.cfg.Failfast, isStopping)
	c.proc = nil
	close(c.done)
	switch v {
	case restartNow:
		c.state = stateStarting
	case restartDelayed:
		c.state = StateWaiting
	case noRespawn:
		c.state = StateDone
	case tooFast:
		c.state = StateTooFast
	case stopping:
		c.state = StateStopped
	}
	s.mu.Unlock()

	cmd := c.cfg.Command
	log := s.log.WithFields(logrus.Fields{"client": cmd, "pid": p.Pid(), "exit": e.Code})
	if e.Signal != 0 {
		log = log.WithField("signal", int(e.Signal))
	}
	events := []Event{{Kind: EventExited, Child: c.cfg, Pid: p.Pid(), Exit: e, Lived: lived, Stopped: isStopping}}
	switch {
	case isStopping:
		log.Debugf("Client %s (pid=%d) ended during shutdown (%s)", cmd, p.Pid(), e)
	case e.Signal != 0:
		log.Errorf("Client %s (pid=%d) killed by signal %d.", cmd, p.Pid(), int(e.Signal))
	case e.Code == NoRespawnExit:
		log.Warnf("Client %s exited with return code %d: will not respawn.", cmd, e.Code)
	case e.Code != 0:
		log.Errorf("Client %s exited with return code %d.", cmd, e.Code)
	default:
		log.Infof("Client %s exited with return code 0.", cmd)
	}
	if emergency {
		logging.Critf(log, "Failfast client %s died abnormally (%s): classic heartbeat would reboot this node", cmd, e)
		events = append(events, Event{Kind: EventFailfast, Child: c.cfg, Pid: p.Pid(), Exit: e, Lived: lived})
	}
	switch v {
	case restartNow, restartDelayed:
		log.Errorf("Respawning client %q", cmd)
	case tooFast:
		log.Errorf("Client %s %q", cmd, "respawning too fast")
		events = append(events, Event{Kind: EventGaveUp, Child: c.cfg,
			Reason: fmt.Sprintf("respawning too fast: more than %d runs in a row shorter than %s", MaxShortRuns, ShortRun)})
	case noRespawn:
		events = append(events, Event{Kind: EventGaveUp, Child: c.cfg, Reason: fmt.Sprintf("exited with code %d", NoRespawnExit)})
	}
	s.notify(events...)
	return v
}

func (s *Supervisor) notify(events ...Event) {
	if s.opts.Notify == nil {
		return
	}
	for _, ev := range events {
		s.opts.Notify(ev)
	}
}

// Stop ends every child: in reverse configuration order, SIGTERM to the
// child's process group, then SIGKILL after Options.StopGrace or as soon as
// ctx is done. No child is started again. It returns when every child has
// exited, or with ctx's error if ctx ends first. Stop may be called more
// than once and without Start.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopping {
		s.stopping = true
		close(s.stop)
	}
	children := slices.Clone(s.children)
	s.mu.Unlock()

	for _, c := range slices.Backward(children) {
		s.mu.Lock()
		p, done := c.proc, c.done
		s.mu.Unlock()
		if p == nil {
			continue
		}
		s.kill(ctx, c, p, done)
	}
	all := make(chan struct{})
	go func() { s.wg.Wait(); close(all) }()
	select {
	case <-all:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("respawn: stopping children: %w", ctx.Err())
	}
}

// kill signals p (c's process) with SIGTERM, then SIGKILL after the grace,
// and waits for it until ctx ends.
func (s *Supervisor) kill(ctx context.Context, c *child, p process, done <-chan struct{}) {
	log := s.log.WithFields(logrus.Fields{"client": c.cfg.Command, "pid": p.Pid()})
	log.Infof("killing %s process group %d with signal %d", c.cfg.Command, p.Pid(), int(syscall.SIGTERM))
	if err := p.Signal(syscall.SIGTERM); err != nil {
		log.WithError(err).Warn("SIGTERM failed")
	}
	select {
	case <-done:
		return
	case <-s.after(s.opts.StopGrace):
	case <-ctx.Done():
	}
	log.Warnf("killing %s process group %d with signal %d: still running %s after SIGTERM",
		c.cfg.Command, p.Pid(), int(syscall.SIGKILL), s.opts.StopGrace)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		log.WithError(err).Warn("SIGKILL failed")
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Status returns every child's state, in configuration order.
func (s *Supervisor) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.children))
	for _, c := range s.children {
		st := Status{Command: c.cfg.Command, Failfast: c.cfg.Failfast, State: c.state, Respawns: c.respawns}
		if st.State == stateStarting {
			st.State = StateWaiting
		}
		if c.proc != nil {
			st.Pid = c.proc.Pid()
		}
		out = append(out, st)
	}
	return out
}
