// pair_test.go: the lab of the takeover and partition suites: two
// directors whose groups carry gate resources that hold a takeover or a
// release at a chosen step, the address record of both, and the steps
// (power off, restart, settle) the cases share.

package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// Timers of the pair: keepalive 200 ms, deadtime 1 s (the lab's deadtime
// constant), initdead 2 s, so that a restart alone takes over in 2 s.
const (
	pairKeepalive = 200 * time.Millisecond
	pairInitdead  = 2 * time.Second
	// startupWindow: for its first 5 s a node advertises deadtime + 2 s
	// (as 3.0.6 does), so a death is only injected into an older node.
	startupWindow = 5500 * time.Millisecond
	// overlapSlack is what the record's clock may add to an overlap:
	// events are stamped when read, under a loaded machine.
	overlapSlack = 100 * time.Millisecond
)

// gateScript is resource.d/gate: "gate NAME start|stop|status" keeps its
// state in $HA_DIR/gate/NAME.running. While $HA_DIR/gate/NAME.OP.armed
// exists, OP first creates NAME.OP.reached and waits, as a slow resource
// script would; it gives up (exit 1, nothing changed) once its heartbeatd
// is gone, so that no orphan of a killed daemon acts after its restart.
const gateScript = `#!/bin/sh
d="$HA_DIR/gate"
mkdir -p "$d"
name=$1 op=$2
if [ -e "$d/$name.$op.armed" ]; then
	: >"$d/$name.$op.reached"
	while [ -e "$d/$name.$op.armed" ]; do
		kill -0 "$PPID" 2>/dev/null || exit 1
		sleep 0.01
	done
	kill -0 "$PPID" 2>/dev/null || exit 1
fi
case $op in
start) : >"$d/$name.running" ;;
stop) rm -f "$d/$name.running" ;;
status) if [ -e "$d/$name.running" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
`

// pairOpts configures a pair.
type pairOpts struct {
	failback string // auto_failback: on, off or legacy
	hacf     string // appended to both ha.cf files
	// router adds a host at routerAddr before the directors (ipfail's ping node).
	router bool
}

const routerAddr = "10.77.0.254"

// The groups' keys (their first resources), as heartbeatd logs them.
const (
	keyA = "gate::pre"
	keyB = "IPaddr2::" + vipB + "/24/hb0"
)

// pair is two directors: nodea's group is "gate::pre IPaddr2::vipA
// gate::post" (so a takeover can be held before, while and after its
// address goes up), nodeb's is its VIP alone.
type pair struct {
	nl       *netns.Lab
	a, b     *netns.Host
	router   *netns.Host
	na, nb   *hbnode.Node
	watch    *addrWatch
	failback string
	started  map[*hbnode.Node]time.Time // the last start of each heartbeatd
}

func newPair(t *testing.T, o pairOpts) *pair {
	t.Helper()
	netns.RequireRoot(t)
	p := &pair{nl: netns.NewLab(t), failback: o.failback, started: map[*hbnode.Node]time.Time{}}
	if o.router {
		p.router = p.nl.AddHost("r", routerAddr+"/24")
	}
	p.a = p.nl.AddHost("a", addrA+"/24")
	p.b = p.nl.AddHost("b", addrB+"/24")
	p.watch = watchAddrs(t, []string{vipA, vipB}, p.a, p.b)
	hr := "nodea " + keyA + " IPaddr2::" + vipA + "/24/hb0 gate::post\nnodeb " + keyB + "\n"
	cf := hbnode.HACF(fmt.Sprintf("%dms", pairKeepalive.Milliseconds()), fmt.Sprintf("%dms", deadtime.Milliseconds()),
		fmt.Sprintf("%dms", pairInitdead.Milliseconds()), []string{"bcast hb0"}, "nodea", "nodeb")
	cf = strings.Replace(cf, "auto_failback on\n", "auto_failback "+o.failback+"\n", 1) + o.hacf
	start := func(h *netns.Host, name string) *hbnode.Node {
		return hbnode.Start(t, h, hbnode.Options{Node: name, HACF: cf,
			AuthKeys: hbnode.AuthKeys("sha1", testKey), Haresources: hr,
			Files: map[string]string{"resource.d/gate": gateScript}})
	}
	p.na = start(p.a, "nodea")
	p.started[p.na] = time.Now()
	p.nb = start(p.b, "nodeb")
	p.started[p.nb] = time.Now()
	return p
}

