// manager.go: Manager, the N-node resource manager state machine: it
// follows Place with one job at a time per group, publishing Starting
// before an acquire and Stopping before a release, and handles quorum
// loss, failed starts, hb_standby, hb_takeover, graceful stop and reload.

package nway

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/rm"
)

// Timing.
const (
	// GiveupDelay: a group that failed to start here stays Failed (others
	// take it) at least this long, and after that as long as another node
	// runs it, so it does not bounce back and forth.
	GiveupDelay = rm.GiveupDelay
	// ReleaseRetryDelay: a release that failed is tried again this much
	// later; meanwhile the group stays published as Held, so nobody else
	// starts it.
	ReleaseRetryDelay = 10 * time.Second
	// ReloadGrace: a node whose haresources differs from the one most
	// nodes run (a reload not yet done everywhere) keeps its groups but
	// starts none for this long, then releases them all. Meanwhile the
	// others start nothing while it holds anything.
	ReloadGrace = time.Minute
)

// Action is something the daemon must do after an event: an rm.Run (a job
// for the executor, reported back with Done), Publish, Log or Stopped.
type Action any

// Publish asks the daemon to publish State as our node meta.
type Publish struct{ State NodeState }

// Log is a message for the daemon's log (the rm one).
type Log = rm.Log

// Stopped reports that a graceful stop has released every group.
type Stopped = rm.Stopped

// group is one haresources group and what runs of it here.
type group struct {
	cfg     config.Group
	index   int // in the current configuration; -1 once removed by a reload
	running bool
	job     uint64 // the job in flight, 0 when none
	op      rm.Op
	giveUp  bool      // its acquire failed: release, then mark Failed
	failed  time.Time // Failed here until at least then; zero when not failed
	retryAt time.Time // a failed release is retried then
	claimed bool
	// startAt: Starting is published and the acquire runs then
	// (Config.StartSettle); zero when no start is pending.
	startAt time.Time
}

func (g *group) isFailed() bool { return !g.failed.IsZero() }

// overlaps reports whether g and o share a resource.
func (g *group) overlaps(o config.Group) bool {
	for _, r := range g.cfg.Resources {
		if slices.ContainsFunc(o.Resources, func(x config.Resource) bool { return x.Text == r.Text }) {
			return true
		}
	}
	return false
}

// Manager is the state machine. It is not safe for concurrent use.
type Manager struct {
	cfg     Config
	hash    uint32
	groups  []*group
	orphans []*group // removed or changed by a reload, still to release

	score          int
	standbyLocal   bool
	standbyForeign bool
	claimSeq       uint32

	view   View
	nextID uint64
	jobs   map[uint64]*group

	stopping, stopped bool
	published         *NodeState
	next              time.Time
	// mismatchSince: since when our haresources differs from the one the
	// other nodes run (zero when it does not).
	mismatchSince time.Time

	// What was last logged, so that a state is logged once.
	quorumLogged   *bool
	refLogged      *bool
	badPeersLogged map[string]string
}

// New returns a Manager holding nothing; cfg should have passed Validate.
// Its first event publishes its state.
func New(cfg Config) *Manager {
	m := &Manager{jobs: map[uint64]*group{}, badPeersLogged: map[string]string{}}
	m.setConfig(cfg)
	return m
}

func (m *Manager) setConfig(cfg Config) {
	old := m.groups
	m.groups = nil
	for i, c := range cfg.Groups {
		g := &group{cfg: c, index: i}
		if k := slices.IndexFunc(old, func(o *group) bool { return o != nil && o.cfg.Same(c) }); k >= 0 {
			g, old[k] = old[k], nil
			g.cfg, g.index = c, i
		}
		m.groups = append(m.groups, g)
	}
	for _, o := range old {
		if o != nil && (o.running || o.job != 0) {
			o.index = -1
			m.orphans = append(m.orphans, o)
		}
	}
	m.cfg = cfg
	m.hash = GroupsHash(cfg.Groups)
}

