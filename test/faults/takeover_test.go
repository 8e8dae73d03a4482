// takeover_test.go: kill -9 of heartbeatd and ipfail at each phase of a
// takeover or a hand-over, then a prompt restart, under the continuous
// address record: no VIP on both directors longer than deadtime, every
// group ends on exactly one director, nothing is left on the killed one.

package faults

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// maxBoth is the longest a VIP may be on both directors.
const maxBoth = deadtime + overlapSlack

// released is what heartbeatd logs when it releases, at start, a group it
// finds running (left by its killed predecessor).
const released = "is active, and should not be! Releasing it before start-up."

// TestTakeoverKill: nodea's machine dies and nodeb takes over its group;
// nodeb's heartbeatd is killed with SIGKILL at a phase of that takeover
// and restarted at once. Alone, it must release what its predecessor left
// and take every group after initdead; when nodea comes back its group
// goes back (auto_failback on). Then the hand-over of hb_standby: the
// giving node killed mid-release, the taking node killed mid-acquire.
func TestTakeoverKill(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	p := newPair(t, pairOpts{failback: "on"})
	p.settle(t)

	// Phases of nodeb's takeover of nodea's group "gate::pre IPaddr2
	// gate::post", each held by a gate: the gate's op and what is up.
	for _, c := range []struct {
		name, gate, op string
		vipAAtKill     string // who holds vipA at the kill
	}{
		// nodeb declared nodea dead and asks whether pre runs: nothing
		// has started yet.
		{"declared-dead", "pre", "status", ""},
		// pre's start script is running; the VIP is not up yet.
		{"script-running", "pre", "start", ""},
		// the VIP has just come up; post is next.
		{"vip-up", "post", "status", "b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p.waitAged(p.na)
			since := time.Now()
			arm(t, p.nb, c.gate, c.op)
			p.powerOff(t, p.na)
			waitGate(t, p.nb, c.gate, c.op, 3*deadtime+2*time.Second)
			if got := p.holders(t); got[vipA] != c.vipAAtKill || got[vipB] != "b" {
				t.Fatalf("at the kill the VIPs are on %v", got)
			}
			off := logLen(t, p.nb)
			p.nb.Kill(t)
			disarm(t, p.nb)
			p.restart(t, p.nb)

			// Alone, nodeb takes both groups once initdead is over
			// (nodea's rscstatus is "": its API is down).
			p.checkEnd(t, map[string]string{vipA: "b", vipB: "b"}, "", "all", pairInitdead+5*time.Second)
			restarted := logSince(t, p.nb, off)
			for _, g := range []string{keyA, keyB} {
				left := g == keyB || c.vipAAtKill != ""
				if got := strings.Contains(restarted, "Resource group "+g+" "+released); got != left {
					t.Errorf("the restarted nodeb released group %s at start: %v, want %v", g, got, left)
				}
			}

			p.restart(t, p.na)
			p.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local", 10*time.Second)
			p.watch.checkRecord(t, since, maxBoth, -1)
		})
	}

	// hb_standby on nodea: nodea releases "post, IPaddr2, pre" and nodeb
	// acquires "pre, IPaddr2, post". Only heartbeatd dies: the machine
	// and its addresses stay.
	t.Run("standby-giver-mid-release", func(t *testing.T) {
		since := time.Now()
		arm(t, p.na, "post", "stop") // vipA still up on nodea
		standby(t, p.na, "hb_standby", "all")
		waitGate(t, p.na, "post", "stop", 3*time.Second)
		off := logLen(t, p.na)
		p.na.Kill(t)
		disarm(t, p.na)
		p.restart(t, p.na)
		p.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local", 10*time.Second)
		if !strings.Contains(logSince(t, p.na, off), "Resource group "+keyA+" "+released) {
			t.Errorf("the restarted nodea did not release the group its predecessor left half-released")
		}
		p.watch.checkRecord(t, since, maxBoth, -1)
	})
	t.Run("standby-taker-mid-acquire", func(t *testing.T) {
		since := time.Now()
		arm(t, p.nb, "post", "status") // vipA just up on nodeb
		standby(t, p.na, "hb_standby", "all")
		waitGate(t, p.nb, "post", "status", 3*time.Second)
		if got := p.holders(t); got[vipA] != "b" {
			t.Fatalf("at the kill vipA is on %q, want b", got[vipA])
		}
		p.nb.Kill(t)
		disarm(t, p.nb)
		p.restart(t, p.nb)
		p.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local", 10*time.Second)
		p.watch.checkRecord(t, since, maxBoth, -1)
	})
}

