// Harness of the mixed resource tests: one heartbeatd and one heartbeat 3.0.6
// sharing a haresources file, a sniffer of their cluster messages, and
// helpers to look at the VIPs in each namespace.

package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// The two groups of the mixed resource tests: ours (nodea) prefers vipA,
// the classic node (nodeb) prefers vipB.
const (
	vipA        = "10.77.0.100"
	vipB        = "10.77.0.200"
	rscKey      = "s3cretKey"
	haresources = "nodea IPaddr2::" + vipA + "/24/hb0\nnodeb IPaddr2::" + vipB + "/24/hb0\n"
)

// rscOptions vary the ha.cf of a resource pair.
type rscOptions struct {
	AutoFailback string   // on, off or legacy
	Deadtime     string   // ms syntax; default 1500ms
	Initdead     string   // default 4
	ClassicArgs  []string // extra heartbeat flags, e.g. -d
}

// rscHACF is the ha.cf of both nodes of a resource pair.
func rscHACF(o rscOptions) string {
	dt := o.Deadtime
	if dt == "" {
		dt = "1500ms"
	}
	initdead := o.Initdead
	if initdead == "" {
		initdead = "4"
	}
	return fmt.Sprintf(`# mixed resource test
keepalive 200ms
deadtime %s
warntime 1
initdead %s
auto_failback %s
bcast hb0
node nodea nodeb
crm no
`, dt, initdead, o.AutoFailback)
}

// rscPair is heartbeatd as nodea on host a (10.77.0.1) and heartbeat 3.0.6
// as nodeb on host b (10.77.0.2), plus a sniffer on host s (10.77.0.3).
type rscPair struct {
	t       *testing.T
	a, b    *netns.Host
	ours    oursNode
	classic *Classic
	sniff   *sniffer
	// oursStarted and classicStarted are when each node was launched.
	oursStarted, classicStarted time.Time
}

// newRscPair builds the lab and the sniffer and starts both nodes, ours
// first (it is ready within milliseconds), then the classic one.
func newRscPair(t *testing.T, o rscOptions) *rscPair {
	t.Helper()
	RequireClassic(t)
	lab := netns.NewLab(t)
	p := &rscPair{t: t,
		a: lab.AddHost("a", "10.77.0.1/24"),
		b: lab.AddHost("b", "10.77.0.2/24"),
	}
	p.sniff = startSniffer(t, lab.AddHost("s", "10.77.0.3/24"))
	p.oursStarted = time.Now()
	p.ours.Node = hbnode.Start(t, p.a, hbnode.Options{
		Node:        "nodea",
		HACF:        "logfile " + hbnode.LogPlaceholder + "\n" + rscHACF(o),
		AuthKeys:    hbnode.AuthKeys("sha1", rscKey),
		Haresources: haresources,
	})
	p.classicStarted = time.Now()
	p.classic = StartClassic(t, p.b, ClassicOptions{
		Node: "nodeb", HACF: rscHACF(o), AuthKeys: hbnode.AuthKeys("sha1", rscKey), Haresources: haresources,
		Args: o.ClassicArgs,
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster messages seen by the sniffer:\n%s", p.sniff.dump())
		}
	})
	return p
}

// vips returns which of vipA and vipB are configured on h's hb0.
func vips(t testing.TB, h *netns.Host) []string {
	t.Helper()
	out := h.Run(t, "ip", "-4", "-o", "addr", "show", "dev", "hb0")
	var got []string
	for _, ip := range []string{vipA, vipB} {
		if strings.Contains(out, " "+ip+"/") {
			got = append(got, ip)
		}
	}
	return got
}

// waitVIPs polls both namespaces until a holds exactly wantA and b exactly
// wantB, and returns how long that took; it fails the test after within.
func (p *rscPair) waitVIPs(wantA, wantB []string, within time.Duration) time.Duration {
	p.t.Helper()
	took, ok := p.pollVIPs(wantA, wantB, within)
	if !ok {
		p.t.Fatalf("after %v: nodea (heartbeatd) holds %v, want %v; nodeb (3.0.6) holds %v, want %v",
			within, vips(p.t, p.a), wantA, vips(p.t, p.b), wantB)
	}
	return took
}

// pollVIPs is waitVIPs reporting a timeout instead of failing the test.
func (p *rscPair) pollVIPs(wantA, wantB []string, within time.Duration) (time.Duration, bool) {
	p.t.Helper()
	start := time.Now()
	for {
		if slices.Equal(vips(p.t, p.a), wantA) && slices.Equal(vips(p.t, p.b), wantB) {
			return time.Since(start), true
		}
		if time.Since(start) > within {
			return within, false
		}
		time.Sleep(pollInterval)
	}
}

