// Tests of signon, apiauth, delivery, filters, the send queue and client-originated messages.
package api

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

var (
	myUID = strconv.Itoa(os.Geteuid())
	myGID = strconv.Itoa(os.Getegid())
	myPID = strconv.Itoa(os.Getpid())
)

// openAuth lets this test process sign on under any name, casual or not.
var openAuth = []config.APIAuth{
	{Client: AuthAnon, UIDs: []string{myUID}},
	{Client: AuthDefault, UIDs: []string{myUID}},
}

// signonServer serves a fake State whose cluster messages arrive on st.sent.
func signonServer(t *testing.T, auth []config.APIAuth) (*Server, *fakeState) {
	t.Helper()
	st := newFakeState()
	st.nodes[1].Status = "active" // nodeb is up: clientstatus asks it
	st.sent = make(chan *wire.Message, 100)
	s := startServer(t, st, func(s *Server) { s.WriteTimeout = time.Minute })
	if err := s.SetConfig(&config.HACF{Keepalive: time.Second, Deadtime: 8 * time.Second,
		LogFacility: "local0", APIAuth: auth}); err != nil {
		t.Fatal(err)
	}
	return s, st
}

func signon(t *testing.T, s *Server, name string) *Client {
	t.Helper()
	c := dial(t, s)
	if _, err := c.Signon(context.Background(), name); err != nil {
		t.Fatalf("signon %q: %v", name, err)
	}
	return c
}

// next reads the next message a client receives.
func next(t *testing.T, c *Client) []string {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, err := ReadMessage(c.conn)
	if err != nil {
		t.Fatalf("reading a delivered message: %v", err)
	}
	return fieldsOf(m)
}

func sent(t *testing.T, st *fakeState) []string {
	t.Helper()
	select {
	case m := <-st.sent:
		return fieldsOf(m)
	case <-time.After(5 * time.Second):
		t.Fatal("no cluster message sent")
		return nil
	}
}

func noneSent(t *testing.T, st *fakeState) {
	t.Helper()
	select {
	case m := <-st.sent:
		t.Errorf("unexpected cluster message %v", m)
	default:
	}
}

func TestSignonReply(t *testing.T) {
	s, st := signonServer(t, openAuth)
	c := dial(t, s)
	m, err := c.Signon(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t=hbapi-resp", "reqtype=signon", "result=OK", "deadtime=1f40", "keepalive=3e8",
		"node=nodea", "hbversion=3.0.6 (hasuite)", "pacemaker=false", "logfacility=128"}
	if d := cmp.Diff(want, fieldsOf(m)); d != "" {
		t.Errorf("signon reply (-want +got):\n%s", d)
	}
	noneSent(t, st) // casual clients do not join
	if _, err := c.Request(ReqNumNodes); err != nil {
		t.Errorf("query after signon: %v", err)
	}
	if _, err := c.Signon(context.Background(), ""); err == nil {
		t.Error("second signon on one connection succeeded")
	}
	if got := s.Counters(); got[CounterSignons] != 1 || got[CounterClients] != 1 {
		t.Errorf("counters after signon: %v", got)
	}
}

