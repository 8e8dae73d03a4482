// metrics_test.go: heartbeatd's metrics hooks against a private registry.

package daemon

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/rm"
)

func TestMetricsHooks(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	nodes := []membership.NodeInfo{
		{Name: "alpha", Status: membership.StatusActive, Links: []membership.LinkInfo{{Name: "eth0", Up: true}}},
		{Name: "beta", Status: membership.StatusDead, Links: []membership.LinkInfo{{Name: "eth0", Up: false}}},
	}
	mc := membership.Counters{Replay: 3, Duplicate: 1, Malformed: 2}
	pc := packetCounts{authFailed: 5, malformed: 1, received: 40}
	m := newHBMetrics(reg, func() ([]membership.NodeInfo, membership.Counters, packetCounts) { return nodes, mc, pc })

	m.nodeChange(membership.NodeChange{Node: "beta", From: membership.StatusActive, To: membership.StatusDead})
	m.nodeChange(membership.NodeChange{Node: "beta", From: membership.StatusDead, To: membership.StatusActive})
	g := config.Group{Key: "10.0.0.1"}
	m.jobDone(rm.Run{Op: rm.Acquire, Group: g}, nil)
	m.jobDone(rm.Run{Op: rm.Acquire, Group: g}, errors.New("boom"))
	m.jobDone(rm.Run{Op: rm.Release, Group: g}, nil)
	m.resourceAction("IPaddr::10.0.0.1/24", "start", nil, 20*time.Millisecond)
	m.resourceAction("IPaddr::10.0.0.1/24", "start", errors.New("x"), time.Millisecond)
	m.resourceAction("httpd", "status", nil, time.Millisecond)

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP hasuite_heartbeat_node_deaths_total Times a peer or ping node was declared dead.
# TYPE hasuite_heartbeat_node_deaths_total counter
hasuite_heartbeat_node_deaths_total{node="beta"} 1
# HELP hasuite_heartbeat_takeovers_total Resource groups acquired by this node (failovers, failbacks and takeovers).
# TYPE hasuite_heartbeat_takeovers_total counter
hasuite_heartbeat_takeovers_total{group="10.0.0.1"} 1
# HELP hasuite_heartbeat_group_jobs_total Resource group jobs finished, by group, op (acquire, release, check, announce) and result.
# TYPE hasuite_heartbeat_group_jobs_total counter
hasuite_heartbeat_group_jobs_total{group="10.0.0.1",op="acquire",result="error"} 1
hasuite_heartbeat_group_jobs_total{group="10.0.0.1",op="acquire",result="ok"} 1
hasuite_heartbeat_group_jobs_total{group="10.0.0.1",op="release",result="ok"} 1
# HELP hasuite_heartbeat_resource_actions_total Resource agent calls by agent, action (start, stop, status, announce) and result.
# TYPE hasuite_heartbeat_resource_actions_total counter
hasuite_heartbeat_resource_actions_total{action="start",agent="IPaddr",result="error"} 1
hasuite_heartbeat_resource_actions_total{action="start",agent="IPaddr",result="ok"} 1
hasuite_heartbeat_resource_actions_total{action="status",agent="httpd",result="ok"} 1
# HELP hasuite_heartbeat_node_up 1 if the node is not dead.
# TYPE hasuite_heartbeat_node_up gauge
hasuite_heartbeat_node_up{node="alpha",ping="false"} 1
hasuite_heartbeat_node_up{node="beta",ping="false"} 0
# HELP hasuite_heartbeat_link_up 1 if heartbeats from the node arrive on the interface.
# TYPE hasuite_heartbeat_link_up gauge
hasuite_heartbeat_link_up{link="eth0",node="alpha"} 1
hasuite_heartbeat_link_up{link="eth0",node="beta"} 0
# HELP hasuite_heartbeat_auth_failures_total Packets that failed authentication against authkeys.
# TYPE hasuite_heartbeat_auth_failures_total counter
hasuite_heartbeat_auth_failures_total 5
`), "hasuite_heartbeat_node_deaths_total", "hasuite_heartbeat_takeovers_total", "hasuite_heartbeat_group_jobs_total",
		"hasuite_heartbeat_resource_actions_total", "hasuite_heartbeat_node_up", "hasuite_heartbeat_link_up",
		"hasuite_heartbeat_auth_failures_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.resourceSeconds); n != 2 {
		t.Errorf("duration histograms: %d series, want 2 (IPaddr/start, httpd/status)", n)
	}
	// Node status is a state set: exactly one status is 1 per node.
	for node, want := range map[string]string{"alpha": "active", "beta": "dead"} {
		for _, s := range nodeStatuses[:4] {
			got := gaugeValue(t, reg, "hasuite_heartbeat_node_status", map[string]string{"node": node, "status": string(s)})
			if (string(s) == want) != (got == 1) {
				t.Errorf("node_status{node=%s,status=%s} = %v", node, s, got)
			}
		}
	}
	for reason, want := range map[string]float64{"auth": 5, "malformed": 3, "replay": 3, "duplicate": 1, "too_big": 0} {
		if got := gaugeValue(t, reg, "hasuite_heartbeat_packets_dropped_total", map[string]string{"reason": reason}); got != want {
			t.Errorf("packets_dropped_total{reason=%s} = %v, want %v", reason, got, want)
		}
	}

	reloadOK := func() float64 { return gaugeValue(t, reg, "hasuite_heartbeat_config_last_reload_successful", nil) }
	reloadAt := func() float64 {
		return gaugeValue(t, reg, "hasuite_heartbeat_config_last_reload_success_timestamp_seconds", nil)
	}
	before := reloadAt()
	time.Sleep(10 * time.Millisecond) // well above a float64 Unix time's resolution
	m.reloaded(errors.New("bad ha.cf"))
	if reloadOK() != 0 || reloadAt() != before {
		t.Error("a failed reload must clear the success gauge and keep the timestamp")
	}
	m.reloaded(nil)
	if reloadOK() != 1 || reloadAt() <= before {
		t.Error("a good reload must set the success gauge and advance the timestamp")
	}

	// Without metrics_listen every hook is a no-op on nil.
	var none *hbMetrics
	none.nodeChange(membership.NodeChange{Node: "beta", To: membership.StatusDead})
	none.jobDone(rm.Run{Op: rm.Acquire, Group: g}, nil)
	none.resourceAction("x", "start", nil, 0)
	none.reloaded(nil)
}

// gaugeValue gathers reg and returns the value of the series name{labels}
// (gauge or counter); the test fails when it is missing.
func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			if m.Gauge != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}
