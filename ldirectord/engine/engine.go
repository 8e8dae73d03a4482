// engine.go: the engine's types, construction, reload and check scheduling.

package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// DefaultStartSpread caps the window first checks are spread over.
const DefaultStartSpread = time.Second

// Options are the engine's injected dependencies; the zero value works.
type Options struct {
	// Rand returns a uniform number in [0, 1) for the ±10% interval
	// jitter; nil uses math/rand/v2.
	Rand func() float64
	// Now is the clock New and Reload schedule first checks from; nil
	// uses time.Now. Due and Result take the time as an argument.
	Now func() time.Time
	// Log receives warnings (checkers that cannot be built); nil discards.
	Log logrus.FieldLogger
	// StartSpread caps the window first checks are spread over; 0 means
	// DefaultStartSpread.
	StartSpread time.Duration
	// Initial is the IPVS table at start, as read from the kernel (nil =
	// empty). It only decides checktype off reals and readdquiescent.
	Initial []lvs.Virtual
	// InMaintenance reports whether maintenancedir dir holds a file for
	// the target; nil uses FileMaintenance. It runs inside Job.Checker.
	InMaintenance func(ctx context.Context, dir string, t check.Target) bool
}

// Job is one check to run: Checker.Check(ctx, *Target) within Timeout,
// then Engine.Result with ID.
type Job struct {
	ID uint64
	// Target is the check's target, shared with the engine: read only.
	Target  *check.Target
	Checker check.Checker
	// Lean is Checker's check as the check loop's exchange, nil when only
	// Checker can run it.
	Lean    *check.Exchange
	Timeout time.Duration
	// CheckType is the phase actually run: "connect" or "negotiate" for a
	// combined check, else the virtual's checktype.
	CheckType string
	// Virtuals are the IDs of the virtuals that use this check (shared:
	// not to be changed).
	Virtuals []string
}

// Kind is what an Event reports.
type Kind int

// The event kinds.
const (
	RealUp      Kind = iota + 1 // a real server got traffic (Weight)
	RealDown                    // a real server lost it: Weight 0 = quiesced, -1 = removed
	SoftFailure                 // a failed check below failurecount: Count of Of
	SoftReset                   // a success after soft failures (Count of them)
	FallbackOn                  // no real of the virtual is up any more
	FallbackOff                 // a real of the virtual is up again
)

