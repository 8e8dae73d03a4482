// Package membership is heartbeat's node-membership layer as a state machine:
// status messages every keepalive, node states init → up → active → dead,
// peers timed out by their advertised deadtime, per-link liveness, and the
// sequence, generation, ACK and retransmit rules of heartbeat 3.0.6, and
// ping nodes (ping, ping6, ping_group) probed with every status.
//
// It never touches sockets or clocks: the daemon feeds it events (Start,
// Tick, Receive, ReceivePing, Send, Stop) with the current time and carries
// out the returned Actions. Tests step it the same way, without sleeping.
package membership

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Status is a node's state as heartbeat names it on the wire and in cl_status.
type Status string

// Node states. A node we have not heard from yet is Init.
const (
	StatusInit   Status = "init"
	StatusUp     Status = "up"
	StatusActive Status = "active"
	StatusDead   Status = "dead"
)

// Protocol timing and size limits of heartbeat 3.0.6.
const (
	// startupGrace is added to the advertised deadtime during the first
	// startupWindow after start, as 3.0.6 does (seen dt=deadtime+2 s).
	startupGrace  = 2 * time.Second
	startupWindow = 5 * time.Second
	// maxGap: a bigger jump in a peer's seq resets tracking instead of asking
	// for retransmission of every missing message.
	maxGap = 250
	// maxRexmitPerRequest caps the messages resent for one NS_rexmit.
	maxRexmitPerRequest = 50
	// minRexmitDelay is the lower bound of the random wait before asking for
	// a missing message (the upper bound is max_rexmit_delay).
	minRexmitDelay = 50 * time.Millisecond
)

// Config is what membership needs from ha.cf and the state directory.
type Config struct {
	Local      string   // our node name, lower-case
	Nodes      []string // every normal node, ours included
	Links      []string // our link names (media interfaces), in config order
	TTLNodes   int      // configured nodes including ping nodes, for the ttl field
	UUID       []byte   // 16 bytes from hb_uuid
	Generation uint64   // hb_generation of this run
	Hopfudge   int

	Keepalive, Deadtime, Warntime, Initdead, MaxRexmitDelay time.Duration

	// Ping are the ping nodes (ping, ping6, ping_group lines); Deadping
	// times them out (0 = Deadtime).
	Ping     []PingNode
	Deadping time.Duration

	// Loadavg returns the first line of /proc/loadavg for the ld field.
	Loadavg func() string
	// Rand returns a pseudo-random int in [0, n); nil means math/rand.
	Rand func(n int) int
}

// Membership is the state machine. It is not safe for concurrent use: the
// daemon owns it from one goroutine.
type Membership struct {
	cfg   Config
	start time.Time

	status     Status
	commUp     bool
	stopping   bool
	seq        uint64
	nextStatus time.Time
	sentStatus int

	peers map[string]*peer
	order []string // peer names in config order
	hist  history

	pings      []*pingNode // in config order
	pingByName map[string]*pingNode

	Counters Counters
}

// Counters count what membership dropped or did, for logs, tests and metrics.
type Counters struct {
	Accepted, Duplicate, Replay, UnknownNode, NotForUs, Malformed uint64
	Lost, Irretrievable, RexmitRequested, RexmitSent, NakSent     uint64
	LateHeartbeats, PingReplies                                   uint64
}

// New returns a stopped state machine; call Start.
func New(cfg Config) *Membership {
	if cfg.Rand == nil {
		cfg.Rand = rand.IntN
	}
	if cfg.Loadavg == nil {
		cfg.Loadavg = func() string { return "" }
	}
	if cfg.TTLNodes == 0 {
		cfg.TTLNodes = len(cfg.Nodes)
	}
	if cfg.Deadping == 0 {
		cfg.Deadping = cfg.Deadtime
	}
	m := &Membership{cfg: cfg, status: StatusInit, peers: map[string]*peer{}, pingByName: map[string]*pingNode{}}
	for _, pc := range cfg.Ping {
		if pc.Name == cfg.Local || m.pingByName[pc.Name] != nil {
			continue
		}
		pn := &pingNode{name: pc.Name, kind: pc.Kind, status: StatusInit}
		m.pings = append(m.pings, pn)
		m.pingByName[pc.Name] = pn
	}
	for _, n := range cfg.Nodes {
		if n == cfg.Local || m.peers[n] != nil {
			continue
		}
		p := &peer{name: n, status: StatusInit, links: map[string]*link{}, ackTrigger: cfg.Rand(10)}
		for _, l := range cfg.Links {
			p.links[l] = &link{}
		}
		m.peers[n] = p
		m.order = append(m.order, n)
	}
	return m
}

