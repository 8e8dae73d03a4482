// crash_test.go: a director crashes (SIGKILL + link down) and comes back.

package nway

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/scrape"
)

// TestCrashFailoverAndRejoin: three directors with auto_failback on. A
// crashed director's groups are served elsewhere within detectBound and no
// other group moves; cl_status on a survivor lists every node with the
// crashed one dead; the rebooted director gets its groups back and again
// nothing else moves.
func TestCrashFailoverAndRejoin(t *testing.T) {
	t.Parallel()
	l := NewLab(t, Opts{N: 3, Failback: "on", Extra: 1, HACF: "metrics_listen 127.0.0.1:" + metricsPort + "\n"})
	l.WaitExactly(t, l.Preferred(), 15*time.Second, "every group on its preferred director")
	before := l.Preferred()

	crashed := time.Now()
	l.Crash(t, "b")
	moved := l.WaitHolders(t, 15*time.Second, "vip of b served elsewhere", func(h map[string][]string) bool {
		return len(h[VIP(1)]) == 1
	})
	p := l.Probers[VIP(1)]
	p.WaitServedBy(t, moved[VIP(1)], 3*time.Second)
	gap, from, to := p.Outage(crashed)
	t.Logf("crash of nodeb: %s served by %s again after %v (outage %s -> %s)", VIP(1), to, gap.Round(time.Millisecond), from, to)
	if gap > detectBound {
		t.Errorf("crash to service elsewhere took %v, bound %v", gap, detectBound)
	}
	for v, host := range before {
		if v != VIP(1) && moved[v] != host {
			t.Errorf("%s moved from %s to %s although its director is up", v, host, moved[v])
		}
	}

	// cl_status on a survivor lists every node; the crashed one is dead.
	out, rc := l.Nodes["a"].ClStatus(t, "listnodes")
	if rc != 0 || !sameWords(out, "nodea nodeb nodec") {
		t.Errorf("cl_status listnodes: rc %d, %q, want nodea nodeb nodec", rc, out)
	}
	for node, want := range map[string]string{"nodea": "active", "nodeb": "dead", "nodec": "active"} {
		if out, _ := l.Nodes["c"].ClStatus(t, "nodestatus", node); strings.TrimSpace(out) != want {
			t.Errorf("cl_status nodestatus %s on nodec: %q, want %s", node, out, want)
		}
	}
	WaitLog(t, l.Nodes["a"], "node nodeb is dead", 2*time.Second)
	scrape.Expect(t, "nodea after the crash of nodeb", scrape.Scrape(t, l.Hosts["a"], "127.0.0.1:"+metricsPort), map[string]float64{
		`hasuite_heartbeat_members{state="alive"}`:                 2,
		`hasuite_heartbeat_members{state="dead"}`:                  1,
		`hasuite_heartbeat_node_deaths_total{node="nodeb"}`:        1,
		`hasuite_heartbeat_node_up{node="nodeb",ping="false"}`:     0,
		`hasuite_heartbeat_node_up{node="nodec",ping="false"}`:     1,
		`hasuite_heartbeat_groups{state="held"}`:                   float64(heldBy(moved, "a")),
		`hasuite_heartbeat_gossip_dropped_total{reason="bad_mac"}`: 0,
		`hasuite_heartbeat_gossip_dropped_total{reason="decrypt"}`: 0,
	})

	// nodeb reboots: with auto_failback on its group comes back, nothing
	// else moves.
	l.Reboot(t, "b")
	back := time.Now()
	l.WaitExactly(t, before, 15*time.Second, "nodeb's group back on nodeb")
	t.Logf("nodeb rejoined: its group back after %v", time.Since(back).Round(time.Millisecond))
	for _, g := range l.Groups {
		if g.Pref == "b" {
			continue
		}
		if gap, _, _ := l.Probers[g.VIP].Outage(back); gap > 500*time.Millisecond {
			t.Errorf("%s (on %s) had a %v outage while nodeb rejoined", g.VIP, g.Pref, gap)
		}
	}
	l.CheckOverlap(t, overlapBound)
	l.Nodes["b"].WaitRsc(t, "local", 3*time.Second)
}

// metricsPort: every director's metrics_listen, on its own loopback.
const metricsPort = "9101"

// heldBy counts the VIPs host holds in holders.
func heldBy(holders map[string]string, host string) int {
	n := 0
	for _, h := range holders {
		if h == host {
			n++
		}
	}
	return n
}

// sameWords reports whether s holds exactly the words of want, in any order.
func sameWords(s, want string) bool {
	a, b := strings.Fields(s), strings.Fields(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
