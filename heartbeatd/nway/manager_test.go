// manager_test.go: the Manager stepped alone (actions and their order) and
// in the multi-node simulation of sim_test.go (failover, partitions, heal,
// failback, standby, takeover, failures, stop, reload).

package nway

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/rm"
)

var t0 = time.Unix(1_800_000_000, 0)

// kinds renders actions compactly: "publish H[0] S[] T[]", "acquire k",
// "release k", "stopped"; logs are left out.
func kinds(acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch a := a.(type) {
		case Publish:
			out = append(out, "publish held"+a.State.Held.String()+" starting"+a.State.Starting.String()+
				" stopping"+a.State.Stopping.String()+" failed"+a.State.Failed.String())
		case rm.Run:
			out = append(out, a.Op.String()+" "+a.Group.Key)
		case Stopped:
			out = append(out, "stopped")
		}
	}
	return out
}

func runs(acts []Action) []rm.Run {
	var out []rm.Run
	for _, a := range acts {
		if r, ok := a.(rm.Run); ok {
			out = append(out, r)
		}
	}
	return out
}

func peerOf(name string, st NodeState) Peer {
	return Peer{Name: name, Alive: true, Valid: true, State: st}
}

// twoNodes: a and b, one group preferring each, quorum off.
func twoNodes(self string) Config {
	return Config{Node: self, Nodes: []string{"a", "b"}, AutoFailback: "on", Quorum: "off",
		Groups: groupsFor([]string{"a", "b"}, 1)}
}

func TestManagerPublishesBeforeActing(t *testing.T) {
	cfg := twoNodes("a")
	m := New(cfg)
	h := GroupsHash(cfg.Groups)
	b := peerOf("b", NodeState{GroupsHash: h})
	acts := m.View(t0, View{Peers: []Peer{b}})
	want := []string{"publish held[] starting[0] stopping[] failed[]", "acquire ip-a-0"}
	if d := cmp.Diff(want, kinds(acts)); d != "" {
		t.Fatalf("first view (-want +got):\n%s", d)
	}
	id := runs(acts)[0].ID
	if d := cmp.Diff([]string{"publish held[0] starting[] stopping[] failed[]"}, kinds(m.Done(t0, id, nil))); d != "" {
		t.Fatalf("done (-want +got):\n%s", d)
	}
	if m.Status() != "local" {
		t.Fatalf("status %q", m.Status())
	}
	// b standby for its own groups: a takes b's group too.
	b.State.StandbyLocal = true
	acts = m.View(t0, View{Peers: []Peer{b}})
	want = []string{"publish held[0] starting[1] stopping[] failed[]", "acquire ip-b-0"}
	if d := cmp.Diff(want, kinds(acts)); d != "" {
		t.Fatalf("b standby (-want +got):\n%s", d)
	}
	if m.Status() != "transition" {
		t.Fatalf("status %q", m.Status())
	}
	m.Done(t0, runs(acts)[0].ID, nil)
	// b's standby ends (hb_standby none there) and its group goes back:
	// Stopping is published before the release.
	b.State.StandbyLocal = false
	acts = m.View(t0, View{Peers: []Peer{b}})
	want = []string{"publish held[0] starting[] stopping[1] failed[]", "release ip-b-0"}
	if d := cmp.Diff(want, kinds(acts)); d != "" {
		t.Fatalf("b back (-want +got):\n%s", d)
	}
	want = []string{"publish held[0] starting[] stopping[] failed[]"}
	if d := cmp.Diff(want, kinds(m.Done(t0, runs(acts)[0].ID, nil))); d != "" {
		t.Fatalf("released (-want +got):\n%s", d)
	}
}

