// ipfail_test.go: the issue-5 acceptance tests: a router namespace is the
// ping node of two directors running heartbeatd and hasuite's ipfail; the
// director that loses the ping node hands its groups to the peer, gets them
// back with auto_failback on, keeps them away with off, nothing moves when
// both lose it, and a killed ipfail is respawned and works again.

package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// Timers of the ipfail tests. deadping must exceed 2×keepalive; ipfail's
// giveup delay is 2×keepalive.
const (
	ipfKeepalive = 200 * time.Millisecond
	ipfDeadtime  = 1000 * time.Millisecond
	ipfDeadping  = 800 * time.Millisecond
	// ipfPingNode is the router's address, the one ping node.
	ipfPingNode = "10.77.0.254"
	// ipfMoveBound bounds the move after a director loses the ping node:
	// deadping until the loss is seen (the last reply came up to one
	// keepalive before the cut), the num_ping_nodes / you_are_dead
	// exchange, the 2×keepalive giveup delay, and the standby hand-over
	// (IPaddr2 and its ARPs: well under a second).
	ipfMoveBound = ipfDeadping + 2*ipfKeepalive + time.Second
	// ipfBackBound bounds the failback after the ping node returns: one
	// keepalive to the next echo, the exchange, 2×keepalive, the hand-over.
	ipfBackBound = 3*ipfKeepalive + time.Second
)

// ipfUser is the user heartbeatd runs ipfail as in the scenario labs:
// root, allowed by an apiauth line, so that they test ipfail and not file
// permissions. TestIpfailAsHacluster runs the documented hacluster line.
const ipfUser = "root"

// ipfHACF is added to each director's ha.cf.
func ipfHACF() string {
	return fmt.Sprintf("deadping %dms\nping %s\nrespawn %s /usr/lib/heartbeat/ipfail\napiauth ipfail uid=%s\n",
		ipfDeadping.Milliseconds(), ipfPingNode, ipfUser, ipfUser)
}

// ipfLab is a resource lab (rlab) with a router namespace as ping node.
type ipfLab struct {
	*rlab
	router *netns.Host
}

// newIpfLab builds the lab (router first, so the ping node answers from
// the start) and starts both heartbeatds with ipfail.
func newIpfLab(t *testing.T, failback string) *ipfLab {
	t.Helper()
	netns.RequireRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		netns.Skip(t, "needs nft to cut a director from the ping node")
	}
	hbnode.Ipfail(t)
	l := &ipfLab{}
	l.rlab = newRLab(t, rlabOpts{failback: failback, hacf: ipfHACF(),
		keepalive: ipfKeepalive, deadtime: ipfDeadtime,
		hosts: func(r *rlab) { l.router = r.lab.AddHost("r", ipfPingNode+"/24") }})
	return l
}

// settleIpfail waits for the normal state (each director holds its VIP and
// serves the client), for both directors to see the ping node and each
// other's ipfail online, and for the quiet after the ipfails' first count.
func (l *ipfLab) settleIpfail(t *testing.T) {
	t.Helper()
	// Not rlab.settle: the end of the start-up window only matters for
	// node deaths.
	l.settleState(t)
	for _, n := range []*hbnode.Node{l.na, l.nb} {
		n.WaitStatus(t, ipfPingNode, "ping", 3*time.Second)
	}
	l.na.WaitIpfailOnline(t, "nodeb", 5*time.Second)
	l.nb.WaitIpfailOnline(t, "nodea", 5*time.Second)
	// The balanced first count makes the answering ipfail give up its
	// (no) foreign resources after 2×keepalive (auto_failback on).
	time.Sleep(2*ipfKeepalive + 500*time.Millisecond)
	l.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local")
}

// The drops of the ipfail tests: a director's uplink is lost (its echo
// replies from the ping node; its heartbeat link and the client's traffic
// are not), or the router answers no one.
const (
	ipfUplinkLost   = "ip saddr " + ipfPingNode + " icmp type echo-reply"
	ipfRouterSilent = "icmp type echo-request"
)

