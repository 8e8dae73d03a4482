// metrics_test.go: heartbeatd's Prometheus endpoint (metrics_listen),
// scraped over HTTP from the client's namespace across a failover.

package cluster

import (
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/scrape"
)

// metricsAddr is nodeb's endpoint, as the client reaches it.
const metricsAddr = "10.77.0.2:9707"

func TestMetricsAcrossFailover(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	l := newRLab(t, rlabOpts{failback: "on", hacf: "metrics_listen 0.0.0.0:9707\n"})
	l.settle(t)
	groupA := `group="IPaddr2::` + vipA + `/24/hb0"`
	before := scrape.Scrape(t, l.client, metricsAddr)
	if _, ok := before["process_resident_memory_bytes"]; !ok {
		t.Error("no process collector in the scrape")
	}
	scrape.Expect(t, "before", before, map[string]float64{
		`hasuite_heartbeat_node_up{node="nodea",ping="false"}`:                    1,
		`hasuite_heartbeat_node_status{node="nodea",status="active"}`:             1,
		`hasuite_heartbeat_node_status{node="nodea",status="dead"}`:               0,
		`hasuite_heartbeat_link_up{link="hb0",node="nodea"}`:                      1,
		`hasuite_heartbeat_config_last_reload_successful`:                         1,
		`hasuite_heartbeat_takeovers_total{group="IPaddr2::` + vipB + `/24/hb0"}`: 1,
	})
	if _, ok := before["hasuite_heartbeat_takeovers_total{"+groupA+"}"]; ok {
		t.Errorf("before: nodeb already counts a takeover of nodea's group")
	}
	startsBefore := before[`hasuite_heartbeat_resource_actions_total{action="start",agent="IPaddr2",result="ok"}`]

	l.die(t, l.na)
	l.waitHolders(t, map[string]string{vipA: "a b", vipB: "b"}, 3*time.Second) // a's is unreachable
	l.nb.WaitRsc(t, "all", time.Second)
	after := scrape.Scrape(t, l.client, metricsAddr)
	scrape.Expect(t, "after", after, map[string]float64{
		`hasuite_heartbeat_node_up{node="nodea",ping="false"}`:                        0,
		`hasuite_heartbeat_node_status{node="nodea",status="dead"}`:                   1,
		`hasuite_heartbeat_node_status{node="nodea",status="active"}`:                 0,
		`hasuite_heartbeat_link_up{link="hb0",node="nodea"}`:                          0,
		`hasuite_heartbeat_node_deaths_total{node="nodea"}`:                           1,
		`hasuite_heartbeat_takeovers_total{` + groupA + `}`:                           1,
		`hasuite_heartbeat_group_jobs_total{` + groupA + `,op="acquire",result="ok"}`: 1,
	})
	if got := after[`hasuite_heartbeat_resource_actions_total{action="start",agent="IPaddr2",result="ok"}`]; got != startsBefore+1 {
		t.Errorf("IPaddr2 starts: %v before, %v after the takeover; want one more", startsBefore, got)
	}
	if before[`hasuite_heartbeat_packets_total{event="accepted"}`] == 0 {
		t.Error("no accepted heartbeat counted before the failover")
	}
}
