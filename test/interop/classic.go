// Package interop runs the real Linux-HA heartbeat 3.0.6 (Debian's package)
// as a test peer inside the namespaces of a test/netns lab, so that hasuite's
// heartbeatd can be tested against the program it replaces.
//
// Each classic node runs in its own mount, UTS and PID namespace inside a lab
// host's network namespace, with a private /etc/ha.d, /var/lib/heartbeat,
// /var/log and /run bind-mounted from a directory under t.TempDir(). The
// heartbeat master is PID 1 of its PID namespace, so killing it kills every
// process of the node. NOTES.md lists the facts this relies on.
package interop

// classic.go: starting, querying and stopping one classic heartbeat node.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

// Paths of the Debian heartbeat package and the tools the harness needs.
const (
	HeartbeatPath = "/usr/libexec/heartbeat/heartbeat"
	ClStatusPath  = "/usr/bin/cl_status"
	// packageHADir is the package's /etc/ha.d, copied into each node's tree.
	packageHADir = "/etc/ha.d"
)

// Timing of the harness.
const (
	// startTimeout bounds the time from launch until heartbeat has
	// validated its config and created its FIFO: well under a second on an
	// idle machine, seconds on a loaded one.
	startTimeout = 10 * time.Second
	// stopTimeout bounds a graceful stop. heartbeat needs about 2.5 s (it
	// keeps sending status for 2 s after shutdone before killing its
	// children), but during a resource transition it first waits for the
	// transition to end: up to 10 s after a simultaneous start.
	stopTimeout = 20 * time.Second
	// cleanupGrace is how long the test cleanup waits after SIGTERM before
	// it sends SIGKILL: enough for a stable node to stop gracefully.
	cleanupGrace = 4 * time.Second
	// pollInterval is the period of WaitNodeStatus and of start-up polls.
	pollInterval = 50 * time.Millisecond
	// clStatusTimeout bounds one cl_status run (cl_status itself gives up
	// after 5 s).
	clStatusTimeout = 15 * time.Second
)

// Default log locations added to ha.cf when it names none.
const (
	DefaultLogFile   = "/var/log/ha-log"
	DefaultDebugFile = "/var/log/ha-debug"
)

// mounts are the directories made private to each node, as seen inside the
// node; each is bind-mounted from the same relative path under Dir().
var mounts = []string{"/etc/ha.d", "/var/lib/heartbeat", "/var/log", "/run"}

// ClassicOptions describes one classic node. The file contents are written
// verbatim, except that ha.cf gets logfile, debugfile and use_logd lines
// when it has none (see WithLogging).
type ClassicOptions struct {
	// Node is the node name (its UTS hostname); it must be a node of HACF.
	Node string
	// HACF, AuthKeys and Haresources are the contents of the files in
	// /etc/ha.d. An empty Haresources is a valid empty file.
	HACF, AuthKeys, Haresources string
	// Args are extra heartbeat flags after -f, e.g. "-d".
	Args []string
}

// Classic is one running (or stopped) heartbeat 3.0.6 node.
type Classic struct {
	opts    ClassicOptions
	host    *netns.Host
	dir     string
	logFile string // as seen inside the node
	outPath string // daemon stdout+stderr, on the host

	mu      sync.Mutex
	cmd     *exec.Cmd
	pid     int    // host pid of the master (PID 1 of its namespace); 0 if not running
	pidNS   string // its pid namespace, "pid:[inode]"
	done    chan struct{}
	waitErr error
}

// HaveClassic reports whether the real heartbeat and the tools the harness
// uses (cl_status, unshare, nsenter) are installed.
func HaveClassic() bool {
	for _, p := range []string{HeartbeatPath, ClStatusPath} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	for _, n := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(n); err != nil {
			return false
		}
	}
	return true
}

