package rm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// testGroups: one group preferring each node.
var testGroups = []config.Group{
	{Node: "nodea", Key: "IPaddr2::10.0.0.100/24/hb0", Resources: []config.Resource{{Name: "IPaddr2", Text: "IPaddr2::10.0.0.100/24/hb0"}}},
	{Node: "nodeb", Key: "IPaddr2::10.0.0.200/24/hb0", Resources: []config.Resource{{Name: "IPaddr2", Text: "IPaddr2::10.0.0.200/24/hb0"}}},
}

const (
	keyA = "IPaddr2::10.0.0.100/24/hb0"
	keyB = "IPaddr2::10.0.0.200/24/hb0"
)

// node is one simulated heartbeatd: its resource manager and what its
// executor has really started.
type node struct {
	name      string
	rm        *RM
	up        bool // the daemon runs
	running   map[string]bool
	failStart map[string]bool
	announced int
	acquires  map[string]int // acquire jobs run, by group
	stopped   bool
	jobs      []Run
}

// pair steps two resource managers against each other, as two daemons with
// membership between them would: messages go to the peer when the link is
// up, jobs complete when the pair settles, time only moves in advance.
type pair struct {
	t      *testing.T
	now    time.Time
	a, b   *node
	linkUp bool
	drop   func(from *node, m *wire.Message) bool // a lost message
	inbox  []delivery
	sent   []string // "nodea: t=... rsc_hold=..." in order
	logs   []string
}

type delivery struct {
	to  *node
	msg *wire.Message
}

func newPair(t *testing.T, mode config.AutoFailback) *pair {
	p := &pair{t: t, now: time.Unix(1_700_000_000, 0), linkUp: true}
	p.a = p.newNode("nodea", mode)
	p.b = p.newNode("nodeb", mode)
	return p
}

func (p *pair) newNode(name string, mode config.AutoFailback) *node {
	return &node{name: name, rm: New(Config{Local: name, Nodes: []string{"nodea", "nodeb"}, Groups: testGroups, AutoFailback: mode}),
		running: map[string]bool{}, failStart: map[string]bool{}}
}

func (p *pair) other(n *node) *node {
	if n == p.a {
		return p.b
	}
	return p.a
}

// handle carries out a node's actions.
func (p *pair) handle(n *node, acts []Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case Send:
			p.sent = append(p.sent, n.name+": "+summary(a.Msg))
			if p.drop != nil && p.drop(n, a.Msg) {
				continue
			}
			if o := p.other(n); p.linkUp && o.up {
				p.inbox = append(p.inbox, delivery{o, a.Msg.Clone()})
			}
		case Run:
			n.jobs = append(n.jobs, a)
		case Log:
			p.logs = append(p.logs, n.name+": "+a.Msg)
		case Stopped:
			n.stopped = true
		case Reboot:
			p.t.Errorf("%s: unexpected reboot: %s", n.name, a.Reason)
		}
	}
}

// settle delivers messages and completes jobs until nothing moves.
func (p *pair) settle() {
	for i := 0; i < 1000; i++ {
		switch {
		case len(p.inbox) > 0:
			d := p.inbox[0]
			p.inbox = p.inbox[1:]
			if d.to.up {
				p.handle(d.to, d.to.rm.Receive(p.now, d.msg, false))
			}
		case len(p.a.jobs) > 0:
			p.complete(p.a)
		case len(p.b.jobs) > 0:
			p.complete(p.b)
		default:
			return
		}
	}
	p.t.Fatal("pair did not settle")
}

func (p *pair) complete(n *node) {
	j := n.jobs[0]
	n.jobs = n.jobs[1:]
	if !n.up {
		return
	}
	var err error
	key := j.Group.Key
	switch j.Op {
	case Acquire:
		if n.acquires == nil {
			n.acquires = map[string]int{}
		}
		n.acquires[key]++
		if n.failStart[key] {
			err = &ResourceError{Resource: "httpd", Err: errors.New("exit code 1")}
		} else {
			n.running[key] = true
		}
	case Release:
		delete(n.running, key)
	case Check:
		if !n.running[key] {
			err = errors.New("not running")
		}
	case Announce:
		n.announced++
	}
	p.handle(n, n.rm.Done(p.now, j.ID, err))
}

