// process_test.go: real children: shell scripts in a temporary directory.

package respawn

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/internal/proc/proctest"
	"github.com/hasuite/hasuite/test/netns"
)

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// realSupervisor runs children with events on a channel and fast timings.
func realSupervisor(t *testing.T, opts Options, children ...config.Respawn) (*Supervisor, chan Event) {
	t.Helper()
	events := make(chan Event, 1000)
	opts.Notify = func(e Event) { events <- e }
	if opts.RestartDelay == 0 {
		opts.RestartDelay = time.Millisecond
	}
	s := New(children, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s, events
}

// waitFor returns the first event of kind, failing after 20 s.
func waitFor(t *testing.T, events chan Event, kind EventKind) Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 20 s", kind)
		}
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestRealExit100NotRespawned(t *testing.T) {
	dir := t.TempDir()
	p := script(t, dir, "once", `echo run >> "$1"; exit 100`)
	runs := filepath.Join(dir, "runs")
	r := config.Respawn{User: currentUser(t), Path: p, Command: p + " " + runs}
	s, events := realSupervisor(t, Options{}, r)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, events, EventExited)
	if e.Exit != (Exit{Code: 100}) {
		t.Errorf("exit = %v, want exit 100", e.Exit)
	}
	if g := waitFor(t, events, EventGaveUp); g.Reason != "exited with code 100" {
		t.Errorf("gave up: %q", g.Reason)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, runs); len(got) != 1 {
		t.Errorf("ran %d times, want 1", len(got))
	}
	if st := s.Status()[0]; st.State != StateDone {
		t.Errorf("state %s, want done", st.State)
	}
}

func TestRealExit1Respawned(t *testing.T) {
	dir := t.TempDir()
	// Fails twice, then asks not to be respawned.
	p := script(t, dir, "flaky", `echo run >> "$1"; [ "$(wc -l < "$1")" -ge 3 ] && exit 100; exit 1`)
	runs := filepath.Join(dir, "runs")
	s, events := realSupervisor(t, Options{}, config.Respawn{User: currentUser(t), Path: p, Command: p + " " + runs})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var exits []Exit
	for range 3 {
		exits = append(exits, waitFor(t, events, EventExited).Exit)
	}
	waitFor(t, events, EventGaveUp)
	if diff := cmp.Diff([]Exit{{Code: 1}, {Code: 1}, {Code: 100}}, exits); diff != "" {
		t.Errorf("exits (-want +got):\n%s", diff)
	}
	if got := lines(t, runs); len(got) != 3 {
		t.Errorf("ran %d times, want 3", len(got))
	}
	if st := s.Status()[0]; st.Respawns != 2 {
		t.Errorf("respawns = %d, want 2", st.Respawns)
	}
}

func TestRealTooFast(t *testing.T) {
	dir := t.TempDir()
	p := script(t, dir, "crash", `echo run >> "$1"; exit 1`)
	runs := filepath.Join(dir, "runs")
	s, events := realSupervisor(t, Options{}, config.Respawn{User: currentUser(t), Path: p, Command: p + " " + runs})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	g := waitFor(t, events, EventGaveUp)
	if !strings.HasPrefix(g.Reason, "respawning too fast") {
		t.Errorf("gave up: %q", g.Reason)
	}
	if got := lines(t, runs); len(got) != MaxShortRuns+1 {
		t.Errorf("ran %d times, want %d", len(got), MaxShortRuns+1)
	}
	if st := s.Status()[0]; st.State != StateTooFast {
		t.Errorf("state %s, want too-fast", st.State)
	}
}

func TestRealStop(t *testing.T) {
	dir := t.TempDir()
	// stubborn ignores SIGTERM; its background sleep shares its process group.
	stubborn := script(t, dir, "stubborn", `trap "" TERM; sleep 600 & echo $! > "$1"; echo $$ > "$1.main"; wait`)
	polite := script(t, dir, "polite", `echo $$ > "$1"; exec sleep 600`)
	me := currentUser(t)
	s, events := realSupervisor(t, Options{StopGrace: 300 * time.Millisecond},
		config.Respawn{User: me, Path: stubborn, Command: stubborn + " " + filepath.Join(dir, "bg")},
		config.Respawn{User: me, Path: polite, Command: polite + " " + filepath.Join(dir, "polite.pid")})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, events, EventStarted)
	waitFor(t, events, EventStarted)
	var bg int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) { // a real child writing a file
		if b, err := os.ReadFile(filepath.Join(dir, "bg")); err == nil && strings.HasSuffix(string(b), "\n") {
			bg, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			if _, err := os.Stat(filepath.Join(dir, "bg.main")); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("stubborn child did not start")
		}
	}
	start := time.Now()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("Stop took %v, want the 300ms grace plus a little", took)
	}
	got := map[string]Exit{}
	for len(events) > 0 {
		if e := <-events; e.Kind == EventExited {
			if !e.Stopped {
				t.Errorf("exit during Stop not marked Stopped: %+v", e)
			}
			got[filepath.Base(e.Child.Path)] = e.Exit
		}
	}
	want := map[string]Exit{"stubborn": {Signal: syscall.SIGKILL}, "polite": {Signal: syscall.SIGTERM}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exits (-want +got):\n%s", diff)
	}
	// The group was SIGKILLed; the orphaned grandchild dies asynchronously.
	proctest.WaitDead(t, bg)
	for _, st := range s.Status() {
		if st.State != StateStopped {
			t.Errorf("%s: state %s, want stopped", st.Command, st.State)
		}
	}
}

