// reload_test.go: SIGHUP with a new authkeys key and a new haresources
// group on every director.

package nway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
)

// TestReloadRotatesKeyAndGroups: every director gets a new authkeys key
// and one more group, then SIGHUP. The memberlist key rotates without a
// single undecryptable packet or death, the new group starts on its
// preferred node and the others stay where they are.
func TestReloadRotatesKeyAndGroups(t *testing.T) {
	t.Parallel()
	l := NewLab(t, Opts{N: 3, Failback: "on"})
	pref := l.Preferred()
	l.WaitExactly(t, pref, 15*time.Second, "every group on its preferred director")
	const newVIP = "10.79.0.120"
	hr := l.Haresources() + "nodeb IPaddr2::" + newVIP + "/24/hb0\n"
	at := time.Now()
	for _, h := range l.Order {
		dir := l.Nodes[h].ConfDir()
		must(t, os.WriteFile(filepath.Join(dir, "authkeys"), []byte(hbnode.AuthKeys("sha1", "rotated-"+testKey)), 0o600))
		must(t, os.WriteFile(filepath.Join(dir, "haresources"), []byte(hr), 0o644))
	}
	for _, h := range l.Order {
		l.Nodes[h].Reload(t)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(strings.Join(l.Hosts["b"].IPv4Addrs(t), " "), newVIP) {
		if time.Now().After(deadline) {
			t.Fatalf("the new group is not on nodeb 5s after the reload: %v", l.Hosts["b"].IPv4Addrs(t))
		}
		time.Sleep(pollEvery)
	}
	t.Logf("new group up on nodeb %v after the reload", time.Since(at).Round(time.Millisecond))
	// The rotation ends two overlaps (2 × 10 s) after the reload.
	for _, h := range l.Order {
		WaitLog(t, l.Nodes[h], "memberlist key rotation finished", 30*time.Second)
	}
	for _, h := range l.Order {
		n := l.Nodes[h]
		if c := n.Counters(t); c["gossip_dropped_decrypt"] != 0 || c["gossip_dropped_bad_mac"] != 0 {
			t.Errorf("node%s dropped packets during the rotation: decrypt %d, bad_mac %d", h, c["gossip_dropped_decrypt"], c["gossip_dropped_bad_mac"])
		}
		if strings.Contains(n.Log(), " is dead") {
			t.Errorf("node%s saw a death during the rotation", h)
		}
		for _, peer := range l.Order {
			if st := n.NodeStatus(NodeName(peer)); st != "active" {
				t.Errorf("node%s sees node%s %q after the rotation", h, peer, st)
			}
		}
	}
	for _, g := range l.Groups {
		if gap, from, to := l.Probers[g.VIP].Outage(at); gap > 500*time.Millisecond {
			t.Errorf("%s had a %v outage (%s -> %s) during the reload", g.VIP, gap, from, to)
		}
	}
	l.WaitExactly(t, pref, time.Second, "the old groups where they were")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
