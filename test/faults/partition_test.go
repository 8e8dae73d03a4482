// partition_test.go: the heartbeat path between the directors is cut and
// healed in every auto_failback mode, under the continuous address record:
// after the heal no VIP stays on both directors longer than deadtime, none
// is ever on neither, and each ends on the director that held it before
// the partition (what every mode prescribes for a heal).

package faults

import (
	"os/exec"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// TestPartitionHealModes: with auto_failback on, off and legacy, a cut
// heartbeat path makes both directors hold both groups; after the heal
// every group is on exactly the director that held it before, no VIP is
// on both for longer than deadtime and none is on neither at any moment,
// and the state stays.
func TestPartitionHealModes(t *testing.T) {
	netns.RequireRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		netns.Skip(t, "needs nft (nftables) to drop heartbeats")
	}
	t.Parallel()
	for _, mode := range []string{"on", "off", "legacy"} {
		t.Run("auto_failback-"+mode, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, pairOpts{failback: mode})
			p.settle(t)
			t.Logf("settled %v after the start", time.Since(p.started[p.nb]).Round(time.Millisecond))

			// Both drop the heartbeats they receive; ARP and the rest pass.
			hbnode.DropInput(t, p.a, "udp dport 694")
			hbnode.DropInput(t, p.b, "udp dport 694")
			// The start-up window may still stretch the deadtime to 3 s.
			split := p.waitHolders(t, map[string]string{vipA: "a b", vipB: "a b"}, 3*deadtime+2*time.Second)
			t.Logf("both hold both VIPs %v after the cut", split.Round(time.Millisecond))
			p.na.WaitRsc(t, "all", 3*time.Second)
			p.nb.WaitRsc(t, "all", 3*time.Second)

			healed := time.Now()
			hbnode.Undrop(t, p.a, p.b)
			took := p.waitHolders(t, map[string]string{vipA: "a", vipB: "b"}, 5*time.Second)
			t.Logf("one holder per VIP %v after the heal", took.Round(time.Millisecond))
			// Whoever held a group before the partition keeps it, in
			// every mode: the heal compares holdings, the mode only
			// decides what happens when a node comes back.
			p.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local", 3*time.Second)
			// The keeper never lets go: zero time on no node.
			p.watch.checkRecord(t, healed, deadtime+overlapSlack, 0)
		})
	}
}
