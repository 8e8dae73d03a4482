// Tests step membership instances joined by a simulated network, through the
// real wire codec, with a simulated clock: no sockets, no sleeps.

package membership

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

type change struct {
	at          time.Duration // since t0
	on, node    string
	from, to    Status
	link        string
	linkChanged bool
	up          bool
}

type sim struct {
	t       *testing.T
	now     time.Time
	ring    *wire.Keyring
	nodes   map[string]*Membership
	order   []string
	cut     map[string]bool                               // node -> no packets in or out
	drop    func(from, to string, msg *wire.Message) bool // per-packet loss
	sent    map[string][]*wire.Message                    // everything each node transmitted
	changes []change
	logs    map[string][]string
	echo    func(from string, p Ping) // answers ping probes; nil = none
}

func newSim(t *testing.T, names ...string) *sim {
	ring, err := wire.NewKeyring(1, wire.Key{Num: 1, Method: "sha1", Secret: []byte("s3cretKey")})
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, now: t0, ring: ring, nodes: map[string]*Membership{}, cut: map[string]bool{},
		sent: map[string][]*wire.Message{}, logs: map[string][]string{}}
	for i, n := range names {
		s.order = append(s.order, n)
		s.nodes[n] = New(testConfig(n, uint64(0x6b023860+i), names...))
	}
	return s
}

func testConfig(local string, gen uint64, nodes ...string) Config {
	uuid := []byte(fmt.Sprintf("uuid-of-%-8s", local))[:16]
	return Config{
		Local: local, Nodes: nodes, Links: []string{"hb0"}, UUID: uuid, Generation: gen, Hopfudge: 1,
		Keepalive: time.Second, Deadtime: 8 * time.Second, Warntime: 4 * time.Second,
		Initdead: 16 * time.Second, MaxRexmitDelay: 250 * time.Millisecond,
		Loadavg: func() string { return "0.95 0.47 0.20 3/105 11367" },
		Rand:    func(n int) int { return n / 2 },
	}
}

func (s *sim) start() {
	for _, n := range s.order {
		s.handle(n, s.nodes[n].Start(s.now))
	}
}

// run advances the clock from deadline to deadline up to d after t0.
func (s *sim) run(until time.Duration) {
	end := t0.Add(until)
	for {
		next := end
		for _, n := range s.order {
			if d := s.nodes[n].NextDeadline(); d.Before(next) {
				next = d
			}
		}
		if next.After(end) || next.Equal(end) && !s.now.Before(end) {
			s.now = end
			return
		}
		if next.After(s.now) {
			s.now = next
		}
		for _, n := range s.order {
			if !s.nodes[n].NextDeadline().After(s.now) {
				s.handle(n, s.nodes[n].Tick(s.now))
			}
		}
		if s.now.Equal(end) {
			return
		}
	}
}

// handle carries out a node's actions: transmits go through the real codec
// to every other node that is not cut off.
func (s *sim) handle(from string, acts []Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case Transmit:
			s.sent[from] = append(s.sent[from], a.Msg)
			pkt, err := wire.Encode(a.Msg, s.ring, true)
			if err != nil {
				s.t.Fatalf("encode: %v", err)
			}
			for _, to := range s.order {
				if to == from || s.cut[from] || s.cut[to] || s.drop != nil && s.drop(from, to, a.Msg) {
					continue
				}
				s.deliver(to, pkt)
			}
		case NodeChange:
			s.changes = append(s.changes, change{at: s.now.Sub(t0), on: from, node: a.Node, from: a.From, to: a.To})
		case LinkChange:
			s.changes = append(s.changes, change{at: s.now.Sub(t0), on: from, node: a.Node, link: a.Link, linkChanged: true, up: a.Up})
		case Log:
			s.logs[from] = append(s.logs[from], a.Msg)
		case Ping:
			if s.echo != nil {
				s.echo(from, a)
			}
		}
	}
}

func (s *sim) deliver(to string, pkt []byte) {
	msg, err := wire.Decode(pkt, s.ring)
	if err != nil {
		s.t.Fatalf("decode: %v", err)
	}
	s.handle(to, s.nodes[to].Receive(s.now, msg, "hb0"))
}

// injectStart delivers to node the packets an outsider m sends at start.
func (s *sim) injectStart(node string, m *Membership) {
	for _, a := range m.Start(s.now) {
		if tr, ok := a.(Transmit); ok {
			pkt, err := wire.Encode(tr.Msg, s.ring, true)
			if err != nil {
				s.t.Fatal(err)
			}
			s.deliver(node, pkt)
		}
	}
}