// State is what we publish now (also before the first event, for the
// meta set before joining).
func (m *Manager) State() NodeState {
	s := NodeState{Score: m.score, StandbyLocal: m.standbyLocal || m.stopping,
		StandbyForeign: m.standbyForeign || m.stopping, ClaimSeq: m.claimSeq, GroupsHash: m.hash}
	for _, g := range m.groups {
		i := g.index
		switch {
		case g.job != 0 && g.op == rm.Acquire, !g.startAt.IsZero():
			s.Starting = s.Starting.With(i)
		case g.job != 0 && g.op == rm.Release:
			s.Stopping = s.Stopping.With(i)
		case g.running:
			s.Held = s.Held.With(i)
		case g.isFailed():
			s.Failed = s.Failed.With(i)
		}
		if g.claimed {
			s.Claims = s.Claims.With(i)
		}
	}
	// A new group sharing a resource with one still being released shows
	// as Stopping: nobody starts it before the old one is down.
	for _, g := range m.groups {
		if !s.active(g.index) && slices.ContainsFunc(m.orphans, func(o *group) bool { return o.overlaps(g.cfg) }) {
			s.Stopping = s.Stopping.With(g.index)
		}
	}
	return s
}

// Status is what cl_status rscstatus prints: transition while a job runs
// or a start is pending, else the classes of the groups running here
// (none, local, foreign, all).
func (m *Manager) Status() string {
	if len(m.jobs) > 0 || slices.ContainsFunc(m.groups, func(g *group) bool { return !g.startAt.IsZero() }) {
		return "transition"
	}
	var h rm.Hold
	for _, g := range m.groups {
		if g.running {
			if g.cfg.Node == m.cfg.Node {
				h |= rm.Local
			} else {
				h |= rm.Foreign
			}
		}
	}
	return h.String()
}

// Placement is the placement from the last view and our current state:
// group index -> node ("" = none).
func (m *Manager) Placement() map[int]string {
	return Place(m.cfg, m.selfView())
}

// Deadline is when Tick next has work; zero when no timer is set.
func (m *Manager) Deadline() time.Time { return m.next }

// View takes the membership view (every known member, ours included; our
// own entry is replaced by our current state).
func (m *Manager) View(now time.Time, v View) []Action {
	m.view = v
	return m.reconcile(now, nil)
}

// Score sets our ping score (ipfail's count of reachable ping nodes).
func (m *Manager) Score(now time.Time, score int) []Action {
	m.score = score
	return m.reconcile(now, nil)
}

// Tick runs the timers.
func (m *Manager) Tick(now time.Time) []Action { return m.reconcile(now, nil) }

// Done reports the end of job id; err is its failure.
func (m *Manager) Done(now time.Time, id uint64, err error) []Action {
	var out []Action
	g := m.jobs[id]
	if g == nil {
		return append(out, logf(membership.Warn, "unknown job %d finished", id))
	}
	delete(m.jobs, id)
	g.job = 0
	switch g.op {
	case rm.Acquire:
		if err == nil {
			g.running = true
			out = append(out, logf(membership.Info, "acquired %s", g.cfg.Key))
			break
		}
		// The executor stops a group whose start failed; release it again
		// to be sure before others may take it.
		g.running, g.giveUp = true, true
		out = append(out, logf(membership.Crit, "Giving up resources due to failure of %s", failedResource(g, err)),
			logf(membership.Error, "%s: %v", g.cfg.Key, err))
	case rm.Release:
		switch {
		case err == nil:
			g.running = false
			out = append(out, logf(membership.Info, "released %s", g.cfg.Key))
			if g.giveUp {
				g.giveUp, g.failed = false, now.Add(GiveupDelay)
				out = append(out, logf(membership.Warn, "%s failed to start here: leaving it to the other nodes", g.cfg.Key))
			}
		case m.stopping:
			g.running = false
			out = append(out, logf(membership.Crit, "%s did not stop: %v; stopping anyway", g.cfg.Key, err))
		default:
			g.running, g.retryAt = true, now.Add(ReleaseRetryDelay)
			out = append(out, logf(membership.Crit, "%s did not stop: %v; it stays held here, next try in %v", g.cfg.Key, err, ReleaseRetryDelay))
		}
	}
	return m.reconcile(now, out)
}

