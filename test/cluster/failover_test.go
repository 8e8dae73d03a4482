// failover_test.go: the R1 acceptance tests with a client in the lab:
// failover on a director's death and on a cut link, auto_failback on, off
// and legacy, hb_standby and hb_takeover, graceful stop and a failing start.

package cluster

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/probe"
)

// Timers of the resource tests: fast, so that a failover is quick to see.
const (
	rKeepalive = 100 * time.Millisecond
	rDeadtime  = 500 * time.Millisecond
)

// The two groups: nodea's and nodeb's VIP, and the service port the
// responders listen on.
const (
	vipA    = "10.77.0.100"
	vipB    = "10.77.0.200"
	svcPort = 7000
	// startupWindow: a node advertises deadtime + 2 s for its first 5 s
	// (as 3.0.6 does); failures are injected after it.
	startupWindow = 5500 * time.Millisecond
)

// rlabOpts configures a resource lab.
type rlabOpts struct {
	failback string // auto_failback: on, off or legacy
	// groupA is nodea's haresources line ("" means its VIP alone).
	groupA string
	// filesA and filesB are extra files for each node's conf dir.
	filesA, filesB map[string]string
	// hacf is appended to both nodes' ha.cf.
	hacf string
	// keepalive and deadtime override rKeepalive and rDeadtime.
	keepalive, deadtime time.Duration
	// hosts adds hosts to the lab before the directors (e.g. a router).
	hosts func(*rlab)
}

// rlab is a pair of directors holding one VIP each, with a UDP responder
// on both and a client probing both VIPs.
type rlab struct {
	lab          *netns.Lab
	a, b, client *netns.Host
	na, nb       *hbnode.Node
	pa, pb       *probe.Prober // the client's probes of vipA and vipB
	started      time.Time     // both heartbeatds are running
}

// resourceHACF is the ha.cf of the resource tests.
func resourceHACF(failback string, keepalive, deadtime time.Duration) string {
	cf := hbnode.HACF(fmt.Sprintf("%dms", keepalive.Milliseconds()), fmt.Sprintf("%dms", deadtime.Milliseconds()),
		"4", []string{"bcast hb0"}, "nodea", "nodeb")
	cf = strings.Replace(cf, "auto_failback on\n", "auto_failback "+failback+"\n", 1)
	return cf
}

// newRLab creates the lab, starts the responders and both heartbeatds.
func newRLab(t *testing.T, o rlabOpts) *rlab {
	t.Helper()
	l := &rlab{lab: netns.NewLab(t)}
	if o.hosts != nil {
		o.hosts(l)
	}
	if o.keepalive == 0 {
		o.keepalive, o.deadtime = rKeepalive, rDeadtime
	}
	l.a = l.lab.AddHost("a", "10.77.0.1/24")
	l.b = l.lab.AddHost("b", "10.77.0.2/24")
	l.client = l.lab.AddHost("c", "10.77.0.9/24")
	probe.StartResponder(t, l.a, svcPort)
	probe.StartResponder(t, l.b, svcPort)
	groupA := o.groupA
	if groupA == "" {
		groupA = "nodea IPaddr2::" + vipA + "/24/hb0"
	}
	hr := groupA + "\nnodeb IPaddr2::" + vipB + "/24/hb0\n"
	start := func(h *netns.Host, name string, files map[string]string) *hbnode.Node {
		return hbnode.Start(t, h, hbnode.Options{Node: name, HACF: resourceHACF(o.failback, o.keepalive, o.deadtime) + o.hacf,
			AuthKeys: hbnode.AuthKeys("sha1", testKey), Haresources: hr, Files: files})
	}
	l.na = start(l.a, "nodea", o.filesA)
	l.nb = start(l.b, "nodeb", o.filesB)
	l.started = time.Now()
	return l
}

