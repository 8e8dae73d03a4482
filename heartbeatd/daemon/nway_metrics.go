// nway_metrics.go: the Prometheus series of membership memberlist: members
// by state, this node's groups by state, and the gossip layer's counters.

package daemon

import (
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasuite/hasuite/heartbeatd/gossip"
	"github.com/hasuite/hasuite/heartbeatd/nway"
	"github.com/hasuite/hasuite/internal/metrics"
)

var (
	descMembers = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "members"),
		"Memberlist members by state (alive, dead, left), this node included.", []string{"state"}, nil)
	descGroups = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "groups"),
		"Resource groups on this node by state (held, starting, stopping, failed).", []string{"state"}, nil)
	descGossipMessages = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "gossip_messages_total"),
		"Authenticated memberlist user messages by event (sent, received, send_errors).", []string{"event"}, nil)
	descGossipDropped = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "gossip_dropped_total"),
		"Memberlist user messages and packets dropped, by reason (malformed, unknown_node, bad_mac, old_generation, replay, overflow, decrypt).", []string{"reason"}, nil)
)

// gossipDropReasons are always reported, zero or not.
var gossipDropReasons = []string{"malformed", "unknown_node", "bad_mac", "old_generation", "replay", "overflow", "decrypt"}

// nwayCollector reads the memberlist path's state at scrape time.
type nwayCollector struct{ d *Daemon }

func (c *nwayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMembers, descGroups, descGossipMessages, descGossipDropped} {
		ch <- d
	}
}

func (c *nwayCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.d.nway
	g := n.g.Load()
	if g == nil {
		return
	}
	states := map[string]int{"alive": 0, "dead": 0, "left": 0}
	for _, mb := range g.Members() {
		switch mb.State {
		case gossip.Alive, gossip.Suspect:
			states["alive"]++
		case gossip.Left:
			states["left"]++
		default:
			states["dead"]++
		}
	}
	for _, s := range slices.Sorted(maps.Keys(states)) {
		ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, float64(states[s]), s)
	}
	c.d.mu.Lock()
	m := n.m
	var st nway.NodeState
	if m != nil {
		st = m.State()
	}
	c.d.mu.Unlock()
	if m != nil {
		for _, e := range []struct {
			state string
			n     int
		}{{"held", st.Held.Len()}, {"starting", st.Starting.Len()}, {"stopping", st.Stopping.Len()}, {"failed", st.Failed.Len()}} {
			ch <- prometheus.MustNewConstMetric(descGroups, prometheus.GaugeValue, float64(e.n), e.state)
		}
	}
	counts := g.Counters()
	for _, e := range []string{"sent", "received", "send_errors"} {
		ch <- prometheus.MustNewConstMetric(descGossipMessages, prometheus.CounterValue, float64(counts[e]), e)
	}
	reasons := slices.Clone(gossipDropReasons)
	for k := range counts {
		if r, ok := strings.CutPrefix(k, "dropped_"); ok && !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	for _, r := range reasons {
		ch <- prometheus.MustNewConstMetric(descGossipDropped, prometheus.CounterValue, float64(counts["dropped_"+r]), r)
	}
}
