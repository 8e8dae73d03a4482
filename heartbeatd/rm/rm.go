// Package rm is heartbeat's R1 ("haresources") resource manager as a state
// machine: the start-up negotiation (starting, resource, isstable and the
// 10 s both-unstable rule), legacy ip-request, takeover when the peer dies
// or says shutdone, the three-phase ask_resources standby protocol,
// hb_takeover, auto_failback, graceful stop, and hasuite's additions:
// partition heal without a restart, resource monitoring and haresources
// reload.
//
// It never runs anything itself. The daemon feeds it events (CommUp,
// NodeChange, Receive, Done, Tick, Stop, Reload) with the current time and
// carries out the returned Actions: Send a cluster message, Run a job on a
// group (reporting back with Done), Log. Tests step it the same way, with
// no sockets, processes or sleeps.
//
// The rules follow heartbeat 3.0.6's hb_resource.c and its shell tools,
// which the spec (§5) describes; the messages are the classic ones, so a
// peer running heartbeat 3.0.6 takes part unchanged.
package rm

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Timing of the classic protocol.
const (
	// BothUnstableDelay: when both nodes start together and neither becomes
	// stable, each takes its local groups after this long (RQSTDELAY).
	BothUnstableDelay = 10 * time.Second
	// StandbyReplyTimeout: a standby request without an answer is cancelled.
	StandbyReplyTimeout = 10 * time.Second
	// StandbyResourceTimeout bounds the resource phase of a standby.
	StandbyResourceTimeout = time.Hour
	// GiveupDelay: after a group failed to start, its class is handed to
	// the peer (hb_standby local|foreign) this much later, as classic does.
	GiveupDelay = 30 * time.Second
	// retryDelay: auto failback and give-up wait for stability in steps.
	retryDelay = time.Second
	// StopWaitLimit bounds how long a graceful stop waits for resource
	// activity to settle before releasing anyway (classic waits forever).
	StopWaitLimit = 30 * time.Second
)

// Hold is a set of resource classes as the wire names them: a node's own
// (local) groups and the other nodes' (foreign) groups.
type Hold int

// Resource classes (HB_LOCAL_RSC, HB_FOREIGN_RSC).
const (
	None    Hold = 0
	Local   Hold = 1
	Foreign Hold = 2
	All     Hold = Local | Foreign
)

func (h Hold) String() string { return [...]string{"none", "local", "foreign", "all"}[h&All] }

// mirror swaps local and foreign: the same groups seen from the peer.
func (h Hold) mirror() Hold { return (h&Local)<<1 | (h&Foreign)>>1 }

// ParseHold reads an rsc_hold value.
func ParseHold(s string) (Hold, bool) {
	for h := None; h <= All; h++ {
		if h.String() == s {
			return h, true
		}
	}
	return None, false
}

// phase is the start-up state (resourcestate in hb_resource.c).
type phase int

const (
	phaseInit phase = iota
	phaseStarting
	phaseBothStarting
	phaseRscRcvd
	phaseStable
	phaseShutdown
)

// standbyState is where the standby protocol stands (going_standby).
type standbyState int

const (
	standbyNot standbyState = iota
	standbyMe
	standbyOther
	standbyDone
)

// Config is what the resource manager needs from ha.cf and haresources.
type Config struct {
	Local        string   // our node name
	Nodes        []string // normal nodes in ha.cf order, ours included
	Groups       []config.Group
	AutoFailback config.AutoFailback
	// Monitor is the resource_monitor interval; 0 disables monitoring.
	Monitor time.Duration
	// RebootOnStopFailure is stop_failure_action reboot.
	RebootOnStopFailure bool
}

// group is one haresources group and what we know of it.
type group struct {
	cfg     config.Group
	local   bool
	held    bool // the last job on it left it running here
	pending int  // acquire and release jobs queued or running
	last    Op   // the last of those queued
	// takeover marks a group acquired while the peer was dead: after a
	// partition heals, such a group goes back to whoever held it before.
	takeover bool
}

func (g *group) busy() bool { return g.held || g.pending > 0 }

// acquired reports whether g runs here or is on its way up, so that
// acquiring it again would do nothing.
func (g *group) acquired() bool {
	if g.pending > 0 {
		return g.last == Acquire
	}
	return g.held
}

