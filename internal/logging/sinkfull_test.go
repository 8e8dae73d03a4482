// sinkfull_test.go: a log file on a full file system (a tmpfs, as root):
// a line the disk cut short is ended, so the next starts on its own line.

package logging

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFileSinkEndsTornLine(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("HASUITE_REQUIRE_ROOT_SUITES") == "1" {
			t.Fatal("needs root (mounts a tmpfs)")
		}
		t.Skip("needs root (mounts a tmpfs)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	path := filepath.Join(dir, "ha-log")
	// The log ends 20 bytes before its page does; everything else is full.
	if err := os.WriteFile(path, append(bytes.Repeat([]byte("x"), 4096-20-1), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = filler.Write(make([]byte, 4096))
	}
	filler.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling: %v", err)
	}

	s, err := openFileSink(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	f := &Formatter{Ident: "heartbeat", Node: "nodea", Pid: 1}
	ev := func(msg string) *event { return &event{t: time.Now(), sev: sevInfo, body: "info: " + msg} }
	if err := s.write(f, ev("cut short by the full disk "+strings.Repeat("y", 60))); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v, want ENOSPC", err)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := s.write(f, ev("after")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b[4096-20:]), "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "heartbeat: [1]: info: after") || strings.Contains(lines[0], "after") {
		t.Errorf("after the torn line the file ends %q, want the cut line then the next on its own", lines)
	}
}
