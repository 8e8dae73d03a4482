// nway.go: membership memberlist (ha.cf `membership memberlist`): the
// gossip layer (heartbeatd/gossip), the N-node resource manager
// (heartbeatd/nway) and their event loop. The rest of the daemon (API,
// executor, hooks, respawn, ping nodes, state files, metrics, reload) is the
// classic path's; classic membership keeps only the ping nodes.

package daemon

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/gossip"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/nway"
	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/internal/sdnotify"
)

// Timing of the memberlist path.
const (
	// joinRetry: while a configured node is not an alive member, the
	// seeds are joined again this often (memberlist stops gossiping to
	// dead nodes after 30 s, so a healed partition needs a join).
	joinRetry = time.Second
	// leaveTimeout bounds the leave notice at a graceful stop.
	leaveTimeout = 2 * time.Second
	// settleGossipIntervals: Starting is published this many gossip
	// intervals before an acquire (nway.Config.StartSettle).
	settleGossipIntervals = 4
	// memberlistLink is the one link cl_status lists for a member.
	memberlistLink = "memberlist"
	// announceBase: job ids from here on are the daemon's own announce
	// jobs, not the manager's.
	announceBase = uint64(1) << 62
)

// reannounce: after acquiring a group, and after a member died, the
// addresses of the groups held here are announced again this long after:
// across a partition the other side may hold (or briefly take) the same
// groups until it sees it lost quorum (up to the detection time later),
// and clients may have followed its announcements meanwhile.
var reannounce = []time.Duration{2 * time.Second, 5 * time.Second}

// nwayState is the memberlist path's part of the Daemon.
type nwayState struct {
	g     atomic.Pointer[gossip.Gossip]
	m     *nway.Manager // nil with -M; guarded by Daemon.mu
	view  nway.View     // the last view given to m; guarded by Daemon.mu
	score int           // ping nodes up, as last given to m

	alive map[string]bool // members as last logged: alive or not (loop only)
	kick  chan struct{}   // a membership change (OnChange)
	msgs  chan gossipMsg  // verified cluster messages from peers
	out   chan outMsg     // cluster messages to send, in order

	acquiring  map[uint64]config.Group // acquire jobs under way (loop only)
	announces  []announce              // re-announcements due (loop only)
	announceID uint64
}

// announce is a re-announcement of a group's addresses due at a time.
type announce struct {
	at    time.Time
	group config.Group
}

type gossipMsg struct {
	from    string
	payload []byte
}

// outMsg is a cluster message on its way out: to dest, or to every member.
type outMsg struct {
	dest    string
	payload []byte
}

// nwayConfig is the resource manager's configuration from the files.
func nwayConfig(node string, f *Files) nway.Config {
	ha := f.HA
	c := nway.Config{Node: node, Nodes: ha.Nodes, Groups: f.Groups,
		AutoFailback: ha.AutoFailback.String(), Quorum: ha.Quorum}
	if ha.Memberlist != nil {
		c.StartSettle = settleGossipIntervals * ha.Memberlist.GossipInterval
	}
	return c
}

// memberlistKey derives the memberlist key from the active authkeys entry.
func memberlistKey(k *config.AuthKeys) []byte {
	e := k.Entries[k.Active]
	return gossip.DeriveKey(e.Method, e.Key)
}