// job is a Run in flight.
type job struct {
	op    Op
	g     *group
	batch *batch
}

// batch runs then once all of its jobs are done.
type batch struct {
	left   int
	sealed bool
	then   func(now time.Time, out *actions)
}

// giveup is a pending hand-over of a class after a failed start.
type giveup struct {
	at  time.Time
	set Hold
}

// RM is the state machine. It is not safe for concurrent use.
type RM struct {
	cfg    Config
	peer   string // the other normal node; "" when we are alone in ha.cf
	groups []*group

	started  bool
	phase    phase
	hold     Hold // what we claim, in the classic sense
	peerHold Hold // what the peer claims, from its point of view

	peerStatus   membership.Status
	peerHeard    bool
	peerStable   bool
	peerStarting bool            // the peer sent starting and is not stable yet
	early        []*wire.Message // the peer's start-up messages from before our comm up

	standby         standbyState
	standbySet      Hold
	standbyDeadline time.Time

	takeoverInProgress bool
	needsFailback      bool
	failbackAt         time.Time
	localTakeoverAt    time.Time
	giveups            []giveup
	nextMonitor        time.Time

	stopping     bool
	stopStarted  bool
	stopDeadline time.Time

	heal healState

	nextID uint64
	jobs   map[uint64]*job
	moving int // acquire and release jobs in flight (checks do not count)
}

// New returns a resource manager that waits for CommUp.
func New(cfg Config) *RM {
	r := &RM{cfg: cfg, jobs: map[uint64]*job{}, peerStatus: membership.StatusInit}
	for _, n := range cfg.Nodes {
		if n != cfg.Local {
			r.peer = n
			break
		}
	}
	r.setGroups(cfg.Groups)
	return r
}

func (r *RM) setGroups(gs []config.Group) {
	old := r.groups
	r.groups = nil
	for _, c := range gs {
		g := &group{cfg: c, local: c.Node == r.cfg.Local}
		if o := find(old, c.Key); o != nil && o.cfg.Same(c) {
			g = o
		}
		r.groups = append(r.groups, g)
	}
}

func find(gs []*group, key string) *group {
	for _, g := range gs {
		if g.cfg.Key == key {
			return g
		}
	}
	return nil
}

func (r *RM) nice() bool { return r.cfg.AutoFailback != config.Legacy }

func (r *RM) peerAlive() bool {
	return r.peer != "" && r.peerStatus != membership.StatusDead
}

// Status is what cl_status rscstatus prints: none, local, foreign, all, or
// transition while resources are moving.
func (r *RM) Status() string {
	if !r.stable() {
		return "transition"
	}
	if !r.nice() {
		return r.heldClasses().String()
	}
	return r.hold.String()
}

// heldClasses is the classes of the groups actually running here.
func (r *RM) heldClasses() Hold {
	var h Hold
	for _, g := range r.groups {
		if g.held {
			h |= classOf(g)
		}
	}
	return h
}

func classOf(g *group) Hold {
	if g.local {
		return Local
	}
	return Foreign
}

// stable is hb_rsc_isstable: nothing is moving and nobody is about to.
func (r *RM) stable() bool {
	if r.moving > 0 {
		return false
	}
	if !r.nice() {
		return true
	}
	if r.stopping && r.phase == phaseInit {
		return true
	}
	return r.peerStable && !r.takeoverInProgress && r.standby == standbyNot &&
		(r.phase == phaseStable || r.phase == phaseShutdown || r.phase == phaseInit)
}

// NextDeadline is when Tick next has work; zero when no timer is set.
func (r *RM) NextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(r.localTakeoverAt)
	consider(r.standbyDeadline)
	consider(r.failbackAt)
	consider(r.nextMonitor)
	if r.heal.sent && !r.heal.resolved {
		consider(r.heal.retryAt)
	}
	if r.stopping && !r.stopStarted {
		consider(r.stopDeadline)
	}
	for _, g := range r.giveups {
		consider(g.at)
	}
	return next
}

// actions collects what one event produced.
type actions []Action

func (a *actions) add(x Action) { *a = append(*a, x) }