// settle waits for the normal state (each director holds its own VIP, the
// client is served by both) and for the end of the start-up window.
func (l *rlab) settle(t *testing.T) {
	t.Helper()
	l.settleState(t)
	time.Sleep(time.Until(l.started.Add(startupWindow)))
}

// settleState waits for each director to hold its own VIP and serve the
// client through it, and starts the client's probes.
func (l *rlab) settleState(t *testing.T) {
	t.Helper()
	l.na.WaitRsc(t, "local", 8*time.Second)
	l.nb.WaitRsc(t, "local", 8*time.Second)
	l.waitHolders(t, map[string]string{vipA: "a", vipB: "b"}, 3*time.Second)
	l.pa = probe.NewProber(t, l.client, netip.AddrPortFrom(netip.MustParseAddr(vipA), svcPort), 0)
	l.pb = probe.NewProber(t, l.client, netip.AddrPortFrom(netip.MustParseAddr(vipB), svcPort), 0)
	l.pa.WaitServedBy(t, "a", 3*time.Second)
	l.pb.WaitServedBy(t, "b", 3*time.Second)
}

// holders returns, per VIP, the directors holding it ("a", "b", "a b" or "").
func (l *rlab) holders(t testing.TB) map[string]string {
	t.Helper()
	return hbnode.Holders(t, []string{vipA, vipB}, l.a, l.b)
}

// waitHolders polls until the VIPs are held exactly as want says and
// returns how long that took.
func (l *rlab) waitHolders(t testing.TB, want map[string]string, within time.Duration) time.Duration {
	t.Helper()
	return hbnode.WaitHolders(t, want, within, l.a, l.b)
}

// checkEnd checks a stable end state: the holders, each node's rscstatus,
// and that both stay so for a while (nothing is still moving).
func (l *rlab) checkEnd(t *testing.T, holders map[string]string, rscA, rscB string) {
	t.Helper()
	l.waitHolders(t, holders, 5*time.Second)
	l.na.WaitRsc(t, rscA, 3*time.Second)
	l.nb.WaitRsc(t, rscB, 3*time.Second)
	time.Sleep(4 * rKeepalive)
	if got := l.holders(t); fmt.Sprint(got) != fmt.Sprint(holders) {
		t.Errorf("VIP holders changed to %v, want %v", got, holders)
	}
	if a, b := l.na.RscStatus(), l.nb.RscStatus(); a != rscA || b != rscB {
		t.Errorf("rscstatus nodea %q nodeb %q, want %q %q", a, b, rscA, rscB)
	}
}

// die kills n's heartbeatd with SIGKILL and takes its director's link
// down at the same moment: the death of the machine. A SIGKILLed heartbeatd
// alone is not a dead director: its VIPs stay configured and keep
// answering the client (nothing releases them), so the client would see
// no outage at all and the survivor's takeover would only duplicate the
// address. It returns the time just before the failure.
func (l *rlab) die(t *testing.T, n *hbnode.Node) time.Time {
	t.Helper()
	t0 := time.Now()
	n.Host.CutLink(t)
	n.Kill(t)
	return t0
}

// reboot brings a dead director back: its leftover VIPs are gone (as after
// a reboot), its link is restored and its heartbeatd started again.
func (l *rlab) reboot(t *testing.T, n *hbnode.Node) {
	t.Helper()
	hbnode.DelAddrs(t, n.Host, vipA, vipB)
	n.Host.RestoreLink(t)
	n.Restart(t)
}

// checkFailover checks the client's outage on p after a failure at t0:
// from the dead director to the survivor within deadtime + 100 ms.
func checkFailover(t *testing.T, p *probe.Prober, t0 time.Time, from, to string) {
	t.Helper()
	p.WaitServedBy(t, to, 5*time.Second)
	gap, before, after := p.Outage(t0)
	t.Logf("client outage %v (%s -> %s)", gap, before, after)
	if before != from || after != to {
		t.Errorf("outage from %q to %q, want from %q to %q", before, after, from, to)
	}
	if limit := rDeadtime + 100*time.Millisecond; gap > limit {
		t.Errorf("client outage %v, want at most deadtime + 100ms = %v", gap, limit)
		logGaps(t, p, t0)
	}
}

