// fifo_test.go: a real FIFO: creation rules, writers, the classic shell tools.

package fifo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// running is a Reader whose Run goroutine sends messages to a channel.
type running struct {
	r      *Reader
	msgs   chan *wire.Message
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, path string) *running {
	t.Helper()
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &running{r: r, msgs: make(chan *wire.Message, 10000), cancel: cancel, done: make(chan error, 1)}
	go func() { rn.done <- r.Run(ctx, func(m *wire.Message) { rn.msgs <- m }) }()
	t.Cleanup(func() { rn.stop(t) })
	return rn
}

func (rn *running) stop(t *testing.T) {
	t.Helper()
	rn.cancel()
	select {
	case err := <-rn.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		rn.done <- nil // for a second stop
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// next returns the next message; the timeout only guards against a hang.
func (rn *running) next(t *testing.T) *wire.Message {
	t.Helper()
	select {
	case m := <-rn.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
		return nil
	}
}

// openWriter opens the FIFO for writing; it fails at once (ENXIO) rather
// than hanging when the reader has gone.
func openWriter(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
}

// write writes s to the FIFO in one write(2).
func write(t *testing.T, path, s string) {
	t.Helper()
	f, err := openWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func fifoMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestOpenCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	prepare := map[string]func(p string) error{
		"missing":      func(string) error { return nil },
		"regular file": func(p string) error { return os.WriteFile(p, []byte(">>>\nt=x\n<<<\n"), 0o644) },
		"symlink":      func(p string) error { return os.Symlink(target, p) },
		"FIFO 0666":    func(p string) error { return syscall.Mkfifo(p, 0o666) },
		"FIFO 0622":    func(p string) error { return syscall.Mknod(p, syscall.S_IFIFO|0o622, 0) },
	}
	for name, prep := range prepare {
		t.Run(name, func(t *testing.T) {
			old := syscall.Umask(0)
			defer syscall.Umask(old)
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if err := prep(p); err != nil {
				t.Fatal(err)
			}
			r, err := Open(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got, want := fifoMode(t, p), fs.ModeNamedPipe|Mode; got != want {
				t.Errorf("mode = %v, want %v", got, want)
			}
		})
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep" {
		t.Errorf("symlink target changed: %q, %v", b, err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dir, "dir"), nil); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Open on a directory: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "nodir", "fifo"), nil); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestRunBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	rn := start(t, path)
	// Two writers in turn: the reader must not see end-of-file in between.
	write(t, path, ">>>\nt=ask_resources\nrsc_hold=all\ninfo=me\n<<<\n")
	write(t, path, "garbage\n")
	write(t, path, ">>>\nt=hb_takeover\n") // a writer that dies half-way
	write(t, path, ">>>\nt=hb_takeover\nrsc_hold=local\n<<<\n")
	write(t, path, ">>>\nrsc_hold=local\n<<<\n") // no type
	if err := Send(path, wire.New("ask_resources").Add("rsc_hold", "foreign").Add("info", "me")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		got = append(got, rn.next(t).String())
	}
	want := []string{
		"t=ask_resources rsc_hold=all info=me",
		"t=hb_takeover rsc_hold=local",
		"t=ask_resources rsc_hold=foreign info=me",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	rn.stop(t)
	if diff := cmp.Diff(Stats{Messages: 3, Dropped: 3}, rn.r.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	// The FIFO stays; with no reader, Send fails at once instead of hanging.
	if fifoMode(t, path)&fs.ModeNamedPipe == 0 {
		t.Error("FIFO removed")
	}
	if err := Send(path, wire.New("x")); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("Send without a reader: %v, want ENXIO", err)
	}
	if err := Send(path, wire.New("").Del("t")); err == nil {
		t.Error("Send of a message without t succeeded")
	}
}

func TestManyWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	rn := start(t, path)
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := wire.New("ask_resources").Add("writer", fmt.Sprint(w)).Add("n", fmt.Sprint(i))
				if err := Send(path, m); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for range writers * each {
		m := rn.next(t)
		seen[m.Get("writer")+"/"+m.Get("n")] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct messages, want %d", len(seen), writers*each)
	}
	if s := rn.r.Stats(); s.Dropped != 0 {
		t.Errorf("dropped %d", s.Dropped)
	}
}

// shell runs a classic shell snippet with HA_FIFO pointing at path.
func shell(t *testing.T, path, script string, args ...string) {
	t.Helper()
	// ha_clustermsg's blocking open would hang if the reader were gone.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", script, "sh"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	logFile := filepath.Join(filepath.Dir(path), "ha-log")
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HA_") }),
		"HA_FIFO="+path, "HA_LOGFILE="+logFile, "HA_DEBUGLOG="+logFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

func TestClassicShellFunctions(t *testing.T) {
	for _, f := range []string{"/etc/ha.d/shellfuncs", "/usr/share/heartbeat/hb_standby", "/usr/share/heartbeat/hb_takeover"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("classic heartbeat scripts not installed: %v", err)
		}
	}
	path := filepath.Join(t.TempDir(), "fifo")
	rn := start(t, path)
	shell(t, path, ". /etc/ha.d/shellfuncs; printf 't=hb_takeover\\nrsc_hold=foreign\\n' | ha_clustermsg")
	shell(t, path, `exec /usr/share/heartbeat/hb_standby "$@"`, "failback")
	shell(t, path, `exec /usr/share/heartbeat/hb_takeover "$@"`, "local")
	var got []string
	for range 3 {
		got = append(got, rn.next(t).String())
	}
	want := []string{
		"t=hb_takeover rsc_hold=foreign",
		"t=ask_resources rsc_hold=foreign info=me", // failback means foreign
		"t=hb_takeover rsc_hold=local",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestRunLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	rn := start(t, path)
	go func() { // bigger than the pipe buffer: the writer blocks while we read
		f, err := openWriter(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		fmt.Fprintf(f, ">>>\nt=big\nv=%s\n<<<\n>>>\nt=small\n<<<\n", strings.Repeat("x", wire.MaxMessage+10))
	}()
	if m := rn.next(t); m.Type() != "small" {
		t.Errorf("got %s, want the small message", m)
	}
	if s := rn.r.Stats(); s.Dropped != 1 {
		t.Errorf("dropped %d, want 1", s.Dropped)
	}
}