func (a *actions) log(l membership.Level, format string, args ...any) {
	a.add(Log{Level: l, Msg: fmt.Sprintf(format, args...)})
}

func (a *actions) send(m *wire.Message) { a.add(Send{Msg: m}) }

// run queues a job on g as part of b (nil: no batch).
func (r *RM) run(op Op, g *group, b *batch, out *actions) {
	r.nextID++
	r.jobs[r.nextID] = &job{op: op, g: g, batch: b}
	if op == Acquire || op == Release {
		g.pending++
		g.last = op
		r.moving++
	}
	if op == Acquire {
		g.takeover = r.peer != "" && !r.peerAlive()
	}
	if b != nil {
		b.left++
	}
	out.add(Run{ID: r.nextID, Op: op, Group: g.cfg})
}

// seal closes b: its then runs now if no job was added, else after the last.
func (r *RM) seal(now time.Time, b *batch, out *actions) {
	b.sealed = true
	if b.left == 0 && b.then != nil {
		b.then(now, out)
	}
}

// sendHeld sends our holding (hb_send_resources_held); nice_failback only.
func (r *RM) sendHeld(stable bool, comment string, out *actions) {
	if !r.nice() {
		return
	}
	m := wire.New("resource").Add("rsc_hold", r.hold.String()).Add("rtype", "full").
		Add("isstable", boolDigit(stable))
	if comment != "" {
		m.Add("info", comment)
	}
	out.send(m)
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// CommUp starts resource management: every node has been heard from or
// declared dead (comm_up_resource_action).
func (r *RM) CommUp(now time.Time) []Action {
	var out actions
	if r.started {
		return nil
	}
	r.started = true
	if r.cfg.Monitor > 0 {
		r.nextMonitor = now.Add(r.cfg.Monitor)
	}
	if r.nice() {
		out.send(wire.New("starting"))
		r.phase = phaseStarting
	} else {
		r.legacyStart(&out)
	}
	if !r.peerAlive() {
		r.peerDead(now, &out)
	}
	// Classic drops a peer's starting that beats our own comm up, and both
	// nodes then wait out BothUnstableDelay; answering it costs nothing.
	early := r.early
	r.early = nil
	for _, m := range early {
		out = append(out, r.Receive(now, m, false)...)
	}
	r.settle(now, &out)
	return out
}

// NodeChange tells the resource manager a node's new status.
func (r *RM) NodeChange(now time.Time, node string, to membership.Status) []Action {
	if node != r.peer || node == "" {
		return nil
	}
	var out actions
	from := r.peerStatus
	r.peerStatus = to
	switch {
	case to == membership.StatusDead:
		if r.started && from != membership.StatusDead {
			r.peerDead(now, &out)
		}
	case from == membership.StatusDead && r.started:
		r.peerHeard = true
		if to == membership.StatusActive {
			// Back without a restart (that would show init/up first): the
			// partition has healed.
			r.startHeal(now, &out)
		}
	default:
		r.peerHeard = true
	}
	r.settle(now, &out)
	return out
}

// Receive handles a resource message from the peer, or one of ours that
// came from a local client (hb_standby, ipfail) when self is true.
func (r *RM) Receive(now time.Time, msg *wire.Message, self bool) []Action {
	if !r.started {
		if t := msg.Type(); !self && (t == "starting" || t == "resource") && len(r.early) < 8 {
			r.early = append(r.early, msg)
		}
		return nil
	}
	var out actions
	if !self {
		r.peerHeard = true
	}
	switch msg.Type() {
	case "starting":
		if !self {
			r.receiveStarting(now, &out)
		}
	case "resource":
		if !self {
			r.receiveResource(now, msg, &out)
		}
	case "ask_resources":
		r.askResources(now, msg, self, &out)
	case "hb_takeover":
		if !self {
			r.receiveTakeover(now, msg, &out)
		}
	case "ip-request":
		if !self {
			r.receiveIPRequest(now, msg, &out)
		}
	case "ip-request-resp":
		if !self && msg.Get("dest") == r.cfg.Local {
			r.receiveIPResponse(now, msg, &out)
		}
	}
	r.settle(now, &out)
	return out
}

func (r *RM) receiveStarting(now time.Time, out *actions) {
	if !r.nice() {
		return
	}
	// A standby under way died with the peer's old instance (killed and
	// restarted within deadtime, so peerDead never cancelled it; left
	// alone it would stay pending for StandbyResourceTimeout). The new
	// instance released at start what it held and takes only its own
	// groups: take ours back if we had given them up.
	if r.standby != standbyNot {
		out.log(membership.Info, "Cancelling pending standby operation: %s restarted", r.peer)
		r.standby, r.standbyDeadline = standbyNot, time.Time{}
		if r.hold&Local == 0 {
			r.reqOurResources(now, true, out)
		}
	}
	resend := false
	if r.phase == phaseStarting {
		r.phase = phaseBothStarting
		// heartbeat 3.0.6 drops a starting that arrives before its own
		// comm-up, so ours may be lost: ask again, now that it listens,
		// rather than both waiting out BothUnstableDelay.
		resend = true
	}
	r.peerStable = false
	r.peerStarting = true
	// The peer restarted: whatever we took over is simply ours now.
	for _, g := range r.groups {
		g.takeover = false
	}
	r.sendHeld(r.phase == phaseStable, "", out)
	if resend {
		out.send(wire.New("starting"))
	}
}

func (r *RM) receiveResource(now time.Time, msg *wire.Message, out *actions) {
	n, ok := ParseHold(msg.Get("rsc_hold"))
	if !ok {
		out.log(membership.Error, "resource message with bad rsc_hold %q from %s", msg.Get("rsc_hold"), r.peer)
		return
	}
	if info := msg.Get("info"); info == healInfo || info == healedInfo {
		r.receiveHeal(now, msg, out)
		return
	}
	if !r.nice() {
		return
	}
	if r.phase == phaseStarting || r.phase == phaseBothStarting {
		r.phase = phaseRscRcvd
	}
	if msg.Get("rtype") == "full" || n == None {
		r.peerHold = n
	} else {
		r.peerHold |= n
	}
	if st, ok := msg.Lookup("isstable"); ok {
		if st == "1" {
			if !r.peerStable {
				out.log(membership.Info, "remote resource transition completed.")
				r.peerStable, r.peerStarting = true, false
				r.sendHeld(r.phase == phaseStable, "", out)
				r.performAutoFailback(now, out)
			}
		} else {
			r.peerStable = false
		}
	}
	if r.phase != phaseStable && r.phase != phaseShutdown && r.peerStable {
		r.reqOurResources(now, false, out)
		r.phase = phaseStable
		r.sendHeld(true, "", out)
		r.performAutoFailback(now, out)
	}
	if r.phase == phaseRscRcvd && r.peerStarting && !r.peerStable && r.peerHold&Foreign == 0 {
		// Both nodes are starting and the peer claims none of our groups:
		// it can only be taking its own, so ours are safe to take now
		// rather than after BothUnstableDelay (classic waits).
		out.log(membership.Info, "both nodes starting: local resource transition completed.")
		r.reqOurResources(now, false, out)
		r.phase = phaseStable
		r.localTakeoverAt = time.Time{}
		r.sendHeld(true, "", out)
	}
	if r.phase == phaseRscRcvd && r.localTakeoverAt.IsZero() {
		r.localTakeoverAt = now.Add(BothUnstableDelay)
	}
	r.audit(out)
}

// audit logs duplicated or orphaned classes (AuditResources).
func (r *RM) audit(out *actions) {
	if r.hold&Local != 0 && r.peerHold&Foreign != 0 {
		out.log(membership.Error, "Both machines own our resources!")
	}
	if r.peerHold&Local != 0 && r.hold&Foreign != 0 {
		out.log(membership.Error, "Both machines own foreign resources!")
	}
	if r.stable() && !r.stopping && r.phase != phaseShutdown {
		if r.hold&Local == 0 && r.peerHold&Foreign == 0 {
			out.log(membership.Error, "No one owns our local resources!")
		}
		if r.peerHold&Local == 0 && r.hold&Foreign == 0 {
			out.log(membership.Error, "No one owns foreign resources!")
		}
	}
}

// reqOurResources acquires our local groups (req_our_resources).
func (r *RM) reqOurResources(now time.Time, anyway bool, out *actions) {
	if r.stopping {
		return
	}
	if r.nice() {
		if (r.peerHold&Foreign != 0 || r.hold&Local != 0) && !anyway && r.standby == standbyNot {
			out.log(membership.Info, "Local Resource acquisition completed. (none)")
			return
		}
		r.hold |= Local
	}
	count := 0
	b := &batch{then: func(now time.Time, out *actions) {
		if count == 0 {
			out.log(membership.Info, "No local resources [ResourceManager listkeys %s] to acquire.", r.cfg.Local)
		} else {
			out.log(membership.Info, "Local Resource acquisition completed.")
		}
		r.sendHeld(true, "req_our_resources()", out)
	}}
	for _, g := range r.groups {
		if !g.local {
			continue
		}
		count++
		if g.acquired() {
			continue
		}
		// req_resource grants itself the group, as classic does.
		out.send(ipResponse(r.cfg.Local, g.cfg.Key, true))
		r.run(Acquire, g, b, out)
	}
	r.seal(now, b, out)
}

func ipResponse(dest, key string, weown bool) *wire.Message {
	own := "no"
	if weown {
		own = "yes"
	}
	return wire.New("ip-request-resp").Add("dest", dest).Add("ipaddr", key).
		Add("weown", own).Add("ok", "OK")
}

// peerDead is the mach_down path (hb_rsc_recover_dead_resources).
func (r *RM) peerDead(now time.Time, out *actions) {
	r.heal, r.peerStarting = healState{}, false
	if r.standby != standbyNot {
		out.log(membership.Info, "Cancelling pending standby operation")
		r.standby, r.standbyDeadline = standbyNot, time.Time{}
	}
	r.peerStable = true // a dead peer is not going anywhere
	if r.stopping {
		return
	}
	r.needsFailback = true
	if r.peer == "" {
		r.takeoverFrom(now, out)
		return
	}
	if !(r.peerHeard && r.nice() && r.peerHold == None) {
		out.send(wire.New("stonith").Add("node", r.peer).Add("result", "n_stnth"))
		out.log(membership.Warn, "No STONITH device configured.")
		out.log(membership.Warn, "Shared disks are not protected.")
		r.takeoverFrom(now, out)
		return
	}
	out.log(membership.Info, "Dead node %s gave up resources.", r.peer)
	out.send(wire.New("stonith").Add("node", r.peer).Add("result", "unneeded"))
	if r.hold == All {
		return
	}
	if r.hold&Local == 0 {
		r.reqOurResources(now, true, out)
	}
	if r.hold&Foreign == 0 {
		r.takeoverFrom(now, out)
	}
}

// takeoverFrom acquires the dead peer's groups, then ours (mach_down and
// takeover_from_node).
func (r *RM) takeoverFrom(now time.Time, out *actions) {
	if r.stopping {
		out.log(membership.Info, "Resource takeover cancelled - shutdown in progress.")
		return
	}
	if r.peer != "" {
		out.log(membership.Info, "Resources being acquired from %s.", r.peer)
	}
	if r.nice() {
		r.hold |= Foreign
		r.peerHold = None
		r.peerStable = true
		r.takeoverInProgress = true
	}
	b := &batch{then: func(now time.Time, out *actions) {
		if r.nice() {
			out.send(wire.New("resource").Add("rsc_hold", "foreign").Add("info", "mach_down"))
			out.log(membership.Info, "mach_down takeover complete.")
			r.takeoverInProgress = false
			r.needsFailback = true
		}
		out.log(membership.Info, "mach_down takeover complete for node %s.", r.peer)
	}}
	for _, g := range r.groups {
		if g.local || g.acquired() {
			continue
		}
		out.log(membership.Info, "Taking over resource group %s", g.cfg.Key)
		r.run(Acquire, g, b, out)
	}
	r.seal(now, b, out)
	r.reqOurResources(now, true, out)
}

// performAutoFailback hands foreign groups we took over back to their
// returning node (auto_failback on).
func (r *RM) performAutoFailback(now time.Time, out *actions) {
	if r.stopping || r.hold&Foreign == 0 || !r.needsFailback || r.cfg.AutoFailback != config.On {
		r.needsFailback = false
		return
	}
	if r.standby != standbyNot || !r.peerStable || r.phase != phaseStable || r.moving > 0 {
		out.log(membership.Debug, "Auto failback delayed.")
		r.failbackAt = now.Add(retryDelay)
		return
	}
	r.needsFailback = false
	r.requestStandby(now, Foreign, out)
}

// Tick runs the timers that are due.
func (r *RM) Tick(now time.Time) []Action {
	var out actions
	if !r.localTakeoverAt.IsZero() && !now.Before(r.localTakeoverAt) {
		r.localTakeoverAt = time.Time{}
		if r.phase == phaseRscRcvd {
			out.log(membership.Info, "local resource transition completed.")
			r.reqOurResources(now, false, &out)
			r.phase = phaseStable
			r.sendHeld(true, "", &out)
		}
	}
	if !r.standbyDeadline.IsZero() && !now.Before(r.standbyDeadline) {
		r.standbyDeadline = time.Time{}
		r.standby = standbyNot
		r.peerStable = true
		out.log(membership.Warn, "No reply to standby request.  Standby request cancelled.")
	}
	if !r.failbackAt.IsZero() && !now.Before(r.failbackAt) {
		r.failbackAt = time.Time{}
		r.performAutoFailback(now, &out)
	}
	r.runGiveups(now, &out)
	r.retryHeal(now, &out)
	if !r.nextMonitor.IsZero() && !now.Before(r.nextMonitor) {
		r.nextMonitor = now.Add(r.cfg.Monitor)
		if !r.stopping {
			for _, g := range r.groups {
				if g.held && g.pending == 0 {
					r.run(Check, g, nil, &out)
				}
			}
		}
	}
	r.settle(now, &out)
	return out
}

func (r *RM) runGiveups(now time.Time, out *actions) {
	var later []giveup
	for _, gu := range r.giveups {
		switch {
		case now.Before(gu.at):
			later = append(later, gu)
		case !r.nice() || !r.peerAlive() || r.stopping:
			// Nobody to give it to: the group stays down here.
		case r.stable():
			r.requestStandby(now, gu.set, out)
		default:
			later = append(later, giveup{at: now.Add(retryDelay), set: gu.set})
		}
	}
	r.giveups = later
}

// Done reports that job id finished; err is non-nil when it failed (for a
// Check: when a resource is not running).
func (r *RM) Done(now time.Time, id uint64, err error) []Action {
	j := r.jobs[id]
	if j == nil {
		return nil
	}
	delete(r.jobs, id)
	var out actions
	g := j.g
	if j.op == Acquire || j.op == Release {
		g.pending--
		r.moving--
	}
	switch j.op {
	case Acquire:
		g.held = err == nil
		if err != nil {
			failed, cause := g.cfg.Key, err
			var re *ResourceError
			if errors.As(err, &re) {
				failed, cause = re.Resource, re.Err
			}
			out.add(Log{Level: membership.Crit, Msg: "Giving up resources due to failure of " + failed,
				Fields: map[string]any{"group": g.cfg.Key, "err": cause}})
			r.giveups = append(r.giveups, giveup{at: now.Add(GiveupDelay), set: classOf(g)})
		}
	case Release:
		g.held = false
		g.takeover = false
		if err != nil {
			r.stopFailed(g, err, &out)
		}
	case Check:
		if err != nil && g.held && g.pending == 0 && !r.stopping {
			r.monitorFailed(now, g, err, &out)
		}
	}
	if b := j.batch; b != nil {
		b.left--
		if b.left == 0 && b.sealed && b.then != nil {
			b.then(now, &out)
		}
	}
	r.settle(now, &out)
	return out
}

func (r *RM) stopFailed(g *group, err error, out *actions) {
	if r.cfg.RebootOnStopFailure {
		out.log(membership.Crit, "Resource group %s could not be stopped: %v; rebooting (stop_failure_action reboot)", g.cfg.Key, err)
		out.add(Reboot{Reason: fmt.Sprintf("stopping %s failed: %v", g.cfg.Key, err)})
		return
	}
	out.log(membership.Crit, "Resource group %s could not be stopped: %v; not rebooting (stop_failure_action block): "+
		"it may still be running here while the peer starts it", g.cfg.Key, err)
}

// monitorFailed hands a group whose status check failed to the peer, or
// restarts it here when there is no peer to take it.
func (r *RM) monitorFailed(now time.Time, g *group, err error, out *actions) {
	out.log(membership.Crit, "Resource group %s failed its status check: %v", g.cfg.Key, err)
	if r.nice() && r.peerAlive() && r.stable() {
		out.log(membership.Info, "Giving %s resources to %s", classOf(g), r.peer)
		r.requestStandby(now, classOf(g), out)
		return
	}
	out.log(membership.Info, "Restarting resource group %s here", g.cfg.Key)
	r.run(Release, g, nil, out)
	r.run(Acquire, g, nil, out)
}

// settle finishes what waits for quiet: a node alone becomes stable once
// its jobs are done, and a pending graceful stop begins.
func (r *RM) settle(now time.Time, out *actions) {
	if !r.started || r.moving > 0 {
		if r.stopping && !r.stopStarted && !now.Before(r.stopDeadline) {
			r.beginShutdown(now, out)
		}
		return
	}
	if !r.peerAlive() && r.nice() && r.phase >= phaseStarting && r.phase <= phaseRscRcvd {
		r.phase = phaseStable
		r.localTakeoverAt = time.Time{}
		out.log(membership.Info, "local resource transition completed.")
	}
	if r.stopping && !r.stopStarted && (r.stable() || !now.Before(r.stopDeadline)) {
		r.beginShutdown(now, out)
	}
}

// Stop begins a graceful stop: once resources are stable, announce
// rsc_hold=none, release every group and report Stopped.
func (r *RM) Stop(now time.Time) []Action {
	var out actions
	if r.stopping {
		return nil
	}
	r.stopping = true
	r.stopDeadline = now.Add(StopWaitLimit)
	r.failbackAt, r.giveups = time.Time{}, nil
	if !r.started {
		r.stopStarted = true
		out.add(Stopped{})
		return out
	}
	if !r.stable() {
		out.log(membership.Warn, "Shutdown delayed until current resource activity finishes.")
	}
	r.settle(now, &out)
	return out
}

func (r *RM) beginShutdown(now time.Time, out *actions) {
	r.stopStarted = true
	r.hold = None
	r.phase = phaseShutdown
	r.sendHeld(false, "shutdown", out)
	out.log(membership.Info, "Heartbeat shutdown in progress.")
	b := &batch{then: func(now time.Time, out *actions) {
		out.log(membership.Info, "All HA resources relinquished.")
		out.add(Stopped{})
	}}
	for _, g := range r.groups {
		if g.busy() {
			r.run(Release, g, b, out)
		}
	}
	r.seal(now, b, out)
}

// Reload applies a new haresources: removed and changed groups are
// released, new ones started where they belong, unchanged ones untouched.
func (r *RM) Reload(now time.Time, groups []config.Group) []Action {
	var out actions
	old := r.groups
	r.setGroups(groups)
	var added, removed, changed int
	for _, o := range old {
		if slices.Contains(r.groups, o) {
			continue
		}
		if find(r.groups, o.cfg.Key) != nil {
			changed++
		} else {
			removed++
		}
		if o.busy() && r.started {
			out.log(membership.Info, "Releasing resource group %s (removed or changed in haresources)", o.cfg.Key)
			r.run(Release, o, nil, &out)
		}
	}
	for _, g := range r.groups {
		if slices.Contains(old, g) {
			continue
		}
		if find(old, g.cfg.Key) == nil {
			added++
		}
		if r.started && !r.stopping && r.shouldHold(g) {
			out.log(membership.Info, "Acquiring resource group %s (new in haresources)", g.cfg.Key)
			r.run(Acquire, g, nil, &out)
		}
	}
	out.log(membership.Info, "haresources reloaded: %d added, %d removed, %d changed", added, removed, changed)
	r.settle(now, &out)
	return out
}

// shouldHold reports whether a new group belongs here now.
func (r *RM) shouldHold(g *group) bool {
	if !r.nice() {
		return g.local || !r.peerAlive()
	}
	return r.hold&classOf(g) != 0
}
