// ping_test.go: the ping score in placement: a director that loses its
// ping node gives its groups to directors that still reach it.

package nway

import (
	"strings"
	"testing"
	"time"
)

// TestPingScoreMovesGroups: three directors ping the client. When nodea
// stops hearing it, nodea's groups go to the others (higher score) and
// nothing else moves; cl_status lists the ping node; when the replies
// come back, auto_failback on brings the groups home.
func TestPingScoreMovesGroups(t *testing.T) {
	t.Parallel()
	l := NewLab(t, Opts{N: 3, Failback: "on", Extra: 1,
		HACF: "ping 10.79.0.99\nkeepalive 200ms\ndeadtime 1\ndeadping 1\n"})
	pref := l.Preferred()
	l.WaitExactly(t, pref, 15*time.Second, "every group on its preferred director")
	out, rc := l.Nodes["a"].ClStatus(t, "listnodes")
	if rc != 0 || !sameWords(out, "nodea nodeb nodec 10.79.0.99") {
		t.Errorf("cl_status listnodes: rc %d %q, want the three nodes and the ping node", rc, out)
	}
	l.Nodes["a"].WaitStatus(t, "10.79.0.99", "ping", 5*time.Second)

	at := time.Now()
	l.Hosts["a"].Run(t, "nft", "add table inet "+partitionTable+
		" { chain input { type filter hook input priority 0; ip saddr 10.79.0.99 icmp type echo-reply drop; }; }")
	got := l.WaitHolders(t, 10*time.Second, "no group on a", func(h map[string][]string) bool {
		for _, g := range l.Groups {
			if len(h[g.VIP]) != 1 || h[g.VIP][0] == "a" {
				return false
			}
		}
		return true
	})
	t.Logf("nodea lost its ping node: its groups moved in %v: %v", time.Since(at).Round(time.Millisecond), got)
	for _, g := range l.Groups {
		if g.Pref != "a" && got[g.VIP] != g.Pref {
			t.Errorf("%s moved from %s to %s", g.VIP, g.Pref, got[g.VIP])
		}
	}
	if !strings.Contains(l.Nodes["a"].Log(), "ping score changed score=0") {
		t.Error("nodea did not log its score change")
	}

	l.Hosts["a"].Run(t, "nft", "delete", "table", "inet", partitionTable)
	l.WaitExactly(t, pref, 10*time.Second, "nodea's groups back once it hears its ping node")
	l.CheckOverlap(t, overlapBound)
}
