package ldvm

// traffic_test.go: real HTTP requests through IPVS NAT under our
// ldirectord: the weighted split, a quiesced real (no new connections, its
// open ones keep working), and the fallback server.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The lab: the director namespace holds IPVS (its own table, apart from
// the other guest tests' root namespace) with the VIP on lo; the client
// and every server have a veth link to it and route through it, so the
// servers' answers pass the director to be un-NATed.
const (
	trafficVIP      = "10.91.0.1"
	trafficVIPPort  = "10.91.0.1:80"
	trafficCheckURL = "check.html" // request=; receive= is trafficAlive
	trafficAlive    = "alive"
	trafficClient   = "10.90.0.2" // the client namespace's address
	// trafficPeerHeader carries the source address a server saw.
	trafficPeerHeader = "X-Peer"
	// trafficSettle bounds every wait for the IPVS table to change: a
	// check every second (a failing one answers at once), under TCG.
	trafficSettle = 20 * time.Second
)

// trafficLab is the director, client and server namespaces and our
// ldirectord running in the director.
type trafficLab struct {
	t        *testing.T
	director string // the director's namespace
	client   *trafficNS
	reals    []*trafficServer
	fallback *trafficServer
	ldLog    string // ldirectord's stdout+stderr
}

// trafficServer is an HTTP server in its own namespace. "/" answers its
// name, with the client's address in trafficPeerHeader; "/check.html"
// answers trafficAlive while healthy, else "sick".
type trafficServer struct {
	name    string
	ns      string
	subnet  string // its link to the director, e.g. "10.92.1" (/24)
	addr    string // subnet .2, port 80
	weight  int    // configured weight (reals)
	healthy atomic.Bool
}

func (s *trafficServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/"+trafficCheckURL {
		if s.healthy.Load() {
			fmt.Fprint(w, trafficAlive)
		} else {
			fmt.Fprint(w, "sick")
		}
		return
	}
	// NAT keeps the client's source address: the real sees the client.
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	w.Header().Set(trafficPeerHeader, host)
	fmt.Fprint(w, s.name)
}

