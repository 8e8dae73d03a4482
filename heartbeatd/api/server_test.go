// Tests of the API server and client over real unix sockets in a temp dir.
package api

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// fakeState is a fixed State; it is read-only after construction except
// for sent, which records cluster messages.
type fakeState struct {
	local    string
	nodes    []NodeInfo
	params   map[string]string
	rsc      string
	counters map[string]uint64
	sent     chan *wire.Message // SendClusterMessage; nil drops them
	sendErr  error
}

func (f *fakeState) SendClusterMessage(m *wire.Message) error {
	if f.sendErr != nil {
		return f.sendErr
	}
	if f.sent != nil {
		f.sent <- m.Clone()
	}
	return nil
}

func (f *fakeState) LocalNode() string { return f.local }
func (f *fakeState) Nodes() []NodeInfo { return f.nodes }
func (f *fakeState) Param(name string) (string, bool) {
	v, ok := f.params[name]
	return v, ok
}
func (f *fakeState) ResourceStatus() string      { return f.rsc }
func (f *fakeState) Counters() map[string]uint64 { return f.counters }

var uuidA = []byte("AAAAAAAAAAAAAAA\x01")

func newFakeState() *fakeState {
	return &fakeState{
		local: "nodea",
		nodes: []NodeInfo{
			{Name: "nodea", Type: NodeNormal, Status: "active", Weight: 100, UUID: uuidA,
				Links: []LinkInfo{{"hb0", LinkUp}, {"eth1", LinkDead}}},
			{Name: "nodeb", Type: NodeNormal, Status: "dead", Weight: 50, Site: "dc2",
				Links: []LinkInfo{{"hb0", LinkDead}}},
			{Name: "10.77.0.254", Type: NodePing, Status: "ping", Weight: 100,
				Links: []LinkInfo{{"10.77.0.254", LinkUp}}},
		},
		params:   map[string]string{"keepalive": "1", "pacemaker": "false", "hbversion": "3.0.6 (hasuite)"},
		rsc:      "local",
		counters: map[string]uint64{"rx_packets": 7, "tx_packets": 9},
	}
}