// runNway is Run's event loop with membership memberlist; the shared
// set-up is done and undone by Run.
func (d *Daemon) runNway(ctx context.Context, reload <-chan struct{}, gen uint64) error {
	files := d.files.Load()
	ml := files.HA.Memberlist
	n := d.nway
	n.alive = map[string]bool{}
	n.kick = make(chan struct{}, 1)
	n.msgs = make(chan gossipMsg, 256)
	n.out = make(chan outMsg, 256)
	n.acquiring = map[uint64]config.Group{}
	n.announceID = announceBase
	if d.exec != nil {
		d.mu.Lock() // the API may already ask
		n.m = nway.New(nwayConfig(d.node, files))
		d.mu.Unlock()
	}
	g, err := gossip.New(gossip.Config{
		Node: d.node, Bind: ml.Bind, Advertise: ml.Advertise, Seeds: ml.Seeds,
		Key: memberlistKey(files.Keys), Generation: gen,
		Tuning: gossip.Tuning{ProbeInterval: ml.ProbeInterval, ProbeTimeout: ml.ProbeTimeout,
			GossipInterval: ml.GossipInterval, SuspicionMult: ml.SuspicionMult},
		Log: d.log.WithField("component", "memberlist"),
		OnMessage: func(from string, payload []byte) {
			select {
			case n.msgs <- gossipMsg{from: from, payload: payload}:
			default:
				d.counter.queueFull.Add(1)
			}
		},
		OnChange: func() {
			select {
			case n.kick <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("%s: membership memberlist: %w", files.HA.File, err)
	}
	defer g.Shutdown()
	// Our state goes out with the join itself.
	if err := g.SetMeta(d.nwayMeta()); err != nil {
		return err
	}
	n.g.Store(g)
	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	go d.joinLoop(bg, g)
	go d.sendLoop(bg, g)

	d.memEvent(func(now time.Time) []membership.Action { return d.mem.Start(now) })
	sdnotify.Ready()
	go sdnotify.Watchdog(ctx)
	d.log.WithFields(logrus.Fields{"node": d.node, "generation": gen, "bind": ml.Bind, "membership": "memberlist"}).
		Info("heartbeatd is up")
	d.nwayView()

	timer := time.NewTimer(time.Until(d.nwayDeadline()))
	defer timer.Stop()
	done := ctx.Done()
	var giveUpWaiting <-chan time.Time
	for {
		select {
		case <-done:
			// Graceful stop: release every group (the others take them
			// over meanwhile), then leave the cluster.
			done = nil
			sdnotify.Stopping()
			if n.m == nil {
				d.stopped = true
				break
			}
			d.nwayEvent(func(now time.Time) []nway.Action { return n.m.Stop(now) })
			giveUpWaiting = time.After(rm.StopWaitLimit + 2*time.Minute)
		case <-giveUpWaiting:
			d.log.Error("resources did not settle in time; stopping anyway")
			d.stopped = true
		case r := <-d.in:
			if r.ping {
				d.memEvent(func(now time.Time) []membership.Action { return d.mem.ReceivePing(now, r.link, r.msg) })
			}
		case j := <-d.jobDone:
			d.nwayJobDone(j)
		case m := <-d.client:
			d.nwayClientMessage(m)
		case gm := <-n.msgs:
			d.nwayReceive(gm)
		case <-n.kick:
			d.nwayView()
		case <-timer.C:
			d.memEvent(func(now time.Time) []membership.Action { return d.mem.Tick(now) })
			if dl := d.managerDeadline(); !dl.IsZero() && !time.Now().Before(dl) {
				d.nwayEvent(func(now time.Time) []nway.Action { return n.m.Tick(now) })
			}
			d.announceDue(time.Now())
		case <-reload:
			d.reload()
		}
		if done == nil && d.stopped {
			stopBackground()
			if err := g.Leave(leaveTimeout); err != nil {
				d.log.WithError(err).Warn("leaving the memberlist cluster")
			}
			d.log.Info("heartbeatd stopped: left the cluster")
			return nil
		}
		timer.Reset(time.Until(d.nwayDeadline()))
	}
}

// nwayDeadline is the next timer: classic membership's (ping nodes) or the
// manager's, whichever is first.
func (d *Daemon) nwayDeadline() time.Time {
	next := d.memDeadlineOr(d.managerDeadline())
	for _, a := range d.nway.announces {
		if a.at.Before(next) {
			next = a.at
		}
	}
	return next
}

// nwayJobDone hands a finished job to the manager, schedules the
// re-announcements of a group just acquired, and swallows our own
// announce jobs.
func (d *Daemon) nwayJobDone(j jobDone) {
	n := d.nway
	if j.id >= announceBase {
		return // the executor logged a failure
	}
	if g, ok := n.acquiring[j.id]; ok {
		delete(n.acquiring, j.id)
		if j.err == nil {
			n.scheduleAnnounce(time.Now(), g, reannounce...)
		}
	}
	d.nwayEvent(func(now time.Time) []nway.Action { return n.m.Done(now, j.id, j.err) })
}

// announceDue queues the re-announcements that are due, of groups still
// held here.
func (d *Daemon) announceDue(now time.Time) {
	n := d.nway
	if n.m == nil {
		return
	}
	d.mu.Lock()
	held := n.m.State().Held
	d.mu.Unlock()
	groups := d.files.Load().Groups
	keep := n.announces[:0]
	for _, a := range n.announces {
		if now.Before(a.at) {
			keep = append(keep, a)
			continue
		}
		if i := slices.IndexFunc(groups, a.group.Same); i >= 0 && held.Has(i) {
			n.announceID++
			d.exec.add(rm.Run{ID: n.announceID, Op: rm.Announce, Group: a.group})
		}
	}
	n.announces = keep
}

// announceHeld schedules announcements of every group held here now, after
// each delay: at once when a node joins or comes back (a healed
// partition), later when one died.
func (d *Daemon) announceHeld(after ...time.Duration) {
	n := d.nway
	if n.m == nil {
		return
	}
	d.mu.Lock()
	held := n.m.State().Held
	d.mu.Unlock()
	now := time.Now()
	for i, g := range d.files.Load().Groups {
		if held.Has(i) {
			n.scheduleAnnounce(now, g, after...)
		}
	}
}

// scheduleAnnounce queues announcements of g's addresses, each delay
// after now.
func (n *nwayState) scheduleAnnounce(now time.Time, g config.Group, after ...time.Duration) {
	for _, a := range after {
		n.announces = append(n.announces, announce{at: now.Add(a), group: g})
	}
}

func (d *Daemon) managerDeadline() time.Time {
	if d.nway.m == nil {
		return time.Time{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nway.m.Deadline()
}

// nwayMeta is the node meta to publish now. With -M it says only our
// ping score: its groups hash (of no groups) makes us no candidate.
func (d *Daemon) nwayMeta() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nway.m == nil {
		return nway.NodeState{Score: d.nway.score}.Marshal()
	}
	return d.nway.m.State().Marshal()
}

// nwayEvent runs one event through the resource manager and carries out
// its actions.
func (d *Daemon) nwayEvent(event func(now time.Time) []nway.Action) {
	n := d.nway
	if n.m == nil {
		return
	}
	d.mu.Lock()
	acts := event(time.Now())
	d.mu.Unlock()
	for _, a := range acts {
		switch a := a.(type) {
		case rm.Run:
			if a.Op == rm.Acquire {
				n.acquiring[a.ID] = a.Group
			}
			d.exec.add(a)
		case nway.Publish:
			if g := n.g.Load(); g != nil {
				if err := g.SetMeta(a.State.Marshal()); err != nil {
					d.log.WithError(err).Error("publishing our node state")
				}
			}
		case nway.Log:
			d.logAction(membership.Log(a))
		case nway.Stopped:
			d.stopped = true
		}
	}
}

// nwayView turns the member list into the manager's view, and tells the
// log and API clients about members that came up or went away.
func (d *Daemon) nwayView() {
	n := d.nway
	g := n.g.Load()
	if g == nil {
		return
	}
	var v nway.View
	joined, died := false, false
	for _, mb := range g.Members() {
		p := nway.Peer{Name: mb.Name, Alive: mb.Up()}
		if st, err := nway.Unmarshal(mb.Meta); err == nil {
			p.State, p.Valid = st, true
		}
		v.Peers = append(v.Peers, p)
		if mb.Name != d.node && d.memberChange(mb, p.Alive) {
			joined, died = joined || p.Alive, died || !p.Alive
		}
	}
	if joined {
		d.announceHeld(0)
	}
	if died {
		d.announceHeld(reannounce...)
	}
	d.mu.Lock()
	n.view = v
	d.mu.Unlock()
	d.nwayEvent(func(now time.Time) []nway.Action { return n.m.View(now, v) })
}

// memberChange logs and announces a member's change between alive and
// dead (or left), as classic membership's node status events; it reports
// whether it did.
func (d *Daemon) memberChange(mb gossip.Member, alive bool) bool {
	was, known := d.nway.alive[mb.Name]
	if known && was == alive || !known && !alive {
		d.nway.alive[mb.Name] = alive
		return false
	}
	d.nway.alive[mb.Name] = alive
	fields := logrus.Fields{"node": mb.Name, "addr": mb.Addr.String()}
	if alive {
		d.log.WithFields(fields).Infof("Status update: Node %s now has status active", mb.Name)
		d.srv.Deliver(wire.New(api.TypeStatus).Add(api.FieldSrc, mb.Name).Add(api.FieldStatus, string(membership.StatusActive)))
		return true
	}
	d.log.WithFields(fields).Infof("node %s is %s", mb.Name, mb.State)
	d.metrics.nodeChange(membership.NodeChange{Node: mb.Name, To: membership.StatusDead})
	d.srv.Deliver(api.NodeDeadMessage(mb.Name, false, time.Now()))
	return true
}

// nwayScore gives the manager our ping score (ping nodes answering) when
// it changed.
func (d *Daemon) nwayScore() {
	n := d.nway
	if n == nil {
		return
	}
	score := 0
	d.mu.Lock()
	for _, p := range d.mem.Nodes() {
		if p.Ping && p.Status == membership.StatusPing {
			score++
		}
	}
	changed := score != n.score
	n.score = score
	d.mu.Unlock()
	if !changed {
		return
	}
	d.log.WithField("score", score).Info("ping score changed")
	if n.m == nil {
		if g := n.g.Load(); g != nil {
			g.SetMeta(d.nwayMeta())
		}
		return
	}
	d.nwayEvent(func(now time.Time) []nway.Action { return n.m.Score(now, score) })
}

// joinLoop joins the seeds at start, and again whenever a configured node
// is not an alive member, until ctx ends.
func (d *Daemon) joinLoop(ctx context.Context, g *gossip.Gossip) {
	joined := false
	var wait time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = joinRetry
		if joined && d.allConfiguredAlive(g) {
			continue
		}
		k, err := g.Join()
		switch {
		case err != nil && !joined:
			if ok, sup := d.badLog.Allow("memberlist join"); ok {
				d.log.WithFields(logrus.Fields{"err": err, "suppressed": sup}).Info("no seed answered yet; retrying")
			}
		case err == nil && !joined:
			joined = true
			d.log.WithField("seeds", k).Info("joined the memberlist cluster")
		}
	}
}

func (d *Daemon) allConfiguredAlive(g *gossip.Gossip) bool {
	alive := map[string]bool{}
	for _, mb := range g.Members() {
		alive[mb.Name] = mb.Up()
	}
	for _, name := range d.files.Load().HA.Nodes {
		if !alive[name] {
			return false
		}
	}
	return true
}

// sendLoop sends queued cluster messages in order (a Send may block on
// TCP for a while; the event loop must not).
func (d *Daemon) sendLoop(ctx context.Context, g *gossip.Gossip) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-d.nway.out:
			if o.dest == "" {
				g.Broadcast(o.payload)
				continue
			}
			if err := g.Send(o.dest, o.payload); err != nil {
				d.counter.sendErrors.Add(1)
				if ok, sup := d.badLog.Allow("send " + o.dest); ok {
					d.log.WithFields(logrus.Fields{"node": o.dest, "err": err, "suppressed": sup}).Warn("cluster message not sent")
				}
			}
		}
	}
}