// String returns the kind as logged: "real up", "fallback on"…
func (k Kind) String() string {
	switch k {
	case RealUp:
		return "real up"
	case RealDown:
		return "real down"
	case SoftFailure:
		return "soft failure"
	case SoftReset:
		return "soft failure reset"
	case FallbackOn:
		return "fallback on"
	case FallbackOff:
		return "fallback off"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Event is a state change of a real server or of a virtual's fallback.
type Event struct {
	Kind    Kind
	Virtual string // config.Virtual.ID(): "tcp:10.0.0.1:80"
	// Real is the real server ("10.0.0.2:80", port 0 shown as the
	// virtual's), or for fallback events the fallback server ("" if the
	// virtual has none).
	Real   string
	Result check.Result // the check result that caused it (zero for fallback events and at start)
	Weight int          // RealUp: the weight set; RealDown: 0 quiesced, -1 removed
	Count  int          // SoftFailure: consecutive failures; SoftReset: failures forgiven
	Of     int          // SoftFailure: failurecount
	Was    State        // RealUp, RealDown: the state before (Unchecked: the first decisive result)
}

// State is a real server's health state in one virtual.
type State int

// The states.
const (
	Unchecked State = iota // no decisive result yet
	Up
	Down
)

// String returns "unchecked", "up" or "down".
func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "unchecked"
}

// RealStatus is a real server's state in one virtual, for status output.
type RealStatus struct {
	Virtual     string // config.Virtual.ID()
	Real        netip.AddrPort
	CheckType   string
	State       State
	Maintenance bool // the last check found it in maintenancedir
	InTable     bool // in Desired
	Weight      int  // weight in Desired (0 when quiesced or absent)
	Failures    int  // consecutive failed checks
	Successes   int  // consecutive successful checks
	Last        check.Result
	LastCheck   time.Time // zero: never checked
	NextCheck   time.Time // zero: not scheduled (off, or in flight)
}

// ErrMaintenance is the result of a check skipped because maintenancedir
// holds a file for the real server.
var ErrMaintenance = errors.New("server in maintenance")

// Engine is the state machine; it is not safe for concurrent use.
type Engine struct {
	cfg     *config.Config
	opts    Options
	log     logrus.FieldLogger
	virts   []*virt
	checks  []*chk // in config order of first use
	jobs    map[uint64]*chk
	lastID  uint64
	pending []Event
	queue   dueQueue // the scheduled checks, earliest next first
}

// virt is one virtual service and its reals.
type virt struct {
	cfg     config.Virtual
	id      string
	key     kernel.ServiceKey
	members []*member
	live    bool // some real is up; the fallback is on otherwise
}

// member is a real server of a virtual, checked by a possibly shared chk.
type member struct {
	v       *virt
	r       config.Real
	c       *chk
	state   State
	present bool // in the table while not up (quiescent, readdquiescent)
	maint   bool
}

// checkKey is a check's identity: what it probes and how.
type checkKey struct {
	target    check.Target // Virtual and FWMark zeroed unless external
	ctype     string
	n         int
	keepAlive bool // checkkeepalive: the checker holds a connection
}

// params are a check's timing; a check shared by virtuals that differ
// takes the shortest interval and the longest timeouts and checkcount.
type params struct {
	interval, ctimeout, ntimeout time.Duration
	checkCount                   int
}

func (p params) merge(q params) params {
	return params{min(p.interval, q.interval), max(p.ctimeout, q.ctimeout), max(p.ntimeout, q.ntimeout), max(p.checkCount, q.checkCount)}
}

// chk is one distinct check with its timer and counters.
type chk struct {
	key         checkKey
	target      *check.Target   // never changed once made: jobs share it
	checker     check.Checker   // the check; negotiate for combined
	connect     check.Checker   // combined: the connect phase
	lean        *check.Exchange // checker as the loop's exchange, if it can be
	connectLean *check.Exchange // connect's
	params      params
	timeout     time.Duration // of checker
	ctimeout    time.Duration // of connect
	next        time.Time
	order       int // index in Engine.checks
	inflight    uint64
	connects    int // combined: connects left before the next negotiate
	fails, oks  int
	last        check.Result
	lastAt      time.Time
	members     []*member
	virtuals    []string // the IDs of members' virtuals, once asked for
}

// New builds the engine for cfg; first checks are due from Options.Now on.
// Events() then holds FallbackOn for every virtual without a live real.
func New(cfg *config.Config, opts Options) *Engine {
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StartSpread <= 0 {
		opts.StartSpread = DefaultStartSpread
	}
	if opts.InMaintenance == nil {
		opts.InMaintenance = FileMaintenance
	}
	e := &Engine{opts: opts, log: opts.Log, jobs: map[uint64]*chk{}}
	if e.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		e.log = l
	}
	e.load(cfg, true)
	return e
}

// Reload switches to cfg, keeping the state of unchanged checks and reals
// (see the package doc). Events() then holds the fallback changes.
func (e *Engine) Reload(cfg *config.Config) { e.load(cfg, false) }

// Events returns and clears the events New and Reload produced.
func (e *Engine) Events() []Event {
	ev := e.pending
	e.pending = nil
	return ev
}

type memberKey struct {
	vid  string
	real netip.AddrPort
	ck   checkKey
}