func TestManagerWaitsForHolderToRelease(t *testing.T) {
	cfg := twoNodes("a")
	m := New(cfg)
	h := GroupsHash(cfg.Groups)
	// b still holds a's group (it took it while a was away); auto_failback
	// on puts it on a, but a waits until b shows it no more.
	// It publishes Starting at once, so nobody else starts it meanwhile.
	for k, phase := range []string{"held", "stopping"} {
		st := NodeState{GroupsHash: h}
		if phase == "held" {
			st.Held = SetOf(0, 1)
		} else {
			st.Held, st.Stopping = SetOf(1), SetOf(0)
		}
		acts := m.View(t0, View{Peers: []Peer{peerOf("b", st)}})
		if r := runs(acts); len(r) != 0 {
			t.Fatalf("b shows %s: a ran %v", phase, r)
		}
		if k == 0 && !slices.Equal(kinds(acts), []string{"publish held[] starting[0] stopping[] failed[]"}) {
			t.Fatalf("b shows %s: %v", phase, kinds(acts))
		}
	}
	acts := m.View(t0, View{Peers: []Peer{peerOf("b", NodeState{GroupsHash: h, Held: SetOf(1)})}})
	if d := cmp.Diff([]string{"acquire ip-a-0"}, kinds(acts)); d != "" {
		t.Fatalf("b released (-want +got):\n%s", d)
	}
	// A dead peer's state does not count.
	m2 := New(cfg)
	dead := Peer{Name: "b", Alive: false, Valid: true, State: NodeState{GroupsHash: h, Held: SetOf(0, 1)}}
	if got := kinds(m2.View(t0, View{Peers: []Peer{dead}})); len(got) != 3 {
		t.Fatalf("dead holder: %v", got)
	}
}

func TestManagerUnreadablePeerBlocksStarts(t *testing.T) {
	m := New(twoNodes("a"))
	acts := m.View(t0, View{Peers: []Peer{{Name: "b", Alive: true, Valid: false}}})
	if r := runs(acts); len(r) != 0 {
		t.Fatalf("started %v next to a peer with unreadable state", r)
	}
	if !strings.Contains(logText(acts), "node b publishes no state we can read") {
		t.Fatalf("not logged: %s", logText(acts))
	}
	// Once it is dead, a takes both groups.
	if r := runs(m.View(t0, View{Peers: []Peer{{Name: "b", Alive: false}}})); len(r) != 2 {
		t.Fatalf("runs %v", r)
	}
}

func logText(acts []Action) string {
	var s []string
	for _, a := range acts {
		if l, ok := a.(Log); ok {
			s = append(s, l.Msg)
		}
	}
	return strings.Join(s, "\n")
}

func TestManagerOneJobPerGroup(t *testing.T) {
	cfg := twoNodes("a")
	m := New(cfg)
	h := GroupsHash(cfg.Groups)
	acts := m.View(t0, View{Peers: []Peer{{Name: "b", Alive: false}}})
	if len(runs(acts)) != 2 {
		t.Fatalf("runs %v", kinds(acts))
	}
	// b comes back while both acquires run: nothing new until they end.
	b := peerOf("b", NodeState{GroupsHash: h})
	if r := runs(m.View(t0, View{Peers: []Peer{b}})); len(r) != 0 {
		t.Fatalf("second job while one runs: %v", r)
	}
	m.Done(t0, runs(acts)[0].ID, nil)
	got := kinds(m.Done(t0, runs(acts)[1].ID, nil))
	if d := cmp.Diff([]string{"publish held[0] starting[] stopping[1] failed[]", "release ip-b-0"}, got); d != "" {
		t.Fatalf("after the acquires (-want +got):\n%s", d)
	}
	if acts := m.Done(t0, 999, nil); !strings.Contains(logText(acts), "unknown job 999") {
		t.Fatalf("unknown job: %v", acts)
	}
}

func TestManagerQuorumLossReleasesEverything(t *testing.T) {
	cfg := Config{Node: "a", Nodes: []string{"a", "b", "c"}, AutoFailback: "on", Groups: groupsFor([]string{"a", "b", "c"}, 1)}
	m := New(cfg)
	h := GroupsHash(cfg.Groups)
	b := peerOf("b", NodeState{GroupsHash: h})
	c := Peer{Name: "c", Alive: false}
	acts := m.View(t0, View{Peers: []Peer{b, c}})
	for _, r := range runs(acts) {
		m.Done(t0, r.ID, nil)
	}
	if m.State().Held.Len() != 2 { // its own and c's (rendezvous between a and b picked a or b)
		if m.State().Held.Len() != 1 {
			t.Fatalf("held %v", m.State().Held)
		}
	}
	held := m.State().Held.Len()
	b.Alive = false
	acts = m.View(t0, View{Peers: []Peer{b, c}})
	if len(runs(acts)) != held || !strings.Contains(logText(acts), "no quorum: 1 of 3 configured nodes alive") {
		t.Fatalf("quorum loss: %v\n%s", kinds(acts), logText(acts))
	}
	for _, r := range runs(acts) {
		if r.Op != rm.Release {
			t.Fatalf("%v on quorum loss", r)
		}
	}
}