// loseUplink cuts nodea from the ping node and checks that both VIPs are
// on nodeb within ipfMoveBound and that the client is served by nodeb.
func (l *ipfLab) loseUplink(t *testing.T) {
	t.Helper()
	t0 := time.Now()
	hbnode.DropInput(t, l.a, ipfUplinkLost)
	took := l.waitHolders(t, map[string]string{vipA: "b", vipB: "b"}, ipfMoveBound+3*time.Second)
	l.na.WaitStatus(t, ipfPingNode, "dead", time.Second)
	t.Logf("nodea lost the ping node: nodeb held both VIPs %v later", took.Round(10*time.Millisecond))
	if took > ipfMoveBound {
		t.Errorf("the move took %v, want ≤ deadping + 2×keepalive + 1 s = %v", took, ipfMoveBound)
	}
	// The last echo reply came at most one keepalive before the cut: a
	// quicker move was not caused by the ping node's death.
	if took < ipfDeadping-ipfKeepalive {
		t.Errorf("the move took %v, less than deadping - keepalive", took)
	}
	l.pa.WaitServedBy(t, "b", 2*time.Second)
	sw, before := switchGap(l.pa, t0, "b")
	gap, _, _ := l.pa.Outage(t0)
	t.Logf("client: %s went from %s to b after a silence of %v (longest silence %v)", vipA, before, sw, gap)
	if before != "a" {
		t.Errorf("the last reply from %s before nodeb's first came from %q, want a", vipA, before)
	}
	if limit := time.Second; gap > limit {
		t.Errorf("client outage of the hand-over %v, want ≤ %v", gap, limit)
		logGaps(t, l.pa, t0)
	}
	if gap, _, _ := l.pb.Outage(t0); gap > 100*time.Millisecond {
		t.Errorf("nodeb's own VIP was interrupted for %v", gap)
	}
	l.na.WaitRsc(t, "none", 2*time.Second)
	l.nb.WaitRsc(t, "all", 2*time.Second)
	if l.nb.NodeStatus(ipfPingNode) != "ping" {
		t.Errorf("nodeb lost the ping node too: %q", l.nb.NodeStatus(ipfPingNode))
	}
}

// TestIpfailUplinkLoss: nodea loses the ping node; its group moves to
// nodeb; when the ping node returns the group goes back with auto_failback
// on and stays on nodeb with off.
func TestIpfailUplinkLoss(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	for _, c := range []struct {
		failback   string
		holderA    string // of vipA once the ping node is back
		rscA, rscB string
	}{
		{"on", "a", "local", "local"},
		{"off", "b", "none", "all"},
	} {
		t.Run("auto_failback-"+c.failback, func(t *testing.T) {
			t.Parallel()
			l := newIpfLab(t, c.failback)
			l.settleIpfail(t)
			l.loseUplink(t)

			t1 := time.Now()
			hbnode.Undrop(t, l.a)
			l.na.WaitStatus(t, ipfPingNode, "ping", 2*time.Second)
			if c.failback == "on" {
				took := l.waitHolders(t, map[string]string{vipA: "a", vipB: "b"}, ipfBackBound+3*time.Second)
				t.Logf("the ping node came back: %s was on nodea again %v later", vipA, took.Round(10*time.Millisecond))
				if took > ipfBackBound {
					t.Errorf("the failback took %v, want ≤ 3×keepalive + 1 s = %v", took, ipfBackBound)
				}
				l.pa.WaitServedBy(t, "a", 2*time.Second)
				if gap, _, _ := l.pa.Outage(t1); gap > time.Second {
					t.Errorf("client outage of the failback %v", gap)
				}
			} else {
				// Long enough for the exchange, the giveup delay and a
				// hand-over that should not happen.
				time.Sleep(2*ipfKeepalive + 2*time.Second)
			}
			l.checkEnd(t, map[string]string{vipA: c.holderA, vipB: "b"}, c.rscA, c.rscB)
		})
	}
}