// load builds virtuals, members and checks from cfg, reusing the current ones.
func (e *Engine) load(cfg *config.Config, start bool) {
	now := e.opts.Now()
	oldChecks := map[checkKey]*chk{}
	for _, c := range e.checks {
		oldChecks[c.key] = c
	}
	oldMembers := map[memberKey]*member{}
	oldUp := map[string]map[netip.AddrPort]bool{} // vid → dest → up
	oldLive := map[string]bool{}
	for _, v := range e.virts {
		oldLive[v.id] = v.live
		oldUp[v.id] = map[netip.AddrPort]bool{}
		for _, m := range v.members {
			oldMembers[memberKey{v.id, netip.AddrPortFrom(m.r.Addr, m.r.Port), m.c.key}] = m
			oldUp[v.id][destAP(m.dest())] = m.state == Up
		}
	}
	initial := map[kernel.ServiceKey]map[netip.AddrPort]int{}
	if start {
		for _, iv := range e.opts.Initial {
			k := iv.ServiceKey.Canon()
			ds := map[netip.AddrPort]int{}
			for _, d := range iv.Reals {
				ds[netip.AddrPortFrom(d.Addr.Unmap(), lvs.MappedPort(k, d))] = d.Weight
			}
			initial[k] = ds
		}
	}

	e.cfg = cfg
	e.virts = nil
	var checks, fresh []*chk
	byKey := map[checkKey]*chk{}
	timing := map[*chk]params{}
	for _, vc := range cfg.Virtuals {
		v := &virt{cfg: vc, id: vc.ID(), key: serviceKey(&vc)}
		e.virts = append(e.virts, v)
		p := e.params(&vc)
		for _, r := range vc.Reals {
			key := checkKeyOf(&vc, &r)
			c := byKey[key]
			if c != nil {
				timing[c] = timing[c].merge(p)
			} else {
				if c = oldChecks[key]; c != nil {
					c.members, c.virtuals = nil, nil
					c.target = targetOf(*c.target, &vc) // a new one: running jobs still read the old
					c.makeLean()
				} else {
					c = e.newCheck(key, &vc)
					fresh = append(fresh, c)
				}
				byKey[key] = c
				timing[c] = p
				checks = append(checks, c)
			}
			m := oldMembers[memberKey{v.id, netip.AddrPortFrom(r.Addr, r.Port), key}]
			if m != nil {
				m.v, m.r = v, r
			} else {
				m = &member{v: v, r: r, c: c, present: true}
				ap := destAP(m.dest())
				mapped := netip.AddrPortFrom(ap.Addr(), lvs.MappedPort(v.key, m.dest()))
				// A real absent at start is added like any other (quiesced
				// while down), even where the virtual exists: classic's
				// ld_start re-adds it (spec §4.2), and a daemon killed
				// mid-apply leaves such gaps; readdquiescent governs only
				// state changes.
				w, realIn := initial[v.key.Canon()][mapped]
				// Up before under another check (a reload changed it):
				// it stays up until the new check decides, rather than
				// leaving the table for a check round.
				if key.ctype == config.CheckOff && realIn && w > 0 || oldUp[v.id][ap] {
					m.state = Up
				}
			}
			c.members, c.virtuals = append(c.members, m), nil
			v.members = append(v.members, m)
		}
		v.live = v.anyUp()
		was, existed := oldLive[v.id]
		if existed && was == v.live {
			continue
		}
		if !v.live {
			e.pending = append(e.pending, v.fallbackEvent(FallbackOn))
		} else if existed {
			e.pending = append(e.pending, v.fallbackEvent(FallbackOff))
		}
	}
	for _, c := range oldChecks {
		if byKey[c.key] != c {
			closeChecker(c) // a check that is gone: its kept connection too
		}
	}
	// Jobs of checks that are gone: their results are ignored.
	for id, c := range e.jobs {
		if byKey[c.key] != c {
			delete(e.jobs, id)
		}
	}
	e.checks = checks
	for _, c := range checks {
		c.setParams(timing[c])
		if c.scheduled() && c.next.After(now.Add(c.params.interval)) {
			c.next = now.Add(c.params.interval) // the interval got shorter
		}
	}
	e.spread(now, fresh)
	e.requeue()
}

// spread schedules new checks' first runs evenly over min(interval, StartSpread).
func (e *Engine) spread(now time.Time, cs []*chk) {
	n := 0
	for _, c := range cs {
		if c.key.ctype != config.CheckOff {
			n++
		}
	}
	i := 0
	for _, c := range cs {
		if c.key.ctype == config.CheckOff {
			continue
		}
		w := min(c.params.interval, e.opts.StartSpread)
		c.next = now.Add(w * time.Duration(i) / time.Duration(n))
		i++
	}
}

// checkKeyOf is the identity of the check of real r in virtual v.
func checkKeyOf(v *config.Virtual, r *config.Real) checkKey {
	t := check.Target{
		Protocol:     v.Proto,
		Real:         netip.AddrPortFrom(r.Addr, r.Port),
		CheckPort:    v.CheckPort,
		Service:      v.Service,
		Request:      r.Request,
		Receive:      r.Receive,
		VirtualHost:  v.VirtualHost,
		HTTPMethod:   v.HTTPMethod,
		Login:        v.Login,
		Passwd:       v.Passwd,
		Database:     v.Database,
		Secret:       v.Secret,
		CheckCommand: v.CheckCommand,
		TLS:          check.TLSOptions{Verify: v.TLSVerify, CAFile: v.TLSCAFile},
	}
	if v.CheckType == config.CheckExternal || v.CheckType == config.CheckExternalPerl {
		t.Virtual, t.FWMark = virtualAddrPort(v), v.FWMark
	} else {
		t.CheckCommand = ""
	}
	k := checkKey{target: t, ctype: v.CheckType, keepAlive: v.CheckKeepAlive}
	if k.ctype == config.CheckCombined {
		k.n = v.CombinedN
	}
	return k
}

// params are virtual v's check timing, defaults filled in.
func (e *Engine) params(v *config.Virtual) params {
	return params{
		interval:   or(v.CheckInterval, or(e.cfg.CheckInterval, config.DefaultCheckInterval)),
		ctimeout:   or(v.CheckTimeout, or(e.cfg.CheckTimeout, config.DefaultCheckTimeout)),
		ntimeout:   or(v.NegotiateTimeout, or(e.cfg.NegotiateTimeout, config.DefaultNegotiateTimeout)),
		checkCount: max(v.CheckCount, 1),
	}
}

