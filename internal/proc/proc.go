// proc.go: starting children in their own process group, with output in anonymous files.

// Package proc runs child processes as heartbeat runs them: each in its own
// process group, killed whole, with its output in anonymous memory files
// rather than pipes, so a daemon it leaves behind holding stdout open
// neither holds the caller up nor gets SIGPIPE later.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// Command is exec.CommandContext for a child that leads its own process
// group: when ctx ends the whole group, children it left behind included,
// gets SIGKILL.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return SignalGroup(cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// SignalGroup sends sig to the process group led by pid; a group that is
// already gone is not an error.
func SignalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// OutputFile returns an anonymous file for a child's output: a memfd, or an
// unlinked temporary file where memfd_create is unavailable. Name says what
// it holds ("stdout", "hook").
func OutputFile(name string) (*os.File, error) {
	if fd, err := unix.MemfdCreate("hasuite-"+name, unix.MFD_CLOEXEC); err == nil {
		return os.NewFile(uintptr(fd), "memfd:"+name), nil
	}
	f, err := os.CreateTemp("", "hasuite-"+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("creating %s output file: %w", name, err)
	}
	os.Remove(f.Name())
	return f, nil
}

// ReadOutput returns what was written to f, at most its last limit bytes;
// nil when there is nothing or it cannot be read.
func ReadOutput(f *os.File, limit int64) []byte {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	off := max(fi.Size()-limit, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil
	}
	return b
}

// IsExecutableFile is the shell's [ -f path -a -x path ]: a regular file
// (symbolic links followed) that we may execute.
func IsExecutableFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && unix.Access(path, unix.X_OK) == nil
}
