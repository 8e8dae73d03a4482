// cluster_test.go: several real memberlist nodes on 127.0.0.x loopback
// addresses in one process: join, meta, detection time, messages, drops,
// wrong key, key rotation, leave.

package gossip

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

var testKey = DeriveKey("sha1", "test secret")

// node is one test member and what its callbacks saw.
type node struct {
	*Gossip
	self atomic.Pointer[Gossip] // for callbacks racing with New's return
	name string
	log  *logtest.Hook

	mu      sync.Mutex
	msgs    []string // "from:payload"
	changes int
}

func (n *node) messages() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.msgs)
}

// startNode creates node i on 127.0.0.(10+i) with a free port.
func startNode(t *testing.T, i int, key []byte, seeds []string, mod func(*Config)) *node {
	t.Helper()
	lg, hook := logtest.NewNullLogger()
	lg.SetLevel(logrus.DebugLevel)
	n := &node{name: fmt.Sprintf("node%d", i), log: hook}
	cfg := Config{
		Node:       n.name,
		Bind:       fmt.Sprintf("127.0.0.%d:0", 10+i),
		Seeds:      seeds,
		Key:        key,
		Generation: 1,
		Log:        lg,
		OnMessage: func(from string, p []byte) {
			n.mu.Lock()
			n.msgs = append(n.msgs, from+":"+string(p))
			n.mu.Unlock()
		},
		OnChange: func() {
			if g := n.self.Load(); g != nil {
				g.Members() // must not deadlock with memberlist's locks
			}
			n.mu.Lock()
			n.changes++
			n.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New %s: %v", n.name, err)
	}
	n.Gossip = g
	n.self.Store(g)
	t.Cleanup(func() { g.Shutdown() })
	return n
}

// cluster starts count nodes, the first being everyone's seed, and waits
// until all see all alive.
func cluster(t *testing.T, count int, mod func(*Config)) []*node {
	t.Helper()
	first := startNode(t, 0, testKey, nil, mod)
	nodes := []*node{first}
	seed := []string{first.Addr().String()}
	for i := 1; i < count; i++ {
		n := startNode(t, i, testKey, seed, mod)
		if _, err := n.Join(); err != nil {
			t.Fatalf("%s join: %v", n.name, err)
		}
		nodes = append(nodes, n)
	}
	// A join's alive message is gossiped over UDP; one a loaded machine
	// drops is repaired by the next push/pull (every 10 s): wait past two.
	for _, n := range nodes {
		waitFor(t, 25*time.Second, n.name+" sees everyone alive", func() bool { return aliveCount(n) == count })
	}
	return nodes
}

func aliveCount(n *node) int {
	c := 0
	for _, m := range n.Members() {
		if m.State == Alive {
			c++
		}
	}
	return c
}

func stateOfMember(n *node, name string) (State, []byte, bool) {
	for _, m := range n.Members() {
		if m.Name == name {
			return m.State, m.Meta, true
		}
	}
	return 0, nil, false
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("timed out after %s waiting until %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestJoinMetaAndMessages(t *testing.T) {
	nodes := cluster(t, 3, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]

	ms := a.Members()
	if len(ms) != 3 || ms[0].Name != "node0" || ms[2].Name != "node2" {
		t.Fatalf("members %+v", ms)
	}
	if ms[1].Addr != b.Addr() || !ms[1].Addr.Addr().IsLoopback() {
		t.Errorf("node1 address %s, want %s", ms[1].Addr, b.Addr())
	}

	// Meta propagation.
	before := a.changesSeen()
	if err := b.SetMeta([]byte("state-1")); err != nil {
		t.Fatal(err)
	}
	if _, meta, _ := stateOfMember(b, "node1"); string(meta) != "state-1" {
		t.Errorf("own meta %q right after SetMeta", meta)
	}
	for _, n := range []*node{a, c} {
		d := waitFor(t, 5*time.Second, n.name+" sees node1's meta", func() bool {
			_, meta, _ := stateOfMember(n, "node1")
			return string(meta) == "state-1"
		})
		t.Logf("%s got node1's meta after %s", n.name, d)
	}
	waitFor(t, 2*time.Second, "OnChange on node0", func() bool { return a.changesSeen() > before })
	if err := b.SetMeta(make([]byte, MaxMeta+1)); err == nil {
		t.Error("SetMeta accepted more than MaxMeta bytes")
	}

	// Broadcast and Send.
	a.Broadcast([]byte("hello all"))
	if err := a.Send("node2", []byte("to c only")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("node9", nil); err == nil {
		t.Error("Send to an unknown node succeeded")
	}
	big := make([]byte, 3000) // over the UDP limit: TCP
	for i := range big {
		big[i] = 'x'
	}
	b.Broadcast(big)
	waitFor(t, 5*time.Second, "messages delivered", func() bool {
		return len(b.messages()) == 1 && len(c.messages()) == 3 && len(a.messages()) == 1
	})
	if got := b.messages(); got[0] != "node0:hello all" {
		t.Errorf("node1 got %q", got)
	}
	if got := c.messages(); !slices.Contains(got, "node0:hello all") || !slices.Contains(got, "node0:to c only") ||
		!slices.Contains(got, "node1:"+string(big)) {
		t.Errorf("node2 got %q", got)
	}
	if got := a.messages(); got[0] != "node1:"+string(big) {
		t.Errorf("node0 got %d bytes", len(got[0]))
	}
	ca := a.Counters()
	if ca["sent"] != 3 || ca["received"] != 1 {
		t.Errorf("node0 counters %v", ca)
	}
	for k, v := range c.Counters() {
		if k != "received" && v != 0 {
			t.Errorf("node2 counter %s = %d", k, v)
		}
	}
	if got := c.Counters()["received"]; got != 3 {
		t.Errorf("node2 received %d", got)
	}
}

func (n *node) changesSeen() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changes
}

// TestDrops injects raw user messages into node0's NotifyMsg path and
// checks each drop reason is counted exactly once.
func TestDrops(t *testing.T) {
	nodes := cluster(t, 2, nil)
	a := nodes[0]
	d := (*delegate)(a.Gossip)
	uk := userKey(testKey)
	valid := encodeMsg(uk, kindData, "node1", 5, 100, []byte("p"))
	forged := slices.Clone(valid)
	forged[len(forged)-1] ^= 1
	otherKey := encodeMsg(userKey(DeriveKey("sha1", "other")), kindData, "node1", 5, 101, []byte("p"))
	tampered := slices.Clone(encodeMsg(uk, kindData, "node1", 5, 102, []byte("p")))
	tampered[len(tampered)-macSize-1] = 'q' // payload changed after signing

	steps := []struct {
		name   string
		msg    []byte
		reason string // "" = delivered
	}{
		{"valid", valid, ""},
		{"replayed", valid, "replay"},
		{"forged MAC", forged, "bad_mac"},
		{"other key", otherKey, "bad_mac"},
		{"tampered payload", tampered, "bad_mac"},
		{"old generation", encodeMsg(uk, kindData, "node1", 4, 500, []byte("p")), "old_generation"},
		{"unknown node", encodeMsg(uk, kindData, "node7", 5, 1, []byte("p")), "unknown_node"},
		{"from ourselves", encodeMsg(uk, kindData, "node0", 5, 1, []byte("p")), "unknown_node"},
		{"malformed", []byte{1, 2, 3}, "malformed"},
		{"bad version", append([]byte{2}, valid[1:]...), "malformed"},
		{"in window", encodeMsg(uk, kindData, "node1", 5, 99, []byte("late")), ""},
		{"below window", encodeMsg(uk, kindData, "node1", 5, 100-64, []byte("p")), "replay"},
		{"new generation", encodeMsg(uk, kindData, "node1", 6, 1, []byte("gen6")), ""},
	}
	want := a.Counters()
	for _, s := range steps {
		d.NotifyMsg(s.msg)
		if s.reason == "" {
			want["received"]++
		} else {
			want["dropped_"+s.reason]++
		}
		got := a.Counters()
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("after %s: %s = %d, want %d", s.name, k, got[k], want[k])
			}
		}
		want = got
	}
	waitFor(t, 2*time.Second, "3 deliveries", func() bool { return len(a.messages()) == 3 })
	if got := a.messages(); !slices.Equal(got, []string{"node1:p", "node1:late", "node1:gen6"}) {
		t.Errorf("delivered %q", got)
	}
}