// startServer serves st on a socket in a temp dir until the test ends.
func startServer(t *testing.T, st State, tweak func(*Server)) *Server {
	t.Helper()
	s, err := NewServer(filepath.Join(t.TempDir(), "run", "register"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, s *Server) *Client {
	t.Helper()
	c, err := Dial(s.Path(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRequests(t *testing.T) {
	s := startServer(t, newFakeState(), nil)
	c := dial(t, s)
	tests := []struct {
		name    string
		reqtype string
		fields  []string
		want    [][]string
		wantErr string // Result of the *ResultError, "" for none
	}{
		{"nodelist", ReqNodeList, nil, [][]string{
			{"t=hbapi-resp", "reqtype=nodelist", "node=nodea", "nodetype=normal", "st=active", "result=ok/more"},
			{"t=hbapi-resp", "reqtype=nodelist", "node=nodeb", "nodetype=normal", "st=dead", "result=ok/more"},
			{"t=hbapi-resp", "reqtype=nodelist", "node=10.77.0.254", "nodetype=ping", "st=ping", "result=OK"},
		}, ""},
		{"nodestatus", ReqNodeStatus, []string{"node", "nodeb"}, [][]string{
			{"t=hbapi-resp", "reqtype=nodestatus", "st=dead", "result=OK"}}, ""},
		{"nodestatus upper case", ReqNodeStatus, []string{"node", "NodeA"}, [][]string{
			{"t=hbapi-resp", "reqtype=nodestatus", "st=active", "result=OK"}}, ""},
		{"nodestatus unknown", ReqNodeStatus, []string{"node", "nodez"}, [][]string{
			{"t=hbapi-resp", "reqtype=nodestatus", "result=badreq", "info=EINVAL"}}, ResultBadReq},
		{"nodestatus no node", ReqNodeStatus, nil, [][]string{
			{"t=hbapi-resp", "reqtype=nodestatus", "result=badreq", "info=EINVAL"}}, ResultBadReq},
		{"nodetype ping", ReqNodeType, []string{"node", "10.77.0.254"}, [][]string{
			{"t=hbapi-resp", "reqtype=nodetype", "nodetype=ping", "result=OK"}}, ""},
		{"nodeweight", ReqNodeWeight, []string{"node", "nodeb"}, [][]string{
			{"t=hbapi-resp", "reqtype=nodeweight", "weight=50", "result=OK"}}, ""},
		{"nodesite", ReqNodeSite, []string{"node", "nodeb"}, [][]string{
			{"t=hbapi-resp", "reqtype=nodesite", "site=dc2", "result=OK"}}, ""},
		{"nodesite empty", ReqNodeSite, []string{"node", "nodea"}, [][]string{
			{"t=hbapi-resp", "reqtype=nodesite", "site=", "result=OK"}}, ""},
		{"numnodes counts normal nodes", ReqNumNodes, nil, [][]string{
			{"t=hbapi-resp", "reqtype=numnodes", "numnodes=2", "result=OK"}}, ""},
		{"iflist", ReqIfList, []string{"node", "nodea"}, [][]string{
			{"t=hbapi-resp", "reqtype=iflist", "ifname=hb0", "st=up", "result=ok/more"},
			{"t=hbapi-resp", "reqtype=iflist", "ifname=eth1", "st=dead", "result=OK"},
		}, ""},
		{"iflist unknown", ReqIfList, []string{"node", "nodez"}, [][]string{
			{"t=hbapi-resp", "reqtype=iflist", "result=badreq", "info=EINVAL"}}, ResultBadReq},
		{"ifstatus", ReqIfStatus, []string{"node", "nodea", "ifname", "eth1"}, [][]string{
			{"t=hbapi-resp", "reqtype=ifstatus", "st=dead", "result=OK"}}, ""},
		{"ifstatus unknown link", ReqIfStatus, []string{"node", "nodea", "ifname", "eth9"}, [][]string{
			{"t=hbapi-resp", "reqtype=ifstatus", "result=badreq", "info=EINVAL"}}, ResultBadReq},
		{"getparm", ReqGetParm, []string{"pname", "keepalive"}, [][]string{
			{"t=hbapi-resp", "reqtype=getparm", "pvalue=1", "result=OK"}}, ""},
		{"getparm crm alias", ReqGetParm, []string{"pname", "crm"}, [][]string{
			{"t=hbapi-resp", "reqtype=getparm", "pvalue=false", "result=OK"}}, ""},
		{"getparm unset", ReqGetParm, []string{"pname", "deadping"}, [][]string{
			{"t=hbapi-resp", "reqtype=getparm", "result=OK"}}, ""},
		{"getparm no name", ReqGetParm, nil, [][]string{
			{"t=hbapi-resp", "reqtype=getparm", "result=badreq", "info=EINVAL"}}, ResultBadReq},
		{"getrsc", ReqGetRsc, nil, [][]string{
			{"t=hbapi-resp", "reqtype=getrsc", "rsc_hold=local", "result=OK"}}, ""},
		{"getuuid", ReqGetUUID, []string{"queryname", "nodea"}, [][]string{
			{"t=hbapi-resp", "reqtype=getuuid", "(1)queryuuid=" + string(uuidA), "result=OK"}}, ""},
		{"getuuid unknown", ReqGetUUID, []string{"queryname", "nodeb"}, [][]string{
			{"t=hbapi-resp", "reqtype=getuuid", "result=OK"}}, ""},
		{"getnodename local", ReqGetNodeName, nil, [][]string{
			{"t=hbapi-resp", "reqtype=getnodename", "queryname=nodea", "result=OK"}}, ""},
		{"unknown reqtype", "frobnicate", nil, [][]string{
			{"t=hbapi-resp", "reqtype=frobnicate", "result=badreq", `info=unknown request type "frobnicate"`}}, ResultBadReq},
		{"setfilter needs signon", ReqSetFilter, []string{FieldFilterMask, "1"}, [][]string{
			{"t=hbapi-resp", "reqtype=setfilter", "result=badreq", "info=not signed on"}}, ResultBadReq},
		{"clientstatus local offline", ReqClientStatus, []string{FieldNode, "nodea", FieldClientName, "ipfail"}, [][]string{
			{"t=hbapi-resp", "reqtype=clientstatus", "subt=respond-cstatus", "cs=offline", "result=OK"}}, ""},
		{"clientstatus dead node", ReqClientStatus, []string{FieldNode, "nodeb", FieldClientName, "ipfail"}, [][]string{
			{"t=hbapi-resp", "reqtype=clientstatus", "subt=respond-cstatus", "cs=offline", "result=OK"}}, ""},
		{"clientstatus unknown node", ReqClientStatus, []string{FieldNode, "nodez", FieldClientName, "ipfail"}, [][]string{
			{"t=hbapi-resp", "reqtype=clientstatus", "result=badreq", "info=EINVAL"}}, ResultBadReq},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.RequestAll(tc.reqtype, tc.fields...)
			var re *ResultError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("RequestAll: %v", err)
			case tc.wantErr != "" && (!errors.As(err, &re) || re.Result != tc.wantErr):
				t.Fatalf("RequestAll error = %v, want result %s", err, tc.wantErr)
			}
			var gotFields [][]string
			for _, m := range got {
				gotFields = append(gotFields, fieldsOf(m))
			}
			if d := cmp.Diff(tc.want, gotFields); d != "" {
				t.Errorf("replies (-want +got):\n%s", d)
			}
		})
	}
}

func TestGetNodeNameByUUID(t *testing.T) {
	s := startServer(t, newFakeState(), nil)
	for _, tc := range []struct {
		uuid []byte
		want []string
	}{
		{uuidA, []string{"t=hbapi-resp", "reqtype=getnodename", "queryname=nodea", "result=OK"}},
		{[]byte("no such uuid...."), []string{"t=hbapi-resp", "reqtype=getnodename", "result=OK"}},
	} {
		conn, err := net.Dial("unix", s.Path())
		if err != nil {
			t.Fatal(err)
		}
		req := wire.New(TypeRequest).Add(FieldReqType, ReqGetNodeName).Add(FieldPID, "1").AddBinary(FieldQueryUUID, tc.uuid)
		if err := WriteMessage(conn, req); err != nil {
			t.Fatal(err)
		}
		m, err := ReadMessage(conn)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, fieldsOf(m)); d != "" {
			t.Errorf("getnodename %q (-want +got):\n%s", tc.uuid, d)
		}
	}
}

func TestEmptyLists(t *testing.T) {
	st := newFakeState()
	st.nodes = append([]NodeInfo{{Name: "lonely", Type: NodeNormal, Status: "up"}}, st.nodes...)
	s := startServer(t, st, nil)
	c := dial(t, s)
	got, err := c.RequestAll(ReqIfList, FieldNode, "lonely")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]string{{"t=hbapi-resp", "reqtype=iflist", "result=OK"}}, [][]string{fieldsOf(got[0])}); d != "" || len(got) != 1 {
		t.Errorf("iflist of a node without links: %d replies (-want +got):\n%s", len(got), d)
	}

	empty := startServer(t, &fakeState{local: "x"}, nil)
	got, err = dial(t, empty).RequestAll(ReqNodeList)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Get(FieldResult) != ResultOK {
		t.Errorf("nodelist without nodes = %v, want one OK reply", got)
	}
}