// SetTiming applies reloaded keepalive, deadtime and warntime. Peers keep
// being timed out by the deadtime they advertise.
func (m *Membership) SetTiming(keepalive, deadtime, warntime time.Duration) {
	m.cfg.Keepalive, m.cfg.Deadtime, m.cfg.Warntime = keepalive, deadtime, warntime
}

// Status is our own node status.
func (m *Membership) Status() Status { return m.status }

// IsCommUp reports whether communication is up (every node heard or dead).
func (m *Membership) IsCommUp() bool { return m.commUp }

// Start sends the first status message.
func (m *Membership) Start(now time.Time) []Action {
	m.start = now
	var out actions
	out.log(Info, "heartbeatd starting", map[string]any{"node": m.cfg.Local, "generation": m.cfg.Generation})
	m.sendStatus(now, &out)
	m.checkCommUp(now, &out)
	return out
}

// NextDeadline is the latest time at which Tick must be called next.
func (m *Membership) NextDeadline() time.Time {
	next := m.nextStatus
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	for _, name := range m.order {
		p := m.peers[name]
		earlier(p.deadline(m))
		for _, l := range p.links {
			if l.up {
				earlier(l.last.Add(p.deadAfter(m)))
			}
		}
		for _, due := range p.missing {
			earlier(due)
		}
	}
	for _, pn := range m.pings {
		earlier(pn.deadline(m))
	}
	return next
}

// Tick sends status when due, declares silent nodes and links dead, and asks
// for missing messages.
func (m *Membership) Tick(now time.Time) []Action {
	var out actions
	if !now.Before(m.nextStatus) && !m.stopping {
		m.sendStatus(now, &out)
	}
	for _, name := range m.order {
		p := m.peers[name]
		if d := p.deadline(m); !d.IsZero() && !now.Before(d) {
			m.declareDead(p, now, &out)
		}
		for _, lname := range m.cfg.Links {
			l := p.links[lname]
			if l.up && !now.Before(l.last.Add(p.deadAfter(m))) {
				l.up = false
				out.add(LinkChange{Node: p.name, Link: lname, Up: false})
				out.log(Info, fmt.Sprintf("Link %s:%s dead.", p.name, lname), map[string]any{"node": p.name, "iface": lname})
			}
		}
		m.requestRexmits(p, now, &out)
	}
	m.tickPings(now, &out)
	m.checkCommUp(now, &out)
	return out
}

// Send stamps an application message (resource, client) with the control
// fields and a seq, keeps it for retransmission and transmits it.
func (m *Membership) Send(now time.Time, msg *wire.Message) []Action {
	var out actions
	m.transmit(now, msg, &out)
	return out
}

// Stop marks us dead and sends shutdone, the last message of a graceful stop.
func (m *Membership) Stop(now time.Time) []Action {
	var out actions
	m.stopping = true
	m.setStatus(StatusDead, &out)
	m.transmit(now, wire.New("shutdone").Add("st", string(StatusDead)), &out)
	return out
}

// Receive handles one authenticated message that arrived on link.
func (m *Membership) Receive(now time.Time, msg *wire.Message, linkName string) []Action {
	var out actions
	src := msg.Get("src")
	if src == m.cfg.Local {
		return nil // our own broadcast or multicast looped back
	}
	p := m.peers[src]
	if p == nil && m.pingByName[src] != nil {
		// A ping node's status comes only as the echo of our own probe
		// (ReceivePing), never over a heartbeat medium.
		m.Counters.NotForUs++
		out.log(Debug, "ping node message on a heartbeat medium dropped", map[string]any{"node": src, "iface": linkName})
		return out
	}
	if p == nil {
		m.Counters.UnknownNode++
		out.log(Debug, "message from unknown node dropped", map[string]any{"node": src})
		return out
	}
	t := msg.Type()
	dest, addressed := msg.Lookup("dest")
	forUs := !addressed || dest == m.cfg.Local

	if isNS(t) {
		// NS_ messages carry no seq, but an older generation is a replay.
		hg, err := strconv.ParseUint(msg.Get("hg"), 16, 64)
		switch {
		case err != nil:
			m.Counters.Malformed++
			return out
		case p.tracking && hg < p.gen:
			m.Counters.Replay++
			return out
		}
		if forUs {
			m.receiveNS(now, p, t, msg, &out)
		} else {
			m.Counters.NotForUs++
		}
		return out
	}

	verdict := m.track(now, p, msg, linkName, &out)
	if verdict != accepted {
		return out
	}
	m.Counters.Accepted++
	m.refreshLink(p, linkName, now, &out)
	if !forUs {
		m.Counters.NotForUs++
		return out
	}
	switch t {
	case "status":
		m.receiveStatus(now, p, msg, &out)
	case "shutdone":
		out.log(Info, fmt.Sprintf("Received shutdown notice from '%s'.", p.name), map[string]any{"node": p.name})
		p.shutdone = true
		m.declareDead(p, now, &out)
	case "reqnodes":
		reply := wire.New("repnodes").Add("dest", p.name).
			Add("nodelist", m.nodeList()).Add("delnodelist", " ")
		m.transmit(now, reply, &out)
	case "repnodes":
		// Node-list reconciliation (autojoin) is not part of R1.
	default:
		out.add(Deliver{Msg: msg, From: p.name})
	}
	return out
}

