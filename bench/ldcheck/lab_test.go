package ldcheck

// lab_test.go: the namespace, the binaries, the real servers, the daemons.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/gobuild"
	"github.com/hasuite/hasuite/test/netns"
)

// perlLdirectord is Debian's ldirectord 4.12.
const perlLdirectord = "/usr/sbin/ldirectord"

// blackHoleNet is local, but nftables drops every packet to it on input:
// SYNs vanish, so checks of its addresses time out.
const blackHoleNet = "127.2.0.0/16"

// flagOursBin runs another build of ours (e.g. of an older commit, for a
// before/after comparison in one sitting) instead of this tree's.
var flagOursBin = flag.String("ldcheck.oursbin", "", "run this prebuilt bench/ldcheck/ours binary as ours")

// binaries are ours, ldserver and the ipvsadm stand-in, built once per
// test binary.
var binaries gobuild.Once

// TestMain removes the binaries build made.
func TestMain(m *testing.M) {
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}

// build compiles ours, ldserver and the ipvsadm stand-in once per run and
// returns their directory.
func build(t testing.TB) string {
	t.Helper()
	return binaries.Build(t, "github.com/hasuite/hasuite/bench/ldcheck/ours", "github.com/hasuite/hasuite/bench/ldcheck/bare",
		"github.com/hasuite/hasuite/bench/ldcheck/ldserver", "github.com/hasuite/hasuite/bench/ldcheck/ipvsadm")
}

// newHost makes a fresh namespace (loopback up, so all of 127.0.0.0/8 is
// local) where blackHoleNet is black-holed.
func newHost(t testing.TB) *netns.Host {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		netns.Skip(t, "needs nft (apt-get install nftables) to black-hole reals")
	}
	h := netns.NewLab(t).AddHost("ld", "10.200.0.1/24")
	h.Run(t, "nft", "add", "table", "ip", "ldcheck")
	h.Run(t, "nft", "add", "chain", "ip", "ldcheck", "in", "{ type filter hook input priority 0; }")
	h.Run(t, "nft", "add", "rule", "ip", "ldcheck", "in", "ip", "daddr", blackHoleNet, "drop")
	return h
}

// realServers is a running ldserver.
type realServers struct {
	cmd *exec.Cmd
	in  io.Writer
	out *bufio.Reader
	mu  sync.Mutex
}

func startServers(t testing.TB, h *netns.Host) *realServers {
	t.Helper()
	cmd := h.Command(context.Background(), filepath.Join(build(t), "ldserver"))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ldserver: %v", err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	s := &realServers{cmd: cmd, in: in, out: bufio.NewReader(out)}
	if line, err := s.out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("ldserver did not start: %q %v", line, err)
	}
	return s
}

// do sends one command and returns the number after "ack".
func (s *realServers) do(t testing.TB, format string, args ...any) int64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.in, format+"\n", args...)
	line, err := s.out.ReadString('\n')
	var n int64
	if err != nil {
		t.Fatalf("ldserver: %v", err)
	}
	if _, err := fmt.Sscanf(line, "ack %d", &n); err != nil {
		t.Fatalf("ldserver: %q", line)
	}
	return n
}

// fail makes addr answer 503 and returns when it started to.
func (s *realServers) fail(t testing.TB, addr netip.Addr) time.Time {
	return time.Unix(0, s.do(t, "fail %s", addr))
}

func (s *realServers) heal(t testing.TB, addr netip.Addr) { s.do(t, "heal %s", addr) }

