// daemon.go: the check loop that ties config, engine, checks and the IPVS reconciler together.

// Package daemon is the ldirectord daemon and its command line: it loads
// ldirectord.cf, runs the checks the engine schedules concurrently (each
// bounded by its own timeout), feeds the results back to the engine and
// makes IPVS match the engine's desired table with the lvs reconciler. It
// also runs the side effects of state changes: classic log lines,
// fallbackcommand, monitor files and e-mail alerts. See docs/ldirectord.8.md.
//
// Adoption: at start the daemon reads the kernel's table first. A configured
// real server already present in its virtual service with a weight above 0
// is "adopted": the daemon keeps it exactly as the kernel has it until the
// engine reports its first transition (up or down), so restarting after a
// crash or kill -9 never flaps a healthy real server (classic trusted such
// reals without a check, spec §4.2; its add-then-remove dance for the others
// is gone).
package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/internal/sdnotify"
	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/engine"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// Job is one check to run now: the engine's Job, handed on as it is.
type Job = engine.Job

// EventKind says what changed.
type EventKind int

// The transitions the daemon acts on; others are only logged.
const (
	EventOther EventKind = iota
	EventRealUp
	EventRealDown
	EventFallbackOn
	EventFallbackOff
	EventSoftFailure
	EventSoftReset
)

// Event is a state change the engine reports (the engine's Event).
type Event struct {
	Kind    EventKind
	Name    string // the engine's name of the kind, for logs
	Virtual string // the virtual's ID: "tcp:10.0.0.1:80", "fwm:5"
	Real    string // "10.0.0.2:80"; "" for fallback events
	Result  check.Result
	Count   int // soft failures: n of Of
	Of      int
}

// Engine is the check scheduler and state machine (ldirectord/engine behind
// an adapter, or a fake in tests). It is used from one goroutine.
type Engine interface {
	Reload(cfg *config.Config)
	Events() []Event // what New and Reload produced
	NextDue() time.Time
	Due(now time.Time) []Job
	Result(now time.Time, id uint64, r check.Result) []Event
	Desired() []lvs.Virtual
}

// Options configure a Daemon.
type Options struct {
	ConfigPath string         // the resolved ldirectord.cf, reread on reload
	Config     *config.Config // the loaded config
	ConfigOpts config.Options
	IPVS       lvs.Backend // kernel.NewIPVS() in production
	// DataPlane names what IPVS is: PlaneIPVS ("" too) or PlaneNFTables.
	// A reload keeps to it.
	DataPlane string
	// NewEngine builds the engine for a config and the kernel's table at
	// start; nil uses ldirectord/engine.
	NewEngine func(cfg *config.Config, initial []lvs.Virtual, log logrus.FieldLogger) Engine
	Log       logrus.FieldLogger
	// MaxChecks bounds the checks running at once; default 256.
	MaxChecks int
	// Shell runs fallbackcommand and callback; default /bin/sh.
	Shell string
	// SendMail sends an alert; default net/smtp's SendMail.
	SendMail func(addr, from string, to []string, msg []byte) error
	// Hostname names this director in alerts; default os.Hostname.
	Hostname string
	// Metrics, when set, receives the daemon's series instead of an
	// endpoint at the config's metrics address (tests).
	Metrics prometheus.Registerer
}

// Daemon is a running ldirectord.
type Daemon struct {
	o       Options
	log     logrus.FieldLogger
	cfg     *config.Config
	eng     Engine
	rec     *lvs.Reconciler
	applied []lvs.Virtual // the desired table of the last apply
	dirty   bool          // the last apply failed somewhere: resync fully
	status  config.Status
	adopted map[adoptKey]kernel.Dest
	// leanLoop runs the checks it can (Job.Lean) without a worker, stepped
	// with the due timer; nil when epoll is not to be had. leanReady: it
	// has signalled a ready socket since its last step.
	leanLoop  *check.Loop
	leanReady bool
	leanSteps atomic.Int64 // steps of leanLoop so far (tests)
	results   chan result
	checks    sync.WaitGroup // the check workers
	jobs      chan Job       // due jobs to the workers
	pending   []Job          // due jobs waiting for a free worker, from pendHead on
	pendHead  int
	workers   int // check workers started (at most MaxChecks)
	// The due timer: armedFor is what it is set to (zero: not set), lastDue
	// when it last fired.
	armedFor, lastDue time.Time
	hooks             sync.WaitGroup
	// lastShell is closed when the last shell command queued has run.
	lastShell chan struct{}
	cfgStamp  fileStamp
	downAt    map[string]time.Time       // reminder state: "V|R" → last alert
	fbOn      map[string]bool            // fallbackcommand state per virtual ID
	byID      map[string]*config.Virtual // virtual's index of cfg's virtuals
	byIDOf    *config.Config
	metrics   *ldMetrics         // nil without a metrics address
	scrapes   chan statusRequest // scrapes asking the loop for per-real state
}

