// metrics_test.go: ldirectord's Prometheus endpoint (metrics = host:port)
// over the nftables backend: a real failing its check shows in the check
// and real-state series, scraped over HTTP from the client's namespace.

package nftlb

import (
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/scrape"
)

func TestMetrics(t *testing.T) {
	ldirectord(t)
	l := newLab(t, 1, 1, 2)
	d := l.directors[0]
	l.addFloating(d)
	rs1, rs2 := l.reals[0], l.reals[1]
	addr := strings.Split(directorAddrs[0][0], "/")[0] + ":9708"
	startLD(t, d, "metrics = "+addr+"\n"+l.config())
	waitTable(t, d, "start", l.weights(map[string]int{"rs1": 1, "rs2": 2}))

	const virtual = `virtual="tcp:` + vipPort + `"`
	up := func(s *server) string { return `hasuite_ldirectord_real_up{real="` + s.addr + `",` + virtual + `}` }
	weight := func(s *server) string { return `hasuite_ldirectord_real_weight{real="` + s.addr + `",` + virtual + `}` }
	const failures = `hasuite_ldirectord_checks_total{checktype="negotiate",result="failure"}`
	before := scrape.Scrape(t, l.client, addr)
	scrape.Expect(t, "before", before, map[string]float64{
		up(rs1): 1, up(rs2): 1, weight(rs1): 1, weight(rs2): 2,
		`hasuite_ldirectord_dataplane_operations_total{action="add_service",backend="nftables",result="ok"}`: 1,
		`hasuite_ldirectord_config_last_reload_successful`:                                                   1,
	})
	if before[`hasuite_ldirectord_checks_total{checktype="negotiate",result="ok"}`] < 2 {
		t.Error("before: fewer than 2 successful negotiate checks counted")
	}
	if before[`hasuite_ldirectord_check_duration_seconds_count{checktype="negotiate",result="ok"}`] < 2 {
		t.Error("before: no check latencies observed")
	}

	rs2.Healthy.Store(false)
	waitTable(t, d, "rs2 fails its check", l.weights(map[string]int{"rs1": 1, "rs2": 0}))
	var after map[string]float64
	// The table changes on the result that also moves the state; the
	// scrape may come a moment before the engine's next status.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		after = scrape.Scrape(t, l.client, addr)
		if after[up(rs2)] == 0 || time.Now().After(deadline) {
			break
		}
	}
	scrape.Expect(t, "after", after, map[string]float64{up(rs1): 1, up(rs2): 0, weight(rs1): 1, weight(rs2): 0})
	if after[failures] <= before[failures] {
		t.Errorf("check failures %v before, %v after rs2 failed", before[failures], after[failures])
	}
	const edits = `hasuite_ldirectord_dataplane_operations_total{action="edit_real",backend="nftables",result="ok"}`
	if after[edits] <= before[edits] {
		t.Errorf("edit_real operations %v before, %v after rs2 was quiesced", before[edits], after[edits])
	}
}