// TestGuestTrafficNAT drives one ldirectord (NAT, wrr 1/2/3, negotiate
// http checks every second, quiescent=yes, a fallback) with real HTTP
// requests from a client namespace, each on a new TCP connection:
//   - the split follows the weights exactly (wrr is deterministic: any
//     6 consecutive new connections go 1/2/3);
//   - a real failing its check goes to weight 0 and gets no new
//     connection, while a connection opened to it before keeps working;
//     restored, it gets its share again;
//   - with every real down the fallback answers; the first real back
//     takes the traffic again.
func TestGuestTrafficNAT(t *testing.T) {
	bin := ldirectordBinary(t)
	start := time.Now()
	lab := trafficNewLab(t)
	rs1, rs2, rs3, fb := lab.reals[0], lab.reals[1], lab.reals[2], lab.fallback
	t.Logf("lab (6 namespaces, 4 servers) up in %.1fs", time.Since(start).Seconds())
	start = time.Now()
	lab.startLD(bin)
	lab.waitTable(t, "start", map[string]trafficDest{
		rs1.addr: {"Masq", 1}, rs2.addr: {"Masq", 2}, rs3.addr: {"Masq", 3}})
	t.Logf("ldirectord started and its table settled in %.1fs", time.Since(start).Seconds())

	// Each step starts from the table the one before left.
	if !t.Run("weights", func(t *testing.T) {
		lab.expectSplit(t, 60, map[string]int{"rs1": 10, "rs2": 20, "rs3": 30})
	}) {
		return
	}
	if !t.Run("quiesce", func(t *testing.T) {
		// A keep-alive connection that wrr gave to rs2 (2 of every 6).
		var kept *trafficConn
		for i := 0; i < 6 && kept == nil; i++ {
			c := lab.dial(t)
			if name := c.get(t, true); name == rs2.name {
				kept = c
			} else {
				c.close()
			}
		}
		if kept == nil {
			t.Fatalf("no connection out of 6 landed on %s", rs2.name)
		}
		defer kept.close()

		rs2.healthy.Store(false)
		start := time.Now()
		lab.waitTable(t, "rs2 fails its check", map[string]trafficDest{
			rs1.addr: {"Masq", 1}, rs2.addr: {"Masq", 0}, rs3.addr: {"Masq", 3}})
		t.Logf("rs2 quiesced (weight 0) %.1fs after its check started failing", time.Since(start).Seconds())
		// Weights 1/0/3: any 4 consecutive new connections go 1/0/3.
		lab.expectSplit(t, 40, map[string]int{"rs1": 10, "rs3": 30})
		if name := kept.get(t, true); name != rs2.name {
			t.Fatalf("the connection opened to rs2 before it was quiesced was answered by %q", name)
		}
		t.Logf("the connection opened before the quiesce still reaches %s", rs2.name)

		rs2.healthy.Store(true)
		start = time.Now()
		lab.waitTable(t, "rs2 passes again", map[string]trafficDest{
			rs1.addr: {"Masq", 1}, rs2.addr: {"Masq", 2}, rs3.addr: {"Masq", 3}})
		t.Logf("rs2 restored %.1fs after its check passed again", time.Since(start).Seconds())
		lab.expectSplit(t, 60, map[string]int{"rs1": 10, "rs2": 20, "rs3": 30})
		if name := kept.get(t, false); name != rs2.name {
			t.Fatalf("the kept connection was answered by %q after the restore", name)
		}
	}) {
		return
	}
	t.Run("fallback", func(t *testing.T) {
		for _, r := range lab.reals {
			r.healthy.Store(false)
		}
		start := time.Now()
		lab.waitTable(t, "every real fails", map[string]trafficDest{
			rs1.addr: {"Masq", 0}, rs2.addr: {"Masq", 0}, rs3.addr: {"Masq", 0}, fb.addr: {"Masq", 1}})
		t.Logf("fallback in %.1fs after every check started failing", time.Since(start).Seconds())
		lab.expectSplit(t, 6, map[string]int{"fallback": 6})

		rs1.healthy.Store(true)
		start = time.Now()
		lab.waitTable(t, "rs1 passes again", map[string]trafficDest{
			rs1.addr: {"Masq", 1}, rs2.addr: {"Masq", 0}, rs3.addr: {"Masq", 0}})
		t.Logf("rs1 back and fallback gone %.1fs after rs1's check passed", time.Since(start).Seconds())
		lab.expectSplit(t, 6, map[string]int{"rs1": 6})
	})
}

// trafficNewLab builds the namespaces and starts the servers. Each
// namespace is set up by one ip -batch: under TCG every exec costs ~70 ms.
func trafficNewLab(t *testing.T) *trafficLab {
	t.Helper()
	lab := &trafficLab{t: t, director: "trf-dir"}
	for i, w := range []int{1, 2, 3} {
		lab.reals = append(lab.reals, trafficNewServer(fmt.Sprintf("rs%d", i+1), fmt.Sprintf("10.92.%d", i+1), w))
	}
	lab.fallback = trafficNewServer("fallback", "10.92.9", 0)
	// The namespaces linked to the director, with their /24 subnets: the
	// director is .1, the leaf .2.
	leaves := []struct{ ns, subnet string }{{"trf-cli", strings.TrimSuffix(trafficClient, ".2")}}
	spaces := []string{lab.director, "trf-cli"}
	for _, s := range append(slices.Clone(lab.reals), lab.fallback) {
		leaves = append(leaves, struct{ ns, subnet string }{s.ns, s.subnet})
		spaces = append(spaces, s.ns)
	}

	var add, del strings.Builder
	for _, ns := range spaces {
		fmt.Fprintf(&add, "netns add %s\n", ns)
		fmt.Fprintf(&del, "netns delete %s\n", ns)
	}
	trafficRun(t, add.String(), "ip", "-batch", "-")
	t.Cleanup(func() {
		cmd := exec.Command("ip", "-force", "-batch", "-")
		cmd.Stdin = strings.NewReader(del.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("deleting the lab's namespaces: %v: %s", err, out)
		}
	})

	dir := "link set lo up\naddr add " + trafficVIP + "/32 dev lo\n"
	for _, l := range leaves {
		ns, subnet := l.ns, l.subnet
		dev := ns + "-d" // the director's end (at most 15 characters)
		dir += "link add " + dev + " type veth peer name eth0 netns " + ns + "\n" +
			"addr add " + subnet + ".1/24 dev " + dev + "\n" +
			"link set " + dev + " up\n"
	}
	trafficRun(t, dir, "ip", "-n", lab.director, "-batch", "-")
	for _, l := range leaves {
		ns, subnet := l.ns, l.subnet
		trafficRun(t, "addr add "+subnet+".2/24 dev eth0\nlink set eth0 up\nlink set lo up\n"+
			"route add default via "+subnet+".1\n", "ip", "-n", ns, "-batch", "-")
	}
	trafficRun(t, "", "ip", "netns", "exec", lab.director, "sysctl", "-qw", "net.ipv4.ip_forward=1")

	lab.client = trafficEnterNS(t, "trf-cli")
	for _, s := range append(slices.Clone(lab.reals), lab.fallback) {
		s.serve(t)
	}
	return lab
}

