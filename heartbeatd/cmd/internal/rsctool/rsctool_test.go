// hb_standby and hb_takeover against an in-process API server.
package rsctool

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// state is a one-node api.State recording cluster messages.
type state struct {
	autoFailback string
	membership   string // "" = classic (unset)
	mu           sync.Mutex
	sent         []string // cluster messages but joins and leaves
}

func (s *state) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (s *state) LocalNode() string { return "nodea" }
func (s *state) Nodes() []api.NodeInfo {
	return []api.NodeInfo{{Name: "nodea", Type: api.NodeNormal, Status: "active"}}
}
func (s *state) Param(name string) (string, bool) {
	if name == "auto_failback" {
		return s.autoFailback, true
	}
	if name == "membership" && s.membership != "" {
		return s.membership, true
	}
	return "", false
}
func (s *state) ResourceStatus() string      { return "all" }
func (s *state) Counters() map[string]uint64 { return nil }

// SendClusterMessage records m; Run returns only after signoff, which the
// server handles after the message, so the record is complete by then.
func (s *state) SendClusterMessage(m *wire.Message) error {
	if m.Type() != api.TypeClientStatus {
		s.mu.Lock()
		s.sent = append(s.sent, m.String())
		s.mu.Unlock()
	}
	return nil
}

func serve(t *testing.T, st *state) string {
	t.Helper()
	s, err := api.NewServer(filepath.Join(t.TempDir(), "register"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	me := []string{strconv.Itoa(os.Geteuid())}
	if err := s.SetAuth([]config.APIAuth{{Client: "hb_standby", UIDs: me}, {Client: "hb_takeover", UIDs: me}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s.Path()
}

type result struct {
	Stdout, Stderr string
	RC             int
	Sent           []string
}

func TestRun(t *testing.T) {
	const prog = "/usr/share/heartbeat/hb_standby"
	usage := "usage:\n"
	usageErr := prog + " [all|foreign|local|failback]\n"
	tests := []struct {
		name     string
		tool     Tool
		failback string
		args     []string
		want     result
	}{
		{"standby default all", Standby, "on", nil, result{"", "", 0,
			[]string{"t=ask_resources rsc_hold=all info=me from_id=hb_standby to_id=hb_standby client_gen=0"}}},
		{"standby local", Standby, "off", []string{"local"}, result{"", "", 0,
			[]string{"t=ask_resources rsc_hold=local info=me from_id=hb_standby to_id=hb_standby client_gen=0"}}},
		{"standby failback is foreign", Standby, "on", []string{"failback"}, result{"", "", 0,
			[]string{"t=ask_resources rsc_hold=foreign info=me from_id=hb_standby to_id=hb_standby client_gen=0"}}},
		{"standby legacy refused", Standby, "legacy", []string{"all"}, result{
			"auto_failback is set to legacy.  Cannot enter standby.\n", "", 1, nil}},
		{"standby too many", Standby, "on", []string{"all", "local"}, result{
			prog + ": too many arguments\n" + usage, usageErr, 1, nil}},
		{"standby wrong", Standby, "on", []string{"mine"}, result{
			prog + ": wrong resources(mine).\n" + usage, usageErr, 1, nil}},
		{"standby --help", Standby, "on", []string{"--help"}, result{usage, usageErr, 1, nil}},
		{"standby none classic refused", Standby, "on", []string{"none"}, result{
			prog + ": standby none needs membership memberlist.\n", "", 1, nil}},
		{"takeover none wrong", Takeover, "on", []string{"none"}, result{
			prog + ": wrong resources(none).\n" + usage, usageErr, 1, nil}},
		{"memberlist: standby none", Standby, "memberlist on", []string{"none"}, result{"", "", 0,
			[]string{"t=ask_resources rsc_hold=none info=me from_id=hb_standby to_id=hb_standby client_gen=0"}}},
		{"memberlist: legacy not refused", Standby, "memberlist legacy", []string{"local"}, result{"", "", 0,
			[]string{"t=ask_resources rsc_hold=local info=me from_id=hb_standby to_id=hb_standby client_gen=0"}}},
		{"takeover default all", Takeover, "legacy", nil, result{"", "", 0,
			[]string{"t=hb_takeover rsc_hold=all from_id=hb_takeover to_id=hb_takeover client_gen=0"}}},
		{"takeover failback as is", Takeover, "on", []string{"failback"}, result{"", "", 0,
			[]string{"t=hb_takeover rsc_hold=failback from_id=hb_takeover to_id=hb_takeover client_gen=0"}}},
		{"takeover --help", Takeover, "on", []string{"--help"}, result{usage, usageErr, 1, nil}},
		{"takeover wrong", Takeover, "on", []string{"--all"}, result{
			prog + ": wrong resources(--all).\n" + usage, usageErr, 1, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// "memberlist X": membership memberlist, auto_failback X.
			st := &state{autoFailback: tc.failback}
			if fb, ok := strings.CutPrefix(tc.failback, "memberlist "); ok {
				st.autoFailback, st.membership = fb, "memberlist"
			}
			socket := serve(t, st)
			var out, errw bytes.Buffer
			var logged []string
			rc := Run(context.Background(), tc.tool, tc.args, &out, &errw, Options{Prog: prog, Socket: socket,
				Log: func(m string) { logged = append(logged, m) }})
			got := result{out.String(), errw.String(), rc, st.messages()}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if tc.tool == Standby && rc == 0 && len(logged) != 1 {
				t.Errorf("log = %q, want one \"Going standby\" line", logged)
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	dead := filepath.Join(t.TempDir(), "register")
	var out, errw bytes.Buffer
	if rc := Run(context.Background(), Standby, nil, &out, &errw, Options{Prog: "hb_standby", Socket: dead}); rc != 1 || errw.Len() == 0 {
		t.Errorf("no daemon: rc %d, stderr %q; want 1 and a reason", rc, errw.String())
	}

	// A daemon whose apiauth does not allow us.
	st := &state{autoFailback: "on"}
	s, err := api.NewServer(filepath.Join(t.TempDir(), "register"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetAuth([]config.APIAuth{{Client: "hb_takeover", UIDs: []string{strconv.Itoa(os.Geteuid() + 1)}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx)
	errw.Reset()
	rc := Run(context.Background(), Takeover, nil, &out, &errw, Options{Prog: "hb_takeover", Socket: s.Path(), Timeout: 5 * time.Second})
	if want := "hb_takeover: cannot sign on with heartbeat: client failed authorization\n"; rc != 1 || errw.String() != want {
		t.Errorf("refused: rc %d, stderr %q; want 1, %q", rc, errw.String(), want)
	}
	if sent := st.messages(); sent != nil {
		t.Errorf("refused client sent %v", sent)
	}
}