func (s *sim) status(on, node string) Status {
	for _, n := range s.nodes[on].Nodes() {
		if n.Name == node {
			return n.Status
		}
	}
	s.t.Fatalf("%s does not know %s", on, node)
	return ""
}

func (s *sim) logged(on, substr string) bool {
	for _, l := range s.logs[on] {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func (s *sim) firstChange(on, node string, to Status) (time.Duration, bool) {
	for _, c := range s.changes {
		if !c.linkChanged && c.on == on && c.node == node && c.to == to {
			return c.at, true
		}
	}
	return 0, false
}

func fieldNames(m *wire.Message) []string {
	var names []string
	for _, f := range m.Fields {
		names = append(names, f.Name)
	}
	return names
}

func TestPairReachesActiveWithClassicFields(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(3 * time.Second)
	for _, pair := range [][2]string{{"nodea", "nodeb"}, {"nodeb", "nodea"}, {"nodea", "nodea"}} {
		if got := s.status(pair[0], pair[1]); got != StatusActive {
			t.Errorf("%s sees %s %s, want active", pair[0], pair[1], got)
		}
	}
	first := s.sent["nodea"][0]
	want := []string{"t", "st", "dt", "protocol", "src", "srcuuid", "seq", "hg", "ts", "ld", "ttl"}
	if diff := cmp.Diff(want, fieldNames(first)); diff != "" {
		t.Errorf("status field order (-want +got):\n%s", diff)
	}
	if got := first.Get("dt"); got != "2710" { // deadtime 8 s + 2 s start-up grace, hex ms
		t.Errorf("dt in first status = %s, want 2710", got)
	}
	if got := first.Get("ttl"); got != "3" {
		t.Errorf("ttl = %s, want 3 (hopfudge 1 + 2 nodes)", got)
	}
	// reqnodes is answered with repnodes, addressed and with destuuid.
	var rep *wire.Message
	for _, m := range s.sent["nodeb"] {
		if m.Type() == "repnodes" {
			rep = m
		}
	}
	if rep == nil {
		t.Fatal("nodeb never answered reqnodes")
	}
	if diff := cmp.Diff([]string{"t", "dest", "nodelist", "delnodelist", "destuuid", "src", "srcuuid", "seq", "hg", "ts", "ld", "ttl"}, fieldNames(rep)); diff != "" {
		t.Errorf("repnodes fields (-want +got):\n%s", diff)
	}
	if rep.Get("nodelist") != "nodea nodeb " {
		t.Errorf("nodelist = %q", rep.Get("nodelist"))
	}
}

func TestDeadWithinAdvertisedDeadtime(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(10 * time.Second) // past the start-up window: dt is plain deadtime now
	s.cut["nodeb"] = true
	cutAt := s.now.Sub(t0)
	s.run(30 * time.Second)
	at, ok := s.firstChange("nodea", "nodeb", StatusDead)
	if !ok {
		t.Fatal("nodea never declared nodeb dead")
	}
	if d := at - cutAt; d < 8*time.Second-time.Second || d > 8*time.Second+time.Second {
		t.Errorf("declared dead %v after the cut, want deadtime 8s ± keepalive", d)
	}
	if !s.logged("nodea", "node nodeb: is dead") || !s.logged("nodea", "Link nodeb:hb0 dead.") {
		t.Errorf("missing classic log lines: %q", s.logs["nodea"])
	}
	// nodeb, cut off too, sees nodea dead; on heal both come back without a restart.
	delete(s.cut, "nodeb")
	s.run(33 * time.Second)
	if got := s.status("nodea", "nodeb"); got != StatusActive {
		t.Errorf("after heal nodea sees nodeb %s", got)
	}
	if !s.logged("nodea", "Cluster node nodeb returning after partition.") {
		t.Errorf("no partition-heal log: %q", s.logs["nodea"])
	}
	// What each sent during the partition is history: not asked for again.
	for _, n := range []string{"nodea", "nodeb"} {
		for _, m := range s.sent[n] {
			if m.Type() == "NS_rexmit" {
				t.Errorf("%s asked for a retransmission after the heal: %v", n, m)
			}
		}
		if c := s.nodes[n].Counters; c.Lost != 0 {
			t.Errorf("%s counted %d lost packets across the partition", n, c.Lost)
		}
	}
}

func TestLoneNodeDeclaresPeerDeadAfterInitdead(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.cut["nodeb"] = true
	s.start()
	s.run(20 * time.Second)
	at, ok := s.firstChange("nodea", "nodeb", StatusDead)
	if !ok || at != 16*time.Second {
		t.Fatalf("nodeb declared dead at %v (ok=%v), want initdead 16s", at, ok)
	}
	if s.nodes["nodea"].Status() != StatusActive || !s.nodes["nodea"].IsCommUp() {
		t.Errorf("lone node status %s, comm up %v", s.nodes["nodea"].Status(), s.nodes["nodea"].IsCommUp())
	}
}

func TestShutdoneIsImmediate(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(3 * time.Second)
	s.handle("nodeb", s.nodes["nodeb"].Stop(s.now))
	if at, ok := s.firstChange("nodea", "nodeb", StatusDead); !ok || at != 3*time.Second {
		t.Fatalf("nodeb dead at %v (ok=%v), want at once", at, ok)
	}
	if !s.logged("nodea", "Received shutdown notice from 'nodeb'.") {
		t.Errorf("logs: %q", s.logs["nodea"])
	}
	// heartbeat 3.0.6 goes on sending status for a while after shutdone:
	// the node stays dead, it is not "returning after partition".
	st := wire.New("status").Add("st", "active").Add("dt", "1f40").Add("protocol", "1")
	s.handle("nodeb", s.nodes["nodeb"].Send(s.now, st))
	if got := s.status("nodea", "nodeb"); got != StatusDead {
		t.Errorf("after shutdone and a status, nodea sees nodeb %s", got)
	}
	if s.logged("nodea", "returning after partition") {
		t.Error("a leaving node was taken for a partition heal")
	}
}

func TestReplayAndDuplicatesChangeNothing(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(5 * time.Second)
	old := s.sent["nodeb"][0] // its very first status (st=init)
	oldPkt, _ := wire.Encode(old, s.ring, true)
	s.cut["nodeb"] = true // nodeb dies silently
	s.run(6 * time.Second)
	before := s.nodes["nodea"].Counters
	for i := 0; i < 20; i++ {
		s.deliver("nodea", oldPkt) // replayed over and over
		s.run(time.Duration(6+i) * time.Second)
	}
	after := s.nodes["nodea"].Counters
	if after.Duplicate-before.Duplicate != 20 {
		t.Errorf("duplicates counted %d, want 20", after.Duplicate-before.Duplicate)
	}
	if after.Accepted != before.Accepted {
		t.Errorf("a replayed packet was accepted")
	}
	if at, ok := s.firstChange("nodea", "nodeb", StatusDead); !ok || at > 5*time.Second+8*time.Second+time.Second {
		t.Errorf("replays delayed death: dead at %v (ok=%v)", at, ok)
	}

	// A packet from an older generation is a replay attack.
	s.injectStart("nodea", New(testConfig("nodeb", 0x6b023861-1, "nodea", "nodeb")))
	if s.nodes["nodea"].Counters.Replay != 1 || !s.logged("nodea", "attempted replay attack") {
		t.Errorf("old generation not flagged: counters %+v", s.nodes["nodea"].Counters)
	}
}

func TestRestartWithNewGeneration(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(3 * time.Second)
	s.nodes["nodeb"] = New(testConfig("nodeb", 0x6b023900, "nodea", "nodeb"))
	s.handle("nodeb", s.nodes["nodeb"].Start(s.now))
	s.run(6 * time.Second)
	if !s.logged("nodea", "Heartbeat restart on node nodeb") {
		t.Errorf("restart not noticed: %q", s.logs["nodea"])
	}
	// nodea answered the new generation with its status at once.
	var statusAtRestart int
	for _, m := range s.sent["nodea"] {
		if m.Type() == "status" && m.Get("ts") == strconv.FormatInt(t0.Add(3*time.Second).Unix(), 16) {
			statusAtRestart++
		}
	}
	if statusAtRestart < 2 {
		t.Errorf("nodea sent %d status messages in the second of nodeb's restart, want its regular one and an immediate one", statusAtRestart)
	}
	if s.logged("nodea", "returning after partition") {
		t.Error("a restart was mistaken for a partition heal")
	}
	if got := s.status("nodea", "nodeb"); got != StatusActive {
		t.Errorf("restarted nodeb is %s", got)
	}
}

func TestLostPacketIsRetransmitted(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(3 * time.Second)
	dropped := ""
	s.drop = func(from, to string, m *wire.Message) bool {
		if from == "nodeb" && m.Type() == "status" && dropped == "" {
			dropped = m.Get("seq")
			return true
		}
		return false
	}
	s.run(6 * time.Second)
	if dropped == "" {
		t.Fatal("nothing dropped")
	}
	var req, resent *wire.Message
	for _, m := range s.sent["nodea"] {
		if m.Type() == "NS_rexmit" {
			req = m
		}
	}
	if req == nil {
		t.Fatal("nodea never asked for the lost message")
	}
	wantDec := fmt.Sprint(mustHex(t, dropped))
	if req.Get("firstseq") != wantDec || req.Get("lastseq") != wantDec || req.Get("dest") != "nodeb" {
		t.Errorf("NS_rexmit %s, want firstseq=lastseq=%s (decimal) dest=nodeb", req, wantDec)
	}
	if _, ok := req.Lookup("seq"); ok {
		t.Error("NS_ message carries a seq")
	}
	for _, m := range s.sent["nodeb"][1:] {
		if m.Type() == "status" && m.Get("seq") == dropped {
			resent = m
		}
	}
	if resent == nil {
		t.Fatal("nodeb did not resend")
	}
	c := s.nodes["nodea"].Counters
	if c.Lost != 1 || c.RexmitRequested != 1 || s.nodes["nodeb"].Counters.RexmitSent != 1 {
		t.Errorf("counters: nodea %+v nodeb %+v", c, s.nodes["nodeb"].Counters)
	}
	if !s.logged("nodea", "1 lost packet(s) for [nodeb]") {
		t.Errorf("logs: %q", s.logs["nodea"])
	}
}

func TestRexmitOfUnknownSeqIsNaked(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(2 * time.Second)
	req := wire.New("NS_rexmit").Add("dest", "nodeb").Add("firstseq", "999").Add("lastseq", "999")
	s.handle("nodea", s.nodes["nodea"].Send(s.now, req))
	var nak *wire.Message
	for _, m := range s.sent["nodeb"] {
		if m.Type() == "NS_nak_rexmit" {
			nak = m
		}
	}
	if nak == nil {
		t.Fatal("no NS_nak_rexmit")
	}
	if nak.Get("firstseq") != "3e7" || nak.Get("info") != "seqno not found" || nak.Get("dest") != "nodea" {
		t.Errorf("nak = %s", nak)
	}
}

func TestAckOnTriggerDigit(t *testing.T) {
	s := newSim(t, "nodea", "nodeb") // Rand(10) = 5: ack seqs ending in 5
	s.start()
	s.run(12 * time.Second)
	var acks []string
	for _, m := range s.sent["nodea"] {
		if m.Type() == "NS_ackmsg" {
			acks = append(acks, m.Get("ackseq"))
			if want := []string{"t", "dest", "ackseq", "destuuid", "src", "srcuuid", "hg", "ts", "ttl"}; !cmp.Equal(want, fieldNames(m)) {
				t.Errorf("NS_ackmsg fields %v, want %v", fieldNames(m), want)
			}
		}
	}
	if len(acks) == 0 {
		t.Fatal("no acks sent")
	}
	for _, a := range acks {
		if mustHex(t, a)%10 != 5 {
			t.Errorf("acked seq %s, not ending in the trigger digit", a)
		}
	}
}

func TestLateHeartbeatWarns(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(10 * time.Second)
	s.cut["nodeb"] = true
	s.run(15 * time.Second)
	delete(s.cut, "nodeb")
	s.run(17 * time.Second)
	if !s.logged("nodea", "Late heartbeat: Node nodeb: interval") {
		t.Errorf("logs: %q", s.logs["nodea"])
	}
	if s.nodes["nodea"].Counters.LateHeartbeats == 0 {
		t.Error("late heartbeat not counted")
	}
}

func TestUnknownNodeDropped(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.injectStart("nodea", New(testConfig("nodex", 1, "nodex", "nodea")))
	if s.nodes["nodea"].Counters.UnknownNode != 1 {
		t.Errorf("counters %+v", s.nodes["nodea"].Counters)
	}
}

func mustHex(t *testing.T, s string) uint64 {
	t.Helper()
	var v uint64
	if _, err := fmt.Sscanf(s, "%x", &v); err != nil {
		t.Fatalf("not hex: %q", s)
	}
	return v
}
