// Ping-node tests: probes go through the real codec to a simulated ping
// node that echoes them (or not), with a simulated clock.

package membership

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

const router = "10.77.0.254"

// pingSim is a sim whose nodes have ping nodes pings, deadping 6 s; a probe
// to a ping node in down is lost, any other is echoed at once.
type pingSim struct {
	*sim
	down   map[string]bool
	probes map[string][]Ping // by sender
}

func newPingSim(t *testing.T, pings []PingNode, names ...string) *pingSim {
	ps := &pingSim{sim: newSim(t, names...), down: map[string]bool{}, probes: map[string][]Ping{}}
	for i, n := range names {
		cfg := testConfig(n, uint64(0x6b023860+i), names...)
		cfg.Ping, cfg.Deadping, cfg.TTLNodes = pings, 6*time.Second, len(names)+len(pings)
		ps.nodes[n] = New(cfg)
	}
	ps.echo = func(from string, p Ping) {
		ps.probes[from] = append(ps.probes[from], p)
		if ps.down[p.Node] || ps.cut[from] {
			return
		}
		pkt, err := wire.Encode(p.Msg, ps.ring, true)
		if err != nil {
			t.Fatalf("encode probe: %v", err)
		}
		reply, err := wire.Decode(pkt, ps.ring)
		if err != nil {
			t.Fatalf("decode echo: %v", err)
		}
		ps.handle(from, ps.nodes[from].ReceivePing(ps.now, p.Node, reply))
	}
	return ps
}

func (s *sim) changesOf(on, node string) []change {
	var out []change
	for _, c := range s.changes {
		if c.on == on && c.node == node {
			out = append(out, c)
		}
	}
	return out
}

func TestPingNodeAliveDeadAlive(t *testing.T) {
	s := newPingSim(t, []PingNode{{Name: router, Kind: PingKind}}, "nodea", "nodeb")
	s.start()
	s.run(10 * time.Second)
	s.down[router] = true // blackholed between the probes of 10 s and 11 s
	s.run(20*time.Second + 500*time.Millisecond)
	delete(s.down, router)
	s.run(25 * time.Second)

	sec := time.Second
	want := []change{
		{at: 0, on: "nodea", node: router, link: router, linkChanged: true, up: true},
		{at: 0, on: "nodea", node: router, from: StatusInit, to: StatusPing},
		// Last reply at 10 s, deadping 6 s: dead at exactly 16 s.
		{at: 16 * sec, on: "nodea", node: router, from: StatusPing, to: StatusDead},
		{at: 16 * sec, on: "nodea", node: router, link: router, linkChanged: true, up: false},
		// Back with the first probe after the restore.
		{at: 21 * sec, on: "nodea", node: router, link: router, linkChanged: true, up: true},
		{at: 21 * sec, on: "nodea", node: router, from: StatusDead, to: StatusPing},
	}
	if diff := cmp.Diff(want, s.changesOf("nodea", router), cmp.AllowUnexported(change{})); diff != "" {
		t.Errorf("nodea's changes for the ping node (-want +got):\n%s", diff)
	}
	for _, l := range []string{"Status update for node 10.77.0.254: status ping", "node 10.77.0.254: is dead",
		"Link 10.77.0.254:10.77.0.254 dead.", "Link 10.77.0.254:10.77.0.254 up."} {
		if !s.logged("nodea", l) {
			t.Errorf("no log %q in %q", l, s.logs["nodea"])
		}
	}
	if s.logged("nodea", "Late heartbeat: Node 10.77.0.254") {
		t.Error("a return after death was taken for a late heartbeat")
	}
	// The normal nodes never noticed: the ping node is not a peer.
	if got := s.status("nodea", "nodeb"); got != StatusActive {
		t.Errorf("nodea sees nodeb %s", got)
	}
	if s.nodes["nodea"].Counters.PingReplies == 0 {
		t.Error("replies not counted")
	}
	want2 := NodeInfo{Name: router, Status: StatusPing, Ping: true, Links: []LinkInfo{{Name: router, Up: true}}}
	nodes := s.nodes["nodea"].Nodes()
	if diff := cmp.Diff(want2, nodes[len(nodes)-1]); diff != "" {
		t.Errorf("Nodes() ping entry (-want +got):\n%s", diff)
	}
}

