// Tests of Session against the real server with a fake State.
package api

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func session(t *testing.T, s *Server, name string) *Session {
	t.Helper()
	ss, err := Signon(testCtx(t), s.Path(), name)
	if err != nil {
		t.Fatalf("Signon %s: %v", name, err)
	}
	t.Cleanup(func() { ss.Close() })
	return ss
}

// delivered reads the next delivered message.
func delivered(t *testing.T, ss *Session) []string {
	t.Helper()
	select {
	case m, ok := <-ss.Messages():
		if !ok {
			t.Fatalf("Messages closed: %v", ss.Err())
		}
		return fieldsOf(m)
	case <-time.After(5 * time.Second):
		t.Fatal("no message delivered")
		return nil
	}
}

func TestSessionSignonAndRequests(t *testing.T) {
	s, st := signonServer(t, openAuth)
	st.params["auto_failback"] = "on"
	ss := session(t, s, "ipfail")
	if d := cmp.Diff([]string{"t=hbapi-clstat", "st=join", "from_id=ipfail", "to_id=ipfail", "src=nodea",
		"info=signon", "client_gen=0"}, sent(t, st)); d != "" {
		t.Errorf("join (-want +got):\n%s", d)
	}
	if ss.LocalNode() != "nodea" || ss.Keepalive() != time.Second || ss.Deadtime() != 8*time.Second || ss.ClientID() != "ipfail" {
		t.Errorf("signon info: node %q keepalive %v deadtime %v id %q", ss.LocalNode(), ss.Keepalive(), ss.Deadtime(), ss.ClientID())
	}
	ctx := testCtx(t)
	nodes, err := ss.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []NodeInfo{{Name: "nodea", Type: "normal", Status: "active"}, {Name: "nodeb", Type: "normal", Status: "active"},
		{Name: "10.77.0.254", Type: "ping", Status: "ping"}}
	if d := cmp.Diff(want, nodes); d != "" {
		t.Errorf("Nodes (-want +got):\n%s", d)
	}
	if v, ok, err := ss.Param(ctx, "auto_failback"); v != "on" || !ok || err != nil {
		t.Errorf("Param(auto_failback) = %q, %v, %v", v, ok, err)
	}
	if v, ok, err := ss.Param(ctx, "nosuch"); v != "" || ok || err != nil {
		t.Errorf("Param(nosuch) = %q, %v, %v", v, ok, err)
	}
	if v, err := ss.Resources(ctx); v != "local" || err != nil {
		t.Errorf("Resources = %q, %v", v, err)
	}
	if v, err := ss.NodeStatus(ctx, "10.77.0.254"); v != "ping" || err != nil {
		t.Errorf("NodeStatus = %q, %v", v, err)
	}
	if v, err := ss.NodeType(ctx, "nodeb"); v != "normal" || err != nil {
		t.Errorf("NodeType = %q, %v", v, err)
	}
	var re *ResultError
	if _, err := ss.NodeStatus(ctx, "nodez"); !errors.As(err, &re) || re.Result != ResultBadReq {
		t.Errorf("NodeStatus(nodez) error = %v, want badreq", err)
	}
	if err := ss.SetFilter(ctx, TreatKeep); err != nil {
		t.Errorf("SetFilter: %v", err)
	}
	if err := ss.SetSignal(ctx, 0); err != nil {
		t.Errorf("SetSignal: %v", err)
	}
}

func TestSessionNoResources(t *testing.T) {
	st := newFakeState()
	st.rsc = ""
	s := startServer(t, st, nil)
	if err := s.SetConfig(&config.HACF{Keepalive: time.Second, Deadtime: 8 * time.Second, APIAuth: openAuth}); err != nil {
		t.Fatal(err)
	}
	ss := session(t, s, "ipfail")
	var re *ResultError
	if _, err := ss.Resources(testCtx(t)); !errors.As(err, &re) || re.Result != ResultBadReq {
		t.Errorf("Resources without resource management: error %v, want badreq", err)
	}
}

func TestSessionRefused(t *testing.T) {
	s, _ := signonServer(t, []config.APIAuth{{Client: "ipfail", UIDs: []string{"4242"}}})
	_, err := Signon(testCtx(t), s.Path(), "ipfail")
	var re *ResultError
	if !errors.As(err, &re) || re.Info != "client failed authorization" {
		t.Errorf("Signon error = %v, want refusal", err)
	}
}