// targetOf is t as checked for virtual v: with v's address and fwmark.
func targetOf(t check.Target, v *config.Virtual) *check.Target {
	t.Virtual, t.FWMark = virtualAddrPort(v), v.FWMark
	return &t
}

// newCheck builds a check; its Target names the first virtual using it.
func (e *Engine) newCheck(k checkKey, v *config.Virtual) *chk {
	c := &chk{key: k, target: targetOf(k.target, v)}
	var err error
	switch k.ctype {
	case config.CheckCombined:
		c.checker, err = check.For(config.CheckNegotiate, k.target.Service)
		c.connect = check.Connect{}
	case config.CheckPing:
		c.checker, err = check.For(k.ctype, "")
	default:
		c.checker, err = check.For(k.ctype, k.target.Service)
	}
	if err != nil {
		e.log.WithFields(logrus.Fields{"virtual": v.ID(), "real": k.target.Real.String()}).
			WithError(err).Warn("check cannot run; the real server will stay down")
		c.checker = failing{fmt.Errorf("virtual %s real %s: %w", v.ID(), k.target.Real, err)}
	} else if k.keepAlive {
		c.checker = check.WithKeepAlive(c.checker)
	}
	c.makeLean()
	return c
}

// makeLean builds c's checks as the check loop's exchanges, where it can
// run them: once, not on every check.
func (c *chk) makeLean() {
	c.lean, c.connectLean = leanOf(c.checker, *c.target), leanOf(c.connect, *c.target)
}

func leanOf(ch check.Checker, t check.Target) *check.Exchange {
	if l, ok := ch.(check.Leaner); ok {
		if ex, ok := l.Lean(t); ok {
			return &ex
		}
	}
	return nil
}

// Close closes the connections checks keep (checkkeepalive), at stop.
func (e *Engine) Close() {
	for _, c := range e.checks {
		closeChecker(c)
	}
}

// closeChecker closes the connection c's checker keeps, if any.
func closeChecker(c *chk) {
	if cl, ok := c.checker.(io.Closer); ok {
		cl.Close()
	}
}

// setParams sets c's timing and its Job timeouts (spec §2.4, §3).
func (c *chk) setParams(p params) {
	c.params = p
	c.timeout, c.ctimeout = p.ctimeout, p.ctimeout
	switch c.key.ctype {
	case config.CheckCombined, config.CheckNegotiate:
		c.timeout = p.ntimeout
	case config.CheckPing:
		c.timeout = p.ctimeout * time.Duration(p.checkCount)
	}
}

// failing is the checker of a check type that cannot be built.
type failing struct{ err error }

func (f failing) Check(context.Context, check.Target) check.Result { return check.Result{Err: f.err} }

// NextDue is when the earliest check not in flight is due; zero if none.
func (e *Engine) NextDue() time.Time {
	if e.queue.len() == 0 {
		return time.Time{}
	}
	return e.queue.heap[0].c.next
}

// Due returns the checks due at now, in config order, and marks them in
// flight until their Result.
func (e *Engine) Due(now time.Time) []Job {
	due := e.popDue(now)
	jobs := make([]Job, 0, len(due))
	for _, c := range due {
		e.lastID++
		c.inflight = e.lastID
		e.jobs[e.lastID] = c
		j := Job{ID: e.lastID, Target: c.target, Checker: c.checker, Lean: c.lean, Timeout: c.timeout, CheckType: c.key.ctype}
		if c.key.ctype == config.CheckCombined {
			j.CheckType = config.CheckNegotiate
			if c.connects > 0 {
				j.Checker, j.Lean, j.Timeout, j.CheckType = c.connect, c.connectLean, c.ctimeout, config.CheckConnect
			}
		}
		if e.cfg.MaintenanceDir != "" {
			j.Checker = maintenance{dir: e.cfg.MaintenanceDir, in: e.opts.InMaintenance, Checker: j.Checker}
			j.Lean = nil // the maintenance file is looked at first
		}
		if c.virtuals == nil {
			for _, m := range c.members { // few: a linear search beats a map
				if !slices.Contains(c.virtuals, m.v.id) {
					c.virtuals = append(c.virtuals, m.v.id)
				}
			}
		}
		j.Virtuals = c.virtuals
		jobs = append(jobs, j)
	}
	return jobs
}

// scheduled reports whether c has a pending timer (not off, not in flight).
func (c *chk) scheduled() bool { return c.key.ctype != config.CheckOff && c.inflight == 0 }

// jitter returns d scaled by a uniform factor in [0.9, 1.1).
func (e *Engine) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*e.opts.Rand()))
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// virtualAddrPort is the virtual's address and port, zero for fwmark.
func virtualAddrPort(v *config.Virtual) netip.AddrPort {
	if v.Proto == "fwm" {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(v.Addr, v.Port)
}