func TestCounters(t *testing.T) {
	st := newFakeState()
	st.counters["bad=name"] = 1 // cannot be a classic field name: skipped
	s := startServer(t, st, nil)
	m, err := dial(t, s).Request(ReqCounters)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"t=hbapi-resp", "reqtype=hasuite-counters",
		"api_bad_frames=0", "api_badreq=0", "api_clients=0", "api_cluster_messages=0",
		"api_cluster_send_errors=0", "api_connections=1", "api_connections_rejected=0",
		"api_delivered=0", "api_delivery_dropped=0", "api_requests=1",
		"api_signons=0", "api_signons_refused=0", "api_write_timeouts=0", "rx_packets=7", "tx_packets=9",
		"result=OK",
	}
	if d := cmp.Diff(want, fieldsOf(m)); d != "" {
		t.Errorf("hasuite-counters (-want +got):\n%s", d)
	}
	if _, ok := st.counters["api_requests"]; ok {
		t.Error("hasuite-counters wrote into the State's counter map")
	}
}

func TestNotARequest(t *testing.T) {
	s := startServer(t, newFakeState(), nil)
	conn, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := WriteMessage(conn, wire.New("ip-request").Add(FieldReqType, ReqNodeList)); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMessage(conn)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t=hbapi-resp", "reqtype=nodelist", "result=badreq", `info=unsupported message type "ip-request"`}
	if d := cmp.Diff(want, fieldsOf(m)); d != "" {
		t.Errorf("reply (-want +got):\n%s", d)
	}
	if got := s.Counters()[CounterBadReq]; got != 1 {
		t.Errorf("%s = %d, want 1", CounterBadReq, got)
	}
}

// waitClosed reads from conn until the server closes it.
func waitClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("waiting for the server to close the connection: %v", err)
	}
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	good := wire.Marshal(wire.New(TypeRequest).Add(FieldReqType, ReqNumNodes))
	tests := []struct {
		name string
		in   []byte
	}{
		{"bad magic", rawFrame(int32(len(good)), 0x1234, good)},
		{"huge length", rawFrame(MaxFrame+1, Magic, nil)},
		{"negative length", rawFrame(-100, Magic, nil)},
		{"garbage body", rawFrame(5, Magic, []byte("hello"))},
		{"binary garbage", rawFrame(4, Magic, []byte{0xff, 0, 0xfe, 1})},
	}
	s := startServer(t, newFakeState(), nil)
	survivor := dial(t, s) // stays connected through everything
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("unix", s.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, conn)
			if got := s.Counters()[CounterBadFrames]; got != uint64(i+1) {
				t.Errorf("%s = %d, want %d", CounterBadFrames, got, i+1)
			}
			if _, err := survivor.Request(ReqNumNodes); err != nil {
				t.Errorf("other client after a bad frame: %v", err)
			}
			if _, err := dial(t, s).Request(ReqNumNodes); err != nil {
				t.Errorf("new client after a bad frame: %v", err)
			}
		})
	}
}