func failedResource(g *group, err error) string {
	if re := (*rm.ResourceError)(nil); errors.As(err, &re) {
		return re.Resource
	}
	return g.cfg.Key
}

// classes parses an hb_standby/hb_takeover argument; failback means
// foreign for standby (as hb_standby) and local for takeover.
func classes(which string, takeover bool) (local, foreign, ok bool) {
	switch which {
	case "all", "":
		return true, true, true
	case "local":
		return true, false, true
	case "foreign":
		return false, true, true
	case "failback":
		return takeover, !takeover, true
	}
	return false, false, false
}

func (m *Manager) inClass(g *group, local, foreign bool) bool {
	if g.cfg.Node == m.cfg.Node {
		return local
	}
	return foreign
}

// Standby is hb_standby all|local|foreign|failback: other nodes are
// preferred for that class of groups (our own groups for local, the
// others' for foreign) until hb_takeover takes the class back; "none"
// ends standby without claiming anything. Our claims on the class end.
// A standby node still runs a group that no other node can.
func (m *Manager) Standby(now time.Time, which string) []Action {
	if m.stopping {
		return []Action{logf(membership.Info, "hb_standby %s ignored: stopping", which)}
	}
	if which == "none" {
		m.standbyLocal, m.standbyForeign = false, false
		return m.reconcile(now, []Action{logf(membership.Info, "standby ended")})
	}
	local, foreign, ok := classes(which, false)
	if !ok {
		return []Action{logf(membership.Error, "hb_standby %q: want all, local, foreign, failback or none", which)}
	}
	m.standbyLocal = m.standbyLocal || local
	m.standbyForeign = m.standbyForeign || foreign
	for _, g := range m.groups {
		if m.inClass(g, local, foreign) {
			g.claimed = false
		}
	}
	return m.reconcile(now, []Action{logf(membership.Info, "going standby [%s]", which)})
}

// Takeover is hb_takeover all|local|foreign|failback: we claim that class
// of groups (with a claim sequence newer than any seen, so the last
// takeover wins), end standby for it and forget failures of those groups.
func (m *Manager) Takeover(now time.Time, which string) []Action {
	if m.stopping {
		return []Action{logf(membership.Info, "hb_takeover %s ignored: stopping", which)}
	}
	local, foreign, ok := classes(which, true)
	if !ok {
		return []Action{logf(membership.Error, "hb_takeover %q: want all, local, foreign or failback", which)}
	}
	for _, p := range m.view.Peers {
		if p.Valid {
			m.claimSeq = max(m.claimSeq, p.State.ClaimSeq)
		}
	}
	m.claimSeq++
	if local {
		m.standbyLocal = false
	}
	if foreign {
		m.standbyForeign = false
	}
	for _, g := range m.groups {
		if m.inClass(g, local, foreign) {
			g.claimed, g.failed = true, time.Time{}
		}
	}
	return m.reconcile(now, []Action{logf(membership.Info, "taking over [%s] (claim %d)", which, m.claimSeq)})
}

// Stop starts a graceful stop: we go standby for everything, release every
// group, then return Stopped.
func (m *Manager) Stop(now time.Time) []Action {
	if m.stopping {
		return nil
	}
	m.stopping = true
	return m.reconcile(now, []Action{logf(membership.Info, "stopping: releasing every group")})
}

// Reload takes a new configuration. Groups that are the same (config.Group
// Same) keep running wherever they are; removed or changed ones running
// here are released (a changed one may start again once the old one is
// down, under the new placement).
func (m *Manager) Reload(now time.Time, cfg Config) []Action {
	before := len(m.orphans)
	m.setConfig(cfg)
	out := []Action{logf(membership.Info, "configuration reloaded: %d groups", len(cfg.Groups))}
	for _, o := range m.orphans[before:] {
		out = append(out, logf(membership.Info, "%s removed or changed: releasing the old one", o.cfg.Key))
	}
	return m.reconcile(now, out)
}

// selfView is the last view with our own entry replaced by our state.
func (m *Manager) selfView() View {
	v := View{Peers: make([]Peer, 0, len(m.view.Peers)+1)}
	for _, p := range m.view.Peers {
		if p.Name != m.cfg.Node {
			v.Peers = append(v.Peers, p)
		}
	}
	v.Peers = append(v.Peers, Peer{Name: m.cfg.Node, Alive: true, Valid: true, State: m.State()})
	return v
}