// RequireClassic skips the test unless it runs as root with the ip command
// and the real heartbeat installed.
func RequireClassic(t testing.TB) {
	t.Helper()
	netns.RequireRoot(t)
	if !HaveClassic() {
		netns.Skip(t, "needs heartbeat 3.0.6: "+HeartbeatPath+", cl_status, unshare and nsenter (apt-get install heartbeat)")
	}
}

// StartClassic writes a private tree for one node under t.TempDir() and
// starts heartbeat -f in it inside h's network namespace. It returns once
// heartbeat has validated its config (it fails the test if heartbeat exits
// first); comm with the peers comes up later. t.Cleanup stops the node
// (SIGTERM, SIGKILL after a few seconds) and logs its log if the test failed.
func StartClassic(t testing.TB, h *netns.Host, o ClassicOptions) *Classic {
	t.Helper()
	RequireClassic(t)
	if o.Node == "" {
		t.Fatal("interop: StartClassic: empty node name")
	}
	c := &Classic{opts: o, host: h, dir: t.TempDir()}
	c.outPath = filepath.Join(c.dir, "heartbeat.out")
	c.logFile = directiveValue(o.HACF, "logfile")
	if c.logFile == "" {
		c.logFile = DefaultLogFile
	}
	if err := writeTree(c.dir, o); err != nil {
		t.Fatalf("interop: node %s: %v", o.Node, err)
	}
	t.Cleanup(func() { c.cleanup(t) })
	c.Start(t)
	return c
}

// Start starts the node again after Stop or Kill, keeping its tree: the
// same hb_uuid, and heartbeat increments hb_generation.
func (c *Classic) Start(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	running := c.pid != 0
	c.mu.Unlock()
	if running {
		t.Fatalf("interop: node %s: Start while running", c.opts.Node)
	}
	// The FIFO is the start-up signal; heartbeat recreates it.
	fifo := filepath.Join(c.dir, "var/lib/heartbeat/fifo")
	if err := os.Remove(fifo); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("interop: node %s: %v", c.opts.Node, err)
	}
	if err := c.launch(); err != nil {
		t.Fatalf("interop: node %s: %v", c.opts.Node, err)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if _, err := os.Stat(fifo); err == nil {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("interop: node %s: heartbeat exited during start-up (%v):\n%s", c.opts.Node, c.exitErr(), c.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: node %s: heartbeat did not create its FIFO within %v:\n%s", c.opts.Node, startTimeout, c.Output())
		}
		time.Sleep(pollInterval)
	}
}

// launch runs unshare + heartbeat and finds the master's host pid.
func (c *Classic) launch() error {
	out, err := os.OpenFile(c.outPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening daemon output: %w", err)
	}
	defer out.Close()
	// The script runs in the new namespaces; paths come in as arguments.
	script := `set -e
hostname "$1"
for m in ` + strings.Join(mounts, " ") + `; do mount --bind "$2$m" "$m"; done
shift 2
exec "$@"`
	args := []string{"--mount", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc",
		"--propagation", "private", "sh", "-c", script, "sh", c.opts.Node, c.dir, HeartbeatPath, "-f"}
	args = append(args, c.opts.Args...)
	cmd := c.host.Command(context.Background(), "unshare", args...)
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// If the test binary dies, unshare dies, and --kill-child kills the
	// node's PID namespace.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := startOnLauncher(cmd); err != nil {
		return fmt.Errorf("starting unshare: %w", err)
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.done, c.waitErr = cmd, done, nil
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		c.waitErr, c.pid = err, 0
		close(done)
		c.mu.Unlock()
	}()

	// ip netns exec execs unshare (same pid); unshare forks sh, which
	// execs heartbeat: the master is unshare's only child once its
	// executable is heartbeat.
	deadline := time.Now().Add(startTimeout)
	for {
		if pid := childRunning(cmd.Process.Pid, HeartbeatPath); pid != 0 {
			ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
			if err != nil {
				return fmt.Errorf("reading pid namespace of %d: %w", pid, err)
			}
			c.mu.Lock()
			select {
			case <-done:
			default:
				c.pid, c.pidNS = pid, ns
			}
			c.mu.Unlock()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("heartbeat exited during start-up (%v):\n%s", c.exitErr(), c.Output())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("heartbeat did not start within %v:\n%s", startTimeout, c.Output())
		}
		time.Sleep(pollInterval / 5)
	}
}

