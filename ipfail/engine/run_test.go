// Tests of start-up decisions and of Run against the real API server.
package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

func TestCheckResources(t *testing.T) {
	other := errors.New("connection reset")
	tests := []struct {
		rsc      string
		err      error
		wantCode int // 0: nil, -1: other error
	}{
		{"local", nil, 0},
		{"transition", nil, 0},
		{"none", nil, 0},
		{"", &api.ResultError{ReqType: "getrsc", Result: "badreq"}, ExitNoRespawn},
		{"", nil, ExitNoRespawn},
		{"", other, -1},
	}
	for _, tt := range tests {
		err := CheckResources(tt.rsc, tt.err)
		var ee *ExitError
		got := 0
		switch {
		case errors.As(err, &ee):
			got = ee.Code
		case err != nil:
			got = -1
		}
		if got != tt.wantCode {
			t.Errorf("CheckResources(%q, %v) = %v, want code %d", tt.rsc, tt.err, err, tt.wantCode)
		}
	}
}

func TestParseAutoFailback(t *testing.T) {
	tests := []struct {
		value   string
		set     bool
		want    bool
		wantErr bool
	}{
		{"on", true, true, false},
		{"Yes", true, true, false},
		{"1", true, true, false},
		{"off", true, false, false},
		{"n", true, false, false},
		{"legacy", true, false, true},
		{"sometimes", true, false, true},
		{"", true, false, true},
		{"", false, false, false}, // unset: logged, counts as off
	}
	for _, tt := range tests {
		log, _ := logtest.NewNullLogger()
		got, err := ParseAutoFailback(tt.value, tt.set, log)
		var ee *ExitError
		if got != tt.want || (err != nil) != tt.wantErr || (err != nil && (!errors.As(err, &ee) || ee.Code != ExitNoRespawn)) {
			t.Errorf("ParseAutoFailback(%q, %v) = %v, %v", tt.value, tt.set, got, err)
		}
	}
}

func TestFindPeerAndPingNodes(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	nodes := []api.NodeInfo{
		{Name: "nodea", Type: "normal", Status: "active"},
		{Name: "10.0.0.254", Type: "ping", Status: "ping"},
		{Name: "nodeb", Type: "normal", Status: "dead"},
		{Name: "10.0.0.253", Type: "ping", Status: "dead"},
		{Name: "group1", Type: "ping", Status: "ping"},
	}
	if got := FindPeer(nodes, "nodea", log); got != "nodeb" {
		t.Errorf("FindPeer = %q, want nodeb", got)
	}
	if got := FindPeer(nodes[:2], "nodea", log); got != "" {
		t.Errorf("FindPeer without a peer = %q", got)
	}
	if got := PingNodes(nodes, log); got != 2 {
		t.Errorf("PingNodes = %d, want 2", got)
	}
}

// state is an api.State for Run's tests.
type state struct {
	mu     sync.Mutex
	rsc    string
	params map[string]string
	nodes  []api.NodeInfo
	sent   chan *wire.Message
}

func (s *state) LocalNode() string { return "nodea" }
func (s *state) Nodes() []api.NodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.NodeInfo(nil), s.nodes...)
}
func (s *state) Param(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.params[name]
	return v, ok
}
func (s *state) ResourceStatus() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rsc
}
func (s *state) Counters() map[string]uint64 { return nil }
func (s *state) SendClusterMessage(m *wire.Message) error {
	s.sent <- m.Clone()
	return nil
}

func newState(rsc, autoFailback string) *state {
	return &state{
		rsc:    rsc,
		params: map[string]string{"auto_failback": autoFailback},
		nodes: []api.NodeInfo{
			{Name: "nodea", Type: api.NodeNormal, Status: "active"},
			{Name: "nodeb", Type: api.NodeNormal, Status: "active"},
			{Name: "10.0.0.254", Type: api.NodePing, Status: "ping"},
		},
		sent: make(chan *wire.Message, 100),
	}
}