// reconcile moves towards the placement and publishes what changed,
// before the jobs it returns.
func (m *Manager) reconcile(now time.Time, out []Action) []Action {
	if m.stopped {
		return out
	}
	m.expireFailures(now)
	m.dropSupersededClaims()
	v := m.selfView()
	p := place(m.cfg, v)
	out = m.logPlacement(p, out)

	var runs []Action
	run := func(op rm.Op, g *group) {
		m.nextID++
		g.job, g.op = m.nextID, op
		m.jobs[m.nextID] = g
		runs = append(runs, rm.Run{ID: m.nextID, Op: op, Group: g.cfg})
	}
	frozen := false
	if p.quorum && p.refNodes > 0 && p.refHash != m.hash && !m.stopping {
		if m.mismatchSince.IsZero() {
			m.mismatchSince = now
		}
		frozen = now.Before(m.mismatchSince.Add(ReloadGrace))
	} else {
		m.mismatchSince = time.Time{}
	}
	for _, g := range m.groups {
		if g.job != 0 {
			continue
		}
		owner := p.owner[g.index]
		want := !m.stopping && owner == m.cfg.Node && !frozen
		if !want {
			g.startAt = time.Time{}
		}
		switch {
		case g.running && g.giveUp, g.running && !want && !frozen:
			if now.Before(g.retryAt) {
				continue
			}
			if !g.giveUp {
				out = append(out, logf(membership.Info, "releasing %s (placed on %s)", g.cfg.Key, nodeOrNone(owner)))
			}
			run(rm.Release, g)
		case !g.running && want && !g.isFailed():
			if g.startAt.IsZero() {
				out = append(out, logf(membership.Info, "taking %s (preferred node %s)", g.cfg.Key, g.cfg.Node))
				g.startAt = now.Add(m.cfg.StartSettle)
			}
			if now.Before(g.startAt) || m.blocker(g, v) != "" {
				continue
			}
			g.startAt = time.Time{}
			run(rm.Acquire, g)
		}
	}
	for _, g := range m.orphans {
		if g.job == 0 && g.running && !now.Before(g.retryAt) {
			run(rm.Release, g)
		}
	}
	m.orphans = slices.DeleteFunc(m.orphans, func(g *group) bool { return !g.running && g.job == 0 })

	if s := m.State(); m.published == nil || !s.Equal(*m.published) {
		m.published = &s
		out = append(out, Publish{State: s})
	}
	out = append(out, runs...)
	m.setNext(now)
	if m.stopping && len(m.jobs) == 0 && !m.anyRunning() {
		m.stopped = true
		out = append(out, logf(membership.Info, "every group released"), Stopped{})
	}
	return out
}

func nodeOrNone(n string) string {
	if n == "" {
		return "no node"
	}
	return n
}

func (m *Manager) anyRunning() bool {
	return slices.ContainsFunc(m.groups, func(g *group) bool { return g.running }) ||
		slices.ContainsFunc(m.orphans, func(g *group) bool { return g.running })
}

// blocker names a peer that must finish with g before we start it: an
// alive peer showing it held, starting or stopping, one publishing another
// haresources and holding anything, or one whose state we cannot read.
// A release of an old group sharing a resource blocks too.
func (m *Manager) blocker(g *group, v View) string {
	for _, o := range m.orphans {
		if o.overlaps(g.cfg) {
			return m.cfg.Node
		}
	}
	for _, p := range v.Peers {
		switch {
		case !p.Alive || p.Name == m.cfg.Node:
		case !p.Valid:
			return p.Name
		case p.State.GroupsHash != m.hash:
			if p.State.anyActive() {
				return p.Name
			}
		case p.State.active(g.index):
			return p.Name
		}
	}
	return ""
}