func TestRealEnvAndCommandLine(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p := script(t, dir, "show", `{ echo "args=$#:$1|$2"; echo "cwd=$(pwd)"; env; } > "$OUT"; exit 100`)
	env := Environ(os.Environ(), append(Vars{Node: "nodea", Env: []string{"HA_FOO=bar baz"}}.List(), "OUT="+out))
	// The command line goes through /bin/sh as in classic: quotes group words.
	s, events := realSupervisor(t, Options{Env: env}, config.Respawn{User: currentUser(t), Path: p, Command: p + ` "a b" c`})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, events, EventGaveUp)
	got := lines(t, out)
	for _, want := range []string{"args=2:a b|c", "cwd=/", "HA_CURHOST=nodea", "HA_FOO=bar baz", "HA_DIR=/etc/ha.d", "PATH=" + os.Getenv("PATH")} {
		found := false
		for _, l := range got {
			found = found || l == want
		}
		if !found {
			t.Errorf("child output lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestRealCannotStart(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := script(t, dir, "ok", "exec sleep 600")
	me := currentUser(t)
	s, events := realSupervisor(t, Options{},
		config.Respawn{User: "no-such-user-hasuite", Path: ok, Command: ok, Line: 7},
		config.Respawn{User: me, Path: notExec, Command: notExec, Line: 8},
		config.Respawn{User: me, Path: ok, Command: ok, Line: 9})
	err := s.Start()
	if err == nil {
		t.Fatal("Start succeeded")
	}
	for _, want := range []string{
		`(ha.cf line 7): unknown user "no-such-user-hasuite"`,
		`(ha.cf line 8): cannot exec ` + notExec + `: permission denied`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error %q lacks %q", err, want)
		}
	}
	waitFor(t, events, EventStarted)
	states := []State{}
	for _, st := range s.Status() {
		states = append(states, st.State)
	}
	if diff := cmp.Diff([]State{StateFailed, StateFailed, StateRunning}, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}

	cerr := Check("/etc/ha.d/ha.cf", []config.Respawn{
		{User: "no-such-user-hasuite", Path: ok, Line: 7},
		{User: me, Path: notExec, Line: 8, Failfast: true},
		{User: me, Path: ok, Line: 9},
	})
	var cfgErr *config.Error
	if !errors.As(cerr, &cfgErr) {
		t.Fatalf("Check error %v is not a *config.Error", cerr)
	}
	for _, want := range []string{
		`/etc/ha.d/ha.cf:7: respawn: unknown user "no-such-user-hasuite"`,
		`/etc/ha.d/ha.cf:8: failfast: command "` + notExec + `" is not executable: permission denied`,
	} {
		if !strings.Contains(cerr.Error(), want) {
			t.Errorf("Check error %q lacks %q", cerr, want)
		}
	}
	if strings.Contains(cerr.Error(), ":9:") {
		t.Errorf("Check complains about a good line: %v", cerr)
	}
}

// TestRealOtherUserNeedsRoot: without root a child cannot run as someone else.
func TestRealOtherUserNeedsRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may run children as any user (see TestRealRunsAsUser)")
	}
	if currentUser(t) == "nobody" {
		t.Skip("already nobody")
	}
	dir := t.TempDir()
	p := script(t, dir, "x", "exit 100")
	s, _ := realSupervisor(t, Options{}, config.Respawn{User: "nobody", Path: p, Command: p})
	err := s.Start()
	if !errors.Is(err, syscall.EPERM) {
		t.Errorf("Start as non-root for user nobody: %v, want EPERM", err)
	}
}

// TestRealRunsAsUser: as root, the child gets the user's uid, primary gid
// and supplementary groups, and none of root's.
func TestRealRunsAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		netns.Skip(t, "needs root: starts a child as user nobody")
	}
	id, err := LookupUser("nobody")
	if err != nil {
		netns.Skip(t, "no user nobody: "+err.Error())
	}
	// A directory nobody can read and write, outside root's 0700 TempDir.
	dir, err := os.MkdirTemp("", "respawn-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	p := script(t, dir, "id", `{ id -u; id -g; id -G; } > "$1"; exit 100`)
	out := filepath.Join(dir, "out")
	s, events := realSupervisor(t, Options{}, config.Respawn{User: "nobody", Path: p, Command: p + " " + out})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, events, EventGaveUp)
	var groups []string
	for _, g := range id.Groups {
		groups = append(groups, strconv.Itoa(int(g)))
	}
	want := []string{strconv.Itoa(int(id.UID)), strconv.Itoa(int(id.GID)), strings.Join(groups, " ")}
	if diff := cmp.Diff(want, lines(t, out)); diff != "" {
		t.Errorf("id output (-want +got):\n%s", diff)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != id.UID {
		t.Errorf("output owned by uid %d, want %d", sys.Uid, id.UID)
	}
}
