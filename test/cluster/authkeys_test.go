// authkeys_test.go: an operator rewrites authkeys on a running pair.

package cluster

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// As in heartbeat 3.0.6, an edited authkeys takes effect at the reload, not
// before; a bad one is refused and the old keys stay (3.0.6 exits instead).
// After both nodes reload the new key the pair is still up and a packet
// signed with the old key is rejected.
func TestAuthKeysRewriteTakesEffectOnReload(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	lab, a, b := pair(t, "200ms", "1", []string{"bcast hb0"}, "sha1")
	mallory := lab.AddHost("m", "10.77.0.66/24")
	a.WaitStatus(t, "nodeb", "active", 6*time.Second)
	b.WaitStatus(t, "nodea", "active", 6*time.Second)
	keyfile := func(n *hbnode.Node) string { return filepath.Join(n.ConfDir(), "authkeys") }
	authFailed := func(n *hbnode.Node) uint64 { return n.Counters(t)["packets_auth_failed"] }
	stillUp := func(what string) {
		t.Helper()
		time.Sleep(2 * time.Second) // two deadtimes
		if sa, sb := a.NodeStatus("nodeb"), b.NodeStatus("nodea"); sa != "active" || sb != "active" {
			t.Fatalf("%s: nodea sees nodeb %q, nodeb sees nodea %q", what, sa, sb)
		}
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const newKeys = "auth 2\n2 sha1 n3wKey\n"

	// A world-readable file is refused at the reload; the pair stays up.
	check(os.Chmod(keyfile(a), 0o644))
	a.Reload(t)
	waitLog(t, a, "reload failed, keeping the running configuration")
	if !strings.Contains(a.Log(), "bad permissions 0644 on keyfile") {
		t.Errorf("reload error does not say why:\n%s", a.Log())
	}
	check(os.Chmod(keyfile(a), 0o600))

	// Editing alone changes nothing: nodea still signs with the old key.
	check(os.WriteFile(keyfile(a), []byte(newKeys), 0o600))
	before := authFailed(b)
	stillUp("authkeys edited on nodea, not reloaded")
	if d := authFailed(b) - before; d != 0 {
		t.Errorf("nodeb rejected %d packets before nodea reloaded its authkeys", d)
	}

	// Both rewritten and reloaded: the pair talks with the new key only.
	check(os.WriteFile(keyfile(b), []byte(newKeys), 0o600))
	a.Reload(t)
	b.Reload(t)
	for _, n := range []*hbnode.Node{a, b} {
		waitLog(t, n, "Rereading authentication file.")
		if !strings.Contains(n.Log(), "signing=2") {
			t.Errorf("%s: key change logged without the signing entry:\n%s", n.Name, n.Log())
		}
	}
	failedA, failedB, acceptedA := authFailed(a), authFailed(b), a.Counters(t)["messages_accepted"]
	stillUp("after the key change")
	if da, db := authFailed(a)-failedA, authFailed(b)-failedB; da != 0 || db != 0 {
		t.Errorf("after both reloaded: %d and %d packets rejected, want 0", da, db)
	}
	if a.Counters(t)["messages_accepted"] == acceptedA {
		t.Error("nodea accepted nothing after the key change")
	}

	// A third party still holding the old key is rejected, under its old
	// entry number and under the new one.
	var oldRings []*wire.Keyring
	for _, num := range []int{1, 2} {
		r, err := wire.NewKeyring(num, wire.Key{Num: num, Method: "sha1", Secret: []byte(testKey)})
		check(err)
		oldRings = append(oldRings, r)
	}
	var conn net.PacketConn
	mallory.Do(t, func() (err error) {
		conn, err = net.ListenPacket("udp4", "10.77.0.66:0")
		return err
	})
	defer conn.Close()
	before = authFailed(a)
	const sent = 20 // alternately entry 1 and entry 2
	for i := 0; i < sent; i++ {
		m := wire.New("status").Add("st", "dead").Add("dt", "3e8").Add("protocol", "1").
			Add("src", "nodeb").Add("seq", fmt.Sprintf("%x", 5000+i)).Add("hg", "ffffffff").Add("ts", "1").Add("ttl", "3")
		p, err := wire.Encode(m, oldRings[i%2], true)
		check(err)
		if _, err := conn.WriteTo(p, &net.UDPAddr{IP: net.ParseIP("10.77.0.1"), Port: 694}); err != nil {
			t.Fatalf("send: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if d := authFailed(a) - before; d < sent {
		t.Errorf("nodea rejected %d of %d old-key packets", d, sent)
	}
	if got := a.NodeStatus("nodeb"); got != "active" {
		t.Errorf("after old-key packets nodea sees nodeb %q", got)
	}
}