func (m *Membership) receiveStatus(now time.Time, p *peer, msg *wire.Message, out *actions) {
	if p.shutdone {
		// heartbeat 3.0.6 keeps sending status for a while after its
		// shutdone: the node is leaving, not returning from a partition.
		return
	}
	if dt, err := strconv.ParseUint(msg.Get("dt"), 16, 32); err == nil && dt > 0 {
		p.advertised = time.Duration(dt) * time.Millisecond
	}
	_, p.protocol = msg.Lookup("protocol")
	if !p.lastStatus.IsZero() && m.cfg.Warntime > 0 {
		if gap := now.Sub(p.lastStatus); gap > m.cfg.Warntime {
			m.Counters.LateHeartbeats++
			out.log(Warn, fmt.Sprintf("Late heartbeat: Node %s: interval %d ms", p.name, gap.Milliseconds()),
				map[string]any{"node": p.name})
		}
	}
	p.lastStatus = now
	st := Status(msg.Get("st"))
	switch st {
	case StatusInit, StatusUp, StatusActive:
	case StatusDead:
		m.declareDead(p, now, out)
		return
	default:
		out.log(Warn, fmt.Sprintf("node %s: unknown status %q", p.name, st), map[string]any{"node": p.name})
		return
	}
	if p.status == StatusDead && p.everHeard {
		out.log(Crit, fmt.Sprintf("Cluster node %s returning after partition.", p.name), map[string]any{"node": p.name})
	}
	p.everHeard = true
	if st != p.status {
		out.log(Info, fmt.Sprintf("Status update for node %s: status %s", p.name, st), map[string]any{"node": p.name, "state": st})
		out.add(NodeChange{Node: p.name, From: p.status, To: st})
		p.status = st
	}
}

func (m *Membership) declareDead(p *peer, now time.Time, out *actions) {
	if p.status == StatusDead {
		return
	}
	out.log(Warn, fmt.Sprintf("node %s: is dead", p.name), map[string]any{"node": p.name})
	out.add(NodeChange{Node: p.name, From: p.status, To: StatusDead})
	p.status = StatusDead
	p.lastStatus = time.Time{} // a return is not a late heartbeat
	for _, lname := range m.cfg.Links {
		if l := p.links[lname]; l.up {
			l.up = false
			out.add(LinkChange{Node: p.name, Link: lname, Up: false})
			out.log(Info, fmt.Sprintf("Link %s:%s dead.", p.name, lname), map[string]any{"node": p.name, "iface": lname})
		}
	}
	p.missing = nil
}

func (m *Membership) refreshLink(p *peer, name string, now time.Time, out *actions) {
	l := p.links[name]
	if l == nil {
		return
	}
	l.last = now
	if !l.up {
		l.up = true
		out.add(LinkChange{Node: p.name, Link: name, Up: true})
		out.log(Info, fmt.Sprintf("Link %s:%s up.", p.name, name), map[string]any{"node": p.name, "iface": name})
	}
}

func (m *Membership) checkCommUp(now time.Time, out *actions) {
	if m.commUp {
		return
	}
	for _, name := range m.order {
		if p := m.peers[name]; !p.everHeard && p.status != StatusDead {
			return
		}
	}
	// Classic counts ping nodes too: comm up waits for every ping node's
	// first reply, or for its death after initdead.
	for _, pn := range m.pings {
		if pn.status == StatusInit {
			return
		}
	}
	m.commUp = true
	out.log(Info, "Comm_now_up(): updating status to active", nil)
	out.add(CommUp{})
	if m.stopping {
		return
	}
	if m.status == StatusInit {
		m.setStatus(StatusUp, out)
	}
	m.setStatus(StatusActive, out)
	m.sendStatus(now, out)
	for _, name := range m.order {
		if p := m.peers[name]; p.status != StatusDead {
			m.transmit(now, wire.New("reqnodes").Add("dest", p.name), out)
		}
	}
}

