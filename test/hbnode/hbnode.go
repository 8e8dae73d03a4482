// Package hbnode runs real heartbeatd processes in test network namespaces
// and queries them over their client API, for the root-only suites.
package hbnode

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/test/netns"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	// ipfailErr is why ./ipfail did not build (it only fails the tests
	// that use it).
	ipfailErr error
)

// Tools are the optional client tools Build also compiles when their
// directories under heartbeatd/cmd exist; RunTool runs them.
var Tools = []string{"hb_standby", "hb_takeover"}

// Build compiles heartbeatd, cl_status and the Tools once per test binary and returns
// the directory holding them. It also compiles ./ipfail, when it exists,
// into the same directory: heartbeatd maps the classic respawn path
// /usr/lib/heartbeat/ipfail to the ipfail next to its own binary.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		binDir, buildErr = os.MkdirTemp("", "hasuite-bin-")
		if buildErr != nil {
			return
		}
		// Children respawned as another user (hacluster's ipfail) must
		// be able to run the binaries.
		if buildErr = os.Chmod(binDir, 0o755); buildErr != nil {
			return
		}
		pkgs := []string{"./heartbeatd", "./heartbeatd/cmd/cl_status"}
		for _, tool := range Tools {
			if _, err := os.Stat(filepath.Join(root, "heartbeatd", "cmd", tool)); err == nil {
				pkgs = append(pkgs, "./heartbeatd/cmd/"+tool)
			}
		}
		cmd := exec.Command("go", append([]string{"build", "-o", binDir + "/"}, pkgs...)...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		if _, err := os.Stat(filepath.Join(root, "ipfail")); err != nil {
			return
		}
		cmd = exec.Command("go", "build", "-o", binDir+"/", "./ipfail")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			ipfailErr = fmt.Errorf("go build ./ipfail: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Options describe one node: its name and the contents of its config files.
type Options struct {
	Node                        string
	HACF, AuthKeys, Haresources string
	ExtraArgs                   []string
	Env                         []string // added to the daemon's environment
	// Files are written under the configuration directory before the
	// start, by relative path (e.g. "resource.d/app"), executable.
	Files map[string]string
	// OpenDir makes the node's directory and its parent (t.TempDir()
	// makes them 0700) traversable by every user, so that a client the
	// daemon runs as another user (respawn hacluster ...) can reach the
	// API socket under it; the socket's own mode still applies.
	OpenDir bool
}

// Node is a running heartbeatd.
type Node struct {
	Name, Dir string
	Host      *netns.Host
	bin       string
	cmd       *exec.Cmd
	env       []string
	done      chan struct{}
}

// Start writes the node's private tree under a temporary directory and
// starts heartbeatd -f in the host's namespace. Cleanup stops it gracefully.
func Start(t testing.TB, h *netns.Host, o Options) *Node {
	t.Helper()
	bin := Build(t)
	dir := t.TempDir()
	n := &Node{Name: o.Node, Dir: dir, Host: h, bin: bin, done: make(chan struct{})}
	if o.OpenDir {
		for _, d := range []string{filepath.Dir(dir), dir} {
			must(t, os.Chmod(d, 0o755))
		}
	}
	etc := filepath.Join(dir, "etc")
	must(t, os.MkdirAll(etc, 0o755))
	hacf := strings.ReplaceAll(o.HACF, LogPlaceholder, n.LogFile())
	must(t, os.WriteFile(filepath.Join(etc, "ha.cf"), []byte(hacf), 0o644))
	must(t, os.WriteFile(filepath.Join(etc, "authkeys"), []byte(o.AuthKeys), 0o600))
	if o.Haresources != "" {
		must(t, os.WriteFile(filepath.Join(etc, "haresources"), []byte(o.Haresources), 0o644))
	}
	for name, content := range o.Files {
		path := filepath.Join(etc, name)
		must(t, os.MkdirAll(filepath.Dir(path), 0o755))
		must(t, os.WriteFile(path, []byte(content), 0o755))
	}
	// Clients the daemon starts (respawn's ipfail, scripts running
	// hb_standby) find its API socket here, not at /run/heartbeat/register.
	n.env = append([]string{"HA_API_SOCKET=" + n.Socket()}, o.Env...)
	n.start(t, o.ExtraArgs)
	t.Cleanup(func() {
		n.Stop(t)
		if t.Failed() {
			t.Logf("=== heartbeatd %s log ===\n%s", n.Name, n.Log())
		}
	})
	return n
}

func (n *Node) start(t testing.TB, extra []string) {
	t.Helper()
	args := append([]string{"-f",
		"-confdir", filepath.Join(n.Dir, "etc"),
		"-statedir", filepath.Join(n.Dir, "state"),
		"-rundir", filepath.Join(n.Dir, "run"),
		"-pidfile", filepath.Join(n.Dir, "heartbeatd.pid"),
		"-node", n.Name}, extra...)
	out, err := os.OpenFile(filepath.Join(n.Dir, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	must(t, err)
	n.cmd = n.Host.Command(context.Background(), filepath.Join(n.bin, "heartbeatd"), args...)
	n.cmd.Stdout, n.cmd.Stderr = out, out
	n.cmd.Env = append(os.Environ(), n.env...)
	must(t, n.cmd.Start())
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); out.Close(); close(done) }(n.cmd, n.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := api.Dial(n.Socket(), time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-n.done:
			t.Fatalf("heartbeatd %s exited at start:\n%s", n.Name, n.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeatd %s: API socket never came up:\n%s", n.Name, n.Log())
		}
	}
}

// Restart starts the node again after Stop or Kill (a new generation).
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	n.start(t, nil)
}

// Socket is the node's API socket.
func (n *Node) Socket() string { return filepath.Join(n.Dir, "run", "register") }

// Stop sends SIGTERM and waits for a graceful exit (then SIGKILL).
func (n *Node) Stop(t testing.TB) {
	n.signalAndWait(syscall.SIGTERM, 10*time.Second)
}

// Kill sends SIGKILL: no shutdone, the peer must detect the death.
func (n *Node) Kill(t testing.TB) {
	n.signalAndWait(syscall.SIGKILL, 5*time.Second)
}

func (n *Node) signalAndWait(sig syscall.Signal, wait time.Duration) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(wait):
		n.cmd.Process.Kill()
		<-n.done
	}
}