func TestPingProbeIsTheImpersonatedStatus(t *testing.T) {
	pings := []PingNode{{Name: router, Kind: PingKind}, {Name: "routers", Kind: PingGroupKind}, {Name: "fd00::fe", Kind: Ping6Kind}}
	s := newPingSim(t, pings, "nodea", "nodeb")
	s.start()
	s.run(3 * time.Second)
	var statuses []*wire.Message
	for _, m := range s.sent["nodea"] {
		if m.Type() == "status" {
			statuses = append(statuses, m)
		}
	}
	probes := s.probes["nodea"]
	if len(probes) != 3*len(statuses) {
		t.Fatalf("%d probes for %d status messages and 3 ping nodes", len(probes), len(statuses))
	}
	for i, p := range probes {
		st := statuses[i/3]
		pn := pings[i%3]
		want := []wire.Field{
			{Name: "t", Value: []byte("NS_st")}, {Name: "st", Value: []byte("ping")},
			{Name: "info", Value: []byte(pn.Kind)}, {Name: "src", Value: []byte(pn.Name)},
			{Name: "ts", Value: []byte(st.Get("ts"))},
		}
		if p.Node != pn.Name {
			t.Errorf("probe %d for %s, want %s", i, p.Node, pn.Name)
		}
		if diff := cmp.Diff(want, p.Msg.Fields); diff != "" {
			t.Errorf("probe %d (-want +got):\n%s", i, diff)
		}
	}
	// Captured on the lab (md5 key, msgfmt classic): a 176-byte payload.
	ring, err := wire.NewKeyring(1, wire.Key{Num: 1, Method: "md5", Secret: []byte("s3cretKey")})
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := wire.Encode(probes[0].Msg, ring, true)
	if err != nil || len(pkt) != 176 {
		t.Errorf("md5 probe payload is %d bytes (err %v), want 176 as captured", len(pkt), err)
	}
	// Ping nodes count in ttl but get no reqnodes and are not in nodelist.
	for _, m := range s.sent["nodea"] {
		if m.Get("ttl") != "6" {
			t.Errorf("%s ttl=%s, want 6 (hopfudge 1 + 2 nodes + 3 ping nodes)", m.Type(), m.Get("ttl"))
		}
		if m.Type() == "reqnodes" && m.Get("dest") != "nodeb" {
			t.Errorf("reqnodes to %s", m.Get("dest"))
		}
	}
	for _, m := range s.sent["nodeb"] {
		if m.Type() == "repnodes" && m.Get("nodelist") != "nodea nodeb " {
			t.Errorf("nodelist %q", m.Get("nodelist"))
		}
	}
	// A stopping node sends no probes.
	n := len(s.probes["nodea"])
	s.handle("nodea", s.nodes["nodea"].Stop(s.now))
	s.handle("nodea", s.nodes["nodea"].Tick(s.now.Add(2*time.Second)))
	if len(s.probes["nodea"]) != n {
		t.Error("probes after Stop")
	}
}

func TestPingNodesAndCommUp(t *testing.T) {
	group := []PingNode{{Name: "routers", Kind: PingGroupKind}}
	cases := []struct {
		name    string
		nodes   []string
		pings   []PingNode
		cut     []string // normal nodes silent from the start
		down    bool     // the ping node never answers
		commUp  time.Duration
		pingEnd Status
	}{
		{"answering ping node: comm up at once", []string{"nodea"}, group, nil, false, 0, StatusPing},
		{"silent ping node: comm waits for initdead", []string{"nodea"}, group, nil, true, 16 * time.Second, StatusDead},
		{"pair without ping node: first tick", []string{"nodea", "nodeb"}, nil, nil, false, time.Second, ""},
		{"pair, answering ping node: as without", []string{"nodea", "nodeb"}, group, nil, false, time.Second, StatusPing},
		{"pair with silent ping node: initdead", []string{"nodea", "nodeb"}, group, nil, true, 16 * time.Second, StatusDead},
		{"dead peer, answering ping node: initdead", []string{"nodea", "nodeb"}, group, []string{"nodeb"}, false, 16 * time.Second, StatusPing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newPingSim(t, c.pings, c.nodes...)
			s.down["routers"] = c.down
			for _, n := range c.cut {
				s.cut[n] = true
			}
			commUp := time.Duration(-1)
			s.start()
			for s.now.Sub(t0) < 20*time.Second {
				if commUp < 0 && s.nodes["nodea"].IsCommUp() {
					commUp = s.now.Sub(t0)
				}
				s.run(s.now.Sub(t0) + 100*time.Millisecond)
			}
			if commUp != c.commUp {
				t.Errorf("comm up at %v, want %v", commUp, c.commUp)
			}
			if c.pings == nil {
				return
			}
			if got := s.status("nodea", "routers"); got != c.pingEnd {
				t.Errorf("ping node %s, want %s", got, c.pingEnd)
			}
		})
	}
}

