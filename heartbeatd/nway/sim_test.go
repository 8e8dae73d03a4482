// sim_test.go: a multi-node simulation harness: N Managers exchanging their
// published states through a simulated membership view, each with an
// executor that runs jobs one at a time, instantly or after a delay.

package nway

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/rm"
)

// mkGroup is a one-resource group preferring node.
func mkGroup(node, res string) config.Group {
	return config.Group{Node: node, Key: res, Resources: []config.Resource{{Name: "IPaddr2", Text: res}}}
}

// groupsFor gives per groups preferring each node, named ip-<node>-<k>.
func groupsFor(nodes []string, per int) []config.Group {
	var gs []config.Group
	for _, n := range nodes {
		for k := range per {
			gs = append(gs, mkGroup(n, fmt.Sprintf("ip-%s-%d", n, k)))
		}
	}
	return gs
}

func nodeNames(n int) []string {
	var out []string
	for i := range n {
		out = append(out, string(rune('a'+i)))
	}
	return out
}

type simNode struct {
	name  string
	m     *Manager
	cfg   Config
	up    bool // the daemon runs
	part  int  // partition component; nodes see each other when equal
	meta  []byte
	score int

	queue  []rm.Run // the executor's queue; queue[0] runs when running
	endAt  time.Time
	busy   bool
	active map[string]bool // resources really up: from acquire start to release end

	failStart map[string]bool // acquire of these groups fails
	failStop  map[string]bool // release of these groups fails
	acquires  map[string]int
	releases  map[string]int
	inFlight  map[string]bool // groups with a job returned and not Done
	stopped   bool
	logs      []string
}

type sim struct {
	t        *testing.T
	now      time.Time
	nodes    []*simNode
	jobDelay time.Duration
	dirty    bool
	lax      bool // count overlapping starts instead of failing
	overlaps int
}

func newSim(t *testing.T, cfg Config) *sim {
	s := &sim{t: t, now: time.Unix(1_800_000_000, 0)}
	for _, n := range cfg.Nodes {
		c := cfg
		c.Node = n
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		s.nodes = append(s.nodes, &simNode{name: n, cfg: c, failStart: map[string]bool{}, failStop: map[string]bool{}})
	}
	return s
}

func (s *sim) node(name string) *simNode {
	for _, n := range s.nodes {
		if n.name == name {
			return n
		}
	}
	s.t.Fatalf("no node %s", name)
	return nil
}

// start boots a node's daemon with a fresh Manager (a restart forgets
// everything but the resources still running, which a crash took down).
func (s *sim) start(names ...string) {
	for _, name := range names {
		n := s.node(name)
		n.m = New(n.cfg)
		n.up, n.stopped, n.busy, n.queue = true, false, false, nil
		n.active, n.inFlight = map[string]bool{}, map[string]bool{}
		n.acquires, n.releases = map[string]int{}, map[string]int{}
		n.meta = n.m.State().Marshal() // set before joining
		s.dirty = true
	}
}

// kill crashes a node: its resources go down with it, and the others see it
// dead.
func (s *sim) kill(names ...string) {
	for _, name := range names {
		n := s.node(name)
		n.up, n.active, n.queue, n.busy = false, map[string]bool{}, nil, false
		s.dirty = true
	}
}

// partition puts the named nodes in component 1, the rest in 0; heal
// joins everything again.
func (s *sim) partition(side ...string) {
	for _, n := range s.nodes {
		n.part = 0
		if slices.Contains(side, n.name) {
			n.part = 1
		}
	}
	s.dirty = true
}

func (s *sim) heal() { s.partition() }

// viewFor is the membership view of n: alive when up and reachable.
func (s *sim) viewFor(n *simNode) View {
	var v View
	for _, o := range s.nodes {
		if o.m == nil {
			continue // never joined
		}
		p := Peer{Name: o.name, Alive: o.up && o.part == n.part}
		st, err := Unmarshal(o.meta)
		p.State, p.Valid = st, err == nil
		v.Peers = append(v.Peers, p)
	}
	return v
}