// start brings n up: membership reports the peer's status, then comm up.
func (p *pair) start(n *node) {
	n.up = true
	o := p.other(n)
	if o.up && p.linkUp {
		p.handle(n, n.rm.NodeChange(p.now, o.name, membership.StatusActive))
		p.handle(o, o.rm.NodeChange(p.now, n.name, membership.StatusUp))
		p.handle(o, o.rm.NodeChange(p.now, n.name, membership.StatusActive))
	} else {
		p.handle(n, n.rm.NodeChange(p.now, o.name, membership.StatusDead))
	}
	p.handle(n, n.rm.CommUp(p.now))
}

// kill stops n without a word: its peer declares it dead.
func (p *pair) kill(n *node) {
	n.up = false
	n.jobs = nil
	n.running = map[string]bool{} // its addresses die with it
	o := p.other(n)
	if o.up {
		p.handle(o, o.rm.NodeChange(p.now, n.name, membership.StatusDead))
	}
}

// restart brings a killed node back with a fresh resource manager; its
// addresses died with it.
func (p *pair) restart(n *node, mode config.AutoFailback) {
	fresh := p.newNode(n.name, mode)
	*n = *fresh
	p.start(n)
}

// advance moves the clock by d, ticking each node at its deadlines.
func (p *pair) advance(d time.Duration) {
	end := p.now.Add(d)
	for {
		next := end
		for _, n := range []*node{p.a, p.b} {
			if dl := n.rm.NextDeadline(); n.up && !dl.IsZero() && dl.Before(next) {
				next = dl
			}
		}
		p.now = next
		for _, n := range []*node{p.a, p.b} {
			if dl := n.rm.NextDeadline(); n.up && !dl.IsZero() && !dl.After(p.now) {
				p.handle(n, n.rm.Tick(p.now))
			}
		}
		p.settle()
		if !p.now.Before(end) {
			return
		}
	}
}

// holders returns, for each group, the nodes running it.
func (p *pair) holders() map[string]string {
	m := map[string]string{}
	for _, g := range testGroups {
		var who []string
		for _, n := range []*node{p.a, p.b} {
			if n.running[g.Key] {
				who = append(who, n.name)
			}
		}
		m[g.Key] = strings.Join(who, "+")
	}
	return m
}

func (p *pair) wantHolders(a, b string) {
	p.t.Helper()
	want := map[string]string{keyA: a, keyB: b}
	if diff := cmp.Diff(want, p.holders()); diff != "" {
		p.t.Fatalf("holders (-want +got):\n%s\nsent:\n%s\nlogs:\n%s", diff, strings.Join(p.sent, "\n"), strings.Join(p.logs, "\n"))
	}
}

func (p *pair) wantStatus(a, b string) {
	p.t.Helper()
	if got := [2]string{p.a.rm.Status(), p.b.rm.Status()}; got != [2]string{a, b} {
		p.t.Fatalf("rscstatus = %v, want [%s %s]\nsent:\n%s\nlogs:\n%s", got, a, b, strings.Join(p.sent, "\n"), strings.Join(p.logs, "\n"))
	}
}

func (p *pair) wantSent(substr string) {
	p.t.Helper()
	for _, s := range p.sent {
		if strings.Contains(s, substr) {
			return
		}
	}
	p.t.Errorf("no message matching %q sent:\n%s", substr, strings.Join(p.sent, "\n"))
}

func (p *pair) wantLog(substr string) {
	p.t.Helper()
	if !slices.ContainsFunc(p.logs, func(s string) bool { return strings.Contains(s, substr) }) {
		p.t.Errorf("no log line matching %q:\n%s", substr, strings.Join(p.logs, "\n"))
	}
}

func summary(m *wire.Message) string {
	var b strings.Builder
	for i, f := range m.Fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", f.Name, f.Value)
	}
	return b.String()
}