// requests returns every request answered so far.
func (s *realServers) requests(t testing.TB) []Request {
	t.Helper()
	path := filepath.Join(t.TempDir(), "requests")
	s.do(t, "dump %s", path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ParseRequests(b)
}

func (s *realServers) pid() int { return s.cmd.Process.Pid }

// daemon is a running ldirectord of either implementation.
type daemon struct {
	cmd     *exec.Cmd
	started time.Time
	opsPath string
	opsOff  int64 // how far next consumed the op log
	ops     []Op
}

// startDaemon writes cfg to dir and starts impl on it in h ("start"
// with supervised = yes: in the foreground). Ours records its IPVS
// calls; Perl runs the ipvsadm stand-in, bind-mounted over
// /usr/sbin/ipvsadm in the private mount namespace ip netns exec gives it.
func startDaemon(t testing.TB, h *netns.Host, impl, dir, cfg string) *daemon {
	t.Helper()
	bin := build(t)
	cfgPath := filepath.Join(dir, "ldcheck.cf")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &daemon{opsPath: filepath.Join(dir, "ops")}
	var cmd *exec.Cmd
	switch impl {
	case Bare:
		cmd = h.Command(context.Background(), filepath.Join(bin, "bare"), cfgPath, "start")
		cmd.Env = append(os.Environ(), "LDCHECK_OPS="+d.opsPath)
	case Ours, KeepAlive:
		ours := filepath.Join(bin, "ours")
		if *flagOursBin != "" {
			ours = *flagOursBin
		}
		cmd = h.Command(context.Background(), ours, cfgPath, "start")
		cmd.Env = append(os.Environ(), "LDCHECK_OPS="+d.opsPath, "HASUITE_LDIRECTORD_RUNDIR="+dir)
	default:
		cmd = h.Command(context.Background(), "sh", "-c", fmt.Sprintf(
			"mount --bind %s /usr/sbin/ipvsadm && exec %s %s start",
			filepath.Join(bin, "ipvsadm"), perlLdirectord, cfgPath))
		cmd.Env = append(os.Environ(), "LDCHECK_OPS="+d.opsPath,
			"LDCHECK_IPVSADM_STATE="+filepath.Join(dir, "ipvsadm.state"))
	}
	log, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", impl, err)
	}
	d.cmd, d.started = cmd, time.Now()
	t.Cleanup(func() {
		// Killed, not stopped: the run is over, and Perl may be deep in
		// its start-up.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		log.Close()
	})
	return d
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// alive fails the test if the daemon exited.
func (d *daemon) alive(t testing.TB, impl, dir string) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.Signal(0)); err != nil || d.cmd.ProcessState != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
		t.Fatalf("%s exited: %v\n%s", impl, err, tail(string(b), 3000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// next reads the ops appended since the last call (complete lines only)
// and returns all ops so far.
func (d *daemon) next(t testing.TB) []Op {
	t.Helper()
	f, err := os.Open(d.opsPath)
	if os.IsNotExist(err) {
		return d.ops
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, d.opsOff, 1<<40))
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
		d.ops = append(d.ops, ParseOps(b[:i+1])...)
		d.opsOff += int64(i + 1)
	}
	return d.ops
}