// TestFailover: the client is served by the survivor within deadtime +
// 100 ms when the active director dies or its link is cut, and at once
// when its heartbeatd stops gracefully.
func TestFailover(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	t.Run("death", func(t *testing.T) {
		t.Parallel()
		l := newRLab(t, rlabOpts{failback: "on"})
		l.settle(t)
		t0 := l.die(t, l.na)
		checkFailover(t, l.pa, t0, "a", "b")
		l.waitHolders(t, map[string]string{vipA: "a b", vipB: "b"}, time.Second) // a's is unreachable
		l.nb.WaitRsc(t, "all", time.Second)
		if gap, _, _ := l.pb.Outage(t0); gap > 100*time.Millisecond {
			t.Errorf("the survivor's own VIP was interrupted for %v", gap)
		}
	})
	t.Run("link-cut", func(t *testing.T) {
		t.Parallel()
		l := newRLab(t, rlabOpts{failback: "on"})
		l.settle(t)
		t0 := time.Now()
		l.a.CutLink(t)
		checkFailover(t, l.pa, t0, "a", "b")
		// Cut off, nodea thinks nodeb is dead and takes its VIP too.
		l.waitHolders(t, map[string]string{vipA: "a b", vipB: "a b"}, time.Second)
		l.nb.WaitRsc(t, "all", time.Second)
		l.na.WaitRsc(t, "all", time.Second)
	})
	t.Run("graceful-stop", func(t *testing.T) {
		t.Parallel()
		l := newRLab(t, rlabOpts{failback: "on"})
		l.settle(t)
		t0 := time.Now()
		l.na.Stop(t)
		stopped := time.Since(t0)
		l.pa.WaitServedBy(t, "b", 2*time.Second)
		gap, before := switchGap(l.pa, t0, "b")
		outage, _, _ := l.pa.Outage(t0)
		t.Logf("SIGTERM: heartbeatd exited after %v, client switched from %s to b after a gap of %v (longest gap %v)",
			stopped, before, gap, outage)
		if before != "a" {
			t.Errorf("the last reply before nodeb's first came from %q, want a", before)
		}
		if limit := rDeadtime / 5; outage > limit {
			t.Errorf("graceful hand-over outage %v, want well under deadtime (≤ %v)", outage, limit)
		}
		l.waitHolders(t, map[string]string{vipA: "b", vipB: "b"}, time.Second)
		l.nb.WaitRsc(t, "all", time.Second)
		if !strings.Contains(l.nb.Log(), "Received shutdown notice from 'nodea'.") {
			t.Errorf("nodeb did not log the shutdown notice")
		}
	})
}

// TestAutoFailback: after the failed director comes back, its group goes
// back to it with on and legacy and stays with the survivor with off.
func TestAutoFailback(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	cases := []struct {
		mode       string
		holderA    string // of vipA at the end
		rscA, rscB string
	}{
		{"on", "a", "local", "local"},
		{"off", "b", "none", "all"},
		{"legacy", "a", "local", "local"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			l := newRLab(t, rlabOpts{failback: c.mode})
			l.settle(t)
			t0 := l.die(t, l.na)
			checkFailover(t, l.pa, t0, "a", "b")
			l.nb.WaitRsc(t, "all", time.Second)
			l.reboot(t, l.na)
			l.nb.WaitStatus(t, "nodea", "active", 8*time.Second)
			l.checkEnd(t, map[string]string{vipA: c.holderA, vipB: "b"}, c.rscA, c.rscB)
			l.pa.WaitServedBy(t, c.holderA, 2*time.Second)
			// With on, the survivor hands the group back with the standby
			// protocol (§5.2).
			if gave := strings.Contains(l.nb.Log(), "nodeb wants to go standby [foreign]"); gave != (c.mode == "on") {
				t.Errorf("nodeb went standby [foreign]: %v, want %v", gave, c.mode == "on")
			}
			if c.mode != "legacy" {
				return
			}
			// Legacy refuses standby: the tool says so, as the classic
			// init script does, and the daemon ignores a takeover
			// request, which would need one.
			if out, rc := runTool(t, l.na, "hb_standby", "all"); rc != 1 || !strings.Contains(out, "legacy") {
				t.Errorf("hb_standby with auto_failback legacy: exit %d: %s", rc, out)
			}
			standby(t, l.nb, "hb_takeover", "all")
			waitLog(t, l.na, "Standby mode only implemented when nice_failback on")
			l.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local")
		})
	}
}