// waitHolds polls h until it holds exactly want and returns the time taken.
func waitHolds(t testing.TB, h *netns.Host, want []string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := vips(t, h)
		if slices.Equal(got, want) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s holds %v, want %v after %v", h.Name, got, want, within)
		}
		time.Sleep(pollInterval / 2)
	}
}

// assertStill checks for d that both namespaces keep holding what they hold
// now: nothing moves back or flaps.
func (p *rscPair) assertStill(wantA, wantB []string, d time.Duration) {
	p.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		gotA, gotB := vips(p.t, p.a), vips(p.t, p.b)
		if !slices.Equal(gotA, wantA) || !slices.Equal(gotB, wantB) {
			p.t.Fatalf("VIPs moved: nodea holds %v (want %v), nodeb holds %v (want %v)", gotA, wantA, gotB, wantB)
		}
		time.Sleep(4 * pollInterval)
	}
}

// rscstatus returns cl_status rscstatus on both nodes (ours through our
// cl_status and API, the classic one through its own).
func (p *rscPair) rscstatus() (ours, classic string) {
	p.t.Helper()
	o, _ := p.ours.ClStatus(p.t, "rscstatus")
	c, _ := p.classic.ClStatus(p.t, "rscstatus")
	return strings.TrimSpace(o), strings.TrimSpace(c)
}

// waitRscstatus polls both nodes' rscstatus until they equal the wanted
// values.
func (p *rscPair) waitRscstatus(wantOurs, wantClassic string, within time.Duration) {
	p.t.Helper()
	start := time.Now()
	for {
		o, c := p.rscstatus()
		if o == wantOurs && c == wantClassic {
			return
		}
		if time.Since(start) > within {
			p.t.Fatalf("rscstatus: heartbeatd %q (want %q), 3.0.6 %q (want %q) after %v", o, wantOurs, c, wantClassic, within)
		}
		time.Sleep(2 * pollInterval)
	}
}

// oursNode is what the tests need of our node beyond hbnode.Node.
type oursNode struct{ *hbnode.Node }

// waitRscstatus polls our cl_status rscstatus until it prints want.
func (n oursNode) waitRscstatus(t testing.TB, want string, within time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		out, _ := n.ClStatus(t, "rscstatus")
		if got := strings.TrimSpace(out); got == want {
			return
		} else if time.Since(start) > within {
			t.Fatalf("heartbeatd rscstatus = %q, want %q within %v", got, want, within)
		}
		time.Sleep(2 * pollInterval)
	}
}

// waitBothActive waits until each node sees the other active.
func (p *rscPair) waitBothActive(within time.Duration) {
	p.t.Helper()
	p.classic.WaitNodeStatus(p.t, "nodea", "active", within)
	p.ours.WaitStatus(p.t, "nodeb", "active", within)
}

// dropVIPs deletes vipA and vipB from h's hb0: what a crashed machine loses
// with its power. Killing a node's processes leaves its addresses in its
// network namespace, where they would answer ARP next to the survivor's.
func dropVIPs(t testing.TB, h *netns.Host) {
	t.Helper()
	for _, ip := range vips(t, h) {
		h.Run(t, "ip", "addr", "del", ip+"/24", "dev", "hb0")
	}
}