// serve runs an API server for st; keepalive 100 ms makes giveups quick.
func serve(t *testing.T, st api.State) *api.Server {
	t.Helper()
	s, err := api.NewServer(filepath.Join(t.TempDir(), "register"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	me := strconv.Itoa(os.Geteuid())
	if err := s.SetConfig(&config.HACF{Keepalive: 100 * time.Millisecond, Deadtime: time.Second,
		APIAuth: []config.APIAuth{{Client: ClientName, UIDs: []string{me}}}}); err != nil {
		t.Fatal(err)
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

func TestRunExitsWithoutRespawn(t *testing.T) {
	tests := []struct{ name, rsc, autoFailback, wantLog string }{
		{"no managed resources", "", "on", "No managed resources"},
		{"auto_failback legacy", "local", "legacy", "auto_failback set to incompatible legacy option."},
		{"auto_failback invalid", "local", "maybe", " invalid auto_faiback value(maybe)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serve(t, newState(tt.rsc, tt.autoFailback))
			log, hook := logtest.NewNullLogger()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if rc := Run(ctx, Options{Socket: s.Path(), Log: log}); rc != ExitNoRespawn {
				t.Errorf("Run = %d, want %d", rc, ExitNoRespawn)
			}
			if e := hook.LastEntry(); e == nil || e.Message != tt.wantLog || e.Level != logrus.ErrorLevel {
				t.Errorf("last log entry %+v, want error %q", e, tt.wantLog)
			}
		})
	}
}

func TestRunSignonRefused(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	if rc := Run(context.Background(), Options{Socket: filepath.Join(t.TempDir(), "none"), Log: log}); rc != 1 {
		t.Errorf("Run without a daemon = %d, want 1", rc)
	}
}

// Run end to end against the server: the peer's join brings our count,
// the peer's higher count a giveup of everything after 2×keepalive,
// cancellation a signoff.
func TestRun(t *testing.T) {
	st := newState("local", "on")
	s := serve(t, st)
	log, _ := logtest.NewNullLogger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	rc := make(chan int, 1)
	go func() {
		rc <- Run(ctx, Options{Socket: s.Path(), Log: log, Started: func(*Engine) { close(started) }})
	}()
	next := func() []string {
		t.Helper()
		select {
		case m := <-st.sent:
			return []string{m.String()}
		case <-time.After(5 * time.Second):
			t.Fatal("nothing sent")
			return nil
		}
	}
	expect := func(want string) {
		t.Helper()
		if d := cmp.Diff([]string{want}, next()); d != "" {
			t.Errorf("sent (-want +got):\n%s", d)
		}
	}
	expect("t=hbapi-clstat st=join from_id=ipfail to_id=ipfail src=nodea info=signon client_gen=0")
	<-started
	s.Deliver(wire.New(api.TypeClientStatus).Add("st", "join").Add("from_id", "ipfail").Add("to_id", "ipfail").
		Add("src", "nodeb").Add("info", "signon").Add("client_gen", "1"))
	expect("t=num_ping_nodes src=nodea num_ping=1 dest=nodeb from_id=ipfail to_id=ipfail client_gen=0")
	begin := time.Now()
	s.Deliver(wire.New(TypeNumPing).Add("src", "nodeb").Add(FieldNumPing, "2").Add("to_id", "ipfail"))
	expect("t=ask_resources rsc_hold=all src=nodea info=me from_id=ipfail to_id=ipfail client_gen=0")
	if d := time.Since(begin); d < 200*time.Millisecond {
		t.Errorf("giveup after %v, want 2×keepalive (200ms)", d)
	}
	cancel()
	select {
	case code := <-rc:
		if code != 0 {
			t.Errorf("Run = %d after cancel, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	expect("t=hbapi-clstat st=leave from_id=ipfail to_id=ipfail src=nodea info=signoff client_gen=0")
}