// startBoth starts a and b together and lets them settle: each holds its
// own group.
func startBoth(p *pair) {
	p.a.up, p.b.up = true, true
	p.handle(p.a, p.a.rm.NodeChange(p.now, "nodeb", membership.StatusActive))
	p.handle(p.b, p.b.rm.NodeChange(p.now, "nodea", membership.StatusActive))
	p.handle(p.a, p.a.rm.CommUp(p.now))
	p.handle(p.b, p.b.rm.CommUp(p.now))
	p.settle()
	p.advance(BothUnstableDelay + time.Second)
	p.wantHolders("nodea", "nodeb")
}

func TestSimultaneousStartEachTakesLocal(t *testing.T) {
	for _, mode := range []config.AutoFailback{config.On, config.Off} {
		t.Run(mode.String(), func(t *testing.T) {
			p := newPair(t, mode)
			p.a.up, p.b.up = true, true
			p.handle(p.a, p.a.rm.NodeChange(p.now, "nodeb", membership.StatusActive))
			p.handle(p.b, p.b.rm.NodeChange(p.now, "nodea", membership.StatusActive))
			// nodea's starting reaches nodeb before nodeb's own comm up.
			p.handle(p.a, p.a.rm.CommUp(p.now))
			p.settle()
			p.handle(p.b, p.b.rm.CommUp(p.now))
			p.settle()
			// No BothUnstableDelay wait: each takes its own at once.
			p.wantHolders("nodea", "nodeb")
			p.wantStatus("local", "local")
			p.wantLog("both nodes starting: local resource transition completed.")
		})
	}
}

func TestStartAfterPeerStable(t *testing.T) {
	p := newPair(t, config.On)
	p.start(p.a)
	p.settle()
	p.wantHolders("nodea", "nodea") // alone: takes everything
	p.wantStatus("all", "transition")
	p.start(p.b)
	p.settle()
	// b finds a stable: takes nothing itself; a gives b's group back
	// (auto_failback on) through the standby protocol.
	p.wantHolders("nodea", "nodeb")
	p.wantStatus("local", "local")
	p.wantSent("nodea: t=ask_resources rsc_hold=foreign info=me")
	p.wantSent("nodeb: t=ask_resources rsc_hold=foreign info=other")
	p.wantLog("nodeb: Standby resource acquisition done [foreign].")
}

func TestAutoFailbackOffKeepsGroups(t *testing.T) {
	p := newPair(t, config.Off)
	p.start(p.a)
	p.settle()
	p.start(p.b)
	p.settle()
	p.advance(BothUnstableDelay + time.Second)
	p.wantHolders("nodea", "nodea")
	p.wantStatus("all", "none")
	p.wantLog("nodeb: Local Resource acquisition completed. (none)")
}

func TestPeerDeathTakesOver(t *testing.T) {
	for _, mode := range []config.AutoFailback{config.On, config.Off, config.Legacy} {
		t.Run(mode.String(), func(t *testing.T) {
			p := newPair(t, mode)
			startBoth(p)
			p.wantHolders("nodea", "nodeb")
			p.kill(p.a)
			p.settle()
			p.wantHolders("nodeb", "nodeb")
			p.wantSent("nodeb: t=stonith node=nodea result=n_stnth")
			if mode != config.Legacy {
				p.wantSent("nodeb: t=resource rsc_hold=foreign info=mach_down")
				if got := p.b.rm.Status(); got != "all" {
					t.Errorf("nodeb rscstatus = %s, want all", got)
				}
			}
			p.wantLog("nodeb: Taking over resource group " + keyA)
		})
	}
}

func TestFailbackOnRestart(t *testing.T) {
	for _, tc := range []struct {
		mode  config.AutoFailback
		wantA string
	}{{config.On, "nodea"}, {config.Off, "nodeb"}, {config.Legacy, "nodea"}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			p := newPair(t, tc.mode)
			startBoth(p)
			p.kill(p.a)
			p.settle()
			p.restart(p.a, tc.mode)
			p.settle()
			p.advance(BothUnstableDelay + time.Second)
			p.wantHolders(tc.wantA, "nodeb")
		})
	}
}