// Log returns the node's log file and stderr.
func (n *Node) Log() string {
	var b strings.Builder
	for _, f := range []string{"ha-log", "stderr"} {
		if data, err := os.ReadFile(filepath.Join(n.Dir, f)); err == nil {
			fmt.Fprintf(&b, "--- %s ---\n%s", f, data)
		}
	}
	return b.String()
}

// LogFile is the path ha.cf's logfile should name.
func (n *Node) LogFile() string { return filepath.Join(n.Dir, "ha-log") }

// NodeStatus asks the API for a node's status ("" if the request fails).
func (n *Node) NodeStatus(node string) string {
	c, err := api.Dial(n.Socket(), time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	m, err := c.Request(api.ReqNodeStatus, api.FieldNode, node)
	if err != nil {
		return ""
	}
	return m.Get(api.FieldStatus)
}

// WaitStatus polls until node has status want and returns how long it took.
func (n *Node) WaitStatus(t testing.TB, node, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if got := n.NodeStatus(node); got == want {
			return time.Since(start)
		} else if time.Since(start) > within {
			t.Fatalf("%s: node %s is %q, not %q, after %v", n.Name, node, got, want, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Counters returns the daemon's counters.
func (n *Node) Counters(t testing.TB) map[string]uint64 {
	t.Helper()
	c, err := api.Dial(n.Socket(), time.Second)
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	defer c.Close()
	m, err := c.Request(api.ReqCounters)
	if err != nil {
		t.Fatalf("%s: counters: %v", n.Name, err)
	}
	out := map[string]uint64{}
	for _, f := range m.Fields {
		if v, err := strconv.ParseUint(string(f.Value), 10, 64); err == nil {
			out[f.Name] = v
		}
	}
	return out
}

// ClStatus runs hasuite's cl_status against this node.
func (n *Node) ClStatus(t testing.TB, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(n.bin, "cl_status"), args...)
	cmd.Env = append(os.Environ(), "HA_API_SOCKET="+n.Socket())
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("cl_status: %v", err)
	}
	return string(out), 0
}

// LogPlaceholder in an ha.cf given to Start is replaced by the node's log file.
const LogPlaceholder = "@LOGFILE@"

// HACF returns an ha.cf for a test cluster: fast timers, the given media
// lines and nodes, logging to the node's log file.
func HACF(keepalive, deadtime, initdead string, media []string, nodes ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "logfile %s\nkeepalive %s\ndeadtime %s\nwarntime %s\ninitdead %s\nauto_failback on\n",
		LogPlaceholder, keepalive, deadtime, deadtime, initdead)
	for _, m := range media {
		fmt.Fprintln(&b, m)
	}
	fmt.Fprintf(&b, "node %s\n", strings.Join(nodes, " "))
	return b.String()
}

// AuthKeys returns an authkeys file using method with a fixed test key.
func AuthKeys(method, key string) string {
	if method == "crc" {
		return "auth 1\n1 crc\n"
	}
	return fmt.Sprintf("auth 1\n1 %s %s\n", method, key)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ConfDir is the node's configuration directory (ha.cf, authkeys).
func (n *Node) ConfDir() string { return filepath.Join(n.Dir, "etc") }

// Reload sends the daemon SIGHUP, as heartbeatd -r does once the files
// pass its check; a broken configuration reaches the daemon all the same.
func (n *Node) Reload(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(n.Pid(), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP to heartbeatd %s: %v", n.Name, err)
	}
}

// ReloadCommand runs heartbeatd -r for this node (its pid file, confdir and
// name) and returns its output and exit code.
func (n *Node) ReloadCommand(t testing.TB) (string, int) {
	t.Helper()
	out, err := exec.Command(filepath.Join(n.bin, "heartbeatd"), "-r", "-pidfile", filepath.Join(n.Dir, "heartbeatd.pid"),
		"-confdir", n.ConfDir(), "-node", n.Name).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("heartbeatd -r: %v", err)
	}
	return string(out), 0
}

// Pid is the process id of the running (or last) heartbeatd.
func (n *Node) Pid() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// RscStatus asks the API what cl_status rscstatus prints (none, local,
// foreign, all, transition); "" if the request fails.
func (n *Node) RscStatus() string {
	c, err := api.Dial(n.Socket(), time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	m, err := c.Request(api.ReqGetRsc)
	if err != nil {
		return ""
	}
	return m.Get(api.FieldResources)
}

// WaitRsc polls until RscStatus is want and returns how long it took.
func (n *Node) WaitRsc(t testing.TB, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if got := n.RscStatus(); got == want {
			return time.Since(start)
		} else if time.Since(start) > within {
			t.Fatalf("%s: rscstatus is %q, not %q, after %v", n.Name, got, want, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// HasTool reports whether Build compiled the named client tool (or
// ipfail). It fails the test if ./ipfail exists but does not build.
func HasTool(t testing.TB, name string) bool {
	t.Helper()
	dir := Build(t)
	if name == "ipfail" && ipfailErr != nil {
		t.Fatal(ipfailErr)
	}
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// Ipfail returns the path of hasuite's ipfail built by Build; it skips
// the test if ./ipfail does not exist and fails it if it does not build.
func Ipfail(t testing.TB) string {
	t.Helper()
	if !HasTool(t, "ipfail") {
		t.Skip("hasuite has no ipfail yet (./ipfail)")
	}
	return filepath.Join(Build(t), "ipfail")
}

// RunTool runs one of the Tools (or cl_status) against this node, with
// HA_API_SOCKET naming its socket, and returns its output and exit code.
func (n *Node) RunTool(t testing.TB, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(n.bin, name), args...)
	cmd.Env = append(os.Environ(), "HA_API_SOCKET="+n.Socket())
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out), 0
}
