// The daemon's answers to the client API: node and link snapshots, ha.cf
// parameters and counters.

package daemon

import (
	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// apiState implements api.State over a running daemon.
type apiState struct{ d *Daemon }

func (s apiState) LocalNode() string { return s.d.node }

func (s apiState) Nodes() []api.NodeInfo {
	nodes := s.d.nodes()
	out := make([]api.NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		ni := api.NodeInfo{Name: n.Name, Type: api.NodeNormal, Status: string(n.Status), Weight: 100}
		if n.Ping {
			ni.Type = api.NodePing
		}
		for _, l := range n.Links {
			st := api.LinkDead
			if l.Up {
				st = api.LinkUp
			}
			ni.Links = append(ni.Links, api.LinkInfo{Name: l.Name, Status: st})
		}
		out = append(out, ni)
	}
	return out
}

func (s apiState) Param(name string) (string, bool) {
	switch name {
	case "hbversion":
		return HeartbeatVersion, true
	case "pacemaker", "crm":
		return "false", true
	}
	v, ok := s.d.files.Load().HA.Params[name]
	return v, ok
}

// ResourceStatus is cl_status rscstatus; empty with -M.
func (s apiState) ResourceStatus() string {
	if s.d.nway != nil {
		return s.d.nwayResourceStatus()
	}
	if s.d.rm == nil {
		return ""
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return s.d.rm.Status()
}

// SendClusterMessage sends a signed-on client's message to the cluster.
func (s apiState) SendClusterMessage(m *wire.Message) error { return s.d.SendClusterMessage(m) }

func (s apiState) Counters() map[string]uint64 {
	c := &s.d.counter
	s.d.mu.Lock()
	m := s.d.mem.Counters
	s.d.mu.Unlock()
	out := map[string]uint64{
		"packets_received":       c.received.Load(),
		"packets_auth_failed":    c.authFailed.Load(),
		"packets_malformed":      c.malformed.Load(),
		"packets_too_big":        c.tooBig.Load(),
		"packets_queue_full":     c.queueFull.Load(),
		"send_errors":            c.sendErrors.Load(),
		"messages_accepted":      m.Accepted,
		"messages_duplicate":     m.Duplicate,
		"messages_replay":        m.Replay,
		"messages_unknown_node":  m.UnknownNode,
		"messages_not_for_us":    m.NotForUs,
		"messages_malformed":     m.Malformed,
		"messages_lost":          m.Lost,
		"messages_irretrievable": m.Irretrievable,
		"rexmit_requested":       m.RexmitRequested,
		"rexmit_sent":            m.RexmitSent,
		"nak_sent":               m.NakSent,
		"late_heartbeats":        m.LateHeartbeats,
		"ping_sent":              c.pingSent.Load(),
		"ping_received":          c.pingReceived.Load(),
		"ping_send_errors":       c.pingSendErrors.Load(),
		"ping_replies_accepted":  m.PingReplies,
	}
	s.d.nwayCounters(out)
	return out
}

// nodes is every node as cl_status lists it: classic membership's
// configured and ping nodes, or with memberlist every member, the
// configured nodes never seen and the ping nodes.
func (d *Daemon) nodes() []membership.NodeInfo {
	d.mu.Lock()
	nodes := d.mem.Nodes()
	d.mu.Unlock()
	if d.nway != nil {
		return d.nwayNodes(nodes)
	}
	return nodes
}
