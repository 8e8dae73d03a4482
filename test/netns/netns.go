// Package netns is a root-only test lab of Linux network namespaces: a hub
// namespace holding a bridge, and hosts joined to it by veth pairs.
//
// Every Lab has a unique short name prefix, so several test binaries can run
// their labs on one machine at the same time. Everything a Lab creates is
// removed by t.Cleanup, also when the test fails, and every process still
// running in its namespaces is killed first.
package netns

// netns.go: the Lab and Host types, driving iproute2's ip command.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hubBridge is the name of the bridge inside the hub namespace.
const hubBridge = "br0"

// HostIface is the name of a host's interface to the hub bridge.
const HostIface = "hb0"

// RequireRoot skips the test unless it runs as root and the ip command is
// available.
//
// With HASUITE_REQUIRE_ROOT_SUITES=1 (set by CI) a missing requirement fails
// the test instead: a skipped suite proves nothing.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root: creates network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		Skip(t, "needs root: the ip command (iproute2) is not installed")
	}
}

// Skip skips the test with reason, or fails it when
// HASUITE_REQUIRE_ROOT_SUITES=1.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("HASUITE_REQUIRE_ROOT_SUITES") == "1" {
		t.Fatalf("HASUITE_REQUIRE_ROOT_SUITES=1 but %s", reason)
	}
	t.Skip(reason)
}

// Lab is a set of network namespaces joined by a bridge in a hub namespace.
type Lab struct {
	// Prefix starts the name of every namespace and interface of the lab.
	Prefix string
	// Hub is the namespace holding the bridge.
	Hub string

	t      testing.TB
	ctx    context.Context // canceled when the test ends: kills commands
	cancel context.CancelFunc

	mu     sync.Mutex
	spaces []string // namespaces created, hub first
	hosts  []*Host
}

// Host is one network namespace attached to the lab's bridge.
type Host struct {
	// Name is the name given to AddHost.
	Name string
	// NS is the network namespace name (for ip netns exec).
	NS string
	// Iface is the host's interface to the bridge, "hb0".
	Iface string
	// Addr is the host's address on Iface.
	Addr netip.Addr
	// Prefix is the network of Addr (masked).
	Prefix netip.Prefix

	lab  *Lab
	peer string // hub-side end of the veth pair
}

// NewLab creates a hub namespace with a bridge (multicast snooping off, so
// multicast floods like broadcast). It calls RequireRoot first.
func NewLab(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	l := &Lab{t: t, ctx: ctx, cancel: cancel}
	t.Cleanup(l.cleanup)
	for try := 0; ; try++ {
		l.Prefix = "hs" + randomHex(2)
		l.Hub = l.Prefix + "-hub"
		out, err := ipCmd("netns", "add", l.Hub)
		if err == nil {
			break
		}
		if try >= 10 || !strings.Contains(out, "exists") {
			t.Fatalf("netns: creating hub namespace %s: %v: %s", l.Hub, err, out)
		}
	}
	l.addSpace(l.Hub)
	l.ip("-n", l.Hub, "link", "set", "lo", "up")
	l.ip("-n", l.Hub, "link", "add", hubBridge, "type", "bridge",
		"mcast_snooping", "0", "stp_state", "0", "forward_delay", "0")
	l.ip("-n", l.Hub, "link", "set", hubBridge, "up")
	return l
}

// AddHost creates namespace <prefix>-<name> with interface hb0 holding cidr
// (e.g. "10.77.0.1/24" or "fd00::1/64"), up, with lo up; the other end of
// the veth pair is a port of the hub bridge. IPv6 duplicate address
// detection is off in the host, so addresses are usable at once.
func (l *Lab) AddHost(name, cidr string) *Host {
	l.t.Helper()
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		l.t.Fatalf("netns: AddHost %s: %v", name, err)
	}
	l.mu.Lock()
	idx := len(l.hosts)
	l.mu.Unlock()
	h := &Host{
		Name:   name,
		NS:     l.Prefix + "-" + name,
		Iface:  HostIface,
		Addr:   p.Addr(),
		Prefix: p.Masked(),
		lab:    l,
		peer:   l.Prefix + "v" + strconv.Itoa(idx),
	}
	if out, err := ipCmd("netns", "add", h.NS); err != nil {
		l.t.Fatalf("netns: creating namespace %s: %v: %s", h.NS, err, out)
	}
	l.addSpace(h.NS)
	l.mu.Lock()
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()

	l.ip("-n", h.NS, "link", "set", "lo", "up")
	// Before hb0 exists, so it inherits the setting.
	for _, key := range []string{"net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"} {
		if out, err := run("ip", "netns", "exec", h.NS, "sysctl", "-q", "-w", key+"=0"); err != nil {
			l.t.Logf("netns: %s: sysctl %s: %v: %s", h.NS, key, err, out)
		}
	}
	l.ip("-n", l.Hub, "link", "add", h.peer, "type", "veth", "peer", "name", h.Iface, "netns", h.NS)
	l.ip("-n", l.Hub, "link", "set", h.peer, "master", hubBridge)
	l.ip("-n", l.Hub, "link", "set", h.peer, "up")
	h.AddAddr(l.t, cidr)
	l.ip("-n", h.NS, "link", "set", h.Iface, "up")
	return h
}

