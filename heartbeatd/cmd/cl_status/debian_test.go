// Debian's cl_status 3.0.6 against our API server: same output, same exit codes as ours.
package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/test/netns"
)

const debianClStatus = "/usr/bin/cl_status"

// logPrefix is the variable head of a cl_log line on stderr: time, host, pid.
var logPrefix = regexp.MustCompile(`(?m)^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ cl_status: \[\d+\]: `)

// runDebian runs Debian's cl_status in a private mount namespace where run
// is mounted over /run, so that its fixed socket path
// /run/heartbeat/register is our server's socket.
func runDebian(t *testing.T, run string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	script := `mount --bind "$0" /run && exec ` + debianClStatus + ` "$@"`
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private",
		"sh", "-c", script, run}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HA_LOGFACILITY=none"}
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	rc := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running Debian cl_status: %v: %s", err, errw.String())
		}
		rc = ee.ExitCode()
	}
	return result{out.String(), logPrefix.ReplaceAllString(errw.String(), ""), rc}
}

func TestDebianClStatus(t *testing.T) {
	if _, err := os.Stat(debianClStatus); err != nil {
		netns.Skip(t, "needs Debian's heartbeat 3.0.6 cl_status (apt-get install heartbeat)")
	}
	if os.Geteuid() != 0 {
		netns.Skip(t, "needs root: runs Debian's cl_status in a private mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		netns.Skip(t, "needs unshare (util-linux)")
	}
	run := filepath.Join(t.TempDir(), "run")
	st := lab()
	st.params["msgfmt"] = "classic"
	st.nodes[1].Status = "active" // nodeb answers query-cstatus
	st.peer = map[string]string{"ipfail": "online"}
	s, err := api.NewServer(filepath.Join(run, "heartbeat", "register"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	// ha.cf "apiauth ipfail uid=root"; anon keeps classic's default.
	if err := s.SetAuth([]config.APIAuth{{Client: "ipfail", UIDs: []string{"root"}},
		{Client: api.AuthAnon, UIDs: []string{"root"}, GIDs: []string{"haclient"}}}); err != nil {
		t.Fatal(err)
	}
	st.srv = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	ipfail, err := api.Dial(s.Path(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ipfail.Close()
	if _, err := ipfail.Signon(context.Background(), "ipfail"); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"hbstatus"},
		{"hbstatus", "-v"},
		{"listnodes"},
		{"listnodes", "-p"},
		{"listnodes", "-n", "-m"},
		{"listnodes", "-v"},
		{"nodestatus", "nodea"},
		{"nodestatus", "nodeb"},
		{"nodestatus", "-m", "10.77.0.254"},
		{"nodestatus", "nodez"},
		{"nodetype", "10.77.0.254"},
		{"nodeweight", "nodeb"},
		{"nodesite", "nodeb"},
		{"listhblinks", "-v", "nodeb"},
		{"hblinkstatus", "nodeb", "hb1"},
		{"hblinkstatus", "nodeb", "hb0"},
		{"rscstatus"},
		{"rscstatus", "-m"},
		{"hbparameter", "-p", "keepalive"},
		{"hbparameter", "-p", "msgfmt"},
		{"hbparameter", "-m", "-p", "auto_failback"},
		{"hbparameter", "-p", "deadping"},
		{"clientstatus", "nodea", "ipfail"},
		{"clientstatus", "nodea", "mon"},
		{"clientstatus", "nodeb", "ipfail"},
		{"clientstatus", "nodeb", "mon", "2000"},
		{"clientstatus", "nodez", "mon", "50"},
		{"listhblinks", "nodez"},
		{"hblinkstatus", "nodeb", "hb7"},
		{"hbparameter", "-p", "warntime"},
		{"hbparameter"},
		{"nodeweight", "nodez"},
		{"nodetype"},
		{"listnodes", "-x"},
		{"frob"},
		{},
	} {
		want := runDebian(t, run, args...)
		got := run0(t, s.Path(), args...)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("cl_status %s: Debian (-) vs ours (+):\n%s", strings.Join(args, " "), d)
		}
	}
	// A daemon that refuses anonymous clients, and none at all.
	refusedRun := filepath.Join(t.TempDir(), "run")
	rs, err := api.NewServer(filepath.Join(refusedRun, "heartbeat", "register"), lab(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rs.SetAuth([]config.APIAuth{{Client: api.AuthAnon, UIDs: []string{"4242"}}})
	go rs.Serve(ctx)
	stoppedRun := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(filepath.Join(stoppedRun, "heartbeat"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{refusedRun, stoppedRun} {
		for _, args := range [][]string{{"hbstatus"}, {"hbstatus", "-v"}, {"nodestatus", "nodea"}} {
			want := runDebian(t, run, args...)
			got := run0(t, filepath.Join(run, "heartbeat", "register"), args...)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("cl_status %s with %s: Debian (-) vs ours (+):\n%s", strings.Join(args, " "), filepath.Base(filepath.Dir(run)), d)
			}
		}
	}

	// Debian's cl_status signed on and off again each time: only ipfail is left.
	if n := s.Counters()[api.CounterClients]; n != 1 {
		t.Errorf("%s = %d after the runs, want 1", api.CounterClients, n)
	}
}

// run0 runs our cl_status with the error-line prefix stripped.
func run0(t *testing.T, socket string, args ...string) result {
	t.Helper()
	r := run(t, socket, 0, args...)
	r.Stderr = logPrefix.ReplaceAllString(r.Stderr, "")
	return r
}