func (m *Membership) setStatus(s Status, out *actions) {
	if s == m.status {
		return
	}
	out.add(NodeChange{Node: m.cfg.Local, From: m.status, To: s})
	m.status = s
}

// sendStatus sends our status and schedules the next one a keepalive later.
func (m *Membership) sendStatus(now time.Time, out *actions) {
	if m.sentStatus > 0 && m.status == StatusInit {
		m.setStatus(StatusUp, out)
	}
	m.sentStatus++
	dt := m.cfg.Deadtime
	if now.Sub(m.start) < startupWindow {
		dt += startupGrace
	}
	msg := wire.New("status").Add("st", string(m.status)).
		Add("dt", strconv.FormatInt(dt.Milliseconds(), 16)).Add("protocol", "1")
	m.transmit(now, msg, out)
	m.probes(msg.Get("ts"), out)
	m.nextStatus = now.Add(m.cfg.Keepalive)
}

// transmit adds the control fields in 3.0.6's order (add_control_msg_fields)
// and queues the message; non-NS_ messages get a seq and enter the history.
func (m *Membership) transmit(now time.Time, msg *wire.Message, out *actions) {
	ns := isNS(msg.Type())
	if dest, ok := msg.Lookup("dest"); ok {
		if p := m.peers[dest]; p != nil && len(p.uuid) == 16 {
			msg.AddBinary("destuuid", p.uuid)
		} else if dest == m.cfg.Local && len(m.cfg.UUID) == 16 {
			msg.AddBinary("destuuid", m.cfg.UUID)
		}
	}
	msg.Set("src", m.cfg.Local) // a client's message may carry it already
	if len(m.cfg.UUID) == 16 {
		msg.AddBinary("srcuuid", m.cfg.UUID)
	}
	if !ns {
		m.seq++
		msg.Add("seq", strconv.FormatUint(m.seq, 16))
	}
	msg.Add("hg", strconv.FormatUint(m.cfg.Generation, 16))
	msg.Add("ts", strconv.FormatInt(now.Unix(), 16))
	if !ns {
		msg.Add("ld", m.cfg.Loadavg())
	}
	msg.Add("ttl", strconv.Itoa(m.cfg.Hopfudge+m.cfg.TTLNodes))
	if !ns {
		m.hist.add(m.seq, msg)
	}
	out.add(Transmit{Msg: msg})
}

func (m *Membership) nodeList() string {
	s := ""
	for _, n := range m.cfg.Nodes {
		s += n + " "
	}
	return s
}

// NodeInfo is a snapshot of one node for the client API.
type NodeInfo struct {
	Name   string
	Status Status
	Links  []LinkInfo
	Ping   bool // a ping node: one link, named like the node
}

// LinkInfo is one link of a node as cl_status shows it.
type LinkInfo struct {
	Name string
	Up   bool
}

// Nodes returns every configured node, ours first, then peers in config
// order, then ping nodes in config order.
func (m *Membership) Nodes() []NodeInfo {
	var out []NodeInfo
	local := NodeInfo{Name: m.cfg.Local, Status: m.status}
	for _, l := range m.cfg.Links {
		local.Links = append(local.Links, LinkInfo{Name: l, Up: m.status != StatusDead})
	}
	out = append(out, local)
	for _, name := range m.order {
		p := m.peers[name]
		ni := NodeInfo{Name: name, Status: p.status}
		for _, l := range m.cfg.Links {
			ni.Links = append(ni.Links, LinkInfo{Name: l, Up: p.links[l].up})
		}
		out = append(out, ni)
	}
	for _, pn := range m.pings {
		out = append(out, NodeInfo{Name: pn.name, Status: pn.status, Ping: true,
			Links: []LinkInfo{{Name: pn.name, Up: pn.linkUp}}})
	}
	return out
}

func isNS(t string) bool { return len(t) >= 3 && t[:3] == "NS_" }

// actions accumulates the output of one event.
type actions []Action

func (a *actions) add(x Action) { *a = append(*a, x) }

func (a *actions) log(l Level, msg string, f map[string]any) {
	*a = append(*a, Log{Level: l, Msg: msg, Fields: f})
}

func sortedSeqs(m map[uint64]time.Time) []uint64 {
	s := make([]uint64, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}