// standby runs hb_standby or hb_takeover with arg against n's node.
func standby(t *testing.T, n *hbnode.Node, tool, arg string) {
	t.Helper()
	if out, rc := runTool(t, n, tool, arg); rc != 0 {
		t.Fatalf("%s %s on %s: exit %d: %s", tool, arg, n.Name, rc, out)
	}
}

// runTool runs one of hbnode.Tools against n's node.
func runTool(t *testing.T, n *hbnode.Node, tool string, args ...string) (string, int) {
	t.Helper()
	if !hbnode.HasTool(t, tool) {
		t.Fatalf("heartbeatd/cmd/%s was not built", tool)
	}
	return n.RunTool(t, tool, args...)
}

// TestStandbyAndTakeover steps hb_standby and hb_takeover through every
// argument; each step starts from the previous end state (§5.5).
func TestStandbyAndTakeover(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	type step struct {
		node, tool, arg string
		holdA, holdB    string // holders of vipA and vipB afterwards
		rscA, rscB      string
	}
	cases := []struct {
		failback string
		steps    []step
	}{
		{"on", []step{
			{"b", "hb_standby", "all", "a", "a", "all", "none"},
			{"a", "hb_standby", "local", "b", "a", "foreign", "foreign"},
			{"b", "hb_standby", "all", "a", "a", "all", "none"},
			{"a", "hb_standby", "foreign", "a", "b", "local", "local"},
			{"b", "hb_standby", "all", "a", "a", "all", "none"},
			{"a", "hb_standby", "all", "b", "b", "none", "all"},
		}},
		{"off", []step{
			{"a", "hb_takeover", "all", "a", "a", "all", "none"},
			{"b", "hb_takeover", "local", "a", "b", "local", "local"},
			{"a", "hb_takeover", "foreign", "a", "a", "all", "none"},
			{"b", "hb_takeover", "foreign", "b", "a", "foreign", "foreign"},
			{"b", "hb_takeover", "all", "b", "b", "none", "all"},
		}},
	}
	for _, c := range cases {
		t.Run("auto_failback-"+c.failback, func(t *testing.T) {
			t.Parallel()
			l := newRLab(t, rlabOpts{failback: c.failback})
			l.settle(t)
			nodes := map[string]*hbnode.Node{"a": l.na, "b": l.nb}
			for i, s := range c.steps {
				t.Logf("step %d: %s on node%s", i, s.tool+" "+s.arg, s.node)
				t0 := time.Now()
				standby(t, nodes[s.node], s.tool, s.arg)
				l.checkEnd(t, map[string]string{vipA: s.holdA, vipB: s.holdB}, s.rscA, s.rscB)
				l.pa.WaitServedBy(t, s.holdA, 2*time.Second)
				l.pb.WaitServedBy(t, s.holdB, 2*time.Second)
				for vip, p := range map[string]*probe.Prober{vipA: l.pa, vipB: l.pb} {
					if gap, _, _ := p.Outage(t0); gap > rDeadtime {
						t.Errorf("step %d: %s was unanswered for %v", i, vip, gap)
					}
				}
			}
		})
	}
}