// trafficNewServer describes a healthy server in namespace trf-<name> on
// subnet .2, port 80.
func trafficNewServer(name, subnet string, weight int) *trafficServer {
	s := &trafficServer{name: name, ns: "trf-" + name, subnet: subnet, addr: subnet + ".2:80", weight: weight}
	s.healthy.Store(true)
	return s
}

// serve starts the server in its namespace until the test ends.
func (s *trafficServer) serve(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	trafficEnterNS(t, s.ns).run(func() { ln, err = net.Listen("tcp4", s.addr) })
	if err != nil {
		t.Fatalf("%s: listening on %s: %v", s.ns, s.addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// config is the ldirectord.cf under test.
func (lab *trafficLab) config() string {
	var b strings.Builder
	b.WriteString("checktimeout=5\ncheckinterval=1\nquiescent=yes\n\n")
	b.WriteString("virtual=" + trafficVIPPort + "\n")
	for _, r := range lab.reals {
		fmt.Fprintf(&b, "\treal=%s masq %d\n", r.addr, r.weight)
	}
	fmt.Fprintf(&b, "\tfallback=%s masq\n", lab.fallback.addr)
	b.WriteString("\tservice=http\n\tscheduler=wrr\n\tprotocol=tcp\n\tchecktype=negotiate\n")
	fmt.Fprintf(&b, "\trequest=%q\n\treceive=%q\n", trafficCheckURL, trafficAlive)
	return b.String()
}

// startLD runs ldirectord -d in the director namespace; it is stopped with
// SIGTERM when the test ends (and must exit within 10 s).
func (lab *trafficLab) startLD(bin string) {
	t := lab.t
	t.Helper()
	dir := t.TempDir()
	cf := filepath.Join(dir, "ldirectord.cf")
	if err := os.WriteFile(cf, []byte(lab.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	lab.ldLog = filepath.Join(dir, "ldirectord.log")
	logf, err := os.Create(lab.ldLog)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", lab.director, bin, "-d", cf, "start")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ldirectord: %v", err)
	}
	logf.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Cleanups run last first: the log is shown after the stop.
	t.Cleanup(func() {
		if t.Failed() {
			lab.dumpLog()
		}
	})
	t.Cleanup(func() {
		// ip netns exec execs ldirectord: the pid is the daemon's.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ldirectord exited after SIGTERM: %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("ldirectord did not exit within 10s of SIGTERM")
		}
	})
}

// dumpLog logs ldirectord's output (the last 8 KiB).
func (lab *trafficLab) dumpLog() {
	b, err := os.ReadFile(lab.ldLog)
	if err != nil {
		lab.t.Logf("ldirectord log: %v", err)
		return
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	lab.t.Logf("ldirectord log (tail):\n%s", b)
}

// trafficDest is one real server line of ipvsadm -Ln.
type trafficDest struct {
	Forward string
	Weight  int
}

// table reads the VIP's real servers from ipvsadm -Ln in the director.
func (lab *trafficLab) table(t *testing.T) (map[string]trafficDest, string) {
	t.Helper()
	out := trafficRun(t, "", "ip", "netns", "exec", lab.director, "ipvsadm", "-Ln")
	dests := map[string]trafficDest{}
	ours := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && (f[0] == "TCP" || f[0] == "UDP" || f[0] == "FWM"):
			ours = f[0] == "TCP" && f[1] == trafficVIPPort
		case ours && len(f) >= 4 && f[0] == "->":
			w, err := strconv.Atoi(f[3])
			if err != nil {
				t.Fatalf("ipvsadm -Ln: bad weight in %q", line)
			}
			dests[f[1]] = trafficDest{f[2], w}
		}
	}
	return dests, out
}

// waitTable polls ipvsadm -Ln until the VIP's reals are exactly want.
func (lab *trafficLab) waitTable(t *testing.T, step string, want map[string]trafficDest) {
	t.Helper()
	deadline := time.Now().Add(trafficSettle)
	for {
		got, out := lab.table(t)
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the IPVS table did not reach %v within %v; ipvsadm -Ln:\n%s", step, want, trafficSettle, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// expectSplit sends n requests, each on a new TCP connection, and checks
// which server answered how often (exactly).
func (lab *trafficLab) expectSplit(t *testing.T, n int, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	start := time.Now()
	for range n {
		c := lab.dial(t)
		got[c.get(t, false)]++
		c.close()
	}
	t.Logf("%d requests in %.1fs: %s", n, time.Since(start).Seconds(), trafficCounts(got))
	if !maps.Equal(got, want) {
		t.Fatalf("split %s, want %s", trafficCounts(got), trafficCounts(want))
	}
}

func trafficCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// trafficConn is one client TCP connection to the VIP.
type trafficConn struct {
	conn net.Conn
	br   *bufio.Reader
}

// dial opens a TCP connection from the client namespace to the VIP.
func (lab *trafficLab) dial(t *testing.T) *trafficConn {
	t.Helper()
	var c net.Conn
	var err error
	lab.client.run(func() {
		c, err = net.DialTimeout("tcp4", trafficVIPPort, 5*time.Second)
	})
	if err != nil {
		t.Fatalf("client: connecting to %s: %v", trafficVIPPort, err)
	}
	return &trafficConn{conn: c, br: bufio.NewReader(c)}
}

// get sends GET / on the connection and returns the body (the server's
// name). keepAlive asks the server to keep the connection open.
func (c *trafficConn) get(t *testing.T, keepAlive bool) string {
	t.Helper()
	hdr := "Connection: close\r\n"
	if keepAlive {
		hdr = "Connection: keep-alive\r\n"
	}
	_ = c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + trafficVIP + "\r\n" + hdr + "\r\n"
	if _, err := io.WriteString(c.conn, req); err != nil {
		t.Fatalf("client: sending a request to %s: %v", trafficVIPPort, err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("client: reading the answer from %s: %v", trafficVIPPort, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("client: answer from %s: status %d, %v", trafficVIPPort, resp.StatusCode, err)
	}
	if peer := resp.Header.Get(trafficPeerHeader); peer != trafficClient {
		t.Fatalf("%q saw the request come from %q, want the client %s (NAT keeps the source)", body, peer, trafficClient)
	}
	return string(bytes.TrimSpace(body))
}

func (c *trafficConn) close() { c.conn.Close() }

// trafficNS runs functions on an OS thread that has entered a network
// namespace: sockets created there belong to it, wherever they are used
// afterwards.
type trafficNS struct {
	do chan func()
}

// trafficEnterNS starts the namespace's thread; it ends with the test.
func trafficEnterNS(t *testing.T, ns string) *trafficNS {
	t.Helper()
	n := &trafficNS{do: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine, so no
		// other goroutine ever runs in the namespace.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		errc <- err
		if err != nil {
			return
		}
		for f := range n.do {
			f()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("entering namespace %s: %v", ns, err)
	}
	t.Cleanup(func() { close(n.do) })
	return n
}

// run runs f on the namespace's thread and waits for it.
func (n *trafficNS) run(f func()) {
	done := make(chan struct{})
	n.do <- func() { defer close(done); f() }
	<-done
}

// trafficRun runs a command with stdin and returns its output; it fails
// the test on error.
func trafficRun(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = ctx.Err()
		}
		t.Fatalf("%s %s: %v: %s%s", name, strings.Join(args, " "), err, stdin, out)
	}
	return string(out)
}
