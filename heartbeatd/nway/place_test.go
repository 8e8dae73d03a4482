// place_test.go: Place's rules as a table, quorum for 2..5 nodes, and
// properties: the same view gives the same map on every node, adding or
// removing a node moves only the groups that must move.

package nway

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

// placeCfg: nodes a, b, c; groups 0 (prefers a), 1 (b), 2 (c).
func placeCfg(failback string) Config {
	nodes := []string{"a", "b", "c"}
	return Config{Node: "a", Nodes: nodes, Groups: groupsFor(nodes, 1), AutoFailback: failback, Quorum: "off"}
}

// st builds a NodeState with the reference hash of placeCfg.
func st(mod func(*NodeState)) NodeState {
	s := NodeState{GroupsHash: GroupsHash(placeCfg("on").Groups)}
	if mod != nil {
		mod(&s)
	}
	return s
}

func alive(name string, mod func(*NodeState)) Peer {
	return Peer{Name: name, Alive: true, Valid: true, State: st(mod)}
}

func dead(name string) Peer { return Peer{Name: name, Valid: true, State: st(nil)} }

// rendezvousOf is the expected rendezvous winner among names.
func rendezvousOf(g config.Group, names ...string) string {
	var ps []Peer
	for _, n := range names {
		ps = append(ps, Peer{Name: n})
	}
	return rendezvous(g, ps)
}

