// Ping nodes: routers or hosts that answer ICMP echo, counted as cluster
// nodes of type ping (heartbeat 3.0.6's ping, ping6 and ping_group media).

package membership

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// StatusPing is the status of a ping node that answers.
const StatusPing Status = "ping"

// Kinds of ping node, as the info field of their probe names them.
const (
	PingKind      = "ping"
	Ping6Kind     = "ping6"
	PingGroupKind = "ping_group"
)

// PingNode is one configured ping node: a ping or ping6 address (named
// after the address) or a ping_group (named after the group).
type PingNode struct {
	Name string
	Kind string // PingKind, Ping6Kind or PingGroupKind
}

// pingNode is the state of one ping node. It has one link, named like the
// node, up while replies arrive.
type pingNode struct {
	name, kind string
	status     Status
	linkUp     bool
	lastHeard  time.Time // last accepted reply
	lastStatus time.Time // the same, reset at death: for warntime
}

// deadline is when the ping node is declared dead unless a reply arrives;
// zero if it is dead already. Before its first reply it has initdead, like
// a normal node (classic times every node out by initdead until comm up).
func (pn *pingNode) deadline(m *Membership) time.Time {
	switch {
	case pn.status == StatusDead:
		return time.Time{}
	case pn.lastHeard.IsZero():
		return m.start.Add(m.cfg.Initdead)
	default:
		return pn.lastHeard.Add(m.cfg.Deadping)
	}
}

// SetDeadping applies a reloaded deadping.
func (m *Membership) SetDeadping(d time.Duration) { m.cfg.Deadping = d }

// probes asks the daemon to send, with the status stamped ts, one ICMP echo
// to each ping node carrying the message 3.0.6 puts there: the status the
// ping node would send if it ran heartbeat, which its echo reply returns.
func (m *Membership) probes(ts string, out *actions) {
	for _, pn := range m.pings {
		msg := wire.New("NS_st").Add("st", string(StatusPing)).Add("info", pn.kind).
			Add("src", pn.name).Add("ts", ts)
		out.add(Ping{Node: pn.name, Msg: msg})
	}
}

// ReceivePing handles one authenticated echo reply that the ping medium
// matched to ping node node. Its payload must be the NS_st probe sent for
// that node; a reply older than deadping is a replay and changes nothing.
func (m *Membership) ReceivePing(now time.Time, node string, msg *wire.Message) []Action {
	var out actions
	pn := m.pingByName[node]
	if pn == nil || msg.Get("src") != node || msg.Type() != "NS_st" ||
		msg.Get("info") != pn.kind || Status(msg.Get("st")) != StatusPing {
		m.Counters.Malformed++
		out.log(Debug, "ping reply that is not our probe dropped", map[string]any{"node": node, "t": msg.Type(), "src": msg.Get("src")})
		return out
	}
	ts, err := strconv.ParseInt(msg.Get("ts"), 16, 64)
	if err != nil {
		m.Counters.Malformed++
		return out
	}
	if sent := time.Unix(ts, 0); now.Sub(sent) > m.cfg.Deadping+time.Second || sent.After(now.Add(time.Second)) {
		m.Counters.Replay++
		out.log(Debug, "stale ping reply dropped", map[string]any{"node": node, "ts": msg.Get("ts")})
		return out
	}
	m.Counters.PingReplies++
	pn.lastHeard = now
	if !pn.linkUp {
		pn.linkUp = true
		out.add(LinkChange{Node: pn.name, Link: pn.name, Up: true})
		out.log(Info, fmt.Sprintf("Link %s:%s up.", pn.name, pn.name), map[string]any{"node": pn.name, "iface": pn.name})
	}
	if !pn.lastStatus.IsZero() && m.cfg.Warntime > 0 {
		if gap := now.Sub(pn.lastStatus); gap > m.cfg.Warntime {
			m.Counters.LateHeartbeats++
			out.log(Warn, fmt.Sprintf("Late heartbeat: Node %s: interval %d ms", pn.name, gap.Milliseconds()),
				map[string]any{"node": pn.name})
		}
	}
	pn.lastStatus = now
	if pn.status != StatusPing {
		out.log(Info, fmt.Sprintf("Status update for node %s: status %s", pn.name, StatusPing), map[string]any{"node": pn.name, "state": StatusPing})
		out.add(NodeChange{Node: pn.name, From: pn.status, To: StatusPing, Ping: true, Msg: msg})
		pn.status = StatusPing
	}
	m.checkCommUp(now, &out)
	return out
}

// tickPings declares silent ping nodes, and their links, dead.
func (m *Membership) tickPings(now time.Time, out *actions) {
	for _, pn := range m.pings {
		if d := pn.deadline(m); !d.IsZero() && !now.Before(d) {
			out.log(Warn, fmt.Sprintf("node %s: is dead", pn.name), map[string]any{"node": pn.name})
			out.add(NodeChange{Node: pn.name, From: pn.status, To: StatusDead, Ping: true})
			pn.status = StatusDead
			pn.lastStatus = time.Time{}
			if pn.linkUp {
				pn.linkUp = false
				out.add(LinkChange{Node: pn.name, Link: pn.name, Up: false})
				out.log(Info, fmt.Sprintf("Link %s:%s dead.", pn.name, pn.name), map[string]any{"node": pn.name, "iface": pn.name})
			}
		}
	}
}
