// Tests for routing, syslog datagrams and the non-blocking queue.

package logging

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
)

// testEnv is an env with a fixed pid, no syslog and stderr captured.
func testEnv(stderr *bytes.Buffer) env {
	return env{
		pid:         4242,
		syslogAddrs: nil,
		now:         func() time.Time { return stamp },
		stderr:      stderr,
		queue:       64,
		exit:        func(int) { panic("unexpected exit") },
	}
}

// logAll writes one entry per level, all stamped with stamp.
func logAll(l *logrus.Logger) {
	e := l.WithTime(stamp)
	e.Debug("dbg")
	e.Info("inf")
	e.Warn("wrn")
	e.Error("err")
	Crit(e, "crt")
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func line(level, msg string) string {
	return "Nov 22 00:35:49 nodea heartbeat: [4242]: " + level + ": " + msg
}

func TestRoutingFiles(t *testing.T) {
	all := []string{line("debug", "dbg"), line("info", "inf"), line("WARN", "wrn"), line("ERROR", "err"), line("CRIT", "crt")}
	tests := []struct {
		name      string
		debug     int
		wantLog   []string
		wantDebug []string
	}{
		{"debug 0: no debug entries anywhere", 0, all[1:], all[1:]},
		{"debug 1: debugfile gets debug, logfile does not", 1, all[1:], all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var stderr bytes.Buffer
			o := Options{Node: "nodea", File: filepath.Join(dir, "ha-log"), DebugFile: filepath.Join(dir, "ha-debug"), Debug: tc.debug}
			l, closeFn, err := setup(o, testEnv(&stderr))
			if err != nil {
				t.Fatal(err)
			}
			logAll(l)
			if err := closeFn(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantLog, readLines(t, o.File)); diff != "" {
				t.Errorf("logfile (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantDebug, readLines(t, o.DebugFile)); diff != "" {
				t.Errorf("debugfile (-want +got):\n%s", diff)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr got %q, want nothing", stderr.String())
			}
		})
	}
}

func TestTerminal(t *testing.T) {
	tests := []struct {
		name    string
		journal bool
		want    string
	}{
		{"plain", false, line("debug", "dbg") + "\n" + line("WARN", "wrn") + "\n"},
		{"journald stream", true, "<7>debug: dbg\n<4>WARN: wrn\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			e := testEnv(&stderr)
			e.journalStderr = tc.journal
			l, closeFn, err := setup(Options{Node: "nodea", Terminal: true, Debug: 1}, e)
			if err != nil {
				t.Fatal(err)
			}
			l.WithTime(stamp).Debug("dbg")
			l.WithTime(stamp).Warn("wrn")
			if err := closeFn(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// listenSyslog returns a unixgram socket in a temp dir and a function
// returning every datagram received so far (call after close).
func listenSyslog(t *testing.T) (string, func() []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, func() []string {
		var got []string
		buf := make([]byte, 65536)
		for {
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return got
			}
			got = append(got, string(buf[:n]))
		}
	}
}

func TestSyslog(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want []string
	}{
		{"local3 all levels", Options{Facility: "local3", Debug: 1}, []string{
			"<159>Nov 22 00:35:49 heartbeat: [4242]: debug: dbg",
			"<158>Nov 22 00:35:49 heartbeat: [4242]: info: inf",
			"<156>Nov 22 00:35:49 heartbeat: [4242]: WARN: wrn",
			"<155>Nov 22 00:35:49 heartbeat: [4242]: ERROR: err",
			"<154>Nov 22 00:35:49 heartbeat: [4242]: CRIT: crt",
		}},
		{"nothing configured implies daemon", Options{Ident: "ipfail"}, []string{
			"<30>Nov 22 00:35:49 ipfail: [4242]: info: inf",
			"<28>Nov 22 00:35:49 ipfail: [4242]: WARN: wrn",
			"<27>Nov 22 00:35:49 ipfail: [4242]: ERROR: err",
			"<26>Nov 22 00:35:49 ipfail: [4242]: CRIT: crt",
		}},
		{"none disables syslog", Options{Facility: "none", DebugFile: "/dev/null"}, nil},
		{"logfile alone: no syslog", Options{File: "/dev/null"}, nil},
		{"terminal alone: no syslog", Options{Terminal: true}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, read := listenSyslog(t)
			var stderr bytes.Buffer
			e := testEnv(&stderr)
			e.syslogAddrs = []string{addr}
			tc.o.Node = "nodea"
			l, closeFn, err := setup(tc.o, e)
			if err != nil {
				t.Fatal(err)
			}
			logAll(l)
			if err := closeFn(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, read()); diff != "" {
				t.Errorf("datagrams (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSyslogUnavailable(t *testing.T) {
	var stderr bytes.Buffer
	e := testEnv(&stderr)
	e.syslogAddrs = []string{filepath.Join(t.TempDir(), "missing")}
	l, closeFn, err := setup(Options{Node: "nodea", Facility: "daemon"}, e)
	if err != nil {
		t.Fatalf("setup must not fail without a syslog daemon: %v", err)
	}
	l.Info("one")
	l.Info("two")
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr.String(), "logging to syslog"); n != 1 {
		t.Errorf("stderr reports %d syslog failures, want exactly 1: %q", n, stderr.String())
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"unknown facility", Options{Facility: "local9"}, `logging: unknown log facility "local9"`},
		{"unopenable file", Options{File: "/nonexistent-dir/ha-log"}, "logging: opening log file: open /nonexistent-dir/ha-log:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, _, err := setup(tc.o, testEnv(&stderr))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestFacilityNames(t *testing.T) {
	for name, want := range map[string]int{"daemon": 3, "DAEMON": 3, "local0": 16, "local7": 23, "authpriv": 10, "user": 1} {
		got, err := Facility(name)
		if err != nil || got != want {
			t.Errorf("Facility(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
}

func TestLevel(t *testing.T) {
	for debug, want := range map[int]logrus.Level{-1: logrus.InfoLevel, 0: logrus.InfoLevel, 1: logrus.DebugLevel, 2: logrus.TraceLevel, 255: logrus.TraceLevel} {
		if got := Level(debug); got != want {
			t.Errorf("Level(%d) = %v, want %v", debug, got, want)
		}
	}
}

func TestFileSinkReopensAfterRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	s, err := openFileSink(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	f := &Formatter{Ident: "heartbeat", Node: "nodea", Pid: 4242}
	write := func(msg string) {
		t.Helper()
		if err := s.write(f, &event{t: stamp, sev: sevInfo, body: "info: " + msg}); err != nil {
			t.Fatal(err)
		}
	}
	write("before")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write("after")
	if diff := cmp.Diff([]string{line("info", "before")}, readLines(t, path+".1")); diff != "" {
		t.Errorf("rotated file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{line("info", "after")}, readLines(t, path)); diff != "" {
		t.Errorf("new file (-want +got):\n%s", diff)
	}
}

func TestFatalFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	var stderr bytes.Buffer
	e := testEnv(&stderr)
	var code = -1
	e.exit = func(c int) { code = c }
	l, _, err := setup(Options{Node: "nodea", File: path}, e)
	if err != nil {
		t.Fatal(err)
	}
	l.WithTime(stamp).Fatal("bye")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if diff := cmp.Diff([]string{line("CRIT", "bye")}, readLines(t, path)); diff != "" {
		t.Errorf("logfile (-want +got):\n%s", diff)
	}
}

// stuckWriter blocks every Write until release is closed, signalling entered
// on the first one.
type stuckWriter struct {
	entered chan struct{}
	release chan struct{}
	buf     bytes.Buffer
	first   bool
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	if !w.first {
		w.first = true
		close(w.entered)
	}
	<-w.release
	return w.buf.Write(p)
}

func TestStuckWriterNeverBlocks(t *testing.T) {
	const queue = 8
	const extra = 100
	w := &stuckWriter{entered: make(chan struct{}), release: make(chan struct{})}
	f := &Formatter{Ident: "heartbeat", Node: "nodea", Pid: 4242}
	var errOut bytes.Buffer
	d := newDispatcher(f, []*route{{name: "stuck", s: &writerSink{w: w}}}, queue, &errOut)
	l := logrus.New()
	l.Out = discard{}
	l.Formatter = nopFormatter{}
	l.AddHook(d)

	l.WithTime(stamp).Info("first")
	<-w.entered // the drain goroutine now holds "first" and is stuck

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range extra {
			l.WithTime(stamp).Infof("msg %d", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked behind a stuck writer")
	}
	if got, want := Dropped(l), uint64(extra-queue); got != want {
		t.Errorf("Dropped = %d, want %d", got, want)
	}

	close(w.release)
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	// The drop is announced as soon as the writer is free again.
	want := []string{
		line("info", "first"),
		line("ERROR", fmt.Sprintf("logging: %d messages were dropped (log queue full)", extra-queue)),
	}
	for i := range queue {
		want = append(want, line("info", fmt.Sprintf("msg %d", i)))
	}
	got := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}

	l.Info("after close")
	if got, want := Dropped(l), uint64(extra-queue+1); got != want {
		t.Errorf("Dropped after close = %d, want %d", got, want)
	}
}