func TestGracefulStopHandsOverAtOnce(t *testing.T) {
	p := newPair(t, config.On)
	startBoth(p)
	// nodeb first hands everything to nodea, so that it holds nothing.
	m := wire.New("ask_resources").Add("rsc_hold", "all").Add("info", "me")
	p.inbox = append(p.inbox, delivery{p.a, m.Clone()})
	p.handle(p.b, p.b.rm.Receive(p.now, m, true))
	p.settle()
	p.wantHolders("nodea", "nodea")
	p.handle(p.a, p.a.rm.Stop(p.now))
	p.settle()
	if !p.a.stopped {
		t.Fatal("nodea never reported Stopped")
	}
	p.wantSent("nodea: t=resource rsc_hold=none rtype=full isstable=0 info=shutdown")
	p.wantHolders("", "")
	// Membership sees shutdone and reports nodea dead: nodeb takes over at
	// once, without stonith.
	p.a.up = false
	p.b.acquires = nil
	p.handle(p.b, p.b.rm.NodeChange(p.now, "nodea", membership.StatusDead))
	p.settle()
	p.wantHolders("nodeb", "nodeb")
	if diff := cmp.Diff(map[string]int{keyA: 1, keyB: 1}, p.b.acquires); diff != "" {
		t.Errorf("acquisitions on nodeb (-want +got):\n%s", diff)
	}
	p.wantSent("nodeb: t=stonith node=nodea result=unneeded")
	p.wantLog("nodeb: Dead node nodea gave up resources.")
}

func TestStandbyAndTakeover(t *testing.T) {
	tests := []struct {
		name       string
		from       func(p *pair) *node
		msg        *wire.Message
		wantA      string
		wantB      string
		wantStatus [2]string
	}{
		{"standby all", func(p *pair) *node { return p.a }, wire.New("ask_resources").Add("rsc_hold", "all").Add("info", "me"), "nodeb", "nodeb", [2]string{"none", "all"}},
		{"standby local", func(p *pair) *node { return p.a }, wire.New("ask_resources").Add("rsc_hold", "local").Add("info", "me"), "nodeb", "nodeb", [2]string{"none", "all"}},
		{"standby foreign (nothing)", func(p *pair) *node { return p.a }, wire.New("ask_resources").Add("rsc_hold", "foreign").Add("info", "me"), "nodea", "nodeb", [2]string{"local", "local"}},
		{"takeover all", func(p *pair) *node { return p.b }, wire.New("hb_takeover").Add("rsc_hold", "all"), "nodeb", "nodeb", [2]string{"none", "all"}},
		{"takeover foreign", func(p *pair) *node { return p.b }, wire.New("hb_takeover").Add("rsc_hold", "foreign"), "nodeb", "nodeb", [2]string{"none", "all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t, config.Off)
			startBoth(p)
			n := tt.from(p)
			// A local tool's message: sent to the peer and handled here too.
			p.sent = append(p.sent, n.name+": "+summary(tt.msg))
			p.inbox = append(p.inbox, delivery{p.other(n), tt.msg.Clone()})
			p.handle(n, n.rm.Receive(p.now, tt.msg, true))
			p.settle()
			p.wantHolders(tt.wantA, tt.wantB)
			p.wantStatus(tt.wantStatus[0], tt.wantStatus[1])
		})
	}
}

// TestCrossingStandbyRequests: both nodes ask at once (as ipfail on both
// sides may); one request goes first instead of both timing out.
func TestCrossingStandbyRequests(t *testing.T) {
	for _, tc := range []struct {
		name         string
		holdA, holdB string // the requests
		wantA, wantB string // holders after
		yielder      string
	}{
		{"the one giving nothing yields", "all", "foreign", "nodeb", "nodeb", "nodeb"},
		{"the one giving nothing yields, either side", "foreign", "all", "nodea", "nodea", "nodea"},
		{"both give: the first name goes first", "all", "all", "nodeb", "nodeb", "nodeb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, config.Off)
			startBoth(p)
			for _, x := range []struct {
				n    *node
				hold string
			}{{p.a, tc.holdA}, {p.b, tc.holdB}} {
				m := wire.New("ask_resources").Add("rsc_hold", x.hold).Add("info", "me")
				p.inbox = append(p.inbox, delivery{p.other(x.n), m.Clone()})
				p.handle(x.n, x.n.rm.Receive(p.now, m, true))
			}
			p.settle()
			p.wantLog(tc.yielder + ": standby requests crossed")
			p.wantHolders(tc.wantA, tc.wantB)
		})
	}
}

