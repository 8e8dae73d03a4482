// script.go: the script agent, which runs resource.d/ and init.d/ scripts as ResourceManager does.

package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/proc"
)

// Classic locations, used when Env leaves ConfDir or InitDir empty.
const (
	defaultConfDir = "/etc/ha.d"
	defaultInitDir = "/etc/init.d"
)

// Output kept from one script run: status output is judged whole (classic
// backticks read all of it), so keep plenty; error messages quote only the
// end of stderr.
const (
	maxOutput  = 1 << 20
	stderrTail = 512
)

// Script is the agent for any resource that is not built in: an executable
// found in ConfDir/resource.d or InitDir, called as
// "<path> <args...> start|stop|status" like heartbeat's ResourceManager.
type Script struct {
	name   string
	script string
	args   []string
	env    Env
	log    logrus.FieldLogger
}

// NewScript returns the agent for resource name (as written in haresources)
// running script with args. The script is looked up on every call, as
// ResourceManager does; Validate checks it early.
func NewScript(name, script string, args []string, env Env) *Script {
	return &Script{
		name:   name,
		script: script,
		args:   args,
		env:    env,
		log:    agentLog(env, name),
	}
}

// Name returns the resource as written in haresources.
func (s *Script) Name() string { return s.name }

// Path returns the script that would run: ConfDir/resource.d/<script>, else
// InitDir/<script>, the first that is an executable regular file.
func (s *Script) Path() (string, error) {
	p, err := LocateScript(s.script, s.env)
	if err != nil {
		return "", fmt.Errorf("resource %s: %w", s.name, err)
	}
	return p, nil
}

// Validate reports an error if the script cannot be found; it is what
// Start, Stop and Running would fail with.
func (s *Script) Validate() error {
	_, err := s.Path()
	return err
}

// Start runs "<path> <args> start"; a non-zero exit is a *RunError.
func (s *Script) Start(ctx context.Context) error { return s.do(ctx, "start") }

// Stop runs "<path> <args> stop"; a non-zero exit is a *RunError.
func (s *Script) Stop(ctx context.Context) error { return s.do(ctx, "stop") }

func (s *Script) do(ctx context.Context, action string) error {
	path, err := s.Path()
	if err != nil {
		return err
	}
	s.log.Infof("Running %s", command(path, s.args, action))
	if _, err := runScript(ctx, s.env, s.log, path, s.args, action, true); err != nil {
		return fmt.Errorf("resource %s: %w", s.name, err)
	}
	return nil
}

// Running runs "<path> <args> status" and judges its standard output by the
// classic rule (StatusOutputRunning); the exit code is ignored. Only a
// missing script, a timeout or a failure to run it is an error.
func (s *Script) Running(ctx context.Context) (bool, error) {
	path, err := s.Path()
	if err != nil {
		return false, err
	}
	res, err := runScript(ctx, s.env, s.log, path, s.args, "status", false)
	if err != nil {
		return false, fmt.Errorf("resource %s: %w", s.name, err)
	}
	return StatusOutputRunning(res.stdout), nil
}

// NotFoundError is returned when a resource script is in neither directory.
// Its text is ResourceManager's.
type NotFoundError struct {
	Script string
}

func (e *NotFoundError) Error() string { return "Cannot locate resource script " + e.Script }

// LocateScript returns ConfDir/resource.d/<script> or else InitDir/<script>,
// the first that is an executable regular file (symbolic links followed), or
// a *NotFoundError.
func LocateScript(script string, env Env) (string, error) {
	confDir, initDir := env.ConfDir, env.InitDir
	if confDir == "" {
		confDir = defaultConfDir
	}
	if initDir == "" {
		initDir = defaultInitDir
	}
	if script != "" {
		for _, dir := range []string{filepath.Join(confDir, "resource.d"), initDir} {
			p := filepath.Join(dir, script)
			if proc.IsExecutableFile(p) {
				return p, nil
			}
		}
	}
	return "", &NotFoundError{Script: script}
}

// Classic status rule (ResourceManager's we_own_resource): a "case" on the
// status output where "*" also matches newlines.
var (
	statusNotRunning = regexp.MustCompile(`(?s)[Nn][Oo][Tt] .*[Rr]unning`)
	statusRunning    = regexp.MustCompile(`[Rr]unning|OK`)
)

// StatusOutputRunning is heartbeat's "is it running?" rule for the standard
// output of a status call: "not <...>running" (any case for "not", R or r)
// means no; otherwise "running", "Running" or "OK" anywhere means yes;
// anything else means no.
func StatusOutputRunning(stdout []byte) bool {
	if statusNotRunning.Match(stdout) {
		return false
	}
	return statusRunning.Match(stdout)
}

