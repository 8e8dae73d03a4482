// process.go: starting a real child: user credentials, /bin/sh -c "exec ...", process group.

package respawn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/internal/proc"
)

// process is a started child as the Supervisor sees it.
type process interface {
	Pid() int
	// Signal sends sig to the child's process group.
	Signal(sig syscall.Signal) error
	// Wait blocks until the child has exited.
	Wait() Exit
}

// spawnFunc starts one child; the real one is startProcess.
type spawnFunc func(r config.Respawn, env []string) (process, error)

// Identity is the user a child runs as.
type Identity struct {
	UID, GID uint32   // from the passwd entry
	Groups   []uint32 // supplementary groups (initgroups), the primary one included
}

// LookupUser resolves a respawn user name as classic heartbeat does
// (getpwnam, then initgroups at start).
func LookupUser(name string) (Identity, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return Identity{}, fmt.Errorf("unknown user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return Identity{}, fmt.Errorf("user %q: bad uid or gid: %w", name, err)
	}
	id := Identity{UID: uint32(uid), GID: uint32(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return Identity{}, fmt.Errorf("groups of user %q: %w", name, err)
	}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return Identity{}, fmt.Errorf("groups of user %q: bad gid %q", name, g)
		}
		id.Groups = append(id.Groups, uint32(n))
	}
	return id, nil
}

// Check verifies what classic heartbeat checks when it reads a respawn or
// failfast line: the user exists and the command's path is executable. The
// errors are *config.Error values naming file and line, joined. A classic
// ipfail path is checked after mapping it to hasuite's ipfail (see New).
func Check(file string, children []config.Respawn) error {
	var errs []error
	for _, r := range children {
		directive := "respawn"
		if r.Failfast {
			directive = "failfast"
		}
		if m, ok := mapBuiltin(r); ok {
			r = m
		}
		if _, err := LookupUser(r.User); err != nil {
			errs = append(errs, &config.Error{File: file, Line: r.Line, Msg: directive + ": " + err.Error()})
		}
		if err := unix.Access(r.Path, unix.X_OK); err != nil {
			errs = append(errs, &config.Error{File: file, Line: r.Line,
				Msg: fmt.Sprintf("%s: command %q is not executable: %v", directive, r.Path, err)})
		}
	}
	return errors.Join(errs...)
}

// startProcess starts r as its user in a new process group, with stdin,
// stdout and stderr on /dev/null, through `/bin/sh -c "exec <command>"` as
// classic heartbeat does (so the command line keeps its shell quoting).
func startProcess(r config.Respawn, env []string) (process, error) {
	id, err := LookupUser(r.User)
	if err != nil {
		return nil, err
	}
	// Classic checks access(path, X_OK) first, so that a command that can
	// never run is not respawned for ever.
	if err := unix.Access(r.Path, unix.X_OK); err != nil {
		return nil, fmt.Errorf("cannot exec %s: %w", r.Path, err)
	}
	// The Supervisor ends children with Signal, never through a context.
	cmd := proc.Command(context.Background(), "/bin/sh", "-c", "exec "+r.Command)
	cmd.Args[0] = "sh"
	cmd.Env = env
	cmd.Dir = "/"
	// Changing identity needs privilege; running as ourselves does not.
	if os.Geteuid() == 0 || uint32(os.Geteuid()) != id.UID || uint32(os.Getegid()) != id.GID {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: id.UID, Gid: id.GID, Groups: id.Groups}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %q as user %s (uid %d, gid %d): %w", r.Command, r.User, id.UID, id.GID, err)
	}
	return &execProcess{cmd: cmd}, nil
}

// execProcess is a child started with os/exec.
type execProcess struct{ cmd *exec.Cmd }

func (p *execProcess) Pid() int { return p.cmd.Process.Pid }

func (p *execProcess) Signal(sig syscall.Signal) error {
	return proc.SignalGroup(p.cmd.Process.Pid, sig)
}

func (p *execProcess) Wait() Exit {
	_ = p.cmd.Wait() // the status is in ProcessState
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return Exit{Code: p.cmd.ProcessState.ExitCode()}
	case ws.Signaled():
		return Exit{Signal: ws.Signal()}
	}
	return Exit{Code: ws.ExitStatus()}
}
