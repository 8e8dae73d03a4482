// metrics.go: heartbeatd's Prometheus series (ha.cf metrics_listen).

package daemon

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/internal/metrics"
)

const subsystem = "heartbeat"

// nodeStatuses are the values of hasuite_heartbeat_node_status's status label.
var nodeStatuses = []membership.Status{membership.StatusInit, membership.StatusUp,
	membership.StatusActive, membership.StatusDead, membership.StatusPing}

// hbMetrics holds heartbeatd's event series. States and packet counters are
// read from the daemon at scrape time (stateCollector), so only events that
// happen in one place are counted here. Every method is a no-op on nil:
// without metrics_listen the daemon has no hbMetrics.
type hbMetrics struct {
	nodeDeaths      *prometheus.CounterVec
	groupJobs       *prometheus.CounterVec
	takeovers       *prometheus.CounterVec
	resourceActions *prometheus.CounterVec
	resourceSeconds *prometheus.HistogramVec
	reload          *metrics.Reload
}

func newHBMetrics(reg prometheus.Registerer, state func() ([]membership.NodeInfo, membership.Counters, packetCounts)) *hbMetrics {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, subsystem, n) }
	m := &hbMetrics{
		nodeDeaths: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("node_deaths_total"),
			Help: "Times a peer or ping node was declared dead."}, []string{"node"}),
		groupJobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("group_jobs_total"),
			Help: "Resource group jobs finished, by group, op (acquire, release, check, announce) and result."}, []string{"group", "op", "result"}),
		takeovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("takeovers_total"),
			Help: "Resource groups acquired by this node (failovers, failbacks and takeovers)."}, []string{"group"}),
		resourceActions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("resource_actions_total"),
			Help: "Resource agent calls by agent, action (start, stop, status, announce) and result."}, []string{"agent", "action", "result"}),
		resourceSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("resource_action_duration_seconds"),
			Help:    "Duration of resource agent calls.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"agent", "action"}),
	}
	m.reload = metrics.NewReload(reg, metrics.Namespace+"_"+subsystem)
	reg.MustRegister(m.nodeDeaths, m.groupJobs, m.takeovers, m.resourceActions, m.resourceSeconds,
		&stateCollector{state: state})
	return m
}

func (m *hbMetrics) nodeChange(c membership.NodeChange) {
	if m != nil && c.To == membership.StatusDead {
		m.nodeDeaths.WithLabelValues(c.Node).Inc()
	}
}

func (m *hbMetrics) jobDone(r rm.Run, err error) {
	if m == nil {
		return
	}
	m.groupJobs.WithLabelValues(r.Group.Key, r.Op.String(), metrics.Result(err)).Inc()
	if r.Op == rm.Acquire && err == nil {
		m.takeovers.WithLabelValues(r.Group.Key).Inc()
	}
}

// resourceAction records one agent call; resource is the haresources text
// ("IPaddr::10.0.0.1/24"), whose agent is the part before "::".
func (m *hbMetrics) resourceAction(resource, action string, err error, took time.Duration) {
	if m == nil {
		return
	}
	agent, _, _ := strings.Cut(resource, "::")
	m.resourceActions.WithLabelValues(agent, action, metrics.Result(err)).Inc()
	m.resourceSeconds.WithLabelValues(agent, action).Observe(took.Seconds())
}

func (m *hbMetrics) reloaded(err error) {
	if m == nil {
		return
	}
	m.reload.Done(err == nil)
}

// packetCounts are the daemon's own packet counters, read for a scrape.
type packetCounts struct {
	received, authFailed, malformed, tooBig, queueFull, sendErrors uint64
	pingSent, pingReceived, pingSendErrors                         uint64
}

// stateCollector reports node and link states and the packet counters
// that heartbeatd and membership already keep, as they are at scrape time.
type stateCollector struct {
	state func() ([]membership.NodeInfo, membership.Counters, packetCounts)
}

var (
	descNodeStatus = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "node_status"),
		"1 for the node's current status (init, up, active, dead, ping), 0 for the others.", []string{"node", "status"}, nil)
	descNodeUp = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "node_up"),
		"1 if the node is not dead.", []string{"node", "ping"}, nil)
	descLinkUp = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "link_up"),
		"1 if heartbeats from the node arrive on the interface.", []string{"node", "link"}, nil)
	descPackets = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "packets_total"),
		"Heartbeat packets by what happened to them (received, accepted, sent_error, ping_sent, ping_received, ping_send_error, lost, rexmit_requested, rexmit_sent).", []string{"event"}, nil)
	descDropped = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "packets_dropped_total"),
		"Packets dropped, by reason.", []string{"reason"}, nil)
	descAuthFailures = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "auth_failures_total"),
		"Packets that failed authentication against authkeys.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNodeStatus, descNodeUp, descLinkUp, descPackets, descDropped, descAuthFailures} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	nodes, mc, pc := c.state()
	for _, n := range nodes {
		for _, s := range nodeStatuses {
			if s == membership.StatusPing && !n.Ping {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descNodeStatus, prometheus.GaugeValue, metrics.Bool(n.Status == s), n.Name, string(s))
		}
		ping := "false"
		if n.Ping {
			ping = "true"
		}
		ch <- prometheus.MustNewConstMetric(descNodeUp, prometheus.GaugeValue, metrics.Bool(n.Status != membership.StatusDead), n.Name, ping)
		for _, l := range n.Links {
			ch <- prometheus.MustNewConstMetric(descLinkUp, prometheus.GaugeValue, metrics.Bool(l.Up), n.Name, l.Name)
		}
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descAuthFailures, pc.authFailed)
	for _, e := range []struct {
		reason string
		v      uint64
	}{
		{"auth", pc.authFailed}, {"malformed", pc.malformed + mc.Malformed}, {"too_big", pc.tooBig},
		{"queue_full", pc.queueFull}, {"duplicate", mc.Duplicate}, {"replay", mc.Replay},
		{"unknown_node", mc.UnknownNode}, {"not_for_us", mc.NotForUs},
	} {
		counter(descDropped, e.v, e.reason)
	}
	for _, e := range []struct {
		event string
		v     uint64
	}{
		{"received", pc.received}, {"accepted", mc.Accepted}, {"sent_error", pc.sendErrors},
		{"ping_sent", pc.pingSent}, {"ping_received", pc.pingReceived}, {"ping_send_error", pc.pingSendErrors},
		{"lost", mc.Lost}, {"rexmit_requested", mc.RexmitRequested}, {"rexmit_sent", mc.RexmitSent},
	} {
		counter(descPackets, e.v, e.event)
	}
}
