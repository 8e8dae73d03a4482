// hooks_test.go: the hook runner against real shell scripts in a temporary rc.d.

package hooks

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/internal/proc/proctest"
)

// result is one finished job, as the test hook reports it.
type result struct {
	typ string
	err error
}

// fixture is a runner over a temporary rc.d, reporting finished jobs.
type fixture struct {
	dir   string // scratch directory for scripts' output
	rcdir string
	r     *Runner
	done  chan result
	logs  *test.Hook
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), done: make(chan result, 100)}
	f.rcdir = filepath.Join(f.dir, "rc.d")
	if err := os.Mkdir(f.rcdir, 0o755); err != nil {
		t.Fatal(err)
	}
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	f.logs = hook
	cfg.RCDir = f.rcdir
	cfg.Log = logger
	f.r = New(cfg)
	f.r.onDone = func(typ string, err error) { f.done <- result{typ, err} }
	t.Cleanup(f.r.Close)
	return f
}

// script writes an executable rc.d/<name>.
func (f *fixture) script(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.rcdir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// wait returns the next finished job, failing after a generous bound.
func (f *fixture) wait(t *testing.T) result {
	t.Helper()
	select {
	case r := <-f.done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no hook finished within 10s")
		return result{}
	}
}

func (f *fixture) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// messages logged at or above level that contain s.
func (f *fixture) logged(level logrus.Level, s string) int {
	n := 0
	for _, e := range f.logs.AllEntries() {
		if e.Level <= level && strings.Contains(e.Message, s) {
			n++
		}
	}
	return n
}

func TestEnvironment(t *testing.T) {
	for _, nice := range []bool{true, false} {
		t.Run("nicefailback="+strconv.FormatBool(nice), func(t *testing.T) {
			f := newFixture(t, Config{ConfDir: "/etc/ha.d", CurHost: "nodea", NiceFailback: nice, Vars: []string{"HA_EXTRA=1"}})
			f.script(t, "ping-test", `echo "arg=$*" > `+f.dir+`/env
env | grep '^HA_' | sort >> `+f.dir+"/env\n")
			msg := wire.New("ping-test").Add("src", "nodeb").Add("ipaddr", "IPaddr::10.0.0.1/24").
				Add("info", "two words").Add("CURHOST", "evil").Add("DIR", "/tmp").Add("bad=name", "x")
			msg.AddBinary("bin", []byte("secret"))
			msg.Add("src", "nodec") // a repeated field: the last one wins, as with setenv
			f.r.Run(msg)
			if r := f.wait(t); r.typ != "ping-test" || r.err != nil {
				t.Fatalf("job %+v", r)
			}
			want := []string{
				"arg=ping-test",
				"HA_CURHOST=nodea",
				"HA_DIR=/etc/ha.d",
				"HA_EXTRA=1",
				"HA_FUNCS=/etc/ha.d/shellfuncs",
				"HA_LOGD=no",
			}
			if nice {
				want = append(want, "HA_NICEFAILBACK=yes")
			}
			want = append(want,
				"HA_RCDIR="+f.rcdir,
				"HA_RESOURCEDIR=/etc/ha.d/resource.d",
				"HA_info=two words",
				"HA_ipaddr=IPaddr::10.0.0.1/24",
				"HA_src=nodec",
				"HA_t=ping-test",
			)
			got := strings.Split(strings.TrimSpace(f.read(t, "env")), "\n")
			sort.Strings(got[1:])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("hook environment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrderAndSkips(t *testing.T) {
	f := newFixture(t, Config{})
	log := f.dir + "/log"
	for _, name := range []string{"a", "b"} {
		f.script(t, name, `echo "$1 $HA_n" >> `+log+"\n")
	}
	// The shipped R1 hooks exist but must never run.
	for _, name := range []string{"status", "ip-request", "ip-request-resp", "ask_resources", "hb_takeover"} {
		f.script(t, name, `echo "$1 RAN" >> `+log+"\n")
	}
	f.script(t, ".hidden", `echo "$1 RAN" >> `+log+"\n")
	if err := os.WriteFile(filepath.Join(f.rcdir, "noexec"), []byte("#!/bin/sh\necho noexec RAN >> "+log+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(f.rcdir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}

	send := func(typ string, n int) { f.r.Run(wire.New(typ).Add("n", strconv.Itoa(n))) }
	n := 0
	for _, typ := range []string{"a", "status", "b", "ip-request", "noexec", "a", "missing", "ask_resources",
		"adir", ".hidden", "../rc.d/a", "", "ip-request-resp", "hb_takeover", "status", "b"} {
		n++
		send(typ, n)
	}
	var ran []string
	for range 4 {
		r := f.wait(t)
		if r.err != nil {
			t.Errorf("job %s: %v", r.typ, r.err)
		}
		ran = append(ran, r.typ)
	}
	if diff := cmp.Diff([]string{"a", "b", "a", "b"}, ran); diff != "" {
		t.Errorf("jobs run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("a 1\nb 3\na 6\nb 16\n", f.read(t, "log")); diff != "" {
		t.Errorf("hook log (-want +got):\n%s", diff)
	}
	for _, typ := range []string{"status", "ip-request", "ip-request-resp", "ask_resources", "hb_takeover"} {
		msg := "rc.d/" + typ + " is handled natively by heartbeatd; not run"
		if got := f.logged(logrus.InfoLevel, msg); got != 1 {
			t.Errorf("%q logged %d times, want once", msg, got)
		}
	}
	if got := f.r.Dropped(); got != 0 {
		t.Errorf("Dropped = %d", got)
	}
}

func TestFailingHookIsLogged(t *testing.T) {
	f := newFixture(t, Config{})
	f.script(t, "x", "echo oops\nexit 3\n")
	f.r.Run(wire.New("x"))
	r := f.wait(t)
	if r.err == nil || r.err.Error() != "rc.d/x: exit status 3" {
		t.Errorf("error %v, want exit status 3", r.err)
	}
	if f.logged(logrus.ErrorLevel, "rc.d/x: exit status 3") != 1 {
		t.Errorf("failure not logged at error")
	}
}

func TestTimeoutKillsGroup(t *testing.T) {
	f := newFixture(t, Config{Timeout: 300 * time.Millisecond})
	f.script(t, "hang", "sleep 60 &\necho $! > "+f.dir+"/pid\nsleep 60\n")
	f.script(t, "next", "exit 0\n")
	t0 := time.Now()
	f.r.Run(wire.New("hang"))
	f.r.Run(wire.New("next"))
	r := f.wait(t)
	if r.typ != "hang" || r.err == nil || r.err.Error() != "rc.d/hang: timed out after 300ms, process group killed" {
		t.Errorf("job %+v, want a timeout", r)
	}
	if el := time.Since(t0); el > 10*time.Second {
		t.Errorf("timeout took %s", el)
	}
	proctest.WaitDead(t, proctest.ReadPid(t, f.dir+"/pid"))
	if r := f.wait(t); r.typ != "next" || r.err != nil {
		t.Errorf("job after the timeout: %+v", r)
	}
}

// blocker makes rc.d/block signal that it started (by opening the "started"
// FIFO for writing) and then wait until the test opens "go" for writing.
func blocker(t *testing.T, f *fixture) (started func(), release func()) {
	t.Helper()
	for _, n := range []string{"started", "go"} {
		if err := syscall.Mkfifo(filepath.Join(f.dir, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.script(t, "block", "echo $$ > "+f.dir+"/pid\necho > "+f.dir+"/started\ncat "+f.dir+"/go > /dev/null\n")
	started = func() {
		// Read to EOF: closing early would kill the script with SIGPIPE.
		if _, err := os.ReadFile(filepath.Join(f.dir, "started")); err != nil {
			t.Fatal(err)
		}
	}
	release = func() {
		fd, err := os.OpenFile(filepath.Join(f.dir, "go"), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fd.Close()
	}
	return started, release
}

func TestQueueOverflow(t *testing.T) {
	f := newFixture(t, Config{QueueLen: 1})
	started, release := blocker(t, f)
	f.script(t, "x", "echo \"$HA_n\" >> "+f.dir+"/log\n")
	f.r.Run(wire.New("block"))
	started()
	for n := range 4 { // one fits in the queue, three are dropped
		f.r.Run(wire.New("x").Add("n", strconv.Itoa(n)))
	}
	if got := f.r.Dropped(); got != 3 {
		t.Errorf("Dropped = %d, want 3", got)
	}
	if got := f.logged(logrus.WarnLevel, "rc.d hook queue full (1 waiting): dropped rc.d/x (0 similar suppressed)"); got != 1 {
		t.Errorf("queue-full warning logged %d times, want 1 (rate-limited)", got)
	}
	release()
	for _, want := range []string{"block", "x"} {
		if r := f.wait(t); r.typ != want || r.err != nil {
			t.Errorf("job %+v, want %s", r, want)
		}
	}
	if got := f.read(t, "log"); got != "0\n" {
		t.Errorf("x ran for %q, want only the first", got)
	}
}

func TestCloseKillsRunningAndDropsQueued(t *testing.T) {
	f := newFixture(t, Config{CloseWait: 200 * time.Millisecond})
	started, _ := blocker(t, f)
	f.script(t, "x", "echo ran >> "+f.dir+"/log\n")
	f.r.Run(wire.New("block"))
	started()
	f.r.Run(wire.New("x"))
	f.r.Run(wire.New("x"))
	t0 := time.Now()
	f.r.Close()
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("Close took %s", el)
	}
	if r := f.wait(t); r.typ != "block" || r.err == nil || r.err.Error() != "rc.d/block: killed at shutdown" {
		t.Errorf("running job %+v, want killed at shutdown", r)
	}
	proctest.WaitDead(t, proctest.ReadPid(t, f.dir+"/pid"))
	if got := f.r.Dropped(); got != 2 {
		t.Errorf("Dropped = %d, want 2", got)
	}
	f.r.Run(wire.New("x")) // after Close: ignored
	f.r.Close()            // twice: fine
	select {
	case r := <-f.done:
		t.Errorf("job ran after Close: %+v", r)
	default:
	}
	if got := f.read(t, "log"); got != "" {
		t.Errorf("queued hooks ran: %q", got)
	}
}

func TestCloseWaitsForRunningJob(t *testing.T) {
	f := newFixture(t, Config{CloseWait: 10 * time.Second})
	started, release := blocker(t, f)
	f.r.Run(wire.New("block"))
	started()
	closed := make(chan struct{})
	go func() { f.r.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while the job was running")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	<-closed
	if r := f.wait(t); r.typ != "block" || r.err != nil {
		t.Errorf("job %+v, want a clean finish", r)
	}
}