func TestSignonRefused(t *testing.T) {
	otherUID := "4242"
	if myUID == otherUID {
		otherUID = "4243"
	}
	tests := []struct {
		name   string
		auth   []config.APIAuth
		fields [][2]string // signon request fields after t and reqtype
		want   string
	}{
		{"listed name, other uid", []config.APIAuth{{Client: "ipfail", UIDs: []string{otherUID}}},
			[][2]string{{"pid", myPID}, {"from_id", "ipfail"}, {"uid", myUID}, {"gid", myGID}}, "client failed authorization"},
		{"listed name, matching gid", []config.APIAuth{{Client: "ipfail", UIDs: []string{otherUID}, GIDs: []string{myGID}}},
			[][2]string{{"pid", myPID}, {"from_id", "ipfail"}, {"uid", myUID}, {"gid", myGID}}, ""},
		{"unlisted name without default", []config.APIAuth{{Client: AuthAnon, UIDs: []string{myUID}}},
			[][2]string{{"pid", myPID}, {"from_id", "mon"}, {"uid", myUID}, {"gid", myGID}}, "no default client auth"},
		{"unlisted name with default", openAuth,
			[][2]string{{"pid", myPID}, {"from_id", "mon"}, {"uid", myUID}, {"gid", myGID}}, ""},
		{"casual without anon", []config.APIAuth{{Client: AuthDefault, UIDs: []string{myUID}}},
			[][2]string{{"pid", myPID}, {"from_id", myPID}, {"uid", myUID}, {"gid", myGID}}, "apiauth anon missing"},
		{"casual is checked against anon", []config.APIAuth{{Client: AuthAnon, UIDs: []string{otherUID}}, {Client: myPID, UIDs: []string{myUID}}},
			[][2]string{{"pid", myPID}, {"uid", myUID}, {"gid", myGID}}, "client failed authorization"},
		{"hb_standby built in for root only", nil,
			[][2]string{{"pid", myPID}, {"from_id", "hb_standby"}, {"uid", myUID}, {"gid", myGID}},
			map[bool]string{true: "", false: "client failed authorization"}[myUID == "0"]},
		{"lied about uid", openAuth,
			[][2]string{{"pid", myPID}, {"from_id", "mon"}, {"uid", otherUID}, {"gid", myGID}}, "incorrect/false credentials"},
		{"no gid", openAuth,
			[][2]string{{"pid", myPID}, {"from_id", "mon"}, {"uid", myUID}}, "invalid id info"},
		{"no pid", openAuth, [][2]string{{"from_id", "mon"}, {"uid", myUID}, {"gid", myGID}}, "bad pid"},
		{"someone else's pid", openAuth,
			[][2]string{{"pid", "1"}, {"from_id", "mon"}, {"uid", myUID}, {"gid", myGID}}, "pid mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := signonServer(t, tc.auth)
			conn, err := net.Dial("unix", s.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req := wire.New(TypeRequest).Add(FieldReqType, ReqSignon)
			for _, f := range tc.fields {
				req.Add(f[0], f[1])
			}
			if err := WriteMessage(conn, req); err != nil {
				t.Fatal(err)
			}
			m, err := ReadMessage(conn)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Get(FieldInfo); got != tc.want {
				t.Errorf("signon info = %q, want %q (reply %v)", got, tc.want, m)
			}
			if _, ok := m.Lookup(FieldDeadtime); !ok {
				t.Errorf("signon reply without deadtime: %v", m)
			}
			if tc.want == "" {
				if m.Get(FieldResult) != ResultOK {
					t.Errorf("signon refused: %v", m)
				}
				return
			}
			if m.Get(FieldResult) != ResultBadReq {
				t.Errorf("signon result = %q, want badreq", m.Get(FieldResult))
			}
			waitClosed(t, conn)
			if got := s.Counters()[CounterSignonsRefused]; got != 1 {
				t.Errorf("%s = %d, want 1", CounterSignonsRefused, got)
			}
		})
	}
}

func TestSetAuthSwapsTable(t *testing.T) {
	s, _ := signonServer(t, nil)
	if _, err := dial(t, s).Signon(context.Background(), "mon"); err == nil {
		t.Fatal("signon of an unlisted name succeeded without a default entry")
	}
	if err := s.SetAuth(append([]config.APIAuth{{Client: "mon", UIDs: []string{"no-such-user-hasuite"}}}, openAuth...)); err == nil {
		t.Error("SetAuth with an unknown user: no error")
	}
	// mon's entry is left out, so mon falls back to the default entry.
	signon(t, s, "mon")
}

func TestAuthTable(t *testing.T) {
	ids := map[string]uint32{"root": 0, "hacluster": 110, "haclient": 120, "adm": 4}
	lookup := func(n string) (uint32, error) {
		if id, ok := ids[n]; ok {
			return id, nil
		}
		if n != "" && n[0] >= '0' && n[0] <= '9' {
			return uint32(leadingInt(n)), nil
		}
		return 0, errors.New("unknown")
	}
	a, err := newAuth(append([]config.APIAuth{
		{Client: "mon", GIDs: []string{"adm", "77"}},
		{Client: "bad", UIDs: []string{"nobody-here"}},
	}, classicAuth...), lookup, lookup)
	if err == nil || !strings.Contains(err.Error(), "apiauth bad") {
		t.Errorf("newAuth error = %v, want one naming client bad", err)
	}
	tests := []struct {
		casual   bool
		id       string
		uid, gid uint32
		want     string
	}{
		{true, "123", 0, 0, ""},
		{true, "123", 1000, 120, ""},
		{true, "123", 1000, 1000, "client failed authorization"},
		{false, "ipfail", 110, 1000, ""},
		{false, "ipfail", 0, 0, "client failed authorization"},
		{false, "ping", 1000, 120, ""},
		{false, "mon", 1000, 4, ""},
		{false, "mon", 1000, 77, ""},
		{false, "mon", 0, 0, "client failed authorization"},
		{false, "bad", 0, 0, "no default client auth"},
		{false, "crm", 0, 0, "no default client auth"},
		{false, "hb_standby", 0, 0, ""},
		{false, "hb_takeover", 1000, 120, "client failed authorization"},
	}
	for _, tc := range tests {
		reason, ok := a.check(tc.casual, tc.id, tc.uid, tc.gid)
		if reason != tc.want || ok != (tc.want == "") {
			t.Errorf("check(casual=%v, %q, %d, %d) = %q, %v; want %q", tc.casual, tc.id, tc.uid, tc.gid, reason, ok, tc.want)
		}
	}
}