// launcher is a goroutine locked to an OS thread that never ends; every
// unshare is forked from it. Pdeathsig belongs to the forking thread, not
// the process: a node forked from an ordinary thread is SIGKILLed as soon
// as the runtime ends that thread, which it does whenever a goroutine that
// locked it returns (netns.Host.Do, for one).
var (
	launcherOnce sync.Once
	launchReqs   chan launchReq
)

type launchReq struct {
	cmd  *exec.Cmd
	done chan error
}

// startOnLauncher runs cmd.Start on the launcher thread.
func startOnLauncher(cmd *exec.Cmd) error {
	launcherOnce.Do(func() {
		launchReqs = make(chan launchReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range launchReqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	launchReqs <- launchReq{cmd, done}
	return <-done
}

// ClStatus runs cl_status with args inside the node's namespaces and
// returns its standard output and exit code (0 ok, 1 failure such as a dead
// node, 11 bad argument, 12 timeout, 13 other error). Its standard error, if
// any, goes to the test log. It fails the test if the node is not running.
func (c *Classic) ClStatus(t testing.TB, args ...string) (out string, rc int) {
	t.Helper()
	out, stderr, rc, err := c.clStatus(args...)
	if err != nil {
		t.Fatalf("interop: node %s: %v", c.opts.Node, err)
	}
	if stderr != "" {
		t.Logf("interop: node %s: cl_status %s: stderr: %s", c.opts.Node, strings.Join(args, " "), stderr)
	}
	return out, rc
}

// clStatus is ClStatus without the test: err reports a harness failure
// (node not running, nsenter failed), not a cl_status exit code.
func (c *Classic) clStatus(args ...string) (stdout, stderr string, rc int, err error) {
	pid := c.Pid()
	if pid == 0 {
		return "", "", 0, errors.New("cl_status: node is not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), clStatusTimeout)
	defer cancel()
	// The PID namespace too: heartbeat refuses API clients whose signon pid
	// differs from the socket peer's pid ("bad pid").
	full := append([]string{"--target", strconv.Itoa(pid), "--mount", "--uts", "--net", "--pid", "--", ClStatusPath}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	runErr := cmd.Run()
	stdout, stderr = o.String(), e.String()
	var exit *exec.ExitError
	switch {
	case runErr == nil:
		return stdout, stderr, 0, nil
	case strings.HasPrefix(stderr, "nsenter:"):
		return stdout, stderr, 0, fmt.Errorf("cl_status: %v: %s", runErr, strings.TrimSpace(stderr))
	case errors.As(runErr, &exit) && exit.Exited():
		return stdout, stderr, exit.ExitCode(), nil
	default:
		return stdout, stderr, 0, fmt.Errorf("cl_status %s: %w: %s", strings.Join(args, " "), runErr, strings.TrimSpace(stderr))
	}
}

// WaitNodeStatus polls cl_status nodestatus node until it prints want
// ("active", "up", "init", "dead", "ping") and fails the test if that does
// not happen within the given time.
func (c *Classic) WaitNodeStatus(t testing.TB, node, want string, within time.Duration) {
	t.Helper()
	c.WaitClStatus(t, want, within, "nodestatus", node)
}

// WaitStable waits until the node's resources are stable: cl_status
// rscstatus prints something other than "transition". After a simultaneous
// start of both nodes (auto_failback on or off) that takes about 10 s.
func (c *Classic) WaitStable(t testing.TB, within time.Duration) {
	t.Helper()
	c.waitClStatus(t, func(s string) bool { return s != "transition" }, "not transition", within, "rscstatus")
}

// WaitClStatus polls cl_status with args until its output, trimmed of
// surrounding white space, equals want; it fails the test if that does not
// happen within the given time.
func (c *Classic) WaitClStatus(t testing.TB, want string, within time.Duration, args ...string) {
	t.Helper()
	c.waitClStatus(t, func(s string) bool { return s == want }, strconv.Quote(want), within, args...)
}

func (c *Classic) waitClStatus(t testing.TB, ok func(string) bool, want string, within time.Duration, args ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, stderr, rc, err := c.clStatus(args...)
		if err != nil {
			t.Fatalf("interop: node %s: waiting for cl_status %s: %v", c.opts.Node, strings.Join(args, " "), err)
		}
		got := strings.TrimSpace(out)
		if ok(got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: node %s: cl_status %s = %q (rc %d, stderr %q), want %s within %v",
				c.opts.Node, strings.Join(args, " "), got, rc, strings.TrimSpace(stderr), want, within)
		}
		time.Sleep(pollInterval)
	}
}

// Stop stops the node gracefully (SIGTERM: it gives up its resources and
// sends shutdone) and waits for it to exit; it fails the test if heartbeat
// needs more than stopTimeout or exits non-zero.
func (c *Classic) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(stopTimeout); err != nil {
		t.Fatalf("interop: node %s: %v", c.opts.Node, err)
	}
}

// stop sends SIGTERM and waits up to grace, then SIGKILLs.
func (c *Classic) stop(grace time.Duration) error {
	c.mu.Lock()
	pid, done := c.pid, c.done
	c.mu.Unlock()
	if pid == 0 {
		return errors.New("stop: node is not running")
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending SIGTERM to %d: %w", pid, err)
	}
	select {
	case <-done:
		if err := c.exitErr(); err != nil {
			return fmt.Errorf("heartbeat exited after SIGTERM: %w", err)
		}
		return nil
	case <-time.After(grace):
	}
	c.kill()
	return fmt.Errorf("heartbeat did not exit within %v of SIGTERM; killed", grace)
}

// Kill kills every process of the node at once (SIGKILL to the master,
// which is the init of its PID namespace) and waits for them to be gone.
// The node sends nothing more: peers see it die after deadtime.
func (c *Classic) Kill(t testing.TB) {
	t.Helper()
	if c.Pid() == 0 {
		t.Fatalf("interop: node %s: Kill: node is not running", c.opts.Node)
	}
	if err := c.kill(); err != nil {
		t.Fatalf("interop: node %s: %v", c.opts.Node, err)
	}
}

func (c *Classic) kill() error {
	c.mu.Lock()
	pid, done, cmd := c.pid, c.done, c.cmd
	c.mu.Unlock()
	if pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	} else if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill() // --kill-child takes the namespace down
	}
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-time.After(stopTimeout):
		return errors.New("kill: processes still running after SIGKILL")
	}
}