func TestManagerFailedStart(t *testing.T) {
	cfg := twoNodes("a")
	m := New(cfg)
	h := GroupsHash(cfg.Groups)
	b := peerOf("b", NodeState{GroupsHash: h, Held: SetOf(1)})
	id := runs(m.View(t0, View{Peers: []Peer{b}}))[0].ID
	acts := m.Done(t0, id, &rm.ResourceError{Resource: "IPaddr2::ip-a-0", Err: errors.New("boom")})
	if d := cmp.Diff([]string{"publish held[] starting[] stopping[0] failed[]", "release ip-a-0"}, kinds(acts)); d != "" {
		t.Fatalf("failed start (-want +got):\n%s", d)
	}
	if !strings.Contains(logText(acts), "Giving up resources due to failure of IPaddr2::ip-a-0") {
		t.Fatalf("log: %s", logText(acts))
	}
	acts = m.Done(t0, runs(acts)[0].ID, nil)
	if d := cmp.Diff([]string{"publish held[] starting[] stopping[] failed[0]"}, kinds(acts)); d != "" {
		t.Fatalf("released (-want +got):\n%s", d)
	}
	if got, want := m.Deadline(), t0.Add(GiveupDelay); !got.Equal(want) {
		t.Fatalf("deadline %v, want %v", got, want)
	}
	// b takes it; after the delay a stays out while b runs it.
	b.State.Held = SetOf(0, 1)
	m.View(t0, View{Peers: []Peer{b}})
	if acts := m.Tick(t0.Add(GiveupDelay)); len(runs(acts)) != 0 || !m.State().Failed.Has(0) {
		t.Fatalf("bounced back: %v", kinds(acts))
	}
	// b dies: the failure is old, so a tries again.
	b.Alive = false
	if got := kinds(m.View(t0.Add(GiveupDelay+time.Second), View{Peers: []Peer{b}})); !slices.Contains(got, "acquire ip-a-0") {
		t.Fatalf("no retry once nobody runs it: %v", got)
	}
}

func TestManagerReleaseFailureRetries(t *testing.T) {
	cfg := twoNodes("a")
	m := New(cfg)
	h := GroupsHash(cfg.Groups)
	dead := Peer{Name: "b", Alive: false}
	for _, r := range runs(m.View(t0, View{Peers: []Peer{dead}})) {
		m.Done(t0, r.ID, nil)
	}
	acts := m.View(t0, View{Peers: []Peer{peerOf("b", NodeState{GroupsHash: h})}})
	rel := runs(acts)
	if len(rel) != 1 || rel[0].Group.Key != "ip-b-0" {
		t.Fatalf("runs %v", kinds(acts))
	}
	acts = m.Done(t0, rel[0].ID, errors.New("still running"))
	if d := cmp.Diff([]string{"publish held[0 1] starting[] stopping[] failed[]"}, kinds(acts)); d != "" {
		t.Fatalf("failed release (-want +got):\n%s", d)
	}
	if got, want := m.Deadline(), t0.Add(ReleaseRetryDelay); !got.Equal(want) {
		t.Fatalf("deadline %v want %v", got, want)
	}
	if r := runs(m.Tick(t0.Add(ReleaseRetryDelay - time.Millisecond))); len(r) != 0 {
		t.Fatalf("retried early: %v", r)
	}
	if r := runs(m.Tick(t0.Add(ReleaseRetryDelay))); len(r) != 1 || r[0].Op != rm.Release {
		t.Fatalf("retry: %v", r)
	}
}

func TestManagerStopReleasesThenStopped(t *testing.T) {
	cfg := twoNodes("a")
	m := New(cfg)
	dead := Peer{Name: "b", Alive: false}
	for _, r := range runs(m.View(t0, View{Peers: []Peer{dead}})) {
		m.Done(t0, r.ID, nil)
	}
	acts := m.Stop(t0)
	if d := cmp.Diff([]string{"publish held[] starting[] stopping[0 1] failed[]", "release ip-a-0", "release ip-b-0"}, kinds(acts)); d != "" {
		t.Fatalf("stop (-want +got):\n%s", d)
	}
	if st := m.State(); !st.StandbyLocal || !st.StandbyForeign {
		t.Fatalf("a stopping node must publish standby all: %+v", st)
	}
	r := runs(acts)
	if got := kinds(m.Done(t0, r[0].ID, nil)); slices.Contains(got, "stopped") {
		t.Fatal("stopped before every release ended")
	}
	if got := kinds(m.Done(t0, r[1].ID, errors.New("stuck"))); !slices.Contains(got, "stopped") {
		t.Fatalf("no Stopped: %v", got)
	}
	if acts := m.View(t0, View{}); len(acts) != 0 {
		t.Fatalf("acts after Stopped: %v", kinds(acts))
	}
	// Nothing held: Stopped at once.
	if got := kinds(New(cfg).Stop(t0)); !slices.Contains(got, "stopped") {
		t.Fatalf("idle stop: %v", got)
	}
}

