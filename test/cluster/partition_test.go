// partition_test.go: the heartbeat path between the two directors is cut
// (the client still reaches both), both take every group, and the heal
// settles every group on one director within two keepalives, without the
// classic restart.

package cluster

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// heartbeats is the drop (on input in both directors) that cuts the
// heartbeat path only: the client's probes and the gratuitous ARPs still
// pass.
const heartbeats = "udp dport 694"

// TestPartitionHeal: while the heartbeats are dropped both directors hold
// both VIPs; after the heal each group has one holder (the one from before
// the partition) within 2×keepalive + 200 ms, with the same daemons.
func TestPartitionHeal(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	if _, err := exec.LookPath("nft"); err != nil {
		netns.Skip(t, "needs nft (nftables) to drop heartbeats")
	}
	for _, mode := range []string{"on", "off"} {
		t.Run("auto_failback-"+mode, func(t *testing.T) {
			t.Parallel()
			l := newRLab(t, rlabOpts{failback: mode})
			l.settle(t)
			pidA, pidB := l.na.Pid(), l.nb.Pid()

			hbnode.DropInput(t, l.a, heartbeats)
			hbnode.DropInput(t, l.b, heartbeats)
			// Each side declares the other dead and takes its group.
			l.waitHolders(t, map[string]string{vipA: "a b", vipB: "a b"}, 3*time.Second)
			l.na.WaitRsc(t, "all", 2*time.Second)
			l.nb.WaitRsc(t, "all", 2*time.Second)
			l.pa.WaitServedBy(t, "b", time.Second) // the takeovers' ARP reached the client
			l.pb.WaitServedBy(t, "a", time.Second)

			t0 := time.Now()
			hbnode.Undrop(t, l.a, l.b)
			l.waitHolders(t, map[string]string{vipA: "a", vipB: "b"}, 5*time.Second)
			took := time.Since(t0)
			t.Logf("heal: one holder per group %v after the heal", took)
			if limit := 2*rKeepalive + 200*time.Millisecond; took > limit {
				t.Errorf("one holder per group only %v after the heal, want ≤ 2×keepalive + 200ms = %v", took, limit)
			}
			// Whoever held a group before the partition keeps it.
			l.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local")
			l.pa.WaitServedBy(t, "a", time.Second)
			l.pb.WaitServedBy(t, "b", time.Second)

			// Messages sent during the partition and retransmitted after it
			// must not undo the heal: each side knows what the other holds.
			for _, n := range []*hbnode.Node{l.na, l.nb} {
				_, after, _ := strings.Cut(n.Log(), "Partition heal complete")
				if i := strings.Index(after, "Both machines own"); i >= 0 {
					line, _, _ := strings.Cut(after[i:], "\n")
					t.Errorf("%s: after the heal the audit says %q", n.Name, line)
				}
			}
			if a, b := l.na.Pid(), l.nb.Pid(); a != pidA || b != pidB {
				t.Errorf("pids changed: nodea %d -> %d, nodeb %d -> %d", pidA, a, pidB, b)
			}
			restart := regexp.MustCompile(`(?i)re-?exec|restarting|Forcing restart|shutdone sent`)
			for _, n := range []string{l.na.Log(), l.nb.Log()} {
				if m := restart.FindString(n); m != "" {
					t.Errorf("a daemon restarted after the heal: log says %q", m)
				}
			}
		})
	}
}