func TestPingRepliesThatDoNotCount(t *testing.T) {
	s := newPingSim(t, []PingNode{{Name: router, Kind: PingKind}}, "nodea", "nodeb")
	s.down[router] = true
	s.start()
	s.run(2 * time.Second)
	m := s.nodes["nodea"]
	ts := strconv.FormatInt(s.now.Unix(), 16)
	probe := func(info, src, st, ts string) *wire.Message {
		return wire.New("NS_st").Add("st", st).Add("info", info).Add("src", src).Add("ts", ts)
	}
	before := m.Counters
	for _, c := range []struct {
		name string
		node string
		msg  *wire.Message
	}{
		{"other kind", router, probe("ping_group", router, "ping", ts)},
		{"other src", router, probe("ping", "10.77.0.253", "ping", ts)},
		{"unknown node", "10.77.0.253", probe("ping", "10.77.0.253", "ping", ts)},
		{"not ping status", router, probe("ping", router, "active", ts)},
		{"normal status", router, wire.New("status").Add("st", "ping").Add("info", "ping").Add("src", router).Add("ts", ts)},
		{"bad ts", router, probe("ping", router, "ping", "zz")},
	} {
		s.handle("nodea", m.ReceivePing(s.now, c.node, c.msg))
		if got := s.status("nodea", router); got != StatusInit {
			t.Fatalf("%s: ping node became %s", c.name, got)
		}
	}
	if got := m.Counters.Malformed - before.Malformed; got != 6 {
		t.Errorf("malformed counted %d, want 6", got)
	}
	// A reply older than deadping is a replay.
	old := strconv.FormatInt(s.now.Add(-10*time.Second).Unix(), 16)
	s.handle("nodea", m.ReceivePing(s.now, router, probe("ping", router, "ping", old)))
	if got := s.status("nodea", router); got != StatusInit || m.Counters.Replay != before.Replay+1 {
		t.Errorf("stale reply: ping node %s, replay counter %d", got, m.Counters.Replay)
	}
	// The probe's own message over a heartbeat medium is not a reply.
	pkt, err := wire.Encode(probe("ping", router, "ping", ts), s.ring, true)
	if err != nil {
		t.Fatal(err)
	}
	s.deliver("nodea", pkt)
	if got := s.status("nodea", router); got != StatusInit {
		t.Errorf("NS_st over UDP made the ping node %s", got)
	}
	// A good reply carries its message in the NodeChange for API clients.
	good := probe("ping", router, "ping", ts)
	var nc *NodeChange
	for _, a := range m.ReceivePing(s.now, router, good) {
		if c, ok := a.(NodeChange); ok && c.Node == router {
			nc = &c
		}
	}
	if nc == nil || nc.Msg != good || !nc.Ping || nc.To != StatusPing || nc.From != StatusInit {
		t.Errorf("NodeChange = %+v", nc)
	}
}

func TestPingDeadlineInNextDeadline(t *testing.T) {
	s := newPingSim(t, []PingNode{{Name: router, Kind: PingKind}}, "nodea")
	s.start()
	m := s.nodes["nodea"]
	s.down[router] = true
	// Last reply at 0: NextDeadline must not let the 6 s deadping pass.
	s.now = t0.Add(5 * time.Second)
	s.handle("nodea", m.Tick(s.now))
	for i := 0; i < 10 && s.status("nodea", router) != StatusDead; i++ {
		d := m.NextDeadline()
		if d.After(t0.Add(6 * time.Second)) {
			t.Fatalf("next deadline %v after the ping node's death at 6s", d.Sub(t0))
		}
		s.now = d
		s.handle("nodea", m.Tick(s.now))
	}
	if at, ok := s.firstChange("nodea", router, StatusDead); !ok || at != 6*time.Second {
		t.Errorf("dead at %v (ok %v), want 6s", at, ok)
	}
}