func TestStandbyTimesOutWithoutReply(t *testing.T) {
	p := newPair(t, config.Off)
	startBoth(p)
	p.linkUp = false // the request is lost
	m := wire.New("ask_resources").Add("rsc_hold", "all").Add("info", "me")
	p.handle(p.a, p.a.rm.Receive(p.now, m, true))
	p.settle()
	p.wantStatus("transition", "local")
	p.advance(StandbyReplyTimeout)
	p.wantLog("nodea: No reply to standby request.  Standby request cancelled.")
	p.wantStatus("local", "local")
	p.wantHolders("nodea", "nodeb")
}

func TestLegacyStandbyRefused(t *testing.T) {
	p := newPair(t, config.Legacy)
	startBoth(p)
	m := wire.New("ask_resources").Add("rsc_hold", "all").Add("info", "me")
	p.handle(p.a, p.a.rm.Receive(p.now, m, true))
	p.settle()
	p.wantLog("nodea: Standby mode only implemented when nice_failback on")
	p.wantHolders("nodea", "nodeb")
}

func TestLegacyRequestsGroupBack(t *testing.T) {
	p := newPair(t, config.Legacy)
	p.start(p.a)
	p.settle()
	p.wantHolders("nodea", "nodea")
	p.start(p.b)
	p.settle()
	p.wantSent("nodeb: t=ip-request ipaddr=" + keyB)
	p.wantSent("nodea: t=ip-request-resp dest=nodeb ipaddr=" + keyB + " weown=yes ok=OK")
	p.wantHolders("nodea", "nodeb")
}

func TestStartFailureGivesGroupUp(t *testing.T) {
	p := newPair(t, config.Off)
	p.start(p.b)
	p.settle()
	p.a.failStart[keyA] = true
	p.a.up = true
	// nodea starts while nodeb holds everything, then asks for its group.
	p.handle(p.a, p.a.rm.NodeChange(p.now, "nodeb", membership.StatusActive))
	p.handle(p.a, p.a.rm.CommUp(p.now))
	p.settle()
	p.handle(p.b, p.b.rm.NodeChange(p.now, "nodea", membership.StatusActive))
	p.wantHolders("nodeb", "nodeb")
	// hb_takeover local from nodea: nodeb releases, nodea fails to start.
	m := wire.New("hb_takeover").Add("rsc_hold", "local")
	p.inbox = append(p.inbox, delivery{p.b, m})
	p.settle()
	p.wantHolders("", "nodeb")
	p.wantLog("nodea: Giving up resources due to failure of httpd")
	p.advance(GiveupDelay + 2*time.Second)
	p.wantHolders("nodeb", "nodeb")
}

func TestMonitorFailureMovesGroup(t *testing.T) {
	p := newPair(t, config.Off)
	for _, n := range []*node{p.a, p.b} {
		n.rm.cfg.Monitor = 2 * time.Second
	}
	startBoth(p)
	delete(p.a.running, keyA) // the address vanished behind our back
	p.advance(2 * time.Second)
	p.wantLog("nodea: Resource group " + keyA + " failed its status check")
	p.wantHolders("nodeb", "nodeb")
	p.wantStatus("none", "all")
}

func TestMonitorRestartsWhenAlone(t *testing.T) {
	p := newPair(t, config.Off)
	p.a.rm.cfg.Monitor = time.Second
	p.start(p.a)
	p.settle()
	p.advance(time.Second)
	delete(p.a.running, keyB)
	p.advance(time.Second)
	p.wantLog("nodea: Restarting resource group " + keyB + " here")
	p.wantHolders("nodea", "nodea")
}