// classicTool runs one of the package's shell tools (e.g.
// /usr/share/heartbeat/hb_standby) inside the classic node's namespaces and
// returns its combined output.
func (c *Classic) classicTool(t testing.TB, path string, args ...string) string {
	t.Helper()
	pid := c.Pid()
	if pid == 0 {
		t.Fatalf("interop: node %s: %s: node is not running", c.opts.Node, path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clStatusTimeout)
	defer cancel()
	full := append([]string{"--target", strconv.Itoa(pid), "--mount", "--uts", "--net", "--pid", "--", path}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("interop: node %s: %s %s: %v: %s", c.opts.Node, path, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Our tools, built once per test binary.
var (
	toolsOnce sync.Once
	toolsDir  string
	toolsErr  error
)

// oursTool runs hasuite's heartbeatd/cmd/<name> (hb_standby, hb_takeover)
// against n's API socket and fails the test unless it exits 0. It skips the
// test if the tool does not exist.
func oursTool(t testing.TB, n oursNode, name string, args ...string) string {
	t.Helper()
	out, rc := oursToolRC(t, n, name, args...)
	if rc != 0 {
		t.Fatalf("%s %s: exit %d: %s", name, strings.Join(args, " "), rc, out)
	}
	return out
}

// oursToolRC is oursTool returning the output and exit code.
func oursToolRC(t testing.TB, n oursNode, name string, args ...string) (string, int) {
	t.Helper()
	toolsOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			toolsErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		toolsDir, toolsErr = os.MkdirTemp("", "hasuite-tools-")
		if toolsErr != nil {
			return
		}
		for _, tool := range []string{"hb_standby", "hb_takeover"} {
			if _, err := os.Stat(filepath.Join(root, "heartbeatd/cmd", tool)); err != nil {
				continue // not written yet: tests using it skip
			}
			cmd := exec.Command("go", "build", "-o", toolsDir+"/", "./heartbeatd/cmd/"+tool)
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				toolsErr = fmt.Errorf("go build %s: %v\n%s", tool, err, b)
				return
			}
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	bin := filepath.Join(toolsDir, name)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("hasuite has no %s yet (heartbeatd/cmd/%s)", name, name)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HA_API_SOCKET="+n.Socket())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit) && exit.Exited():
		return string(out), exit.ExitCode()
	}
	t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	return "", 0
}

// listenUDPIn opens a UDP socket inside h's network namespace. Unlike
// netns.Host.Do it returns the thread to the runtime in its own namespace
// instead of ending it: a thread that ends SIGKILLs the classic nodes whose
// unshare it happened to fork (Pdeathsig belongs to the forking thread).
func listenUDPIn(h *netns.Host, addr string) (net.PacketConn, error) {
	type result struct {
		c   net.PacketConn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: fmt.Errorf("opening own namespace: %w", err)}
			runtime.UnlockOSThread()
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+h.NS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: fmt.Errorf("opening namespace %s: %w", h.NS, err)}
			runtime.UnlockOSThread()
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("entering namespace %s: %w", h.NS, err)}
			runtime.UnlockOSThread()
			return
		}
		c, err := net.ListenPacket("udp4", addr)
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else the thread stays locked and ends with this goroutine
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// sniffed is one cluster message seen on the wire.
type sniffed struct {
	at  time.Time
	msg *wire.Message
}

// sniffer receives every broadcast heartbeat packet on a third host and
// keeps the decoded messages other than status.
type sniffer struct {
	conn net.PacketConn
	mu   sync.Mutex
	msgs []sniffed
	bad  []string
}

func startSniffer(t testing.TB, h *netns.Host) *sniffer {
	t.Helper()
	kr, err := wire.NewKeyring(1, wire.Key{Num: 1, Method: wire.MethodSHA1, Secret: []byte(rscKey)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := listenUDPIn(h, ":694")
	if err != nil {
		t.Fatalf("sniffer: %v", err)
	}
	s := &sniffer{conn: c}
	t.Cleanup(func() { s.conn.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := s.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			now := time.Now()
			m, err := wire.Decode(slices.Clone(buf[:n]), kr)
			s.mu.Lock()
			switch {
			case err != nil:
				s.bad = append(s.bad, err.Error())
			case m.Type() != "status":
				s.msgs = append(s.msgs, sniffed{now, m})
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// since returns the messages seen from the given time on.
func (s *sniffer) since(from time.Time) []sniffed {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sniffed
	for _, m := range s.msgs {
		if !m.at.Before(from) {
			out = append(out, m)
		}
	}
	return out
}

// find returns the first message since from, sent by src, for which match
// is true.
func (s *sniffer) find(from time.Time, src string, match func(*wire.Message) bool) (*wire.Message, bool) {
	for _, m := range s.since(from) {
		if m.msg.Get("src") == src && match(m.msg) {
			return m.msg, true
		}
	}
	return nil, false
}

// waitFind polls find until a message matches.
func (s *sniffer) waitFind(t testing.TB, from time.Time, src string, within time.Duration, what string, match func(*wire.Message) bool) *wire.Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if m, ok := s.find(from, src, match); ok {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s from %s within %v", what, src, within)
		}
		time.Sleep(pollInterval)
	}
}

// dump is the sniffed log, one message a line, without the standard fields.
func (s *sniffer) dump() string {
	var b strings.Builder
	for _, m := range s.since(time.Time{}) {
		fmt.Fprintf(&b, "%s %s\n", m.at.Format("15:04:05.000"), brief(m.msg))
	}
	s.mu.Lock()
	for _, e := range s.bad {
		fmt.Fprintf(&b, "undecodable: %s\n", e)
	}
	s.mu.Unlock()
	return b.String()
}

// standardFields are the fields every cluster message carries (spec §1.3),
// left out when messages of the two implementations are compared.
var standardFields = map[string]bool{"seq": true, "hg": true, "ts": true, "ttl": true, "auth": true,
	"ld": true, "dt": true, "protocol": true, "srcuuid": true, "firstseq": true}

// brief is a message without its standard and binary (uuid) fields.
func brief(m *wire.Message) string {
	var f []string
	for _, x := range m.Fields {
		if !standardFields[x.Name] && x.Type == wire.TypeString {
			f = append(f, x.Name+"="+string(x.Value))
		}
	}
	return strings.Join(f, " ")
}