func TestJoinLeave(t *testing.T) {
	s, st := signonServer(t, openAuth)
	mon := signon(t, s, "mon")
	want := []string{"t=hbapi-clstat", "st=join", "from_id=mon", "to_id=mon", "src=nodea", "info=signon", "client_gen=0"}
	if d := cmp.Diff(want, sent(t, st)); d != "" {
		t.Errorf("join (-want +got):\n%s", d)
	}
	if err := mon.Send(context.Background(), wire.New(TypeRequest).Add(FieldReqType, ReqSignoff)); err != nil {
		t.Fatal(err)
	}
	leave := []string{"t=hbapi-clstat", "st=leave", "from_id=mon", "to_id=mon", "src=nodea", "info=signoff", "client_gen=0"}
	if d := cmp.Diff(leave, next(t, mon)); d != "" {
		t.Errorf("leave sent to the client itself (-want +got):\n%s", d)
	}
	if d := cmp.Diff(leave, sent(t, st)); d != "" {
		t.Errorf("leave (-want +got):\n%s", d)
	}
	waitClosed(t, mon.conn)

	// A client that just goes away leaves with reason EOF; the name is free again.
	other := signon(t, s, "other")
	sent(t, st)
	other.Close()
	if got := sent(t, st); got[1] != "st=leave" || got[5] != "info=EOF" || got[6] != "client_gen=1" {
		t.Errorf("leave after EOF = %v", got)
	}
	again := signon(t, s, "other")
	if got := sent(t, st); got[1] != "st=join" {
		t.Errorf("rejoin = %v", got)
	}
	// Client.Signoff returns once the name is free.
	if err := again.Signoff(context.Background()); err != nil {
		t.Fatal(err)
	}
	signon(t, s, "other")
}

func TestDuplicateName(t *testing.T) {
	s, _ := signonServer(t, openAuth)
	signon(t, s, "mon")
	_, err := dial(t, s).Signon(context.Background(), "mon")
	var re *ResultError
	if !errors.As(err, &re) || re.Info != "duplicate add request" {
		t.Errorf("second signon as mon = %v, want duplicate add request", err)
	}
}

func TestDelivery(t *testing.T) {
	s, _ := signonServer(t, openAuth)
	mon := signon(t, s, "mon")
	other := signon(t, s, "other")
	casual := signon(t, s, "")
	unsigned := dial(t, s)

	s.Deliver(wire.New("resource").Add("rsc_hold", "all").Add(FieldSrc, "nodeb"))
	s.Deliver(wire.New("num_ping_nodes").Add(FieldToID, "mon").Add("num_ping", "1"))
	s.Deliver(LinkStatusMessage("nodeb", "hb0", LinkDead))
	for name, c := range map[string]*Client{"mon": mon, "other": other, "casual": casual} {
		if got := next(t, c); got[0] != "t=resource" {
			t.Errorf("%s: first delivery = %v, want the resource message", name, got)
		}
		if name == "mon" {
			if d := cmp.Diff([]string{"t=num_ping_nodes", "to_id=mon", "num_ping=1"}, next(t, c)); d != "" {
				t.Errorf("mon: addressed message (-want +got):\n%s", d)
			}
		}
		if d := cmp.Diff([]string{"t=ifstat", "node=nodeb", "ifname=hb0", "st=dead"}, next(t, c)); d != "" {
			t.Errorf("%s: link status (-want +got):\n%s", name, d)
		}
	}
	// The unsigned connection got nothing: its next message is its reply.
	if _, err := unsigned.Request(ReqNumNodes); err != nil {
		t.Error(err)
	}
	unsigned.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if m, err := ReadMessage(unsigned.conn); err == nil {
		t.Errorf("unsigned connection got %v", m)
	}
	if got := s.Counters()[CounterDelivered]; got != 7 {
		t.Errorf("%s = %d, want 7", CounterDelivered, got)
	}
}

