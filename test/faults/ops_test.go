// ops_test.go: the pair the operational fault suites share (broken
// reload, hanging script, state directory), and their common checks.

package faults

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// opsNode is what one node of an ops pair gets beyond the shared files.
type opsNode struct {
	files map[string]string // under the config directory, executable
	extra []string          // heartbeatd arguments (a later flag wins)
	cf    string            // appended to this node's ha.cf
}

// opsPair is nodea and nodeb on one segment, 10.78.0.1 and .2.
type opsPair struct {
	a, b   *netns.Host
	na, nb *hbnode.Node
}

const (
	opsA, opsB       = "10.78.0.1", "10.78.0.2"
	opsVipA, opsVipB = "10.78.0.101", "10.78.0.102"
)

// startOps starts a pair with haresources hr and cfExtra appended to the
// shared ha.cf (keepalive 200 ms, deadtime 1 s, bcast). It returns once
// each node sees the other active; waiting for resources is the caller's.
func startOps(t *testing.T, hr, cfExtra string, oa, ob opsNode) *opsPair {
	t.Helper()
	netns.RequireRoot(t)
	l := netns.NewLab(t)
	p := &opsPair{a: l.AddHost("a", opsA+"/24"), b: l.AddHost("b", opsB+"/24")}
	cf := hbnode.HACF("200ms", "1", "4", []string{"bcast hb0"}, "nodea", "nodeb") + cfExtra
	start := func(h *netns.Host, name string, o opsNode) *hbnode.Node {
		return hbnode.Start(t, h, hbnode.Options{Node: name, HACF: cf + o.cf, AuthKeys: hbnode.AuthKeys("sha1", testKey),
			Haresources: hr, Files: o.files, ExtraArgs: o.extra})
	}
	p.na, p.nb = start(p.a, "nodea", oa), start(p.b, "nodeb", ob)
	p.na.WaitStatus(t, "nodeb", "active", 8*time.Second)
	p.nb.WaitStatus(t, "nodea", "active", 8*time.Second)
	return p
}

// holds reports whether h has address ip on hb0.
func holds(t *testing.T, h *netns.Host, ip string) bool {
	t.Helper()
	for _, a := range h.IPv4Addrs(t) {
		if a == ip {
			return true
		}
	}
	return false
}

// stillTalking checks, after longer than deadtime, that neither node
// declared the other dead and both still see each other active.
func (p *opsPair) stillTalking(t *testing.T, step string) {
	t.Helper()
	time.Sleep(deadtime + 500*time.Millisecond)
	if sa, sb := p.na.NodeStatus("nodeb"), p.nb.NodeStatus("nodea"); sa != "active" || sb != "active" {
		t.Errorf("%s: nodea sees nodeb %q, nodeb sees nodea %q; want active", step, sa, sb)
	}
	for _, n := range []*hbnode.Node{p.na, p.nb} {
		if strings.Contains(n.Log(), "is dead") {
			t.Errorf("%s: %s declared its peer dead:\n%s", step, n.Name, n.Log())
		}
	}
}

// logLen is the size of n's log, an offset for logSince and waitLog.
func logLen(t *testing.T, n *hbnode.Node) int {
	t.Helper()
	fi, err := os.Stat(n.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Size())
}

// logSince returns what n logged after byte offset off.
func logSince(t *testing.T, n *hbnode.Node, off int) string {
	t.Helper()
	b := readFile(t, n.LogFile())
	if len(b) < off {
		return b
	}
	return b[off:]
}

// waitLog waits until n logs s after offset off and returns the log from
// off on.
func waitLog(t *testing.T, n *hbnode.Node, off int, s string, within time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(5 * time.Millisecond) {
		if got := logSince(t, n, off); strings.Contains(got, s) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %v:\n%s", n.Name, s, within, logSince(t, n, off))
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