// waitOp waits up to limit for an op after since matching match; it
// returns the first such op.
func (d *daemon) waitOp(t testing.TB, since time.Time, limit time.Duration, match func(Op) bool) (Op, bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	seen := 0
	for {
		ops := d.next(t)
		for _, op := range ops[seen:] {
			if op.At.After(since) && match(op) {
				return op, true
			}
		}
		seen = len(ops)
		if time.Now().After(deadline) {
			return Op{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flagNet is the network of (a): the reals on loopback in the daemon's
// namespace, or behind a veth pair (see vethLab).
var flagNet = flag.String("ldcheck.net", "loopback", "(a): loopback (the reals on 127/8 in the daemon's namespace) or veth (the reals in a namespace of their own, behind a veth pair with threaded NAPI)")

// vethReals is the reals' network in the veth lab; the real servers'
// namespace has it all as local addresses.
const vethReals = "10.201.0.0/16"

// scaleLab is where (a) runs: the daemon's namespace, the real servers,
// the first two octets of the reals' addresses and, in the veth lab, the
// kernel threads that do each side's receive work.
type scaleLab struct {
	daemon   *netns.Host
	servers  *realServers
	realBase string // "127.1" or "10.201"
	ownNAPI  []int  // napi kthreads of the daemon's end of the veth pair
	realNAPI []int  // napi kthreads of the real servers' end
}

// newScaleLab builds the lab -ldcheck.net names.
func newScaleLab(t testing.TB) *scaleLab {
	t.Helper()
	switch *flagNet {
	case "loopback":
		h := newHost(t)
		return &scaleLab{daemon: h, servers: startServers(t, h), realBase: "127.1"}
	case "veth":
		return vethLab(t)
	}
	t.Fatalf("-ldcheck.net: unknown network %q (want loopback or veth)", *flagNet)
	return nil
}

// vethLab puts the real servers in a namespace of their own, holding all
// of vethReals, reached from the daemon's over a veth pair. On loopback
// the receiving socket's TCP work runs in the sender's context, so the
// daemon's CPU holds the reals' side of every handshake, request and
// reset. Here both ends of the pair have GRO on (which gives a veth its
// NAPI) and threaded NAPI, so each end's receive work runs in a napi/DEV
// kernel thread of its own: the daemon's end is the daemon's receive work
// (counted with it), the reals' end is the reals' (not counted).
func vethLab(t testing.TB) *scaleLab {
	t.Helper()
	if _, err := exec.LookPath("ethtool"); err != nil {
		netns.Skip(t, "-ldcheck.net veth needs ethtool (apt-get install ethtool) to turn GRO on")
	}
	lab := netns.NewLab(t)
	ld := lab.AddHost("ld", "10.200.0.1/24")
	rs := lab.AddHost("rs", "10.200.0.2/24")
	own, real := lab.Prefix+"d", lab.Prefix+"r"
	ipRun(t, "link", "add", own, "netns", ld.NS, "type", "veth", "peer", "name", real, "netns", rs.NS)
	ipRun(t, "-n", ld.NS, "addr", "add", "10.202.0.1/30", "dev", own)
	ipRun(t, "-n", rs.NS, "addr", "add", "10.202.0.2/30", "dev", real)
	for _, end := range []struct {
		h   *netns.Host
		dev string
	}{{ld, own}, {rs, real}} {
		ipRun(t, "-n", end.h.NS, "link", "set", end.dev, "up")
		// GRO gives a veth its NAPI; without TSO on the sender, TCP
		// packets from local sockets take it (veth_skb_is_eligible_for_gro).
		end.h.Run(t, "ethtool", "-K", end.dev, "gro", "on", "tso", "off")
		end.h.Run(t, "sh", "-c", "echo 1 > /sys/class/net/"+end.dev+"/threaded")
	}
	ipRun(t, "-n", ld.NS, "route", "add", vethReals, "via", "10.202.0.2")
	ipRun(t, "-n", rs.NS, "route", "add", "local", vethReals, "dev", "lo")
	s := &scaleLab{daemon: ld, servers: startServers(t, rs), realBase: "10.201",
		ownNAPI: napiThreads(t, own), realNAPI: napiThreads(t, real)}
	if len(s.ownNAPI) == 0 || len(s.realNAPI) == 0 {
		t.Fatalf("veth lab: no napi kernel threads for %s (%v) or %s (%v)", own, s.ownNAPI, real, s.realNAPI)
	}
	return s
}

func ipRun(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// napiThreads returns the pids of the threaded-NAPI kernel threads of
// device dev, named "napi/DEV-ID" (cut to 15 characters).
func napiThreads(t testing.TB, dev string) []int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(b), "napi/"+dev+"-") {
			continue
		}
		var pid int
		fmt.Sscanf(filepath.Base(filepath.Dir(p)), "%d", &pid)
		pids = append(pids, pid)
	}
	return pids
}

// threadsCPU is the CPU time of pids (kernel threads) so far.
func threadsCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		d, err := CPUTime(pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}