func TestNodeDeadMessage(t *testing.T) {
	now := time.Unix(0x6740aa55, 0)
	if d := cmp.Diff([]string{"t=status", "seq=1", "ts=6740aa55", "src=nodeb", "st=dead"},
		fieldsOf(NodeDeadMessage("nodeb", false, now))); d != "" {
		t.Errorf("normal node (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"t=status", "seq=1", "ts=6740aa55", "src=10.77.0.254", "st=dead", "info=ping"},
		fieldsOf(NodeDeadMessage("10.77.0.254", true, now))); d != "" {
		t.Errorf("ping node (-want +got):\n%s", d)
	}
}

func TestFilter(t *testing.T) {
	s, _ := signonServer(t, openAuth)
	mon := signon(t, s, "mon")
	for _, tc := range []struct {
		mask, want string
	}{{"0", "EINVAL"}, {"40", "EINVAL"}, {"zz", "EINVAL"}, {"2", ""}} {
		_, err := mon.Request(ReqSetFilter, FieldFilterMask, tc.mask)
		var re *ResultError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("setfilter %s = %v", tc.mask, err)
		case tc.want != "" && (!errors.As(err, &re) || re.Info != tc.want):
			t.Errorf("setfilter %s = %v, want %s", tc.mask, err, tc.want)
		}
	}
	s.Deliver(wire.New("resource").Add("rsc_hold", "all"))
	s.DeliverAs(wire.New(TypeStatus).Add(FieldSrc, "nodeb").Add(FieldStatus, "active"), TreatNoChange)
	if got := next(t, mon); got[0] != "t=status" {
		t.Errorf("with filter 2 the first delivery is %v, want the status message", got)
	}

	// TreatAPICall shows a debugging client every API message.
	if os.Geteuid() == 0 {
		if _, err := mon.Request(ReqSetFilter, FieldFilterMask, "0x11"); err != nil {
			t.Fatal(err)
		}
		if _, err := dial(t, s).Request(ReqNodeStatus, FieldNode, "nodeb"); err != nil {
			t.Fatal(err)
		}
		if got := next(t, mon); got[0] != "t=hbapi-req" || got[1] != "reqtype=nodestatus" {
			t.Errorf("API call seen by a debugging client = %v", got)
		}
	}
}

func TestSendQueueOverflow(t *testing.T) {
	s, _ := signonServer(t, openAuth)
	slow := signon(t, s, "slow")
	if err := slow.Send(context.Background(), wire.New(TypeRequest).Add(FieldReqType, ReqSetSendQLen).Add(FieldSendQLen, "2")); err != nil {
		t.Fatal(err)
	}
	// set_sendqlen has no reply: the next message is numnodes's.
	if _, err := slow.Request(ReqNumNodes); err != nil {
		t.Fatal(err)
	}
	big := wire.New("bulk").Add("data", strings.Repeat("x", 100<<10))
	const n = 50
	for range n { // the client reads nothing meanwhile; Deliver must not block
		s.Deliver(big)
	}
	got := s.Counters()
	if got[CounterDeliveryDropped] == 0 || got[CounterDelivered]+got[CounterDeliveryDropped] != n {
		t.Errorf("delivered %d, dropped %d; want some dropped, %d in all",
			got[CounterDelivered], got[CounterDeliveryDropped], n)
	}
	// What was queued still arrives, and the client stays connected.
	for range got[CounterDelivered] {
		if m := next(t, slow); m[0] != "t=bulk" {
			t.Fatalf("delivery = %v", m[0])
		}
	}
	if _, err := slow.Request(ReqNumNodes); err != nil {
		t.Errorf("slow client after overflow: %v", err)
	}
}