// standby runs hb_standby or hb_takeover with arg against n's node.
func standby(t *testing.T, n *hbnode.Node, tool, arg string) {
	t.Helper()
	if !hbnode.HasTool(t, tool) {
		t.Fatalf("heartbeatd/cmd/%s was not built", tool)
	}
	if out, rc := n.RunTool(t, tool, arg); rc != 0 {
		t.Fatalf("%s %s on %s: exit %d: %s", tool, arg, n.Name, rc, out)
	}
}

// Timers of the ipfail case: deadping above 2×keepalive; ipfail's giveup
// delay is 2×keepalive.
const ipfDeadping = 800 * time.Millisecond

// uplinkLost is the drop that cuts a director from the ping node: its
// echo replies.
const uplinkLost = "ip saddr " + routerAddr + " icmp type echo-reply"

// TestIpfailKill: nodea loses its uplink (the ping node); its ipfail is
// killed with SIGKILL while it waits to give up and, later, while the
// standby it asked for is under way. heartbeatd respawns it; in both
// cases nodea's group ends on nodeb alone, and comes back when the uplink
// does (auto_failback on).
func TestIpfailKill(t *testing.T) {
	netns.RequireRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		netns.Skip(t, "needs nft to cut a director from the ping node")
	}
	hbnode.Ipfail(t)
	t.Parallel()
	p := newPair(t, pairOpts{failback: "on", router: true,
		hacf: fmt.Sprintf("deadping %dms\nping %s\nrespawn root /usr/lib/heartbeat/ipfail\napiauth ipfail uid=root\n",
			ipfDeadping.Milliseconds(), routerAddr)})
	p.settle(t)
	p.na.WaitIpfailOnline(t, "nodeb", 5*time.Second)
	p.nb.WaitIpfailOnline(t, "nodea", 5*time.Second)
	time.Sleep(2*pairKeepalive + 500*time.Millisecond) // the first count's quiet

	for _, c := range []struct {
		name string
		// hold makes nodea's release wait in its first stop (vipA
		// still up), so the kill lands while the standby is under way.
		hold  bool
		after string // the log line of nodea's ipfail to kill it at
	}{
		// It decided to give up and waits 2×keepalive before asking.
		{"delayed-giveup", false, "Delayed giveup in"},
		// It asked for the standby; nodea is releasing its group.
		{"asking-standby", true, "giveup() called"},
	} {
		t.Run(c.name, func(t *testing.T) {
			since := time.Now()
			old := p.na.IpfailPid(t)
			if old == 0 {
				t.Fatal("nodea runs no ipfail")
			}
			if c.hold {
				arm(t, p.na, "post", "stop")
			}
			off := logLen(t, p.na)
			hbnode.DropInput(t, p.a, uplinkLost)
			waitLog(t, p.na, off, c.after, ipfDeadping+3*time.Second)
			if c.hold {
				waitGate(t, p.na, "post", "stop", 3*time.Second)
			}
			if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if !c.hold && strings.Contains(logSince(t, p.na, off), "giveup() called") {
				t.Fatalf("ipfail asked for the standby before the kill: the phase was missed")
			}
			disarm(t, p.na)
			pid := p.na.WaitNewIpfail(t, old, 5*time.Second)
			t.Logf("ipfail respawned: pid %d -> %d", old, pid)
			p.checkEnd(t, map[string]string{vipA: "b", vipB: "b"}, "none", "all", 10*time.Second)

			hbnode.Undrop(t, p.a)
			p.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local", 10*time.Second)
			p.watch.checkRecord(t, since, maxBoth, -1)
		})
	}
}