func TestPlaceRules(t *testing.T) {
	gs := placeCfg("on").Groups
	cases := []struct {
		name     string
		failback string
		peers    []Peer
		want     [3]string
	}{
		{"all alive: preferred nodes", "on", []Peer{alive("a", nil), alive("b", nil), alive("c", nil)}, [3]string{"a", "b", "c"}},
		{"preferred dead: rendezvous among the rest", "on", []Peer{dead("a"), alive("b", nil), alive("c", nil)},
			[3]string{rendezvousOf(gs[0], "b", "c"), "b", "c"}},
		{"preferred standby local", "on", []Peer{alive("a", func(s *NodeState) { s.StandbyLocal = true }), alive("b", nil), alive("c", nil)},
			[3]string{rendezvousOf(gs[0], "b", "c"), "b", "c"}},
		{"standby foreign does not touch the own group", "on", []Peer{alive("a", func(s *NodeState) { s.StandbyForeign = true }), alive("b", nil), dead("c")},
			[3]string{"a", "b", "b"}},
		{"standby everywhere: standby nodes are the last resort", "on",
			[]Peer{alive("a", func(s *NodeState) { s.StandbyLocal, s.StandbyForeign = true, true }), dead("b"), dead("c")},
			[3]string{"a", "a", "a"}},
		{"preferred with a lower score", "on", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Score = 1 }), alive("c", func(s *NodeState) { s.Score = 1 })},
			[3]string{rendezvousOf(gs[0], "b", "c"), "b", "c"}},
		{"highest score takes all", "on", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Score = 2 }), alive("c", func(s *NodeState) { s.Score = 1 })},
			[3]string{"b", "b", "b"}},
		{"failback on: back to the preferred node", "on", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Held = SetOf(0, 1) }), alive("c", nil)},
			[3]string{"a", "b", "c"}},
		{"failback legacy is on", "legacy", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Held = SetOf(0, 1) }), alive("c", nil)},
			[3]string{"a", "b", "c"}},
		{"failback off: the holder keeps it", "off", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Held = SetOf(0, 1) }), alive("c", nil)},
			[3]string{"b", "b", "c"}},
		{"failback off: a starting holder keeps it", "off", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Starting = SetOf(0) }), alive("c", nil)},
			[3]string{"b", "b", "c"}},
		{"failback off: a stopping node is no holder", "off", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Stopping = SetOf(0) }), alive("c", nil)},
			[3]string{"a", "b", "c"}},
		{"failback on: holder when the preferred node is gone", "on", []Peer{dead("a"), alive("b", nil), alive("c", func(s *NodeState) { s.Held = SetOf(0) })},
			[3]string{"c", "b", "c"}},
		{"failback off: two holders after a heal, the preferred one keeps it", "off",
			[]Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Held = SetOf(2) }), alive("c", func(s *NodeState) { s.Held = SetOf(2) })},
			[3]string{"a", "b", "c"}},
		{"failback off: two holders, neither preferred: rendezvous between them", "off",
			[]Peer{alive("a", func(s *NodeState) { s.Held = SetOf(2) }), alive("b", func(s *NodeState) { s.Held = SetOf(2) }), alive("c", nil)},
			[3]string{"a", "b", rendezvousOf(gs[2], "a", "b")}},
		{"failback off: held beats starting", "off",
			[]Peer{alive("a", func(s *NodeState) { s.Starting = SetOf(2) }), alive("b", func(s *NodeState) { s.Held = SetOf(2) }), alive("c", func(s *NodeState) { s.Starting = SetOf(2) })},
			[3]string{"a", "b", "b"}},
		{"failback off: two starting, the preferred one", "off",
			[]Peer{alive("a", func(s *NodeState) { s.Starting = SetOf(1) }), alive("b", func(s *NodeState) { s.Starting = SetOf(1) }), alive("c", nil)},
			[3]string{"a", "b", "c"}},
		{"a holder with a lower score loses it", "off", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Held = SetOf(0) }), alive("c", nil)},
			[3]string{"b", "b", "c"}},
		{"claim beats the preferred node", "on", []Peer{alive("a", nil), alive("b", nil), alive("c", func(s *NodeState) { s.Claims, s.ClaimSeq = SetOf(0), 1 })},
			[3]string{"c", "b", "c"}},
		{"newest claim wins", "on", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Claims, s.ClaimSeq = SetOf(0), 5 }), alive("c", func(s *NodeState) { s.Claims, s.ClaimSeq = SetOf(0), 4 })},
			[3]string{"b", "b", "c"}},
		{"equal claims: the higher name", "on", []Peer{alive("a", nil), alive("b", func(s *NodeState) { s.Claims, s.ClaimSeq = SetOf(0), 4 }), alive("c", func(s *NodeState) { s.Claims, s.ClaimSeq = SetOf(0), 4 })},
			[3]string{"c", "b", "c"}},
		{"a claim from a lower score does not count", "on", []Peer{alive("a", func(s *NodeState) { s.Score = 1 }), alive("b", func(s *NodeState) { s.Score = 1 }), alive("c", func(s *NodeState) { s.Claims, s.ClaimSeq = SetOf(0), 9 })},
			[3]string{"a", "b", "b"}},
		{"failed here: others take it", "on", []Peer{alive("a", func(s *NodeState) { s.Failed = SetOf(0) }), alive("b", nil), alive("c", nil)},
			[3]string{rendezvousOf(gs[0], "b", "c"), "b", "c"}},
		{"failed everywhere: nobody", "on", []Peer{alive("a", func(s *NodeState) { s.Failed = SetOf(0) }), alive("b", func(s *NodeState) { s.Failed = SetOf(0) }), dead("c")},
			[3]string{"", "b", rendezvousOf(gs[2], "a", "b")}},
		{"unreadable meta: not a candidate", "on", []Peer{alive("a", nil), {Name: "b", Alive: true}, alive("c", nil)},
			[3]string{"a", rendezvousOf(gs[1], "a", "c"), "c"}},
		{"unconfigured member: not a candidate", "on", []Peer{alive("a", nil), dead("b"), dead("c"), alive("zz", func(s *NodeState) { s.Score = 9 })},
			[3]string{"a", "a", "a"}},
		{"another haresources: not a candidate", "on", []Peer{alive("a", nil), alive("b", nil), alive("c", func(s *NodeState) { s.GroupsHash++ })},
			[3]string{"a", "b", rendezvousOf(gs[2], "a", "b")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := placeCfg(c.failback)
			got := Place(cfg, View{Peers: c.peers})
			want := map[int]string{0: c.want[0], 1: c.want[1], 2: c.want[2]}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestPlaceOwnHaresourcesInMinority(t *testing.T) {
	cfg := placeCfg("on")
	other := func(s *NodeState) { s.GroupsHash = 42 }
	// b and c run another haresources: a, in the minority, places nothing.
	got := Place(cfg, View{Peers: []Peer{alive("a", nil), alive("b", other), alive("c", other)}})
	if d := cmp.Diff(map[int]string{0: "", 1: "", 2: ""}, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	// A tie (a alone against b alone): the first name's haresources is the
	// reference, so a places and b would not.
	got = Place(cfg, View{Peers: []Peer{alive("a", nil), alive("b", other)}})
	if got[0] != "a" || got[1] != "a" {
		t.Fatalf("tie: %v", got)
	}
	cfgB := cfg
	cfgB.Node = "b"
	cfgB.Groups = append(slices.Clone(cfg.Groups), mkGroup("b", "extra")) // b's own haresources differs
	if got := Place(cfgB, View{Peers: []Peer{alive("a", nil), alive("b", other)}}); got[0] != "" || got[3] != "" {
		t.Fatalf("b in the tie placed %v", got)
	}
}

func TestPlaceQuorum(t *testing.T) {
	cases := []struct {
		nodes  int
		mode   string
		alive  string // names alive
		quorum bool
	}{
		{2, "auto", "b", true}, // auto with two nodes is off
		{2, "off", "b", true},
		{2, "on", "a", true}, // exactly half with the first node
		{2, "on", "b", false},
		{2, "on", "ab", true},
		{3, "auto", "a", false},
		{3, "auto", "ab", true},
		{3, "auto", "bc", true},
		{3, "off", "c", true},
		{4, "auto", "ab", true}, // exactly half incl. a
		{4, "auto", "cd", false},
		{4, "auto", "ac", true},
		{4, "auto", "bcd", true},
		{4, "auto", "d", false},
		{5, "auto", "ab", false},
		{5, "auto", "cde", true},
		{5, "auto", "abce", true},
		{5, "on", "a", false},
		{5, "off", "e", true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%s-%s", c.nodes, c.mode, c.alive), func(t *testing.T) {
			nodes := nodeNames(c.nodes)
			cfg := Config{Node: "a", Nodes: nodes, Groups: groupsFor(nodes, 1), Quorum: c.mode, AutoFailback: "on"}
			h := GroupsHash(cfg.Groups)
			var v View
			for _, n := range nodes {
				v.Peers = append(v.Peers, Peer{Name: n, Alive: slices.Contains([]byte(c.alive), n[0]), Valid: true, State: NodeState{GroupsHash: h}})
			}
			got := Place(cfg, v)
			placed := 0
			for _, n := range got {
				if n != "" {
					placed++
				}
			}
			if c.quorum && placed != c.nodes || !c.quorum && placed != 0 {
				t.Fatalf("quorum %v: placed %d of %d: %v", c.quorum, placed, c.nodes, got)
			}
		})
	}
}

// randomView draws a view of nodes with random liveness, scores, holdings,
// claims, standby and failures.
func randomView(r testRand, cfg Config) View {
	h := GroupsHash(cfg.Groups)
	var v View
	for _, n := range cfg.Nodes {
		s := NodeState{GroupsHash: h, Score: r.IntN(2), StandbyLocal: r.IntN(6) == 0, StandbyForeign: r.IntN(6) == 0, ClaimSeq: uint32(r.IntN(3))}
		for g := range cfg.Groups {
			switch r.IntN(8) {
			case 0:
				s.Held = s.Held.With(g)
			case 1:
				s.Starting = s.Starting.With(g)
			case 2:
				s.Failed = s.Failed.With(g)
			case 3:
				s.Stopping = s.Stopping.With(g)
			}
			if r.IntN(10) == 0 {
				s.Claims = s.Claims.With(g)
			}
		}
		if r.IntN(10) == 0 {
			s.GroupsHash++
		}
		v.Peers = append(v.Peers, Peer{Name: n, Alive: r.IntN(5) != 0, Valid: r.IntN(20) != 0, State: s})
	}
	return v
}

func TestPlaceSameOnEveryNode(t *testing.T) {
	r := newRand(7)
	for i := range 500 {
		nodes := nodeNames(2 + i%4)
		base := Config{Nodes: nodes, Groups: groupsFor(nodes, 3), AutoFailback: []string{"on", "off"}[i%2], Quorum: []string{"auto", "on", "off"}[i%3]}
		v := randomView(r, base)
		var first map[int]string
		for k, n := range nodes {
			cfg := base
			cfg.Node = n
			shuffled := View{Peers: slices.Clone(v.Peers)}
			r.Shuffle(len(shuffled.Peers), func(a, b int) { shuffled.Peers[a], shuffled.Peers[b] = shuffled.Peers[b], shuffled.Peers[a] })
			got := Place(cfg, shuffled)
			if k == 0 {
				first = got
				continue
			}
			if d := cmp.Diff(first, got); d != "" {
				t.Fatalf("view %d: %s computes another map (-%s +%s):\n%s", i, n, nodes[0], n, d)
			}
		}
	}
}

// floatingCfg: groups whose preferred node is never alive (a configured
// spare that is down), so placement is pure rendezvous.
func floatingCfg(nodes []string, groups int) Config {
	cfg := Config{Node: nodes[0], Nodes: append(slices.Clone(nodes), "spare"), AutoFailback: "on", Quorum: "off"}
	for i := range groups {
		cfg.Groups = append(cfg.Groups, mkGroup("spare", fmt.Sprintf("10.1.%d.%d", i/256, i%256)))
	}
	return cfg
}

func viewOf(cfg Config, names []string, held map[int]string) View {
	h := GroupsHash(cfg.Groups)
	var v View
	for _, n := range names {
		s := NodeState{GroupsHash: h}
		for g, o := range held {
			if o == n {
				s.Held = s.Held.With(g)
			}
		}
		v.Peers = append(v.Peers, Peer{Name: n, Alive: true, Valid: true, State: s})
	}
	return v
}

func TestPlaceRendezvousBalanceAndMinimalMoves(t *testing.T) {
	const groups = 1000
	nodes := []string{"node1", "node2", "node3", "node4"}
	cfg := floatingCfg(append(slices.Clone(nodes), "node5"), groups)

	// Fresh placement on 4 nodes: balanced.
	four := Place(cfg, viewOf(cfg, nodes, nil))
	count := map[string]int{}
	for _, n := range four {
		count[n]++
	}
	t.Logf("1000 groups on 4 nodes: %v", count)
	for _, n := range nodes {
		if count[n] < 200 || count[n] > 300 {
			t.Errorf("%s got %d of 1000 groups", n, count[n])
		}
	}

	// Adding node5 with nothing held (a fresh computation): only groups
	// going to node5 change, about a fifth of them.
	five := Place(cfg, viewOf(cfg, append(slices.Clone(nodes), "node5"), nil))
	moved := 0
	for g := range groups {
		if five[g] != four[g] {
			moved++
			if five[g] != "node5" {
				t.Fatalf("group %d moved %s -> %s, not to the new node", g, four[g], five[g])
			}
		}
	}
	t.Logf("adding a 5th node moves %d of 1000 groups (ideal 200)", moved)
	if moved < 150 || moved > 250 {
		t.Errorf("adding a node moved %d groups", moved)
	}
	// With the groups held where they are, nothing moves at all.
	held := Place(cfg, viewOf(cfg, append(slices.Clone(nodes), "node5"), four))
	if d := cmp.Diff(four, held); d != "" {
		t.Errorf("held groups moved when a node joined:\n%s", d)
	}

	// Removing node2 (dead) with groups held: only node2's groups move,
	// spread over the others.
	after := Place(cfg, viewOf(cfg, []string{"node1", "node3", "node4"}, four))
	spread := map[string]int{}
	for g := range groups {
		if four[g] != "node2" && after[g] != four[g] {
			t.Fatalf("group %d moved %s -> %s though node2 did not hold it", g, four[g], after[g])
		}
		if four[g] == "node2" {
			spread[after[g]]++
		}
	}
	t.Logf("node2's %d groups went to %v", count["node2"], spread)
	for _, n := range []string{"node1", "node3", "node4"} {
		if spread[n] < count["node2"]/6 {
			t.Errorf("%s got only %d of node2's groups", n, spread[n])
		}
	}
}

func TestPlaceRemovingNodeMovesOnlyItsGroups(t *testing.T) {
	// With preferred nodes and failback on or off, removing a node moves
	// only the groups it ran.
	r := newRand(3)
	for _, failback := range []string{"on", "off"} {
		for i := range 100 {
			nodes := nodeNames(3 + i%3)
			cfg := Config{Node: "a", Nodes: nodes, Groups: groupsFor(nodes, 4), AutoFailback: failback, Quorum: "off"}
			before := Place(cfg, viewOf(cfg, nodes, nil))
			gone := nodes[r.IntN(len(nodes))]
			rest := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == gone })
			after := Place(cfg, viewOf(cfg, rest, before))
			for g, o := range before {
				if o != gone && after[g] != o {
					t.Fatalf("%s: removing %s moved group %d from %s to %s", failback, gone, g, o, after[g])
				}
				if after[g] == gone || after[g] == "" {
					t.Fatalf("group %d on %q", g, after[g])
				}
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := placeCfg("on")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := func(mod func(*Config)) error {
		c := good
		c.Groups = slices.Clone(good.Groups)
		mod(&c)
		return c.Validate()
	}
	for want, mod := range map[string]func(*Config){
		`nway: this node "x" is not among the configured nodes [a b c]`:         func(c *Config) { c.Node = "x" },
		`nway: haresources line 7: preferred node "d" is not a configured node`: func(c *Config) { c.Groups[1].Node, c.Groups[1].Line = "d", 7 },
		`nway: auto_failback "maybe": want on, off or legacy`:                   func(c *Config) { c.AutoFailback = "maybe" },
		`nway: quorum "most": want auto, on or off`:                             func(c *Config) { c.Quorum = "most" },
	} {
		if err := bad(mod); err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}
