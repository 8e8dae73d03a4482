// proc_test.go: real tiny shell processes, their groups and their output.

package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/proc/proctest"
)

// The child leaves a grandchild in the background; ending ctx must kill
// both, and Run must return at once.
func TestCommandKillsGroup(t *testing.T) {
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"timeout", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			ctx, cancel := tt.ctx()
			defer cancel()
			cmd := Command(ctx, "/bin/sh", "-c", `sleep 60 & echo $! > "$1"; sleep 60`, "sh", pidFile)
			t0 := time.Now()
			err := cmd.Run()
			if el := time.Since(t0); el > 10*time.Second {
				t.Errorf("Run took %s", el)
			}
			if err == nil {
				t.Fatal("Run succeeded, want it killed")
			}
			if !errors.Is(ctx.Err(), tt.want) {
				t.Errorf("ctx error %v, want %v", ctx.Err(), tt.want)
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Errorf("child ended with %v, want SIGKILL", cmd.ProcessState)
			}
			proctest.WaitDead(t, proctest.ReadPid(t, pidFile))
		})
	}
}

func TestCommandOwnGroup(t *testing.T) {
	cmd := Command(context.Background(), "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer SignalGroup(cmd.Process.Pid, syscall.SIGKILL)
	pgid, err := syscall.Getpgid(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if pgid != cmd.Process.Pid {
		t.Errorf("child %d in process group %d, want its own", cmd.Process.Pid, pgid)
	}
}

func TestSignalGroupGone(t *testing.T) {
	cmd := Command(context.Background(), "/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := SignalGroup(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Errorf("SignalGroup on a reaped child: %v, want nil", err)
	}
}

// A grandchild that keeps stdout open must neither hold Run up nor lose
// what was written.
func TestOutputFileGrandchildKeepsItOpen(t *testing.T) {
	out, err := OutputFile("stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := os.Stat(out.Name()); err == nil {
		t.Errorf("output file %s has a name in the file system", out.Name())
	}
	cmd := Command(context.Background(), "/bin/sh", "-c", `echo before; sleep 30 & echo $!; echo after`)
	cmd.Stdout = out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("Run took %s, waited for the grandchild", el)
	}
	f := strings.Fields(string(ReadOutput(out, 1<<20)))
	if len(f) != 3 || f[0] != "before" || f[2] != "after" {
		t.Fatalf("output %q, want before, a pid, after", f)
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("grandchild %d not running: %v", pid, err)
	}
	SignalGroup(cmd.Process.Pid, syscall.SIGKILL)
	proctest.WaitDead(t, pid)
}

func TestReadOutput(t *testing.T) {
	for _, tt := range []struct {
		name    string
		written string
		limit   int64
		want    []byte
	}{
		{"empty", "", 10, nil},
		{"all", "hello\n", 10, []byte("hello\n")},
		{"exactly", "hello", 5, []byte("hello")},
		{"the end", "0123456789", 4, []byte("6789")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := OutputFile("test")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(tt.written); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ReadOutput(f, tt.limit)); diff != "" {
				t.Errorf("ReadOutput (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsExecutableFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exe := write("exe", 0o755)
	userOnly := write("user-only", 0o700)
	plain := write("plain", 0o644)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{exe, true},
		{userOnly, true},
		{plain, false}, // not even for root: no x bit at all
		{sub, false},
		{filepath.Join(dir, "missing"), false},
		{link("to-exe", exe), true},
		{link("to-plain", plain), false},
		{link("to-dir", sub), false},
		{link("dangling", filepath.Join(dir, "missing")), false},
	} {
		if got := IsExecutableFile(tt.path); got != tt.want {
			t.Errorf("IsExecutableFile(%s) = %t, want %t", filepath.Base(tt.path), got, tt.want)
		}
	}
}