// expireFailures clears Failed marks whose delay has passed, unless another
// node runs the group (then it stays there and we stay out).
func (m *Manager) expireFailures(now time.Time) {
	for _, g := range m.groups {
		if !g.isFailed() || now.Before(g.failed) {
			continue
		}
		held := false
		for _, p := range m.view.Peers {
			if p.Alive && p.Valid && p.Name != m.cfg.Node && p.State.GroupsHash == m.hash && p.State.holds(g.index) {
				held = true
			}
		}
		if !held {
			g.failed = time.Time{}
		}
	}
}

// dropSupersededClaims forgets our claims on groups another alive node
// claimed later, so a later takeover of ours does not revive them.
func (m *Manager) dropSupersededClaims() {
	for _, g := range m.groups {
		if !g.claimed {
			continue
		}
		for _, p := range m.view.Peers {
			if p.Alive && p.Valid && p.Name != m.cfg.Node && p.State.GroupsHash == m.hash && p.State.Claims.Has(g.index) &&
				(p.State.ClaimSeq > m.claimSeq || p.State.ClaimSeq == m.claimSeq && p.Name > m.cfg.Node) {
				g.claimed = false
			}
		}
	}
}

// setNext computes Deadline: pending failure expiries and release retries.
func (m *Manager) setNext(now time.Time) {
	m.next = time.Time{}
	consider := func(t time.Time) {
		if t.After(now) && (m.next.IsZero() || t.Before(m.next)) {
			m.next = t
		}
	}
	for _, g := range append(slices.Clone(m.groups), m.orphans...) {
		consider(g.failed)
		consider(g.retryAt)
		consider(g.startAt)
	}
	if !m.mismatchSince.IsZero() {
		consider(m.mismatchSince.Add(ReloadGrace))
	}
}

// logPlacement logs quorum and haresources mismatches when they change.
func (m *Manager) logPlacement(p placement, out []Action) []Action {
	if m.quorumLogged == nil || *m.quorumLogged != p.quorum {
		q := p.quorum
		switch {
		case !q && m.quorumLogged == nil:
			out = append(out, logf(membership.Info, "waiting for quorum: %d of %d configured nodes alive", p.alive, len(m.cfg.Nodes)))
		case !q:
			out = append(out, Log{Level: membership.Crit, Msg: fmt.Sprintf("no quorum: %d of %d configured nodes alive; releasing every group", p.alive, len(m.cfg.Nodes))})
		case m.quorumLogged != nil:
			out = append(out, logf(membership.Info, "quorum: %d of %d configured nodes alive", p.alive, len(m.cfg.Nodes)))
		}
		m.quorumLogged = &q
	}
	ours := p.refHash == m.hash
	if m.refLogged == nil || *m.refLogged != ours {
		if !ours {
			out = append(out, Log{Level: membership.Error, Msg: fmt.Sprintf("our haresources (hash %08x) differs from the one %d alive nodes run (%08x): taking no group", m.hash, p.refNodes, p.refHash)})
		} else if m.refLogged != nil {
			out = append(out, logf(membership.Info, "our haresources matches the cluster's again"))
		}
		m.refLogged = &ours
	}
	seen := map[string]bool{}
	for _, peer := range m.view.Peers {
		if !peer.Alive || peer.Name == m.cfg.Node {
			continue
		}
		why := ""
		switch {
		case !peer.Valid:
			why = "publishes no state we can read: no group starts while it is alive"
		case peer.State.GroupsHash != m.hash:
			why = fmt.Sprintf("runs another haresources (hash %08x, ours %08x): it is not a candidate here", peer.State.GroupsHash, m.hash)
		case !slices.Contains(m.cfg.Nodes, peer.Name):
			why = "is not a configured node: it is not a candidate"
		}
		if why == "" {
			continue
		}
		seen[peer.Name] = true
		if m.badPeersLogged[peer.Name] != why {
			m.badPeersLogged[peer.Name] = why
			out = append(out, Log{Level: membership.Warn, Msg: "node " + peer.Name + " " + why})
		}
	}
	for n := range m.badPeersLogged {
		if !seen[n] {
			delete(m.badPeersLogged, n)
		}
	}
	return out
}

func logf(l membership.Level, format string, args ...any) Log {
	return Log{Level: l, Msg: fmt.Sprintf(format, args...)}
}
