// ldirectord.go: the built-in ldirectord agent, "ldirectord[::configfile]".

package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/proc"
)

// Where ldirectord is looked for when Env.Ldirectord is empty: beside the
// running executable (the hasuite one), then PATH, then the classic path.
const (
	ldirectordName    = "ldirectord"
	classicLdirectord = "/usr/sbin/ldirectord"
)

// After a successful stop, Stop waits for status to say "stopped": the Perl
// ldirectord's stop only sends SIGTERM, and with cleanstop the daemon then
// purges IPVS for a while. The wait is bounded by Env.ScriptTimeout, or by
// ldirectordStopWait when that is 0; status is asked every
// ldirectordStopPoll.
const (
	ldirectordStopWait = 30 * time.Second
	ldirectordStopPoll = 100 * time.Millisecond
)

// Ldirectord is the built-in agent for "ldirectord" and
// "ldirectord::<configfile>": it runs "<ldirectord> [configfile]
// start|stop|status".
type Ldirectord struct {
	name   string
	config string
	env    Env
	log    logrus.FieldLogger
}

// NewLdirectord returns the agent for ldirectord with args: none, or the
// config file ldirectord is given (resolved by ldirectord itself).
func NewLdirectord(args []string, env Env) (*Ldirectord, error) {
	return newLdirectord(strings.Join(append([]string{ldirectordName}, args...), "::"), args, env)
}

func newLdirectord(name string, args []string, env Env) (*Ldirectord, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("resource %s: ldirectord takes at most one argument, the config file; got %d", name, len(args))
	}
	l := &Ldirectord{name: name, env: env, log: agentLog(env, name)}
	if len(args) == 1 {
		l.config = args[0]
	}
	return l, nil
}

// Name returns the resource as written in haresources.
func (l *Ldirectord) Name() string { return l.name }

// Binary returns the ldirectord program the agent runs: Env.Ldirectord if
// set, else "ldirectord" beside the running executable, else the first in
// PATH, else /usr/sbin/ldirectord.
func (l *Ldirectord) Binary() string {
	if l.env.Ldirectord != "" {
		return l.env.Ldirectord
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		exeDir = filepath.Dir(exe)
	}
	return findLdirectord(exeDir, exec.LookPath)
}

// findLdirectord is Binary's search with its inputs injected.
func findLdirectord(exeDir string, lookPath func(string) (string, error)) string {
	if exeDir != "" {
		if p := filepath.Join(exeDir, ldirectordName); proc.IsExecutableFile(p) {
			return p
		}
	}
	if p, err := lookPath(ldirectordName); err == nil {
		return p
	}
	return classicLdirectord
}

// Validate reports an error if the ldirectord program is not an executable
// regular file.
func (l *Ldirectord) Validate() error {
	if p := l.Binary(); !proc.IsExecutableFile(p) {
		return fmt.Errorf("resource %s: %s is not an executable file", l.name, p)
	}
	return nil
}

func (l *Ldirectord) args() []string {
	if l.config == "" {
		return nil
	}
	return []string{l.config}
}

// Start runs "ldirectord [config] start"; a non-zero exit is a *RunError.
// ldirectord itself does nothing when it is already running.
func (l *Ldirectord) Start(ctx context.Context) error {
	bin := l.Binary()
	l.log.Infof("Running %s", command(bin, l.args(), "start"))
	if _, err := runScript(ctx, l.env, l.log, bin, l.args(), "start", true); err != nil {
		return fmt.Errorf("resource %s: %w", l.name, err)
	}
	return nil
}

// Stop runs "ldirectord [config] stop" and then waits, bounded, until
// status no longer reports it running.
func (l *Ldirectord) Stop(ctx context.Context) error {
	bin := l.Binary()
	l.log.Infof("Running %s", command(bin, l.args(), "stop"))
	if _, err := runScript(ctx, l.env, l.log, bin, l.args(), "stop", true); err != nil {
		return fmt.Errorf("resource %s: %w", l.name, err)
	}
	wait := l.env.ScriptTimeout
	if wait <= 0 {
		wait = ldirectordStopWait
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(ldirectordStopPoll)
	defer poll.Stop()
	for {
		up, err := l.Running(ctx)
		if err != nil {
			return err
		}
		if !up {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("resource %s: waiting for ldirectord to stop: %w", l.name, context.Cause(ctx))
		case <-deadline.C:
			return fmt.Errorf("resource %s: ldirectord still running %s after stop", l.name, wait)
		case <-poll.C:
		}
	}
}

// Running runs "ldirectord [config] status" and judges its exit code as an
// LSB status: 0 running, 1 (dead, stale PID file) or 3 (stopped) not
// running. Any other code is an error, except from the Perl ldirectord
// (2 = config error, 255 = usage), whose standard output is then judged
// by the classic rule as heartbeat 3.0.6 did (in practice: not running).
func (l *Ldirectord) Running(ctx context.Context) (bool, error) {
	bin := l.Binary()
	res, err := runScript(ctx, l.env, l.log, bin, l.args(), "status", false)
	if err != nil {
		return false, fmt.Errorf("resource %s: %w", l.name, err)
	}
	switch res.code {
	case 0:
		return true, nil
	case 1, 3:
		return false, nil
	}
	if isPerlScript(bin) {
		up := StatusOutputRunning(res.stdout)
		l.log.WithField("rc", res.code).Warnf("%s: unexpected exit code %d, judged by its output: running=%t: %s",
			command(bin, l.args(), "status"), res.code, up, tail(res.stderr))
		return up, nil
	}
	rerr := &RunError{Command: command(bin, l.args(), "status"), Code: res.code, Stderr: tail(res.stderr),
		Err: errors.New("unexpected status exit code")}
	return false, fmt.Errorf("resource %s: %w", l.name, rerr)
}

// isPerlScript reports whether p starts with a "#!" line naming perl, as the
// classic /usr/sbin/ldirectord does.
func isPerlScript(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	buf = buf[:n]
	if !bytes.HasPrefix(buf, []byte("#!")) {
		return false
	}
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	}
	return bytes.Contains(buf, []byte("perl"))
}