// nwayClientMessage handles a local client's cluster message: hb_standby
// (ask_resources, also ipfail's) and hb_takeover go to the resource
// manager; every other message goes to the cluster over memberlist and, if
// it is for us too, to our own clients.
func (d *Daemon) nwayClientMessage(msg *wire.Message) {
	msg.Set(api.FieldSrc, d.node)
	switch msg.Type() {
	case "ask_resources":
		which := msg.Get(api.FieldResources)
		d.log.WithField("rsc_hold", which).Info("hb_standby " + which)
		d.nwayEvent(func(now time.Time) []nway.Action { return d.nway.m.Standby(now, which) })
		d.localDeliver(msg)
		return
	case "hb_takeover":
		which := msg.Get(api.FieldResources)
		d.log.WithField("rsc_hold", which).Info("hb_takeover " + which)
		d.nwayEvent(func(now time.Time) []nway.Action { return d.nway.m.Takeover(now, which) })
		d.localDeliver(msg)
		return
	}
	dest, _ := msg.Lookup(api.FieldDest)
	if dest != d.node {
		select {
		case d.nway.out <- outMsg{dest: dest, payload: wire.Marshal(msg)}:
		default:
			d.counter.queueFull.Add(1)
		}
	}
	if d.forUs(msg) {
		d.localDeliver(msg)
	}
}