// exitErr returns the result of waiting for the last launch.
func (c *Classic) exitErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitErr
}

// Pid returns the host pid of the heartbeat master (PID 1 inside the
// node's namespaces), or 0 if the node is not running. Use it with nsenter
// --target to run other tools in the node.
func (c *Classic) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

// Node returns the node name.
func (c *Classic) Node() string { return c.opts.Node }

// Host returns the lab host the node runs in.
func (c *Classic) Host() *netns.Host { return c.host }

// Dir returns the node's private root on the host: etc/ha.d,
// var/lib/heartbeat, var/log and run under it are what the node sees at
// /etc/ha.d, /var/lib/heartbeat, /var/log and /run.
func (c *Classic) Dir() string { return c.dir }

// HostPath maps a path as seen inside the node to the host path of the
// same file. Paths outside the private mounts are shared with the host and
// returned unchanged.
func (c *Classic) HostPath(inside string) string {
	return hostPath(c.dir, inside)
}

func hostPath(dir, inside string) string {
	p := filepath.Clean(inside)
	if p == "/var/run" || strings.HasPrefix(p, "/var/run/") {
		p = "/run" + strings.TrimPrefix(p, "/var/run") // /var/run -> /run symlink
	}
	for _, m := range mounts {
		if p == m || strings.HasPrefix(p, m+"/") {
			return filepath.Join(dir, p)
		}
	}
	return inside
}