func TestManagerBadArguments(t *testing.T) {
	m := New(twoNodes("a"))
	if !strings.Contains(logText(m.Standby(t0, "most")), `hb_standby "most"`) {
		t.Fatal("bad standby not logged")
	}
	if !strings.Contains(logText(m.Takeover(t0, "most")), `hb_takeover "most"`) {
		t.Fatal("bad takeover not logged")
	}
}

func TestManagerTakeoverClaimSeq(t *testing.T) {
	cfg := twoNodes("a")
	m := New(cfg)
	h := GroupsHash(cfg.Groups)
	b := peerOf("b", NodeState{GroupsHash: h, Held: SetOf(1), Claims: SetOf(1), ClaimSeq: 7})
	m.View(t0, View{Peers: []Peer{b}})
	m.Takeover(t0, "foreign")
	if st := m.State(); st.ClaimSeq != 8 || !st.Claims.Equal(SetOf(1)) {
		t.Fatalf("claim after b's seq 7: %+v", st)
	}
	// b claims again later: our claim on its group goes.
	b.State.ClaimSeq = 9
	m.View(t0, View{Peers: []Peer{b}})
	if st := m.State(); !st.Claims.Empty() {
		t.Fatalf("superseded claim kept: %v", st.Claims)
	}
	// hb_standby foreign drops claims on foreign groups and sets the flag.
	m.Takeover(t0, "all")
	m.Standby(t0, "failback")
	if st := m.State(); !st.Claims.Equal(SetOf(0)) || !st.StandbyForeign || st.StandbyLocal {
		t.Fatalf("after standby failback: %+v", st)
	}
	m.Standby(t0, "none")
	if st := m.State(); st.StandbyForeign {
		t.Fatalf("standby none: %+v", st)
	}
}

// --- simulation scenarios ---

func simConfig(n, per int, failback string) Config {
	nodes := nodeNames(n)
	return Config{Nodes: nodes, Groups: groupsFor(nodes, per), AutoFailback: failback}
}

func TestSimStartSpreadsOnPreferredNodes(t *testing.T) {
	s := newSim(t, simConfig(3, 2, "on"))
	s.jobDelay = 100 * time.Millisecond
	s.start("a", "b", "c")
	s.settle()
	s.checkSteady()
	s.checkPreferred()
	// Each acquire ran once: nobody started a group it later gave back.
	if d := cmp.Diff([]string{"a:+ip-a-0", "a:+ip-a-1", "b:+ip-b-0", "b:+ip-b-1", "c:+ip-c-0", "c:+ip-c-1"}, s.moved()); d != "" {
		t.Errorf("moves (-want +got):\n%s", d)
	}
}

func TestSimStaggeredStart(t *testing.T) {
	// a starts alone (quorum off for this test), takes everything; b and c
	// join later and, with auto_failback on, get their groups back without
	// ever running a group twice.
	cfg := simConfig(3, 2, "on")
	cfg.Quorum = "off"
	s := newSim(t, cfg)
	s.jobDelay = 50 * time.Millisecond
	s.start("a")
	s.settle()
	if len(s.node("a").active) != 6 {
		t.Fatalf("a alone runs %v", s.node("a").active)
	}
	s.start("b")
	s.settle()
	s.checkSteady()
	s.start("c")
	s.settle()
	s.checkSteady()
	s.checkPreferred()
}