// apply carries out a node's actions, checking the handshake rules.
func (s *sim) apply(n *simNode, acts []Action) {
	s.t.Helper()
	for _, a := range acts {
		switch a := a.(type) {
		case Publish:
			b := a.State.Marshal()
			if len(b) > MaxMetaSize {
				s.t.Fatalf("%s publishes %d bytes", n.name, len(b))
			}
			n.meta = b
			s.dirty = true
		case rm.Run:
			key := a.Group.Key
			if n.inFlight[key] {
				s.t.Fatalf("%s: second job on %s while one is in flight", n.name, key)
			}
			st, _ := Unmarshal(n.meta)
			i := s.index(n, key)
			if i >= 0 && a.Op == rm.Acquire && !st.Starting.Has(i) {
				s.t.Fatalf("%s: acquire of %s not published as Starting first", n.name, key)
			}
			if i >= 0 && a.Op == rm.Release && !st.Stopping.Has(i) {
				s.t.Fatalf("%s: release of %s not published as Stopping first", n.name, key)
			}
			n.inFlight[key] = true
			n.queue = append(n.queue, a)
		case Log:
			n.logs = append(n.logs, a.Msg)
		case Stopped:
			n.stopped = true
		default:
			s.t.Fatalf("unknown action %T", a)
		}
	}
}

func (s *sim) index(n *simNode, key string) int {
	return slices.IndexFunc(n.cfg.Groups, func(g config.Group) bool { return g.Key == key })
}

// settle runs the cluster until nothing is left to do now or in jobs:
// view rounds (every node gets a snapshot taken before any of them acts,
// the hard case for concurrent decisions), job starts and completions.
// Timers (Deadline) fire only through advance.
func (s *sim) settle() {
	s.t.Helper()
	for iter := 0; ; iter++ {
		if iter > 10_000 {
			s.t.Fatal("the cluster does not settle")
		}
		if s.dirty {
			s.dirty = false
			views := map[*simNode]View{}
			for _, n := range s.nodes {
				if n.up {
					views[n] = s.viewFor(n)
				}
			}
			for _, n := range s.nodes {
				if n.up {
					s.apply(n, n.m.View(s.now, views[n]))
				}
			}
			continue
		}
		if s.stepJobs() {
			continue
		}
		// Advance to the next job completion, if any.
		var next time.Time
		for _, n := range s.nodes {
			if n.up && n.busy && (next.IsZero() || n.endAt.Before(next)) {
				next = n.endAt
			}
		}
		if next.IsZero() {
			return
		}
		s.now = next
	}
}

// stepJobs starts idle executors' next jobs and completes those due;
// it reports whether anything happened.
func (s *sim) stepJobs() bool {
	s.t.Helper()
	did := false
	for _, n := range s.nodes {
		if !n.up {
			continue
		}
		if !n.busy && len(n.queue) > 0 {
			r := n.queue[0]
			n.busy, n.endAt, did = true, s.now.Add(s.jobDelay), true
			if r.Op == rm.Acquire {
				n.acquires[r.Group.Key]++
				s.checkExclusive(n, r.Group.Key)
				n.active[r.Group.Key] = true
			}
		}
		if n.busy && !s.now.Before(n.endAt) {
			r := n.queue[0]
			n.queue, n.busy, did = n.queue[1:], false, true
			var err error
			switch r.Op {
			case rm.Acquire:
				if n.failStart[r.Group.Key] {
					n.active[r.Group.Key] = false // the executor stops it again
					err = &rm.ResourceError{Resource: r.Group.Key, Err: errors.New("start failed")}
				}
			case rm.Release:
				n.releases[r.Group.Key]++
				if n.failStop[r.Group.Key] {
					err = errors.New("stop failed")
				} else {
					n.active[r.Group.Key] = false
				}
			}
			delete(n.inFlight, r.Group.Key)
			s.apply(n, n.m.Done(s.now, r.ID, err))
		}
	}
	return did
}

