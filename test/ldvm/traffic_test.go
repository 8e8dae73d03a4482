package ldvm

// traffic_test.go: real HTTP requests through IPVS NAT under our
// ldirectord: the weighted split, a quiesced real (no new connections, its
// open ones keep working), and the fallback server.

import (
	"fmt"
	"maps"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/webserver"
)

// The lab: the director namespace holds IPVS (its own table, apart from
// the other guest tests' root namespace) with the VIP on lo; the client
// and every server have a veth link to it and route through it, so the
// servers' answers pass the director to be un-NATed.
const (
	trafficVIP     = "10.91.0.1"
	trafficVIPPort = "10.91.0.1:80"
	trafficClient  = "10.90.0.2" // the client namespace's address
	// trafficSettle bounds every wait for the IPVS table to change: a
	// check every second (a failing one answers at once), under TCG.
	trafficSettle = 20 * time.Second
)

// trafficLab is the director, client and server namespaces and our
// ldirectord running in the director.
type trafficLab struct {
	t        *testing.T
	director string // the director's namespace
	client   string // the client's namespace
	reals    []*trafficServer
	fallback *trafficServer
	ld       *ldProc // our ldirectord, in the director
}

// trafficServer is a webserver.Server in its own namespace.
type trafficServer struct {
	*webserver.Server
	ns     string
	subnet string // its link to the director, e.g. "10.92.1" (/24)
	addr   string // subnet .2, port 80
	weight int    // configured weight (reals)
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
	ldirectordBinary(t) // guest only; TestLDVM built it
	start := time.Now()
	lab := trafficNewLab(t)
	rs1, rs2, rs3, fb := lab.reals[0], lab.reals[1], lab.reals[2], lab.fallback
	t.Logf("lab (6 namespaces, 4 servers) up in %.1fs", time.Since(start).Seconds())
	start = time.Now()
	lab.startLD()
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
		var kept *webserver.Conn
		for i := 0; i < 6 && kept == nil; i++ {
			c := lab.dial(t)
			if name := c.MustGet(t, true); name == rs2.Name {
				kept = c
			} else {
				c.Close()
			}
		}
		if kept == nil {
			t.Fatalf("no connection out of 6 landed on %s", rs2.Name)
		}
		defer kept.Close()

		rs2.Healthy.Store(false)
		start := time.Now()
		lab.waitTable(t, "rs2 fails its check", map[string]trafficDest{
			rs1.addr: {"Masq", 1}, rs2.addr: {"Masq", 0}, rs3.addr: {"Masq", 3}})
		t.Logf("rs2 quiesced (weight 0) %.1fs after its check started failing", time.Since(start).Seconds())
		// Weights 1/0/3: any 4 consecutive new connections go 1/0/3.
		lab.expectSplit(t, 40, map[string]int{"rs1": 10, "rs3": 30})
		if name := kept.MustGet(t, true); name != rs2.Name {
			t.Fatalf("the connection opened to rs2 before it was quiesced was answered by %q", name)
		}
		t.Logf("the connection opened before the quiesce still reaches %s", rs2.Name)

		rs2.Healthy.Store(true)
		start = time.Now()
		lab.waitTable(t, "rs2 passes again", map[string]trafficDest{
			rs1.addr: {"Masq", 1}, rs2.addr: {"Masq", 2}, rs3.addr: {"Masq", 3}})
		t.Logf("rs2 restored %.1fs after its check passed again", time.Since(start).Seconds())
		lab.expectSplit(t, 60, map[string]int{"rs1": 10, "rs2": 20, "rs3": 30})
		if name := kept.MustGet(t, false); name != rs2.Name {
			t.Fatalf("the kept connection was answered by %q after the restore", name)
		}
	}) {
		return
	}
	t.Run("fallback", func(t *testing.T) {
		for _, r := range lab.reals {
			r.Healthy.Store(false)
		}
		start := time.Now()
		lab.waitTable(t, "every real fails", map[string]trafficDest{
			rs1.addr: {"Masq", 0}, rs2.addr: {"Masq", 0}, rs3.addr: {"Masq", 0}, fb.addr: {"Masq", 1}})
		t.Logf("fallback in %.1fs after every check started failing", time.Since(start).Seconds())
		lab.expectSplit(t, 6, map[string]int{"fallback": 6})

		rs1.Healthy.Store(true)
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
	lab := &trafficLab{t: t, director: "trf-dir", client: "trf-cli"}
	for i, w := range []int{1, 2, 3} {
		lab.reals = append(lab.reals, trafficNewServer(fmt.Sprintf("rs%d", i+1), fmt.Sprintf("10.92.%d", i+1), w))
	}
	lab.fallback = trafficNewServer("fallback", "10.92.9", 0)
	// The namespaces linked to the director, with their /24 subnets: the
	// director is .1, the leaf .2.
	leaves := []struct{ ns, subnet string }{{lab.client, strings.TrimSuffix(trafficClient, ".2")}}
	spaces := []string{lab.director, lab.client}
	for _, s := range append(slices.Clone(lab.reals), lab.fallback) {
		leaves = append(leaves, struct{ ns, subnet string }{s.ns, s.subnet})
		spaces = append(spaces, s.ns)
	}

	var add, del strings.Builder
	for _, ns := range spaces {
		fmt.Fprintf(&add, "netns add %s\n", ns)
		fmt.Fprintf(&del, "netns delete %s\n", ns)
	}
	ldRun(t, add.String(), "ip", "-batch", "-")
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
	ldRun(t, dir, "ip", "-n", lab.director, "-batch", "-")
	for _, l := range leaves {
		ns, subnet := l.ns, l.subnet
		ldRun(t, "addr add "+subnet+".2/24 dev eth0\nlink set eth0 up\nlink set lo up\n"+
			"route add default via "+subnet+".1\n", "ip", "-n", ns, "-batch", "-")
	}
	ldRun(t, "", "ip", "netns", "exec", lab.director, "sysctl", "-qw", "net.ipv4.ip_forward=1")

	for _, s := range append(slices.Clone(lab.reals), lab.fallback) {
		s.ServeIn(t, s.ns, s.addr)
	}
	return lab
}

// trafficNewServer describes a healthy server in namespace trf-<name> on
// subnet .2, port 80.
func trafficNewServer(name, subnet string, weight int) *trafficServer {
	return &trafficServer{Server: webserver.New(name), ns: "trf-" + name, subnet: subnet, addr: subnet + ".2:80", weight: weight}
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
	fmt.Fprintf(&b, "\trequest=%q\n\treceive=%q\n", strings.TrimPrefix(webserver.CheckPath, "/"), webserver.Alive)
	return b.String()
}

// startLD runs ldirectord -d in the director namespace; it is stopped with
// SIGTERM when the test ends (and must exit 0 within 20 s), and its log
// shown if the test failed.
func (lab *trafficLab) startLD() {
	t := lab.t
	t.Helper()
	lab.ld = ldConfig(t, lab.config())
	lab.ld.ns = lab.director
	lab.ld.ldForeground()
	t.Cleanup(func() {
		lab.ld.stop()
		if t.Failed() {
			log := lab.ld.log()
			t.Logf("ldirectord log (tail):\n%s", log[max(0, len(log)-8<<10):])
		}
	})
}

// trafficDest is one real server line of ipvsadm -Ln.
type trafficDest struct {
	Forward string
	Weight  int
}

// table reads the VIP's real servers from ipvsadm -Ln in the director.
func (lab *trafficLab) table(t *testing.T) (map[string]trafficDest, string) {
	t.Helper()
	out := ldRun(t, "", "ip", "netns", "exec", lab.director, "ipvsadm", "-Ln")
	dests := map[string]trafficDest{}
	ours := false
	for _, f := range ipvsadmFields(out) {
		switch {
		case f[0] != "->":
			ours = len(f) >= 2 && f[0] == "TCP" && f[1] == trafficVIPPort
		case ours && len(f) >= 4:
			w, err := strconv.Atoi(f[3])
			if err != nil {
				t.Fatalf("ipvsadm -Ln: bad weight in %q", f)
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
	webserver.ExpectSplit(t, n, want, lab.dial)
}

// dial opens a TCP connection from the client namespace to the VIP.
func (lab *trafficLab) dial(t testing.TB) *webserver.Conn {
	t.Helper()
	var c net.Conn
	netns.Do(t, lab.client, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", trafficVIPPort, 5*time.Second)
		return err
	})
	return webserver.NewConn(c)
}