func TestSimKillOne(t *testing.T) {
	for _, failback := range []string{"on", "off"} {
		t.Run(failback, func(t *testing.T) {
			s := newSim(t, simConfig(4, 3, failback))
			s.jobDelay = 200 * time.Millisecond
			s.start("a", "b", "c", "d")
			s.settle()
			before := s.owners()
			s.resetCounts()
			s.kill("b")
			s.settle()
			s.checkSteady()
			var got []string
			for _, g := range s.node("a").cfg.Groups {
				o := s.owner(g.Key)
				if o == "" || o == "b" {
					t.Errorf("%s not running after b died (on %q)", g.Key, o)
				}
				if g.Node != "b" && o != before[g.Key][0] {
					t.Errorf("%s moved from %v to %s though b did not hold it", g.Key, before[g.Key], o)
				}
				if g.Node == "b" {
					got = append(got, o)
				}
			}
			// Exactly b's three groups were acquired elsewhere, nothing released.
			if m := s.moved(); len(m) != 3 {
				t.Errorf("moves %v", m)
			}
			// b comes back: with failback on its groups return, with off nothing moves.
			s.resetCounts()
			s.start("b")
			s.settle()
			s.checkSteady()
			var wantMoves int
			if failback == "on" {
				wantMoves = 6 // three releases, three acquires on b
				for k := range 3 {
					if o := s.owner("ip-b-" + string(rune('0'+k))); o != "b" {
						t.Errorf("ip-b-%d on %q after b rejoined", k, o)
					}
				}
			}
			if m := s.moved(); len(m) != wantMoves {
				t.Errorf("rejoin moves %v, want %d", m, wantMoves)
			}
		})
	}
}

func TestSimPartitionAndHeal(t *testing.T) {
	for _, failback := range []string{"on", "off"} {
		t.Run(failback, func(t *testing.T) {
			s := newSim(t, simConfig(5, 2, failback))
			s.jobDelay = 100 * time.Millisecond
			s.start("a", "b", "c", "d", "e")
			s.settle()
			s.resetCounts()
			s.partition("a", "b")
			s.settle()
			// The minority holds nothing; the majority holds every group once.
			for _, n := range []string{"a", "b"} {
				for k, up := range s.node(n).active {
					if up {
						t.Errorf("minority node %s still runs %s", n, k)
					}
				}
				if !strings.Contains(s.logs(n), "no quorum: 2 of 5") {
					t.Errorf("%s did not log the quorum loss", n)
				}
			}
			for _, g := range s.node("c").cfg.Groups {
				if o := s.owner(g.Key); o == "" || o == "a" || o == "b" {
					t.Errorf("%s on %q during the partition", g.Key, o)
				}
			}
			s.checkSteady()
			during := s.owners()
			s.resetCounts()
			s.heal()
			s.settle()
			s.checkSteady()
			// Only groups that must move do: with failback on, a's and b's
			// groups return home (2 releases + 2 acquires each); with off,
			// nothing moves.
			var want []string
			for _, g := range s.node("a").cfg.Groups {
				if failback == "on" && (g.Node == "a" || g.Node == "b") {
					want = append(want, during[g.Key][0]+":-"+g.Key, g.Node+":+"+g.Key)
				}
			}
			slices.Sort(want)
			if d := cmp.Diff(want, s.moved()); d != "" {
				t.Errorf("moves at heal (-want +got):\n%s", d)
			}
		})
	}
}

func TestSimTwoNodeSplitBrainHeals(t *testing.T) {
	// quorum auto with two nodes is off: both sides run everything during
	// the partition (classic split brain); at heal the placement winner
	// keeps each group and the other releases it.
	s := newSim(t, simConfig(2, 2, "off"))
	s.jobDelay = 100 * time.Millisecond
	s.start("a", "b")
	s.settle()
	s.partition("b")
	s.settle()
	if len(s.owners()["ip-a-0"]) != 2 {
		t.Fatalf("no split brain with quorum off: %v", s.owners())
	}
	s.heal()
	s.settle()
	s.checkSteady()
	s.checkPreferred()
}

func TestSimScore(t *testing.T) {
	s := newSim(t, simConfig(3, 1, "on"))
	s.start("a", "b", "c")
	s.settle()
	for _, n := range s.nodes {
		s.apply(n, n.m.Score(s.now, 2))
	}
	s.settle()
	s.resetCounts()
	// a loses a ping node: its group moves to b or c.
	s.apply(s.node("a"), s.node("a").m.Score(s.now, 1))
	s.settle()
	s.checkSteady()
	if o := s.owner("ip-a-0"); o != "b" && o != "c" {
		t.Fatalf("ip-a-0 on %q with a's score lower", o)
	}
	if m := s.moved(); len(m) != 2 {
		t.Fatalf("moves %v", m)
	}
	s.apply(s.node("a"), s.node("a").m.Score(s.now, 2))
	s.settle()
	if o := s.owner("ip-a-0"); o != "a" {
		t.Fatalf("ip-a-0 on %q after a's score recovered", o)
	}
}