// RunError is a script run that did not succeed: a non-zero exit, a
// signal, a timeout or a failure to start the program.
type RunError struct {
	Command  string        // "/etc/init.d/httpd start"
	Code     int           // exit code; -1 when there is none
	TimedOut bool          // killed with its process group after Timeout
	Timeout  time.Duration // the bound that expired, when TimedOut
	Stderr   string        // the end of what it wrote to stderr, one line
	Err      error         // the underlying error
}

func (e *RunError) Error() string {
	var b strings.Builder
	b.WriteString(e.Command)
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, ": timed out after %s, process group killed", e.Timeout)
	case e.Code > 0:
		fmt.Fprintf(&b, ": exit code %d", e.Code)
	case e.Err != nil:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

func (e *RunError) Unwrap() error { return e.Err }

// runResult is what one script run wrote.
type runResult struct {
	stdout, stderr []byte
	code           int
}

// runScript runs "path args... action" with the process environment (minus
// LC_ALL and LANGUAGE, which ResourceManager unsets) plus env.Vars, in its
// own process group, bounded by env.ScriptTimeout when positive. On timeout
// or when ctx ends the whole group is killed. With checkExit a non-zero exit
// is an error; the output is logged at debug either way.
//
// Output goes to anonymous files rather than pipes (proc.OutputFile): a
// daemon started by the script that keeps stdout open must neither hold the
// run up nor get SIGPIPE later.
func runScript(ctx context.Context, env Env, log logrus.FieldLogger, path string, args []string, action string, checkExit bool) (runResult, error) {
	argv := append(append([]string(nil), args...), action)
	cmdline := command(path, args, action)
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if env.ScriptTimeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, env.ScriptTimeout)
	}
	defer cancel()

	stdout, err := proc.OutputFile("stdout")
	if err != nil {
		return runResult{code: -1}, &RunError{Command: cmdline, Code: -1, Err: err}
	}
	defer stdout.Close()
	stderr, err := proc.OutputFile("stderr")
	if err != nil {
		return runResult{code: -1}, &RunError{Command: cmdline, Code: -1, Err: err}
	}
	defer stderr.Close()

	newCmd := func(name string, argv ...string) *exec.Cmd {
		cmd := proc.Command(runCtx, name, argv...)
		cmd.Env = scriptEnv(env.Vars)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd
	}
	start := time.Now()
	cmd := newCmd(path, argv...)
	werr := cmd.Run()
	if errors.Is(werr, syscall.ENOEXEC) {
		// No "#!" line: the shell runs such a file as a shell script.
		cmd = newCmd("/bin/sh", append([]string{path}, argv...)...)
		werr = cmd.Run()
	}

	res := runResult{stdout: proc.ReadOutput(stdout, maxOutput), stderr: proc.ReadOutput(stderr, maxOutput), code: -1}
	if cmd.ProcessState != nil {
		res.code = cmd.ProcessState.ExitCode()
	}
	fields := logrus.Fields{"rc": res.code, "elapsed": time.Since(start).Round(time.Millisecond)}
	if len(res.stdout) > 0 {
		fields["stdout"] = string(bytes.TrimSpace(res.stdout))
	}
	if len(res.stderr) > 0 {
		fields["stderr"] = string(bytes.TrimSpace(res.stderr))
	}
	log.WithFields(fields).Debugf("%s done", cmdline)

	if werr == nil || (!checkExit && runCtx.Err() == nil && cmd.ProcessState != nil) {
		return res, nil
	}
	rerr := &RunError{Command: cmdline, Code: res.code, Stderr: tail(res.stderr), Err: werr}
	switch {
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		rerr.Err = fmt.Errorf("%w (process group killed)", context.Cause(ctx))
	case runCtx.Err() != nil:
		// Our bound or the caller's deadline (heartbeatd bounds each
		// call by the same resource_timeout): a timeout either way.
		rerr.TimedOut, rerr.Timeout = true, env.ScriptTimeout
		if rerr.Timeout <= 0 {
			rerr.Timeout = time.Since(start).Round(time.Millisecond)
		}
		rerr.Err = context.DeadlineExceeded
	}
	return res, rerr
}

// command is the command line for messages: "path args... action".
func command(path string, args []string, action string) string {
	return strings.Join(append(append([]string{path}, args...), action), " ")
}

// scriptEnv is the environment of a script: ours without LC_ALL and
// LANGUAGE, then vars (later entries win).
func scriptEnv(vars []string) []string {
	env := os.Environ()
	out := make([]string, 0, len(env)+len(vars))
	for _, kv := range env {
		if strings.HasPrefix(kv, "LC_ALL=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, vars...)
}

// tail returns the end of a script's stderr as one line for an error message.
func tail(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > stderrTail {
		b = b[len(b)-stderrTail:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
	}
	lines := strings.Split(string(b), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " | ")
}

// agentLog returns env.Log (or a silent logger) with the resource field set.
func agentLog(env Env, name string) logrus.FieldLogger {
	l := env.Log
	if l == nil {
		d := logrus.New()
		d.SetOutput(io.Discard)
		l = d
	}
	return l.WithField("resource", name)
}