func TestSetSignal(t *testing.T) {
	s, _ := signonServer(t, openAuth)
	mon := signon(t, s, "mon")
	for _, tc := range []struct {
		sig, want string
	}{{"9", "EINVAL"}, {"19", "EINVAL"}, {"32", "EINVAL"}, {"-1", "EINVAL"}, {"x", ""}} {
		_, err := mon.Request(ReqSetSignal, FieldSignal, tc.sig)
		var re *ResultError
		if !errors.As(err, &re) || re.Result != ResultBadReq || re.Info != tc.want {
			t.Errorf("setsignal %s = %v, want badreq %q", tc.sig, err, tc.want)
		}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	defer signal.Stop(ch)
	if _, err := mon.Request(ReqSetSignal, FieldSignal, strconv.Itoa(int(syscall.SIGUSR1))); err != nil {
		t.Fatal(err)
	}
	s.Deliver(wire.New("resource"))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Error("no SIGUSR1 after a delivery")
	}
}

func TestClusterMessage(t *testing.T) {
	s, st := signonServer(t, openAuth)
	mon := signon(t, s, "mon")
	sent(t, st) // join
	msg := wire.New("ask_resources").Add("rsc_hold", "all").Add(FieldFromID, "forged").Add("info", "me")
	if err := mon.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	want := []string{"t=ask_resources", "rsc_hold=all", "from_id=mon", "info=me", "to_id=mon", "client_gen=0"}
	if d := cmp.Diff(want, sent(t, st)); d != "" {
		t.Errorf("cluster message (-want +got):\n%s", d)
	}

	// A casual client may not send any: it is disconnected.
	casual := signon(t, s, "")
	if err := casual.Send(context.Background(), wire.New("ask_resources")); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, casual.conn)
	noneSent(t, st)
	if got := s.Counters()[CounterClusterMessages]; got != 1 {
		t.Errorf("%s = %d, want 1", CounterClusterMessages, got)
	}

	// A failing daemon is counted.
	st.sendErr = errors.New("comm down")
	mon.Send(context.Background(), wire.New("x"))
	if _, err := mon.Request(ReqNumNodes); err != nil { // the message was handled before this
		t.Fatal(err)
	}
	if got := s.Counters()[CounterClusterSendError]; got != 1 {
		t.Errorf("%s = %d, want 1", CounterClusterSendError, got)
	}
}

func TestClientStatus(t *testing.T) {
	s, st := signonServer(t, openAuth)
	signon(t, s, "ipfail")
	sent(t, st)
	asker := signon(t, s, "asker")
	sent(t, st)
	ctx := context.Background()

	if cs, err := asker.ClientStatus(ctx, "nodea", "ipfail", time.Second); err != nil || cs != ClientOnline {
		t.Errorf("local ipfail = %q, %v; want online", cs, err)
	}
	if cs, err := asker.ClientStatus(ctx, "NodeA", "mon", time.Second); err != nil || cs != ClientOffline {
		t.Errorf("local mon = %q, %v; want offline", cs, err)
	}
	if _, err := asker.ClientStatus(ctx, "nodez", "mon", 50*time.Millisecond); !errors.Is(err, ErrNoTimelyResponse) {
		t.Errorf("unknown node = %v, want no timely response (like classic)", err)
	}

	// A remote node is asked; its answer comes back through Deliver.
	done := make(chan error, 1)
	var cs string
	go func() {
		var err error
		cs, err = asker.ClientStatus(ctx, "nodeb", "ipfail", 5*time.Second)
		done <- err
	}()
	if d := cmp.Diff([]string{"t=query-cstatus", "dest=nodeb", "cn=ipfail", "from_id=asker"}, sent(t, st)); d != "" {
		t.Errorf("query (-want +got):\n%s", d)
	}
	s.Deliver(wire.New(TypeRespondCStatus).Add(FieldDest, "nodea").Add(FieldResult, ResultOK).
		Add(FieldClientName, "ipfail").Add(FieldToID, "asker").Add(FieldClientStatus, ClientOffline).Add(FieldSrc, "nodeb"))
	if err := <-done; err != nil || cs != ClientOffline {
		t.Errorf("remote ipfail = %q, %v; want offline", cs, err)
	}

	// A peer's query about our clients is answered.
	s.Deliver(wire.New(TypeQueryCStatus).Add(FieldDest, "nodeb").Add(FieldClientName, "ipfail").
		Add(FieldFromID, "x").Add(FieldSrc, "nodec")) // not for us
	s.Deliver(wire.New(TypeQueryCStatus).Add(FieldDest, "nodea").Add(FieldClientName, "ipfail").
		Add(FieldFromID, "cl").Add(FieldSrc, "nodeb"))
	want := []string{"t=respond-cstatus", "dest=nodeb", "result=OK", "cn=ipfail", "to_id=cl", "cs=online"}
	if d := cmp.Diff(want, sent(t, st)); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
}