func TestSimStandbyAndTakeover(t *testing.T) {
	s := newSim(t, simConfig(3, 2, "on"))
	s.jobDelay = 100 * time.Millisecond
	s.start("a", "b", "c")
	s.settle()
	a := s.node("a")
	// hb_standby on a: its groups go to b/c and stay there despite failback on.
	s.apply(a, a.m.Standby(s.now, "all"))
	s.settle()
	s.checkSteady()
	for k, up := range a.active {
		if up {
			t.Errorf("a still runs %s in standby", k)
		}
	}
	s.advance(time.Minute)
	if o := s.owner("ip-a-0"); o == "a" || o == "" {
		t.Fatalf("ip-a-0 on %q", o)
	}
	// hb_takeover local on a: its own groups come back, not the others.
	s.resetCounts()
	s.apply(a, a.m.Takeover(s.now, "local"))
	s.settle()
	s.checkSteady()
	if s.owner("ip-a-0") != "a" || s.owner("ip-a-1") != "a" || s.owner("ip-b-0") != "b" || s.owner("ip-c-0") != "c" {
		t.Fatalf("after takeover local: %v", s.owners())
	}
	if m := s.moved(); len(m) != 4 {
		t.Fatalf("moves %v", m)
	}
	// hb_takeover all on c: c claims everything; later b claims its own
	// back, the newer claim wins.
	s.apply(s.node("c"), s.node("c").m.Takeover(s.now, "all"))
	s.settle()
	s.checkSteady()
	if got := s.owners(); len(got) != 6 || !allOn(got, "c") {
		t.Fatalf("after c's takeover all: %v", got)
	}
	s.apply(s.node("b"), s.node("b").m.Takeover(s.now, "local"))
	s.settle()
	s.checkSteady()
	if s.owner("ip-b-0") != "b" || s.owner("ip-a-0") != "c" {
		t.Fatalf("after b's takeover local: %v", s.owners())
	}
	// c dies: its claims go with it, placement is back to preferred nodes.
	s.kill("c")
	s.settle()
	s.checkSteady()
	if s.owner("ip-a-0") != "a" || s.owner("ip-c-0") == "" {
		t.Fatalf("after c died: %v", s.owners())
	}
}

func allOn(owners map[string][]string, node string) bool {
	for _, o := range owners {
		if len(o) != 1 || o[0] != node {
			return false
		}
	}
	return true
}

func TestSimStandbyWithNobodyElseKeepsGroups(t *testing.T) {
	cfg := simConfig(2, 1, "on")
	s := newSim(t, cfg)
	s.start("a", "b")
	s.settle()
	s.kill("b")
	s.settle()
	a := s.node("a")
	s.apply(a, a.m.Standby(s.now, "all"))
	s.settle()
	if s.owner("ip-a-0") != "a" || s.owner("ip-b-0") != "a" {
		t.Fatalf("standby with no other node dropped groups: %v", s.owners())
	}
	// b returns: it gets everything, a (standby) keeps nothing.
	s.start("b")
	s.settle()
	s.checkSteady()
	if got := s.owners(); !allOn(got, "b") || len(got) != 2 {
		t.Fatalf("after b returned: %v", got)
	}
}

func TestSimFailedStartMovesAndStays(t *testing.T) {
	s := newSim(t, simConfig(3, 1, "on"))
	s.jobDelay = 100 * time.Millisecond
	a := s.node("a")
	a.failStart["ip-a-0"] = true
	s.start("a", "b", "c")
	s.settle()
	s.checkSteady()
	o := s.owner("ip-a-0")
	if o != "b" && o != "c" {
		t.Fatalf("ip-a-0 on %q after a failed it", o)
	}
	if !strings.Contains(s.logs("a"), "Giving up resources due to failure of ip-a-0") {
		t.Fatalf("a logs:\n%s", s.logs("a"))
	}
	// Well past the give-up delay it does not bounce back while o runs it.
	s.resetCounts()
	s.advance(3 * GiveupDelay)
	if m := s.moved(); len(m) != 0 {
		t.Fatalf("moves after the delay: %v", m)
	}
	// hb_takeover on a (the operator fixed it) brings it back.
	a.failStart["ip-a-0"] = false
	s.apply(a, a.m.Takeover(s.now, "local"))
	s.settle()
	s.checkSteady()
	if s.owner("ip-a-0") != "a" {
		t.Fatalf("after takeover: %v", s.owners())
	}
}