// nwayReceive hands a peer's verified cluster message to our clients.
func (d *Daemon) nwayReceive(gm gossipMsg) {
	msg, err := wire.Unmarshal(gm.payload)
	if err != nil {
		d.counter.malformed.Add(1)
		if ok, sup := d.badLog.Allow("malformed " + gm.from); ok {
			d.log.WithFields(logrus.Fields{"node": gm.from, "err": err, "suppressed": sup}).Warn("bad cluster message dropped")
		}
		return
	}
	msg.Set(api.FieldSrc, gm.from)
	if !d.forUs(msg) {
		return
	}
	d.log.WithFields(logrus.Fields{"node": gm.from, "t": msg.Type()}).Debug("cluster message received")
	d.localDeliver(msg)
}

// nwayReload applies a reloaded configuration to the memberlist path: a
// new authkeys entry rotates the memberlist key, the resource manager takes
// the new groups, nodes and modes. Bind, seeds and tuning need a restart.
func (d *Daemon) nwayReload(old, f *Files) {
	n := d.nway
	if n == nil {
		if f.HA.Memberlist != nil {
			d.log.Warn("reload: membership memberlist takes effect at the next restart")
		}
		return
	}
	g := n.g.Load()
	if f.HA.Memberlist == nil {
		d.log.Warn("reload: leaving membership memberlist takes effect at the next restart")
		return
	}
	if g != nil && !bytes.Equal(memberlistKey(old.Keys), memberlistKey(f.Keys)) {
		if err := g.Rekey(memberlistKey(f.Keys)); err != nil {
			d.log.WithError(err).Error("reload: rotating the memberlist key")
		}
	}
	if o, c := old.HA.Memberlist, f.HA.Memberlist; o.Bind != c.Bind || o.Advertise != c.Advertise ||
		!slices.Equal(o.Seeds, c.Seeds) || o.ProbeInterval != c.ProbeInterval || o.ProbeTimeout != c.ProbeTimeout ||
		o.GossipInterval != c.GossipInterval || o.SuspicionMult != c.SuspicionMult {
		d.log.Warn("reload: memberlist_* changes take effect at the next restart")
	}
	d.nwayEvent(func(now time.Time) []nway.Action { return n.m.Reload(now, nwayConfig(d.node, f)) })
}