func TestPartitionHeal(t *testing.T) {
	tests := []struct {
		name         string
		mode         config.AutoFailback
		setup        func(p *pair)
		wantA, wantB string
	}{
		{"on: each keeps its own", config.On, func(*pair) {}, "nodea", "nodeb"},
		{"off: each keeps its own", config.Off, func(*pair) {}, "nodea", "nodeb"},
		{"legacy: each keeps its own", config.Legacy, func(*pair) {}, "nodea", "nodeb"},
		{"off: standby before the partition is kept", config.Off, func(p *pair) {
			m := wire.New("ask_resources").Add("rsc_hold", "all").Add("info", "me")
			p.inbox = append(p.inbox, delivery{p.b, m.Clone()})
			p.handle(p.a, p.a.rm.Receive(p.now, m, true))
			p.settle()
			p.wantHolders("nodeb", "nodeb")
		}, "nodeb", "nodeb"},
	}
	for _, tt := range tests {
		for _, lose := range []string{"", "heal", "healed", "heal healed"} {
			t.Run(tt.name+"/lost "+lose, func(t *testing.T) {
				p := newPair(t, tt.mode)
				startBoth(p)
				tt.setup(p)
				lost := strings.Fields(lose)
				p.drop = func(from *node, m *wire.Message) bool {
					// nodea's first report of each kind is lost.
					if from != p.a || len(lost) == 0 || m.Get("info") != lost[0] {
						return false
					}
					lost = lost[1:]
					return true
				}
				p.linkUp = false
				p.handle(p.a, p.a.rm.NodeChange(p.now, "nodeb", membership.StatusDead))
				p.handle(p.b, p.b.rm.NodeChange(p.now, "nodea", membership.StatusDead))
				p.settle()
				p.wantHolders("nodea+nodeb", "nodea+nodeb")
				p.advance(5 * time.Second)
				p.linkUp = true
				p.handle(p.a, p.a.rm.NodeChange(p.now, "nodeb", membership.StatusActive))
				p.settle()
				p.handle(p.b, p.b.rm.NodeChange(p.now, "nodea", membership.StatusActive))
				p.settle()
				if lose != "" {
					p.advance(2 * HealRetry) // the lost report is repeated
				}
				p.wantHolders(tt.wantA, tt.wantB)
				if p.a.announced+p.b.announced == 0 {
					t.Error("the keeper did not re-announce its addresses")
				}
				p.advance(BothUnstableDelay + 2*time.Second)
				p.wantHolders(tt.wantA, tt.wantB)
			})
		}
	}
}

func TestReloadTouchesOnlyChanges(t *testing.T) {
	p := newPair(t, config.Off)
	startBoth(p)
	newGroups := []config.Group{
		testGroups[0],
		{Node: "nodeb", Key: keyB, Resources: []config.Resource{{Name: "IPaddr2", Text: keyB}, {Name: "httpd", Text: "httpd"}}},
		{Node: "nodea", Key: "IPaddr2::10.0.0.150/24/hb0", Resources: []config.Resource{{Name: "IPaddr2", Text: "IPaddr2::10.0.0.150/24/hb0"}}},
	}
	for _, n := range []*node{p.a, p.b} {
		p.handle(n, n.rm.Reload(p.now, newGroups))
	}
	var jobs []string
	for _, n := range []*node{p.a, p.b} {
		for _, j := range n.jobs {
			jobs = append(jobs, n.name+" "+j.Op.String()+" "+j.Group.Key+fmt.Sprint(len(j.Group.Resources)))
		}
	}
	want := []string{
		"nodea acquire IPaddr2::10.0.0.150/24/hb01",
		"nodeb release " + keyB + "1",
		"nodeb acquire " + keyB + "2",
	}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("reload jobs (-want +got):\n%s", diff)
	}
	p.settle()
	p.wantStatus("local", "local")
}

func TestParseHold(t *testing.T) {
	for _, s := range []string{"none", "local", "foreign", "all"} {
		h, ok := ParseHold(s)
		if !ok || h.String() != s {
			t.Errorf("ParseHold(%q) = %v, %v", s, h, ok)
		}
	}
	if _, ok := ParseHold("transition"); ok {
		t.Error("ParseHold accepted transition")
	}
	if Local.mirror() != Foreign || All.mirror() != All || None.mirror() != None {
		t.Error("mirror is wrong")
	}
}