// Deliveries arriving while a request waits for its reply are kept, in
// order, and the reply still reaches the request.
func TestSessionDeliveriesAroundReplies(t *testing.T) {
	s, st := signonServer(t, openAuth)
	ss := session(t, s, "ipfail")
	sent(t, st) // join
	ctx := testCtx(t)
	s.Deliver(LinkStatusMessage("nodeb", "hb0", LinkDead))
	s.Deliver(wire.New("num_ping_nodes").Add(FieldSrc, "nodeb").Add("num_ping", "1").Add(FieldToID, "ipfail"))
	s.Deliver(wire.New("num_ping_nodes").Add(FieldToID, "other")) // not ours
	if _, err := ss.Resources(ctx); err != nil {
		t.Fatal(err)
	}
	s.Deliver(NodeDeadMessage("10.77.0.254", true, time.Unix(0x10, 0)))
	if _, err := ss.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"t=ifstat", "node=nodeb", "ifname=hb0", "st=dead"},
		{"t=num_ping_nodes", "src=nodeb", "num_ping=1", "to_id=ipfail"},
		{"t=status", "seq=1", "ts=10", "src=10.77.0.254", "st=dead", "info=ping"},
	}
	for i, w := range want {
		if d := cmp.Diff(w, delivered(t, ss)); d != "" {
			t.Errorf("message %d (-want +got):\n%s", i, d)
		}
	}
}

func TestSessionSend(t *testing.T) {
	s, st := signonServer(t, openAuth)
	ss := session(t, s, "ipfail")
	sent(t, st) // join
	ctx := testCtx(t)
	msg := wire.New("num_ping_nodes").Add(FieldSrc, "nodea").Add("num_ping", "2")
	if err := ss.SendNodeMessage(ctx, msg, "nodeb"); err != nil {
		t.Fatal(err)
	}
	want := []string{"t=num_ping_nodes", "src=nodea", "num_ping=2", "dest=nodeb", "from_id=ipfail", "to_id=ipfail", "client_gen=0"}
	if d := cmp.Diff(want, sent(t, st)); d != "" {
		t.Errorf("node message (-want +got):\n%s", d)
	}
	if _, ok := msg.Lookup(FieldDest); ok {
		t.Error("SendNodeMessage changed the caller's message")
	}
	ask := wire.New("ask_resources").Add(FieldResources, "all").Add(FieldSrc, "nodea").Add(FieldInfo, "me")
	if err := ss.SendClusterMessage(ctx, ask); err != nil {
		t.Fatal(err)
	}
	want = []string{"t=ask_resources", "rsc_hold=all", "src=nodea", "info=me", "from_id=ipfail", "to_id=ipfail", "client_gen=0"}
	if d := cmp.Diff(want, sent(t, st)); d != "" {
		t.Errorf("cluster message (-want +got):\n%s", d)
	}
	if err := ss.SendNodeMessage(ctx, msg, ""); err == nil {
		t.Error("SendNodeMessage without node: no error")
	}
}

func TestSessionSignoff(t *testing.T) {
	s, st := signonServer(t, openAuth)
	ss := session(t, s, "ipfail")
	sent(t, st) // join
	if err := ss.Signoff(testCtx(t)); err != nil {
		t.Fatalf("Signoff: %v", err)
	}
	for range ss.Messages() { // perhaps our own leave message; then closed
	}
	if _, err := ss.Resources(testCtx(t)); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("request after signoff: %v, want ErrSessionClosed", err)
	}
	// The name is free again.
	session(t, s, "ipfail")
}

// When the daemon goes away, Messages closes and requests fail.
func TestSessionDaemonGone(t *testing.T) {
	st := newFakeState()
	st.sent = make(chan *wire.Message, 100)
	s, err := NewServer(t.TempDir()+"/register", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetConfig(&config.HACF{Keepalive: time.Second, Deadtime: 8 * time.Second,
		APIAuth: openAuth}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	ss := session(t, s, "ipfail")
	s.Deliver(LinkStatusMessage("nodeb", "hb0", LinkDead))
	if d := cmp.Diff([]string{"t=ifstat", "node=nodeb", "ifname=hb0", "st=dead"}, delivered(t, ss)); d != "" {
		t.Errorf("delivery (-want +got):\n%s", d)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ss.Messages():
		if ok {
			t.Error("unexpected message")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Messages not closed after the daemon left")
	}
	if _, err := ss.Resources(testCtx(t)); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("request after the daemon left: %v, want ErrSessionClosed", err)
	}
}

// A long node list arrives faster than it is read: no reply is lost.
func TestSessionLongNodeList(t *testing.T) {
	st := newFakeState()
	for i := range 300 {
		st.nodes = append(st.nodes, NodeInfo{Name: "10.0.1." + strconv.Itoa(i), Type: NodePing, Status: "ping"})
	}
	s := startServer(t, st, nil)
	if err := s.SetConfig(&config.HACF{Keepalive: time.Second, Deadtime: 8 * time.Second, APIAuth: openAuth}); err != nil {
		t.Fatal(err)
	}
	ss := session(t, s, "ipfail")
	nodes, err := ss.Nodes(testCtx(t))
	if err != nil || len(nodes) != len(st.nodes) || nodes[len(nodes)-1].Name != "10.0.1.299" {
		t.Errorf("Nodes: %d nodes, %v; want %d", len(nodes), err, len(st.nodes))
	}
}