// AddAddr adds one more address (IPv4 or IPv6 cidr) to the host's hb0, e.g.
// an IPv6 address for a host created with an IPv4 one.
func (h *Host) AddAddr(t testing.TB, cidr string) {
	t.Helper()
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		t.Fatalf("netns: %s: AddAddr: %v", h.NS, err)
	}
	args := []string{"-n", h.NS, "addr", "add", cidr, "dev", h.Iface}
	if p.Addr().Is4() {
		args = append(args, "broadcast", "+")
	} else {
		args = append(args, "nodad")
	}
	if out, err := ipCmd(args...); err != nil {
		t.Fatalf("netns: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Command returns a command that runs inside the host's namespace (through
// ip netns exec). It is killed, with its process group, when ctx is done or
// when the test ends.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cctx, cancel := context.WithCancel(ctx)
	context.AfterFunc(h.lab.ctx, cancel)
	full := append([]string{"netns", "exec", h.NS, name}, args...)
	cmd := exec.CommandContext(cctx, "ip", full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// The whole group: shells and daemons may have children.
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Run runs a command inside the host's namespace to completion and returns
// its combined output; it fails the test if the command fails.
func (h *Host) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := h.Command(context.Background(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("netns: %s: %s %s: %v: %s", h.NS, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// CutLink takes the host off the bridge by setting the hub end of its veth
// pair down; it returns once hb0 inside the host has lost carrier.
func (h *Host) CutLink(t testing.TB) {
	t.Helper()
	h.setPeer(t, "down", false)
}

// RestoreLink undoes CutLink; it returns once hb0 has carrier again.
func (h *Host) RestoreLink(t testing.TB) {
	t.Helper()
	h.setPeer(t, "up", true)
}

// carrierWait bounds the wait for a veth carrier change (normally < 1 ms).
const carrierWait = 5 * time.Second

func (h *Host) setPeer(t testing.TB, state string, carrier bool) {
	t.Helper()
	if out, err := ipCmd("-n", h.lab.Hub, "link", "set", h.peer, state); err != nil {
		t.Fatalf("netns: setting %s %s: %v: %s", h.peer, state, err, out)
	}
	deadline := time.Now().Add(carrierWait)
	for {
		out, err := ipCmd("-n", h.NS, "-o", "link", "show", "dev", h.Iface)
		if err != nil {
			t.Fatalf("netns: %s: reading %s: %v: %s", h.NS, h.Iface, err, out)
		}
		if strings.Contains(out, "LOWER_UP") == carrier {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("netns: %s: %s carrier still %v after %v: %s", h.NS, h.Iface, !carrier, carrierWait, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// addSpace records a namespace for cleanup.
func (l *Lab) addSpace(ns string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spaces = append(l.spaces, ns)
}

// ip runs the ip command and fails the test on error.
func (l *Lab) ip(args ...string) {
	l.t.Helper()
	if out, err := ipCmd(args...); err != nil {
		l.t.Fatalf("netns: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// cleanup kills every process in the lab's namespaces and deletes them
// (hosts first; deleting a namespace destroys its veth ends).
func (l *Lab) cleanup() {
	l.cancel()
	l.mu.Lock()
	spaces := append([]string(nil), l.spaces...)
	l.mu.Unlock()
	for i := len(spaces) - 1; i >= 0; i-- {
		ns := spaces[i]
		l.killAll(ns)
		if out, err := ipCmd("netns", "delete", ns); err != nil {
			l.t.Errorf("netns: deleting namespace %s: %v: %s", ns, err, out)
		}
	}
}

// killAll sends SIGKILL to every process in namespace ns.
func (l *Lab) killAll(ns string) {
	out, err := ipCmd("netns", "pids", ns)
	if err != nil {
		l.t.Logf("netns: listing processes of %s: %v: %s", ns, err, out)
		return
	}
	for _, f := range strings.Fields(out) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid == os.Getpid() {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// ipCmd runs ip with args and returns its combined output.
func ipCmd(args ...string) (string, error) {
	return run("ip", args...)
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("netns: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// Do runs f on a fresh OS thread that has entered the host's network
// namespace and waits for it; it fails the test if f returns an error.
// Sockets f opens stay in the namespace and may be used from any
// goroutine afterwards. The thread is discarded when f returns.
func (h *Host) Do(t testing.TB, f func() error) {
	t.Helper()
	Do(t, h.NS, f)
}

// Do is Host.Do for any named network namespace (one under /run/netns),
// also those a test made without a Lab.
func Do(t testing.TB, ns string, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends the thread with the goroutine,
		// so no other goroutine runs in the wrong namespace.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("opening namespace %s: %w", ns, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("entering namespace %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("netns: %s: %v", ns, err)
	}
}

// IPv4Addrs lists the IPv4 addresses on the host's interface to the bridge.
func (h *Host) IPv4Addrs(t testing.TB) []string {
	t.Helper()
	var out []string
	h.Do(t, func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		as, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				out = append(out, n.IP.String())
			}
		}
		return nil
	})
	return out
}