func TestLostStartingIsAskedAgain(t *testing.T) {
	p := newPair(t, config.On)
	// nodea's comm comes up first and its starting is lost, as heartbeat
	// 3.0.6 drops one that arrives before its own comm-up.
	p.a.up = true
	p.handle(p.a, p.a.rm.NodeChange(p.now, "nodeb", membership.StatusActive))
	p.handle(p.a, p.a.rm.CommUp(p.now))
	p.inbox = nil
	p.b.up = true
	p.handle(p.b, p.b.rm.NodeChange(p.now, "nodea", membership.StatusActive))
	p.handle(p.b, p.b.rm.CommUp(p.now))
	p.settle()
	// No BothUnstableDelay: nodea asked again once nodeb was listening.
	p.wantHolders("nodea", "nodeb")
	p.wantStatus("local", "local")
}

// TestStandbyPeerRestarts: a node killed in the middle of a standby and
// restarted at once (before it is declared dead) leaves no standby
// pending on its peer, and every group ends on exactly one node.
func TestStandbyPeerRestarts(t *testing.T) {
	for _, tc := range []struct {
		name string
		// killed is the node killed once its job of the standby (the
		// giver's release, the taker's acquire) is queued, not done.
		killed func(p *pair) *node
	}{
		{"giver mid-release", func(p *pair) *node { return p.a }},
		{"taker mid-acquire", func(p *pair) *node { return p.b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, config.On)
			startBoth(p)
			m := wire.New("ask_resources").Add("rsc_hold", "all").Add("info", "me")
			p.inbox = append(p.inbox, delivery{p.b, m.Clone()})
			p.handle(p.a, p.a.rm.Receive(p.now, m, true))
			// Deliver messages and complete jobs until the killed node's
			// move is under way.
			for i := 0; len(tc.killed(p).jobs) == 0; i++ {
				switch {
				case i > 100:
					t.Fatal("the standby never reached the phase")
				case len(p.inbox) > 0:
					d := p.inbox[0]
					p.inbox = p.inbox[1:]
					p.handle(d.to, d.to.rm.Receive(p.now, d.msg, false))
				case len(p.a.jobs) > 0:
					p.complete(p.a)
				case len(p.b.jobs) > 0:
					p.complete(p.b)
				}
			}
			k := tc.killed(p)
			k.up = false // SIGKILL: its peer hears nothing
			p.inbox = nil
			// The new instance released at start what the old one left.
			p.restart(k, config.On)
			p.settle()
			p.advance(BothUnstableDelay + 2*time.Second)
			p.wantLog(p.other(k).name + ": Cancelling pending standby operation: " + k.name + " restarted")
			p.wantHolders("nodea", "nodeb")
			p.wantStatus("local", "local")
		})
	}
}

// TestStandbyTakerDiesMidRelease: the taker dies while the giver is still
// releasing; the giver takes everything and is stable, not waiting for a
// standby that was cancelled.
func TestStandbyTakerDiesMidRelease(t *testing.T) {
	p := newPair(t, config.On)
	startBoth(p)
	m := wire.New("ask_resources").Add("rsc_hold", "all").Add("info", "me")
	p.inbox = append(p.inbox, delivery{p.b, m.Clone()})
	p.handle(p.a, p.a.rm.Receive(p.now, m, true))
	for len(p.a.jobs) == 0 && len(p.inbox) > 0 {
		d := p.inbox[0]
		p.inbox = p.inbox[1:]
		p.handle(d.to, d.to.rm.Receive(p.now, d.msg, false))
	}
	if len(p.a.jobs) == 0 {
		t.Fatal("nodea never started its release")
	}
	p.kill(p.b)
	p.settle()
	p.wantLog("nodea: Cancelling pending standby operation")
	p.wantHolders("nodea", "nodea")
	if got := p.a.rm.Status(); got != "all" {
		t.Errorf("nodea's rscstatus = %q, want all\nlogs:\n%s", got, strings.Join(p.logs, "\n"))
	}
}