// TestIpfailBothLosePingNode: the router stops answering both directors:
// both counts drop to 0 together, nothing moves, also when it answers
// again.
func TestIpfailBothLosePingNode(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	l := newIpfLab(t, "on")
	l.settleIpfail(t)
	t0 := time.Now()
	hbnode.DropInput(t, l.router, ipfRouterSilent)
	// Both must see the death within 2×keepalive of each other, or the
	// first one's count (0 against 1) would start a giveup (NOTES.md of
	// test/interop: 3.0.6 behaves the same).
	var deadA, deadB time.Duration
	for deadline := t0.Add(ipfDeadping + 2*time.Second); deadA == 0 || deadB == 0; time.Sleep(5 * time.Millisecond) {
		if deadA == 0 && l.na.NodeStatus(ipfPingNode) == "dead" {
			deadA = time.Since(t0)
		}
		if deadB == 0 && l.nb.NodeStatus(ipfPingNode) == "dead" {
			deadB = time.Since(t0)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ping node is %q on nodea and %q on nodeb %v after the router went silent",
				l.na.NodeStatus(ipfPingNode), l.nb.NodeStatus(ipfPingNode), time.Since(t0))
		}
	}
	t.Logf("the router went silent: nodea saw the ping node dead after %v, nodeb after %v",
		deadA.Round(time.Millisecond), deadB.Round(time.Millisecond))
	l.checkStill(t, 2*ipfKeepalive+2*time.Second)
	hbnode.Undrop(t, l.router)
	for _, n := range []*hbnode.Node{l.na, l.nb} {
		n.WaitStatus(t, ipfPingNode, "ping", 2*time.Second)
	}
	l.checkStill(t, 2*ipfKeepalive+time.Second)
	l.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local")
}

// checkStill fails the test if a VIP moves within d.
func (l *ipfLab) checkStill(t *testing.T, d time.Duration) {
	t.Helper()
	want := fmt.Sprint(map[string]string{vipA: "a", vipB: "b"})
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got := l.holders(t); fmt.Sprint(got) != want {
			t.Fatalf("VIP holders changed to %v, want %v", got, want)
		}
	}
}

// TestIpfailRespawn: SIGKILL to nodea's ipfail; heartbeatd starts it
// again, it signs on again, and a later uplink loss still moves the group.
func TestIpfailRespawn(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	l := newIpfLab(t, "on")
	l.settleIpfail(t)
	old := l.na.IpfailPid(t)
	if old == 0 {
		t.Fatal("nodea's heartbeatd has no ipfail child")
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	pid := l.na.WaitNewIpfail(t, old, 5*time.Second)
	t.Logf("ipfail respawned %v after SIGKILL (pid %d -> %d)", time.Since(killed).Round(10*time.Millisecond), old, pid)
	l.nb.WaitIpfailOnline(t, "nodea", 5*time.Second)
	time.Sleep(2*ipfKeepalive + 500*time.Millisecond)
	l.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local")
	l.loseUplink(t)
}

// TestIpfailAsHacluster: the documented configuration (docs/ipfail.8.md,
// classic's default apiauth) runs ipfail as hacluster; it must be able to
// sign on, so each node's API reports the peer's ipfail online.
func TestIpfailAsHacluster(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	if _, err := user.Lookup("hacluster"); err != nil {
		netns.Skip(t, "needs the user hacluster (apt-get install heartbeat, or useradd hacluster)")
	}
	hbnode.Ipfail(t)
	lab := netns.NewLab(t)
	cf := hbnode.HACF("200ms", "1000ms", "4", []string{"bcast hb0"}, "nodea", "nodeb") +
		"respawn hacluster /usr/lib/heartbeat/ipfail\n"
	hr := "nodea IPaddr2::" + vipA + "/24/hb0\nnodeb IPaddr2::" + vipB + "/24/hb0\n"
	var nodes []*hbnode.Node
	for i, name := range []string{"nodea", "nodeb"} {
		h := lab.AddHost(name[4:], fmt.Sprintf("10.77.0.%d/24", i+1))
		nodes = append(nodes, hbnode.Start(t, h, hbnode.Options{Node: name, HACF: cf,
			AuthKeys: hbnode.AuthKeys("sha1", testKey), Haresources: hr, OpenDir: true}))
	}
	nodes[0].WaitIpfailOnline(t, "nodeb", 8*time.Second)
	nodes[1].WaitIpfailOnline(t, "nodea", 8*time.Second)
	if pid := nodes[0].IpfailPid(t); pid == 0 {
		t.Error("nodea runs no ipfail")
	} else if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		u, _ := user.Lookup("hacluster")
		if !strings.Contains(string(b), "\nUid:\t"+u.Uid+"\t") {
			t.Errorf("ipfail does not run as hacluster (uid %s):\n%s", u.Uid, b)
		}
	}
}