// nwayResourceStatus is cl_status rscstatus: "" with -M.
func (d *Daemon) nwayResourceStatus() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nway.m == nil {
		return ""
	}
	return d.nway.m.Status()
}

// nwayNodes lists, for cl_status and metrics, the configured nodes in
// configuration order, then other members, then the ping nodes of
// classic membership's list mem. A member is active while memberlist sees
// it alive (or suspect), else dead; a configured node never seen is dead.
// Each has one link, "memberlist".
func (d *Daemon) nwayNodes(mem []membership.NodeInfo) []membership.NodeInfo {
	status := map[string]membership.Status{}
	var others []string
	if g := d.nway.g.Load(); g != nil {
		for _, mb := range g.Members() {
			st := membership.StatusDead
			if mb.Up() {
				st = membership.StatusActive
			}
			status[mb.Name] = st
			others = append(others, mb.Name)
		}
	}
	status[d.node] = membership.StatusActive
	nodes := d.files.Load().HA.Nodes
	names := slices.Clone(nodes)
	for _, o := range others { // sorted by Members
		if !slices.Contains(nodes, o) {
			names = append(names, o)
		}
	}
	var out []membership.NodeInfo
	for _, name := range names {
		st, ok := status[name]
		if !ok {
			st = membership.StatusDead
		}
		out = append(out, membership.NodeInfo{Name: name, Status: st,
			Links: []membership.LinkInfo{{Name: memberlistLink, Up: st != membership.StatusDead}}})
	}
	for _, p := range mem {
		if p.Ping {
			out = append(out, p)
		}
	}
	return out
}

// nwayCounters adds the gossip layer's counters, prefixed gossip_.
func (d *Daemon) nwayCounters(out map[string]uint64) {
	if d.nway == nil {
		return
	}
	if g := d.nway.g.Load(); g != nil {
		for k, v := range g.Counters() {
			out["gossip_"+k] = v
		}
	}
}

// ResourceGroups lists every haresources group with the nodes whose
// published state shows it (cl_status rscgroups); ok is false without
// membership memberlist or with -M.
func (s apiState) ResourceGroups() ([]api.GroupInfo, bool) {
	d := s.d
	if d.nway == nil {
		return nil, false
	}
	groups := d.files.Load().Groups
	d.mu.Lock()
	if d.nway.m == nil {
		d.mu.Unlock()
		return nil, false
	}
	view, own, placed := d.nway.view, d.nway.m.State(), d.nway.m.Placement()
	d.mu.Unlock()
	peers := []nway.Peer{{Name: d.node, Alive: true, Valid: true, State: own}}
	for _, p := range view.Peers {
		if p.Name != d.node && p.Alive && p.Valid && p.State.GroupsHash == own.GroupsHash {
			peers = append(peers, p)
		}
	}
	out := make([]api.GroupInfo, 0, len(groups))
	for i, g := range groups {
		gi := api.GroupInfo{Group: g.Key, Preferred: g.Node, Placed: placed[i]}
		for _, p := range peers {
			st := p.State
			switch {
			case st.Stopping.Has(i):
				gi.Holders = append(gi.Holders, p.Name+":stopping")
			case st.Starting.Has(i):
				gi.Holders = append(gi.Holders, p.Name+":starting")
			case st.Held.Has(i):
				gi.Holders = append(gi.Holders, p.Name+":held")
			}
		}
		slices.SortFunc(gi.Holders, strings.Compare)
		out = append(out, gi)
	}
	return out, true
}