// TestDetection measures how long the survivors take to see a crashed
// node dead at the default tuning, for 3 and 5 nodes.
func TestDetection(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	tn := Tuning{}.withDefaults()
	for _, count := range []int{2, 3, 5} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			nodes := cluster(t, count, nil)
			victim := nodes[count-1]
			time.Sleep(3 * tn.ProbeInterval) // past join-time gossip
			start := time.Now()
			victim.Shutdown() // no Leave: a crash
			// Upper bound: the formula's worst case without confirmations
			// ((n−1)·PI + PI + 6·SM·PI), tripled for a loaded CI machine.
			worst := time.Duration(count-1+1+6*tn.SuspicionMult) * tn.ProbeInterval
			var wg sync.WaitGroup
			for _, n := range nodes[:count-1] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						if s, _, _ := stateOfMember(n, victim.name); s == Dead {
							break
						}
						if time.Since(start) > 3*worst {
							t.Errorf("%s did not see %s dead within %s", n.name, victim.name, 3*worst)
							return
						}
						time.Sleep(5 * time.Millisecond)
					}
					t.Logf("%d nodes: %s saw %s dead after %s (formula worst case %s)",
						count, n.name, victim.name, time.Since(start).Round(time.Millisecond), worst)
				}()
			}
			wg.Wait()
		})
	}
}