// failScript is a resource.d script whose start fails and whose status
// prints nothing (not running); workScript is one that works.
const (
	failScript = "#!/bin/sh\ncase \"$1\" in start) exit 1;; esac\nexit 0\n"
	workScript = "#!/bin/sh\nf=\"$(dirname \"$0\")/../app.running\"\ncase \"$1\" in\n" +
		"start) touch \"$f\";;\nstop) rm -f \"$f\";;\nstatus) [ -e \"$f\" ] && echo running || echo stopped;;\nesac\nexit 0\n"
)

// TestFailingStartGivesGroupUp: nodea's group cannot start on nodea; it is
// stopped again with a CRIT line, nobody holds it, and after the classic
// 30 s give-up delay nodea hands its local groups to nodeb.
func TestFailingStartGivesGroupUp(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	l := newRLab(t, rlabOpts{failback: "on",
		groupA: "nodea IPaddr2::" + vipA + "/24/hb0 app",
		filesA: map[string]string{"resource.d/app": failScript},
		filesB: map[string]string{"resource.d/app": workScript},
	})
	// Classic ResourceManager names the resource that failed.
	const crit = "CRIT: Giving up resources due to failure of "
	waitLogWithin(t, l.na, crit, 10*time.Second)
	failed := time.Now()
	for _, line := range strings.Split(l.na.Log(), "\n") {
		if _, what, ok := strings.Cut(line, crit); ok {
			t.Logf("nodea: %s", line)
			if what != "app" && !strings.HasPrefix(what, "app ") && !strings.HasPrefix(what, "app:") {
				t.Errorf("the CRIT line names %q, want the failed resource app as classic does", what)
			}
		}
	}
	l.nb.WaitRsc(t, "local", 5*time.Second)
	l.waitHolders(t, map[string]string{vipA: "", vipB: "b"}, 2*time.Second)
	// Nobody holds it until the give-up delay is over.
	for time.Since(failed) < 27*time.Second {
		if got := l.holders(t); got[vipA] != "" {
			t.Fatalf("%v after the failure %s is held by %q", time.Since(failed), vipA, got[vipA])
		}
		time.Sleep(time.Second)
	}
	l.waitHolders(t, map[string]string{vipA: "b", vipB: "b"}, 8*time.Second)
	took := time.Since(failed)
	t.Logf("nodeb took nodea's group %v after the failure was logged", took)
	if took < 29*time.Second || took > 33*time.Second {
		t.Errorf("nodeb took the group %v after the failure, want 30 s (the give-up delay)", took)
	}
	l.na.WaitRsc(t, "none", 2*time.Second)
	l.nb.WaitRsc(t, "all", 2*time.Second)
	p := probe.NewProber(t, l.client, netip.AddrPortFrom(netip.MustParseAddr(vipA), svcPort), 0)
	p.WaitServedBy(t, "b", 2*time.Second)
}

// waitLogWithin is waitLog with a longer wait.
func waitLogWithin(t *testing.T, n *hbnode.Node, s string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); !strings.Contains(n.Log(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q", n.Name, s)
		}
	}
}

// switchGap returns the silence before the first reply from to after
// since, and who answered last before it.
func switchGap(p *probe.Prober, since time.Time, to string) (time.Duration, string) {
	rs := p.Replies()
	for i := 1; i < len(rs); i++ {
		if rs[i].From == to && rs[i].Received.After(since) {
			return rs[i].Received.Sub(rs[i-1].Received), rs[i-1].From
		}
	}
	return 0, ""
}

// logGaps logs the silences longer than 30 ms in p's record, relative to t0.
func logGaps(t *testing.T, p *probe.Prober, t0 time.Time) {
	rs := p.Replies()
	for i := 1; i < len(rs); i++ {
		if d := rs[i].Received.Sub(rs[i-1].Received); d > 30*time.Millisecond {
			t.Logf("gap %v from %s at %v to %s", d, rs[i-1].From, rs[i-1].Received.Sub(t0), rs[i].From)
		}
	}
}