// Log returns the contents of the node's logfile ("" if there is none yet).
func (c *Classic) Log() string {
	b, _ := os.ReadFile(c.HostPath(c.logFile))
	return string(b)
}

// Output returns everything the daemon wrote to stdout and stderr. With -f
// heartbeat copies its log lines there; some config errors appear only
// there.
func (c *Classic) Output() string {
	b, _ := os.ReadFile(c.outPath)
	return string(b)
}

// procs returns the host pids of every process in the node's PID
// namespace (the namespace of the last start).
func (c *Classic) procs() ([]int, error) {
	c.mu.Lock()
	ns := c.pidNS
	c.mu.Unlock()
	if ns == "" {
		return nil, errors.New("node never started")
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing /proc: %w", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// cleanup stops a running node and reports its log if the test failed.
func (c *Classic) cleanup(t testing.TB) {
	var stopErr error
	if c.Pid() != 0 {
		// A node still in a resource transition only stops after it:
		// such nodes are killed, which is normal at the end of a test.
		stopErr = c.stop(cleanupGrace)
	}
	if !t.Failed() {
		return
	}
	if stopErr != nil {
		t.Logf("interop: node %s: cleanup: %v", c.opts.Node, stopErr)
	}
	log := c.Log()
	t.Logf("interop: node %s: log %s:\n%s", c.opts.Node, c.logFile, log)
	if extra := linesNotIn(c.Output(), log); extra != "" {
		t.Logf("interop: node %s: daemon output not in its log:\n%s", c.opts.Node, extra)
	}
}

// childRunning returns the pid of a child of parent whose executable is
// exe, or 0.
func childRunning(parent int, exe string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", parent, parent))
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && l == exe {
			return pid
		}
	}
	return 0
}

// linesNotIn returns the non-empty lines of s that are not lines of ref.
func linesNotIn(s, ref string) string {
	have := map[string]bool{}
	for _, l := range strings.Split(ref, "\n") {
		have[l] = true
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !have[l] {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// writeTree creates the node's private root in dir.
func writeTree(dir string, o ClassicOptions) error {
	hacluster, err := lookupIDs("hacluster", "haclient")
	if err != nil {
		return err
	}
	type d struct {
		path  string
		mode  fs.FileMode
		owner [2]int // uid, gid
	}
	root := [2]int{0, 0}
	dirs := []d{
		{"etc", 0o755, root},
		{"var/lib/heartbeat", 0o755, root},
		{"var/lib/heartbeat/cores", 0o755, root},
		{"var/lib/heartbeat/cores/root", 0o700, root},
		{"var/lib/heartbeat/cores/hacluster", 0o700, [2]int{hacluster[0], 0}},
		{"var/lib/heartbeat/cores/nobody", 0o700, [2]int{65534, 0}},
		{"var/log", 0o755, root},
		// What tmpfiles.d/heartbeat.conf and the init script create.
		{"run", 0o755, root},
		{"run/heartbeat", 0o750, hacluster},
		{"run/heartbeat/ccm", 0o750, hacluster},
		{"run/heartbeat/crm", 0o750, hacluster},
		{"run/heartbeat/dopd", 0o750, hacluster},
		{"run/crm", 0o750, hacluster},
		{"run/resource-agents", 0o1755, root}, // HA_RSCTMP
	}
	for _, x := range dirs {
		p := filepath.Join(dir, x.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", x.path, err)
		}
		if err := os.Chown(p, x.owner[0], x.owner[1]); err != nil {
			return fmt.Errorf("chown %s: %w", x.path, err)
		}
		if err := os.Chmod(p, x.mode); err != nil {
			return fmt.Errorf("chmod %s: %w", x.path, err)
		}
	}
	ha := filepath.Join(dir, "etc/ha.d")
	skip := map[string]bool{"ha.cf": true, "authkeys": true, "haresources": true, "nodeinfo": true}
	if err := copyTree(packageHADir, ha, skip); err != nil {
		return err
	}
	files := []struct {
		name, text string
		mode       fs.FileMode
	}{
		{"ha.cf", WithLogging(o.HACF), 0o644},
		{"authkeys", o.AuthKeys, 0o600},
		{"haresources", o.Haresources, 0o644},
	}
	for _, f := range files {
		p := filepath.Join(ha, f.name)
		if err := os.WriteFile(p, []byte(f.text), f.mode); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		if err := os.Chmod(p, f.mode); err != nil { // umask
			return fmt.Errorf("chmod %s: %w", f.name, err)
		}
	}
	return nil
}

// lookupIDs returns the uid of usr and the gid of group.
func lookupIDs(usr, group string) ([2]int, error) {
	u, err := user.Lookup(usr)
	if err != nil {
		return [2]int{}, fmt.Errorf("looking up user %s: %w", usr, err)
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return [2]int{}, fmt.Errorf("looking up group %s: %w", group, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return [2]int{}, fmt.Errorf("uid of %s: %w", usr, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return [2]int{}, fmt.Errorf("gid of %s: %w", group, err)
	}
	return [2]int{uid, gid}, nil
}

// copyTree copies the directory src to dst (files, directories, symlinks,
// modes), leaving out top-level names in skip.
func copyTree(src, dst string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copying %s: %w", src, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("copying %s: %w", p, err)
		}
		if skip[rel] {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("copying %s: %w", p, err)
		}
		switch {
		case info.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("copying %s: %w", p, err)
			}
			return os.Chmod(target, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("copying %s: %w", p, err)
			}
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("copying %s: %w", p, err)
			}
			if err := os.WriteFile(target, b, info.Mode().Perm()); err != nil {
				return fmt.Errorf("copying %s: %w", p, err)
			}
			return os.Chmod(target, info.Mode().Perm())
		}
		return nil // sockets, FIFOs: not part of the package
	})
}

// WithLogging returns ha.cf text with "logfile /var/log/ha-log", "debugfile
// /var/log/ha-debug" and "use_logd no" appended for each of those
// directives that the text does not set, so the node logs into its private
// /var/log and not to the host's syslog.
func WithLogging(hacf string) string {
	add := ""
	for _, d := range []struct{ name, line string }{
		{"logfile", "logfile " + DefaultLogFile},
		{"debugfile", "debugfile " + DefaultDebugFile},
		{"use_logd", "use_logd no"},
	} {
		if !hasDirective(hacf, d.name) {
			add += d.line + "\n"
		}
	}
	if add == "" {
		return hacf
	}
	if hacf != "" && !strings.HasSuffix(hacf, "\n") {
		hacf += "\n"
	}
	return hacf + "# added by the test harness\n" + add
}

// hasDirective reports whether ha.cf text has a line for directive name.
func hasDirective(hacf, name string) bool {
	_, ok := directive(hacf, name)
	return ok
}

// directiveValue returns the value of the last line for directive name
// ("" if none).
func directiveValue(hacf, name string) string {
	v, _ := directive(hacf, name)
	return v
}

// directive finds the last ha.cf line for name (case-insensitive, '#'
// comments removed) and returns the rest of the line, trimmed.
func directive(hacf, name string) (string, bool) {
	val, found := "", false
	for _, line := range strings.Split(hacf, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 || !strings.EqualFold(f[0], name) {
			continue
		}
		val, found = strings.Join(f[1:], " "), true
	}
	return val, found
}