func TestWrongKeyCannotJoin(t *testing.T) {
	nodes := cluster(t, 2, nil)
	a := nodes[0]
	bad := startNode(t, 5, DeriveKey("sha1", "wrong secret"), []string{a.Addr().String()}, nil)
	if n, err := bad.Join(); err == nil {
		t.Fatalf("join with a wrong key succeeded (%d contacted)", n)
	}
	waitFor(t, 2*time.Second, "decrypt failure counted", func() bool { return a.Counters()["dropped_decrypt"] > 0 })
	if _, _, ok := stateOfMember(a, bad.name); ok {
		t.Error("node with a wrong key is a member")
	}
	logged := false
	for _, e := range a.log.AllEntries() {
		if e.Data["subsystem"] == "memberlist" && e.Level == logrus.ErrorLevel {
			logged = true
			t.Logf("logged: %s", e.Message)
		}
	}
	if !logged {
		t.Error("no memberlist error logged for the wrong key")
	}
}

// TestRekey rotates the key on every node, staggered within the overlap,
// while watching that nobody ever sees a peer suspect or dead.
func TestRekey(t *testing.T) {
	const overlap = time.Second
	nodes := cluster(t, 3, func(c *Config) { c.RekeyOverlap = overlap })
	newKey := DeriveKey("sha1", "rotated secret")
	if err := nodes[0].Rekey(testKey); err != nil || len(nodes[0].rekeyTimers) != 0 {
		t.Errorf("Rekey to the current key: %v, %d timers", err, len(nodes[0].rekeyTimers))
	}
	if err := nodes[0].Rekey(newKey[:7]); err == nil {
		t.Error("Rekey accepted a 7-byte key")
	}

	stop := make(chan struct{})
	var bad []string
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			for _, n := range nodes {
				for _, m := range n.Members() {
					if m.State != Alive {
						bad = append(bad, fmt.Sprintf("%s saw %s %s", n.name, m.Name, m.State))
					}
				}
			}
		}
	}()
	for i, n := range nodes {
		if i > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		if err := n.Rekey(newKey); err != nil {
			t.Fatal(err)
		}
		nodes[0].Broadcast([]byte(fmt.Sprintf("during %d", i)))
	}
	waitFor(t, 5*time.Second, "old keys removed everywhere", func() bool {
		for _, n := range nodes {
			if ks := n.keyring.GetKeys(); len(ks) != 1 || string(ks[0]) != string(newKey) {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // some probe rounds with the new key only
	close(stop)
	watch.Wait()
	if len(bad) > 0 {
		t.Errorf("membership disturbed during rotation: %q", bad[:min(5, len(bad))])
	}
	// Suspicion is not visible in Members (see State); the logs show it.
	for _, n := range nodes {
		if d := n.Counters()["dropped_decrypt"]; d != 0 {
			t.Errorf("%s could not decrypt %d packets during the rotation", n.name, d)
		}
		for _, e := range n.log.AllEntries() {
			if strings.Contains(e.Message, "Suspect") {
				t.Errorf("%s logged %q", n.name, e.Message)
			}
		}
	}
	nodes[1].Broadcast([]byte("after"))
	waitFor(t, 3*time.Second, "messages during and after rotation", func() bool {
		return len(nodes[1].messages()) == 3 && slices.Contains(nodes[2].messages(), "node1:after")
	})

	// The old key no longer gets in; the new one does.
	seed := []string{nodes[0].Addr().String()}
	if _, err := startNode(t, 6, testKey, seed, nil).Join(); err == nil {
		t.Error("old key joined after the rotation")
	}
	if _, err := startNode(t, 7, newKey, seed, nil).Join(); err != nil {
		t.Errorf("new key cannot join: %v", err)
	}
}

func TestLeaveAndShutdown(t *testing.T) {
	nodes := cluster(t, 3, nil)
	leaver := nodes[2]
	if err := leaver.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := leaver.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := leaver.Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	for _, n := range nodes[:2] {
		waitFor(t, 5*time.Second, n.name+" sees node2 left", func() bool {
			s, _, _ := stateOfMember(n, "node2")
			return s == Left
		})
	}
	if err := leaver.SetMeta(nil); err == nil {
		t.Error("SetMeta after Shutdown succeeded")
	}
	if err := leaver.Send("node0", nil); err == nil {
		t.Error("Send after Shutdown succeeded")
	}
	if err := leaver.Leave(0); err == nil {
		t.Error("Leave after Shutdown succeeded")
	}
	// It comes back with a new generation and is alive again.
	back := startNode(t, 2, testKey, []string{nodes[0].Addr().String()}, func(c *Config) { c.Generation = 2 })
	if _, err := back.Join(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "node2 alive again", func() bool {
		s, _, _ := stateOfMember(nodes[0], "node2")
		return s == Alive
	})
	// Sent until one arrives: right after node0 saw it alive, node0 once
	// dropped the first message (unknown_node) on a loaded CI machine;
	// why is not known (a note on issue 8 says so).
	defer func() { t.Logf("node0 counters %v, node2 counters %v", nodes[0].Counters(), back.Counters()) }()
	waitFor(t, 3*time.Second, "message of the new generation", func() bool {
		if err := back.Send("node0", []byte("back")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		return slices.Contains(nodes[0].messages(), "node2:back")
	})
}