// checkExclusive is the safety property: when n starts key, no other alive
// node it can see has key up or published as held, starting or stopping.
func (s *sim) checkExclusive(n *simNode, key string) {
	s.t.Helper()
	for _, o := range s.nodes {
		if o == n || !o.up || o.part != n.part {
			continue
		}
		st, _ := Unmarshal(o.meta)
		i := s.index(o, key)
		if !o.active[key] && (i < 0 || !st.active(i)) {
			continue
		}
		if s.lax {
			s.overlaps++
			continue
		}
		s.t.Fatalf("t=%v: %s starts %s while %s runs it (%v) or publishes it active", s.elapsed(), n.name, key, o.name, o.active[key])
	}
}

func (s *sim) elapsed() time.Duration { return s.now.Sub(time.Unix(1_800_000_000, 0)) }

// advance moves time forward by d, firing every timer due on the way.
func (s *sim) advance(d time.Duration) {
	s.t.Helper()
	end := s.now.Add(d)
	for {
		s.settle()
		var next time.Time
		for _, n := range s.nodes {
			if dl := n.deadline(); n.up && !dl.IsZero() && !dl.After(end) && (next.IsZero() || dl.Before(next)) {
				next = dl
			}
		}
		if next.IsZero() {
			break
		}
		s.now = maxTime(s.now, next)
		for _, n := range s.nodes {
			if dl := n.deadline(); n.up && !dl.IsZero() && !dl.After(s.now) {
				s.apply(n, n.m.Tick(s.now))
			}
		}
	}
	s.now = end
	s.settle()
}

func (n *simNode) deadline() time.Time {
	if n.m == nil {
		return time.Time{}
	}
	return n.m.Deadline()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// owners maps each group key to the up nodes running it, sorted.
func (s *sim) owners() map[string][]string {
	out := map[string][]string{}
	for _, n := range s.nodes {
		if !n.up {
			continue
		}
		for k, up := range n.active {
			if up {
				out[k] = append(out[k], n.name)
			}
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// owner is the single node running key ("" when none); it fails when two
// nodes of one component run it.
func (s *sim) owner(key string) string {
	s.t.Helper()
	o := s.owners()[key]
	switch len(o) {
	case 0:
		return ""
	case 1:
		return o[0]
	}
	s.t.Fatalf("%s runs on %v", key, o)
	return ""
}

// checkPreferred checks that every group runs on its preferred node.
func (s *sim) checkPreferred() {
	s.t.Helper()
	for _, g := range s.node("a").cfg.Groups {
		if got := s.owner(g.Key); got != g.Node {
			s.t.Errorf("%s on %q, want its preferred %s", g.Key, got, g.Node)
		}
	}
}

// checkSteady: after settling, in every component each group runs on at
// most one node, and exactly on the node Place names when there is one.
func (s *sim) checkSteady() {
	s.t.Helper()
	for _, n := range s.nodes {
		if !n.up || n.stopped {
			continue
		}
		want := n.m.Placement()
		for i, g := range n.cfg.Groups {
			var on []string
			for _, o := range s.nodes {
				if o.up && o.part == n.part && o.active[g.Key] {
					on = append(on, o.name)
				}
			}
			if len(on) > 1 {
				s.t.Fatalf("%s runs on %v in one component", g.Key, on)
			}
			got := ""
			if len(on) == 1 {
				got = on[0]
			}
			if got != want[i] {
				s.t.Fatalf("%s: placed on %q as %s computes, runs on %q", g.Key, want[i], n.name, got)
			}
		}
	}
}

// moves counts acquires since the counters were last reset.
func (s *sim) resetCounts() {
	for _, n := range s.nodes {
		n.acquires, n.releases = map[string]int{}, map[string]int{}
	}
}

func (s *sim) moved() []string {
	var out []string
	for _, n := range s.nodes {
		for k, c := range n.acquires {
			for range c {
				out = append(out, n.name+":+"+k)
			}
		}
		for k, c := range n.releases {
			for range c {
				out = append(out, n.name+":-"+k)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (s *sim) logs(name string) string { return strings.Join(s.node(name).logs, "\n") }