type adoptKey struct {
	svc  kernel.ServiceKey
	addr netip.Addr
	port uint16
}

type result struct {
	id uint64
	r  check.Result
}

// New returns a daemon for o; Run starts it.
func New(o Options) *Daemon {
	if o.MaxChecks <= 0 {
		o.MaxChecks = 256
	}
	if o.Shell == "" {
		o.Shell = "/bin/sh"
	}
	if o.Log == nil {
		l := logrus.New()
		l.Out = discardWriter{}
		o.Log = l
	}
	if o.NewEngine == nil {
		o.NewEngine = NewEngine
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	d := &Daemon{
		o: o, log: o.Log, cfg: o.Config,
		rec:     lvs.New(o.IPVS, nil),
		adopted: map[adoptKey]kernel.Dest{},
		results: make(chan result, 64),
		jobs:    make(chan Job),
		downAt:  map[string]time.Time{},
		fbOn:    map[string]bool{},
		scrapes: make(chan statusRequest),
	}
	return d
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// Run starts the daemon and runs it until ctx ends (SIGTERM), reloading on
// each value from reloads (SIGHUP). At the end it applies cleanstop.
func (d *Daemon) Run(ctx context.Context, reloads <-chan struct{}) error {
	d.status = config.Starting
	stopMetrics, err := d.startMetrics()
	if err != nil {
		return fmt.Errorf("metrics = %s: %w", d.cfg.Metrics, err)
	}
	defer stopMetrics()
	d.cfgStamp, _ = stamp(d.o.ConfigPath)
	initial, err := table(d.o.IPVS)
	if err != nil {
		d.log.WithError(err).Error("reading the IPVS table")
	}
	d.eng = d.o.NewEngine(d.cfg, initial, d.log)
	d.adopt(initial)
	d.handle(d.eng.Events())
	d.apply()
	d.status = config.Running
	// systemd (Type=notify): started once the first table is applied; the
	// watchdog is fed until Run returns. No-ops without NOTIFY_SOCKET.
	_ = sdnotify.Ready()
	wdCtx, stopWatchdog := context.WithCancel(context.Background())
	defer stopWatchdog()
	go func() { _ = sdnotify.Watchdog(wdCtx) }()

	checkCtx, cancelChecks := context.WithCancel(context.Background())
	defer cancelChecks()
	var leanReady <-chan struct{} // nil (never ready) without the loop
	if l, err := check.NewLoop(); err != nil {
		d.log.WithError(err).Warn("every check runs on a worker of its own")
	} else {
		d.leanLoop, leanReady = l, l.Ready()
		defer l.Close()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(d.pollInterval())
	defer tick.Stop()
	for {
		d.arm(timer)
		var jobs chan Job // nil (never ready) unless a job waits
		var next Job
		if d.pendHead < len(d.pending) {
			jobs, next = d.jobs, d.pending[d.pendHead]
		}
		select {
		case jobs <- next:
			d.popPending()
			d.dispatch(checkCtx)
		case <-ctx.Done():
			_ = sdnotify.Stopping()
			cancelChecks()
			d.stop()
			return nil
		case <-reloads:
			d.reload()
			tick.Reset(d.pollInterval())
		case now := <-timer.C:
			d.armedFor, d.lastDue = time.Time{}, now
			d.runDue(checkCtx, now)
			if d.stepLean(checkCtx, now) {
				d.applyChanges()
			}
		case <-leanReady:
			d.leanReady = true
		case req := <-d.scrapes:
			d.answerStatus(req)
		case res := <-d.results:
			if d.result(res) {
				d.applyChanges()
			}
		case now := <-tick.C:
			if d.configChanged() && d.cfg.AutoReload {
				d.reload()
				tick.Reset(d.pollInterval())
			}
			d.remind(now)
		}
	}
}

// maxBatch bounds how many queued results one reconcile of the table covers.
const maxBatch = 1024

// result feeds res to the engine and handles its events, then does the same
// for the results already queued (up to maxBatch), so a burst, such as every
// real coming up at start, costs one reconcile rather than one per result.
// It reports whether any result changed state (the table must be applied).
func (d *Daemon) result(res result) bool {
	changed := false
	for n := 0; ; n++ {
		changed = d.feed(res.id, res.r) || changed
		if n+1 >= maxBatch {
			return changed
		}
		select {
		case res = <-d.results:
		default:
			return changed
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// feed gives the engine a check's result and handles its events; it
// reports whether the real's state changed.
func (d *Daemon) feed(id uint64, r check.Result) bool {
	evs := d.eng.Result(time.Now(), id, r)
	if len(evs) == 0 {
		return false
	}
	d.handle(evs)
	return true
}

// stepLean steps the lean loop and handles the results it has finished,
// as result does the workers'. The checks it hands back (Full) go to the
// workers. It reports whether any real's state changed.
func (d *Daemon) stepLean(ctx context.Context, now time.Time) bool {
	if d.leanLoop == nil || !d.leanLoop.Busy() {
		return false
	}
	changed, full := false, false
	d.leanReady = false
	d.leanSteps.Add(1)
	for _, lr := range d.leanLoop.Step(now) {
		j := lr.Ref.(*Job)
		if lr.Full {
			d.pending, full = append(d.pending, *j), true
			continue
		}
		d.metrics.check(j.CheckType, lr.Result)
		changed = d.feed(lr.ID, lr.Result) || changed
	}
	if full {
		d.dispatch(ctx)
	}
	return changed
}

// pollInterval is how often the config file and reminders are looked at.
func (d *Daemon) pollInterval() time.Duration {
	if d.cfg.CheckInterval > 0 {
		return d.cfg.CheckInterval
	}
	return 10 * time.Second
}

// dueQuantum: due checks are handed out at most this often, so 10,000
// checks a second cost 200 timer wake-ups rather than 10,000. A check runs
// at most this much late; its interval has a ±10 % jitter anyway.
const dueQuantum = 5 * time.Millisecond

// arm sets timer to the engine's next due time, or to the lean loop's
// next step if sooner (no sooner than dueQuantum after it last fired),
// touching it only when that time changed.
func (d *Daemon) arm(timer *time.Timer) {
	next := d.eng.NextDue()
	if next.IsZero() {
		next = time.Now().Add(time.Hour)
	}
	soonest := d.lastDue.Add(dueQuantum)
	if d.leanLoop != nil {
		// The lean loop is stepped with due checks, or when a socket is
		// ready or a deadline comes, no sooner than dueQuantum after its
		// last step. Ready is asked for only when no step is that near:
		// at thousands of checks a second the quantum's steps suffice.
		if at, ok := d.leanLoop.NextStep(); ok {
			if d.leanReady {
				at = d.lastDue
			}
			if next = minTime(next, at); next.After(soonest) {
				d.leanLoop.Watch()
			}
		}
	}
	if next.Before(soonest) {
		next = soonest
	}
	if next.Equal(d.armedFor) {
		return
	}
	if !timer.Stop() {
		select {
		case <-timer.C:
		default:
		}
	}
	d.armedFor = next
	timer.Reset(max(time.Until(next), 0))
}

// runDue starts every due job on the lean loop, or hands it to the check
// workers when the loop cannot run it.
func (d *Daemon) runDue(ctx context.Context, now time.Time) {
	jobs := d.eng.Due(now) // the engine hands out each check once until its result
	for i := range jobs {
		j := &jobs[i]
		if d.leanLoop != nil && j.Lean != nil {
			d.leanLoop.Start(check.LoopJob{ID: j.ID, Exchange: *j.Lean, Timeout: j.Timeout, Ref: j}, now)
			continue
		}
		d.pending = append(d.pending, *j)
	}
	d.dispatch(ctx)
}

// dispatch gives pending jobs to idle workers, starting workers (up to
// MaxChecks) while none is idle; the rest wait in pending for the loop.
// A fixed set of workers, rather than a goroutine per check, saves the
// goroutine's start and stack growth on each of thousands of checks a second.
func (d *Daemon) dispatch(ctx context.Context) {
	for d.pendHead < len(d.pending) {
		select {
		case d.jobs <- d.pending[d.pendHead]:
		default:
			if d.workers >= d.o.MaxChecks {
				return
			}
			d.workers++
			d.checks.Add(1)
			go d.worker(ctx)
			select {
			case d.jobs <- d.pending[d.pendHead]: // the new worker, or one just idle
			case <-ctx.Done():
				return
			}
		}
		d.popPending()
	}
}

// popPending drops the first pending job (handed to a worker). The array
// is reused: from its start once all are handed out, and the rest moves
// down when the handed-out part is most of it (workers never idle).
func (d *Daemon) popPending() {
	d.pending[d.pendHead] = Job{}
	d.pendHead++
	switch {
	case d.pendHead == len(d.pending):
		d.pending, d.pendHead = d.pending[:0], 0
	case d.pendHead >= 256 && 2*d.pendHead >= len(d.pending):
		n := copy(d.pending, d.pending[d.pendHead:])
		clear(d.pending[n:])
		d.pending, d.pendHead = d.pending[:n], 0
	}
}

// worker runs jobs, each bounded by its timeout, and sends their results
// to the loop until ctx ends.
func (d *Daemon) worker(ctx context.Context) {
	defer d.checks.Done()
	for {
		var j Job
		select {
		case j = <-d.jobs:
		case <-ctx.Done():
			return
		}
		cctx, cancel := context.WithTimeout(ctx, j.Timeout)
		r := j.Checker.Check(cctx, *j.Target)
		cancel()
		d.metrics.check(j.CheckType, r)
		select {
		case d.results <- result{j.ID, r}:
		case <-ctx.Done():
			return
		}
	}
}

// adopt records the configured reals the kernel already has with a weight.
func (d *Daemon) adopt(initial []lvs.Virtual) {
	for _, v := range initial {
		key := v.Service.Canon().ServiceKey
		for _, h := range v.Reals {
			if h.Weight <= 0 || !configured(d.cfg, key, h) {
				continue
			}
			d.adopted[adoptKey{key, h.Addr.Unmap(), h.Port}] = h
			d.log.WithFields(logrus.Fields{"vip": key.String(), "real": h.String()}).
				Infof("Adopted real server: %s (%s) (Weight %d) until its first state change", h, virtualName(key), h.Weight)
		}
	}
}

// table lists the backend's virtual services with their reals.
func table(b lvs.Backend) ([]lvs.Virtual, error) {
	svcs, err := b.Services()
	if err != nil {
		return nil, fmt.Errorf("list IPVS services: %w", err)
	}
	out := make([]lvs.Virtual, 0, len(svcs))
	for _, s := range svcs {
		ds, err := b.Dests(s.ServiceKey)
		if err != nil {
			return out, fmt.Errorf("list IPVS reals of %s: %w", s.ServiceKey, err)
		}
		out = append(out, lvs.Virtual{Service: s, Reals: ds})
	}
	return out, nil
}

// configured reports whether kernel real h of svc is one of the config's
// reals (not the fallback, not a stranger).
func configured(cfg *config.Config, svc kernel.ServiceKey, h kernel.Dest) bool {
	for i := range cfg.Virtuals {
		v := &cfg.Virtuals[i]
		if serviceKey(v) != svc {
			continue
		}
		for _, r := range v.Reals {
			if r.Addr.Unmap() == h.Addr.Unmap() && (r.Port == h.Port || svc.FWMark == 0 && h.Port == svc.Port || r.Port == 0) {
				return true
			}
		}
	}
	return false
}

// desired is the engine's table with adopted reals kept as the kernel had them.
func (d *Daemon) desired() []lvs.Virtual {
	want := d.eng.Desired()
	if len(d.adopted) == 0 {
		return want
	}
	out := make([]lvs.Virtual, len(want))
	for i, v := range want {
		key := v.Service.Canon().ServiceKey
		reals := make([]kernel.Dest, 0, len(v.Reals))
		seen := map[adoptKey]bool{}
		for _, r := range v.Reals {
			k := adoptKey{key, r.Addr.Unmap(), lvs.MappedPort(key, r)}
			if a, ok := d.adopted[k]; ok {
				r = a
				seen[k] = true
			}
			reals = append(reals, r)
		}
		live := false
		for k, a := range d.adopted {
			if k.svc == key {
				live = true
				if !seen[k] {
					reals = append(reals, a)
				}
			}
		}
		if live {
			// adopted reals carry traffic: the fallback is not needed
			reals = slices.DeleteFunc(reals, func(r kernel.Dest) bool { return d.isFallback(key, r) })
		}
		v.Reals = reals
		out[i] = v
	}
	return out
}

// unadopt ends the adoption of the real an event is about.
func (d *Daemon) unadopt(ev Event) {
	for k := range d.adopted {
		if k.svc.String() != ev.Virtual {
			continue
		}
		if ap, err := netip.ParseAddrPort(ev.Real); err == nil {
			if ap.Addr().Unmap() == k.addr && (ap.Port() == k.port || ap.Port() == 0 || k.svc.FWMark == 0 && k.port == k.svc.Port) {
				delete(d.adopted, k)
			}
		} else if a, err := netip.ParseAddr(ev.Real); err == nil && a.Unmap() == k.addr {
			delete(d.adopted, k)
		}
	}
}

// apply reconciles IPVS with the whole desired table (start, reload),
// logs each change and runs fallbackcommand on a change between no live
// real and some.
func (d *Daemon) apply() {
	want := d.desired()
	res := d.rec.Apply(want)
	d.logOps(res, "start")
	d.applied, d.dirty = want, len(res.Errs) > 0
	d.fallbackCommands(want)
}

// applyChanges makes only the changes between the last desired table and
// the current one (a state change): entries an operator changed by hand
// stay until their own next change, as classic (spec §4.6). After a failed
// change it resyncs the whole table instead, so the change is retried.
func (d *Daemon) applyChanges() {
	if d.dirty {
		d.apply()
		return
	}
	want := d.desired()
	res := d.rec.ApplyDiff(d.applied, want)
	d.logOps(res, "start")
	d.applied, d.dirty = want, len(res.Errs) > 0
	d.fallbackCommands(want)
}

// fallbackCommands runs fallbackcommand where want changes between no
// live real and some.
func (d *Daemon) fallbackCommands(want []lvs.Virtual) {
	for _, v := range want {
		key := v.Service.Canon().ServiceKey
		cv := d.virtual(key.String())
		if cv == nil || cv.FallbackCommand == "" {
			continue
		}
		live := false
		for _, r := range v.Reals {
			if r.Weight > 0 && !d.isFallback(key, r) {
				live = true
			}
		}
		on, known := d.fbOn[key.String()]
		switch {
		case !live && (!known || !on):
			d.fbOn[key.String()] = true
			d.fallbackCommand(cv, "start")
		case live && on:
			d.fbOn[key.String()] = false
			d.fallbackCommand(cv, "stop")
		case live && !known:
			d.fbOn[key.String()] = false
		}
	}
}

// stop runs cleanstop: the virtuals with cleanstop=yes are removed, the
// others left as they are.
func (d *Daemon) stop() {
	d.status = config.Stopping
	d.checks.Wait()
	if c, ok := d.eng.(interface{ Close() }); ok {
		c.Close() // kept check connections (checkkeepalive)
	}
	var keep []lvs.Virtual
	clean := false
	for _, v := range d.desired() {
		cv := d.virtual(v.Service.Canon().ServiceKey.String())
		if cv != nil && !cv.CleanStop {
			keep = append(keep, v)
		} else {
			clean = true
		}
	}
	if clean {
		d.logOps(d.rec.ApplyDiff(d.applied, keep), "stop")
	}
	d.hooks.Wait()
}

// reload rereads the config; on error the old one stays.
func (d *Daemon) reload() {
	d.log.Info("Reloading Linux Director Daemon config on signal")
	d.status = config.Reloading
	_ = sdnotify.Reloading()
	defer func() {
		d.status = config.Running
		_ = sdnotify.Ready()
	}()
	cfg, err := config.Load(d.o.ConfigPath, d.o.ConfigOpts)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			d.log.Errorf("Error reading config: %s", strings.TrimPrefix(line, "load ldirectord config: "))
		}
		d.log.Error("Reload failed: keeping the running configuration")
		d.metrics.reloaded(false)
		return
	}
	if msgs := planeErrors(cfg, d.o.DataPlane); len(msgs) > 0 {
		for _, m := range msgs {
			d.log.Errorf("Error reading config: %s", m)
		}
		d.log.Error("Reload failed: keeping the running configuration")
		d.metrics.reloaded(false)
		return
	}
	if cfg.Metrics != d.cfg.Metrics {
		d.log.Warnf("metrics: the change from %q to %q takes effect at the next start", d.cfg.Metrics, cfg.Metrics)
		cfg.Metrics = d.cfg.Metrics
	}
	if cfg.Backend != d.cfg.Backend {
		d.log.Warnf("backend: the change from %s to %s takes effect at the next start", d.cfg.Backend, cfg.Backend)
		cfg.Backend = d.cfg.Backend
	}
	for _, w := range cfg.Warnings {
		d.log.Warn(w)
	}
	d.cfgStamp, _ = stamp(d.o.ConfigPath)
	d.cfg = cfg
	d.eng.Reload(cfg)
	d.handle(d.eng.Events())
	for k := range d.adopted {
		if !configured(cfg, k.svc, d.adopted[k]) {
			delete(d.adopted, k)
		}
	}
	d.apply()
	d.metrics.reloaded(true)
}

// handle runs the side effects of the engine's events.
func (d *Daemon) handle(evs []Event) {
	for _, ev := range evs {
		d.unadopt(ev)
		v := d.virtual(ev.Virtual)
		entry := d.log.WithFields(logrus.Fields{"vip": ev.Virtual, "real": ev.Real, "event": ev.Name})
		switch ev.Kind {
		case EventRealUp, EventRealDown:
			if ev.Result.Err != nil {
				entry = entry.WithError(ev.Result.Err)
			}
			state := "up"
			if ev.Kind == EventRealDown {
				state = "down"
			}
			entry.Debugf("real server %s (%s) is %s", ev.Real, ev.Virtual, state)
			if v != nil && v.MonitorFile != "" {
				if err := writeMonitor(v.MonitorFile, time.Now(), os.Getpid(), ev.Virtual, ev.Real, state, ev.Result.Err); err != nil {
					d.log.WithError(err).Errorf("monitorfile %s", v.MonitorFile)
				}
			}
		case EventSoftFailure:
			entry.WithError(ev.Result.Err).Infof("Soft failure real server: %s (%s) failure %d/%d", ev.Real, ev.Virtual, ev.Count, ev.Of)
		case EventSoftReset:
			entry.Infof("Resetting soft failure count: %s (%s)", ev.Real, ev.Virtual)
		default:
			entry.Debugf("engine event %s", ev.Name)
		}
	}
}

// virtual finds the configured virtual with ID id (the first, if several
// have it). The index is rebuilt when the config changes: apply looks up
// every virtual on each state change.
func (d *Daemon) virtual(id string) *config.Virtual {
	if d.byIDOf != d.cfg {
		d.byID = make(map[string]*config.Virtual, len(d.cfg.Virtuals))
		for i := range d.cfg.Virtuals {
			v := &d.cfg.Virtuals[i]
			if _, dup := d.byID[v.ID()]; !dup {
				d.byID[v.ID()] = v
			}
		}
		d.byIDOf = d.cfg
	}
	return d.byID[id]
}

// serviceKey is the IPVS key of a configured virtual.
func serviceKey(v *config.Virtual) kernel.ServiceKey {
	if v.FWMark != 0 {
		return kernel.ServiceKey{FWMark: v.FWMark, IPv6: v.Family == 6}
	}
	p := kernel.TCP
	if v.Proto == "udp" {
		p = kernel.UDP
	}
	return kernel.ServiceKey{Proto: p, Addr: v.Addr.Unmap(), Port: v.Port}
}

// virtualName is the classic V of log lines: VIP:VPORT or the fwmark.
func virtualName(k kernel.ServiceKey) string {
	if k.FWMark != 0 {
		return fmt.Sprint(k.FWMark)
	}
	return netip.AddrPortFrom(k.Addr, k.Port).String()
}