// settle waits for the normal state: each director holds its own group.
func (p *pair) settle(t *testing.T) {
	t.Helper()
	p.checkEnd(t, map[string]string{vipA: "a", vipB: "b"}, "local", "local", 15*time.Second)
}

// holders returns, per VIP, the directors holding it now ("a", "b", "a b", "").
func (p *pair) holders(t testing.TB) map[string]string {
	t.Helper()
	return hbnode.Holders(t, []string{vipA, vipB}, p.a, p.b)
}

// waitHolders polls until the VIPs are held as want says.
func (p *pair) waitHolders(t *testing.T, want map[string]string, within time.Duration) time.Duration {
	t.Helper()
	return hbnode.WaitHolders(t, want, within, p.a, p.b)
}

// checkEnd waits for a settled end state (holders, each node's rscstatus,
// the gate resources running exactly where their VIP is) and checks that
// it stays so for three keepalives.
func (p *pair) checkEnd(t *testing.T, holders map[string]string, rscA, rscB string, within time.Duration) {
	t.Helper()
	p.waitHolders(t, holders, within)
	p.na.WaitRsc(t, rscA, within)
	p.nb.WaitRsc(t, rscB, within)
	time.Sleep(3 * pairKeepalive)
	if got := p.holders(t); fmt.Sprint(got) != fmt.Sprint(holders) {
		t.Errorf("VIP holders changed to %v, want %v", got, holders)
	}
	if a, b := p.na.RscStatus(), p.nb.RscStatus(); a != rscA || b != rscB {
		t.Errorf("rscstatus nodea %q nodeb %q, want %q %q", a, b, rscA, rscB)
	}
	// The whole group is where its address is, and nowhere else.
	for _, n := range []*hbnode.Node{p.na, p.nb} {
		want := strings.Contains(" "+holders[vipA]+" ", " "+n.Host.Name+" ")
		for _, g := range []string{"pre", "post"} {
			if got := gateRunning(n, g); got != want {
				t.Errorf("%s: gate %s running %v, but %s holds %s: %v", n.Name, g, got, n.Name, vipA, want)
			}
		}
	}
}

// gateDir is where n's gate resources keep their files.
func gateDir(n *hbnode.Node) string { return filepath.Join(n.ConfDir(), "gate") }

func gateRunning(n *hbnode.Node, name string) bool {
	_, err := os.Stat(filepath.Join(gateDir(n), name+".running"))
	return err == nil
}

// arm makes n's gate name hold in op until disarm.
func arm(t *testing.T, n *hbnode.Node, name, op string) {
	t.Helper()
	must(t, os.MkdirAll(gateDir(n), 0o755))
	os.Remove(filepath.Join(gateDir(n), name+"."+op+".reached"))
	must(t, os.WriteFile(filepath.Join(gateDir(n), name+"."+op+".armed"), nil, 0o644))
}

// disarm lets every held gate of n go on.
func disarm(t *testing.T, n *hbnode.Node) {
	t.Helper()
	armed, _ := filepath.Glob(filepath.Join(gateDir(n), "*.armed"))
	for _, f := range armed {
		must(t, os.Remove(f))
	}
}

// waitGate waits until n's gate name is held in op.
func waitGate(t *testing.T, n *hbnode.Node, name, op string, within time.Duration) {
	t.Helper()
	f := filepath.Join(gateDir(n), name+"."+op+".reached")
	for deadline := time.Now().Add(within); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(f); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gate %s never reached %s within %v", n.Name, name, op, within)
		}
	}
}

// waitAged waits until n is past its start-up window, so that its death
// is detected after deadtime, not deadtime + 2 s.
func (p *pair) waitAged(n *hbnode.Node) {
	time.Sleep(time.Until(p.started[n].Add(startupWindow)))
}

// powerOff is the death of n's machine: its heartbeatd is killed and its
// addresses and resource state are gone at once; its link stays up.
func (p *pair) powerOff(t *testing.T, n *hbnode.Node) {
	t.Helper()
	n.Kill(t)
	hbnode.DelAddrs(t, n.Host, vipA, vipB)
	running, _ := filepath.Glob(filepath.Join(gateDir(n), "*.running"))
	for _, f := range running {
		must(t, os.Remove(f))
	}
}

// restart starts n's heartbeatd again, as Restart=on-failure would.
func (p *pair) restart(t *testing.T, n *hbnode.Node) {
	t.Helper()
	n.Restart(t)
	p.started[n] = time.Now()
}