func TestSimEveryoneFailsThenRetries(t *testing.T) {
	cfg := simConfig(2, 1, "on")
	cfg.StartSettle = 200 * time.Millisecond
	s := newSim(t, cfg)
	for _, n := range s.nodes {
		n.failStart["ip-a-0"] = true
	}
	s.start("a", "b")
	s.advance(time.Second)
	if o := s.owner("ip-a-0"); o != "" {
		t.Fatalf("ip-a-0 on %q", o)
	}
	// The storage is back: within two give-up delays it runs again. Both
	// failures expire at the same instant, so both nodes decide to start
	// it from views that do not yet show the other's decision; the settle
	// time lets them see each other's Starting and one backs off.
	for _, n := range s.nodes {
		n.failStart["ip-a-0"] = false
	}
	s.advance(2 * GiveupDelay)
	s.checkSteady()
	if o := s.owner("ip-a-0"); o != "a" {
		t.Fatalf("ip-a-0 on %q after the retry", o)
	}
}

// TestSimCrossingStarts measures what StartSettle buys: both nodes'
// failures of a group expire at once and each decides from a view without
// the other's decision. Without a settle time both start it (the overlap
// checkExclusive counts) and the placement winner keeps it; with one,
// nobody overlaps.
func TestSimCrossingStarts(t *testing.T) {
	for _, settle := range []time.Duration{0, 200 * time.Millisecond} {
		cfg := simConfig(2, 1, "on")
		cfg.StartSettle = settle
		s := newSim(t, cfg)
		s.lax = true
		for _, n := range s.nodes {
			n.failStart["ip-a-0"] = true
		}
		s.start("a", "b")
		s.advance(time.Second)
		for _, n := range s.nodes {
			n.failStart["ip-a-0"] = false
		}
		s.advance(2 * GiveupDelay)
		s.checkSteady()
		t.Logf("StartSettle %v: %d overlapping starts", settle, s.overlaps)
		if settle == 0 && s.overlaps == 0 || settle > 0 && s.overlaps != 0 {
			t.Errorf("StartSettle %v: %d overlapping starts", settle, s.overlaps)
		}
		if o := s.owner("ip-a-0"); o != "a" {
			t.Errorf("StartSettle %v: ip-a-0 on %q", settle, o)
		}
	}
}

func TestSimGracefulStop(t *testing.T) {
	s := newSim(t, simConfig(3, 2, "on"))
	s.jobDelay = 100 * time.Millisecond
	s.start("a", "b", "c")
	s.settle()
	a := s.node("a")
	s.apply(a, a.m.Stop(s.now))
	s.settle()
	if !a.stopped {
		t.Fatal("no Stopped")
	}
	// Others took a's groups while a is still a member (it went standby).
	for _, k := range []string{"ip-a-0", "ip-a-1"} {
		if o := s.owner(k); o != "b" && o != "c" {
			t.Fatalf("%s on %q after a stopped", k, o)
		}
	}
	s.kill("a") // the daemon leaves
	s.settle()
	s.checkSteady()
}

func TestSimReload(t *testing.T) {
	cfg := simConfig(3, 2, "on")
	s := newSim(t, cfg)
	s.jobDelay = 100 * time.Millisecond
	s.start("a", "b", "c")
	s.settle()
	s.resetCounts()
	// ip-a-1 changes (a second resource), ip-b-1 goes, ip-d-0 (preferring
	// c) comes; the others are the same and must not move.
	var groups = slices.Clone(cfg.Groups)
	groups[1].Resources = append(slices.Clone(groups[1].Resources), groups[1].Resources[0])
	groups[1].Resources[1].Text = "fs-a-1"
	groups = slices.Delete(groups, 3, 4)
	groups = append(groups, mkGroup("c", "ip-d-0"))
	for _, n := range s.nodes {
		n.cfg.Groups = groups
		s.apply(n, n.m.Reload(s.now, n.cfg))
	}
	s.settle()
	s.checkSteady()
	want := []string{"a:+ip-a-1", "a:-ip-a-1", "b:-ip-b-1", "c:+ip-d-0"}
	if d := cmp.Diff(want, s.moved()); d != "" {
		t.Fatalf("moves (-want +got):\n%s", d)
	}
	if s.owner("ip-b-1") != "" || s.owner("ip-d-0") != "c" || s.owner("ip-a-1") != "a" {
		t.Fatalf("after reload: %v", s.owners())
	}
}