func TestStalledFrameTimesOut(t *testing.T) {
	s := startServer(t, newFakeState(), func(s *Server) { s.FrameTimeout = 50 * time.Millisecond })
	conn, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(rawFrame(100, Magic, []byte(">>>\n"))); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, conn)
	if got := s.Counters()[CounterBadFrames]; got != 1 {
		t.Errorf("%s = %d, want 1", CounterBadFrames, got)
	}
}

// TestStuckClient: a client that sends requests but never reads replies
// neither blocks other clients nor keeps its connection past WriteTimeout.
func TestStuckClient(t *testing.T) {
	s := startServer(t, newFakeState(), func(s *Server) { s.WriteTimeout = time.Second })
	stuck, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	frame, err := AppendFrame(nil, wire.New(TypeRequest).Add(FieldReqType, ReqNodeList))
	if err != nil {
		t.Fatal(err)
	}
	// Fill both socket buffers: our writes block once the server is stuck
	// writing replies we do not read.
	for {
		stuck.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := stuck.Write(frame); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("filling buffers: %v", err)
			}
			break
		}
	}
	if _, err := dial(t, s).Request(ReqNumNodes); err != nil {
		t.Errorf("request while another client is stuck: %v", err)
	}
	// The server gives up on the stuck client after WriteTimeout.
	stuck.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := stuck.Write(frame); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("server did not drop the stuck client")
			}
			break
		}
	}
	if got := s.Counters()[CounterWriteTimeouts]; got != 1 {
		t.Errorf("%s = %d, want 1", CounterWriteTimeouts, got)
	}
}

func TestConcurrentClients(t *testing.T) {
	s := startServer(t, newFakeState(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			c, err := Dial(s.Path(), 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for range 20 {
				ms, err := c.RequestAll(ReqNodeList)
				if err != nil {
					errs <- err
					return
				}
				if len(ms) != 3 {
					errs <- errors.New("nodelist: wrong number of replies")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.Counters()[CounterRequests]; got != 400 {
		t.Errorf("%s = %d, want 400", CounterRequests, got)
	}
}

func TestMaxConns(t *testing.T) {
	s := startServer(t, newFakeState(), func(s *Server) { s.MaxConns = 1 })
	first := dial(t, s)
	if _, err := first.Request(ReqNumNodes); err != nil { // first is now tracked
		t.Fatal(err)
	}
	second, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	waitClosed(t, second)
	if got := s.Counters()[CounterConnsRejected]; got != 1 {
		t.Errorf("%s = %d, want 1", CounterConnsRejected, got)
	}
	if _, err := first.Request(ReqNumNodes); err != nil {
		t.Errorf("first client after the limit refused another: %v", err)
	}
}

func TestSocketFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "register")

	// A stale socket (nobody listening) is replaced.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	s, err := NewServer(path, newFakeState(), nil)
	if err != nil {
		t.Fatalf("NewServer over a stale socket: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != SocketMode {
		t.Errorf("socket mode = %v, want socket with %o", fi.Mode(), SocketMode)
	}

	// A live daemon is not displaced.
	if _, err := NewServer(path, newFakeState(), nil); err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("NewServer over a live socket = %v, want 'another daemon' error", err)
	}

	// Close removes the socket; Serve after Close returns nil at once.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Close: %v, want not exist", err)
	}
	if err := s.Serve(context.Background()); err != nil {
		t.Errorf("Serve after Close = %v", err)
	}

	// A regular file is never removed.
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(path, newFakeState(), nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("NewServer over a regular file = %v, want 'not a socket' error", err)
	}
}

func TestCloseKeepsReplacedSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "register")
	s, err := NewServer(path, newFakeState(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, err := NewServer(path, newFakeState(), nil) // a newer daemon took over the path
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	s.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("Close removed the newer daemon's socket: %v", err)
	}
}

func TestServeStopsOnContext(t *testing.T) {
	s, err := NewServer(filepath.Join(t.TempDir(), "register"), newFakeState(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	c, err := Dial(s.Path(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Request(ReqNumNodes); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if _, err := c.Request(ReqNumNodes); err == nil {
		t.Error("request after shutdown succeeded")
	}
}

func TestClientTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mute")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err := Dial(path, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Request(ReqNumNodes); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Request to a mute server = %v, want deadline exceeded", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	c2, err := Dial(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.RequestContext(ctx, ReqNumNodes); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RequestContext to a mute server = %v, want context deadline", err)
	}
}

func TestClientOddFields(t *testing.T) {
	s := startServer(t, newFakeState(), nil)
	if _, err := dial(t, s).Request(ReqNodeStatus, FieldNode); err == nil {
		t.Error("Request with an odd field list succeeded")
	}
}