func TestSimRollingReloadMinorityStandsAside(t *testing.T) {
	cfg := simConfig(3, 1, "on")
	s := newSim(t, cfg)
	s.start("a", "b", "c")
	s.settle()
	s.resetCounts()
	groups := append(slices.Clone(cfg.Groups), mkGroup("a", "ip-new"))
	reload := func(name string) {
		n := s.node(name)
		n.cfg.Groups = groups
		s.apply(n, n.m.Reload(s.now, n.cfg))
		s.settle()
	}
	// a alone reloaded runs another haresources than b and c: it keeps
	// its group and starts nothing; they start nothing while it holds one.
	reload("a")
	if len(s.owners()) != 3 || s.owner("ip-a-0") != "a" || len(s.moved()) != 0 {
		t.Fatalf("with a alone reloaded: %v, moves %v", s.owners(), s.moved())
	}
	if !strings.Contains(s.logs("a"), "differs from the one 2 alive nodes run") || !strings.Contains(s.logs("b"), "node a runs another haresources") {
		t.Fatalf("mismatch not logged:\n%s\n--\n%s", s.logs("a"), s.logs("b"))
	}
	// b too: now b and a are the reference and c waits.
	s.advance(ReloadGrace / 2)
	reload("b")
	if len(s.owners()) != 3 || len(s.moved()) != 0 {
		t.Fatalf("with a and b reloaded: %v, moves %v", s.owners(), s.moved())
	}
	reload("c")
	s.checkSteady()
	if s.owner("ip-new") != "a" || len(s.owners()) != 4 {
		t.Fatalf("after every node reloaded: %v", s.owners())
	}
	if d := cmp.Diff([]string{"a:+ip-new"}, s.moved()); d != "" {
		t.Fatalf("moves (-want +got):\n%s", d)
	}
}

func TestSimForgottenReloadReleasesAfterGrace(t *testing.T) {
	cfg := simConfig(3, 1, "on")
	s := newSim(t, cfg)
	s.start("a", "b", "c")
	s.settle()
	a := s.node("a")
	a.cfg.Groups = append(slices.Clone(cfg.Groups), mkGroup("a", "ip-new"))
	s.apply(a, a.m.Reload(s.now, a.cfg))
	s.advance(ReloadGrace - time.Second)
	if s.owner("ip-a-0") != "a" {
		t.Fatalf("a released before the grace: %v", s.owners())
	}
	s.advance(time.Second)
	if o := s.owner("ip-a-0"); o != "b" && o != "c" {
		t.Fatalf("after the grace ip-a-0 on %q", o)
	}
	if len(s.owners()) != 3 {
		t.Fatalf("owners %v", s.owners())
	}
}

// TestSimRandomFailures drives a 5-node cluster through random kills,
// restarts, partitions and heals with slow jobs; checkExclusive fails the
// test if any node starts a group another node it sees still has.
func TestSimRandomFailures(t *testing.T) {
	for seed := range int64(20) {
		s := newSim(t, simConfig(5, 2, []string{"on", "off"}[seed%2]))
		s.jobDelay = time.Duration(50+seed*10) * time.Millisecond
		s.start("a", "b", "c", "d", "e")
		s.settle()
		r := newRand(seed)
		for range 30 {
			n := s.nodes[r.Intn(5)]
			switch r.Intn(5) {
			case 0:
				s.kill(n.name)
			case 1:
				if !n.up {
					s.start(n.name)
				}
			case 2:
				var side []string
				for _, o := range s.nodes {
					if r.Intn(2) == 0 {
						side = append(side, o.name)
					}
				}
				s.partition(side...)
			case 3:
				s.heal()
			case 4:
				if n.up {
					s.apply(n, n.m.Score(s.now, r.Intn(3)))
				}
			}
			// Half the time the cluster settles, else the next fault hits
			// while jobs are under way.
			if r.Intn(2) == 0 {
				s.settle()
				s.checkSteady()
			} else {
				s.now = s.now.Add(s.jobDelay / 2)
				s.stepJobs()
			}
		}
		s.heal()
		for _, n := range s.nodes {
			if !n.up {
				s.start(n.name)
			}
		}
		s.settle()
		s.checkSteady()
		if len(s.owners()) != 10 {
			t.Fatalf("seed %d: at the end %v", seed, s.owners())
		}
	}
}
