// Package nftlb holds the acceptance tests of issue 6 over the nftables data
// plane: the real ldirectord binary with backend = nftables (and heartbeatd
// for the director failover) in network namespaces, with real HTTP traffic
// from a client through LVS-NAT to real servers. Root only (test/netns).
package nftlb

// lab_test.go: the lab (client, directors, real servers and fallback on one
// bridge), its HTTP servers and client (test/webserver), and reading the
// nftables table.

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/gobuild"
	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/webserver"
)

// Addresses. Everything shares one bridge; the client's and the reals'
// subnets are routed through the director holding the VIP and the
// inside gateway, as LVS-NAT needs: the reals answer the client through
// the director that did the DNAT, whose conntrack un-NATs the answer.
const (
	vip      = "10.81.1.100" // the virtual service's address (outside)
	vipPort  = vip + ":80"
	insideGW = "10.81.2.254" // the reals' default gateway (inside)
	clientIP = "10.81.1.10"
	// settle bounds every wait for the nftables table to change: checks
	// run every checkInterval and a refused connection fails at once.
	settle = 10 * time.Second
)

// directorAddrs are each director's own addresses: outside, inside.
var directorAddrs = [][2]string{{"10.81.1.1/24", "10.81.2.1/24"}, {"10.81.1.2/24", "10.81.2.2/24"}}

// server is a webserver.Server in its own namespace on port 80.
type server struct {
	*webserver.Server
	addr   string // "10.81.2.11:80"
	weight int    // configured weight (reals)
	host   *netns.Host
}

// lab is the client, one or two directors, three reals (weights given to
// newLab) and the fallback server.
type lab struct {
	t         *testing.T
	netns     *netns.Lab
	client    *netns.Host
	directors []*netns.Host
	reals     []*server
	fallback  *server
}

// newLab builds the namespaces and starts the servers. The directors
// forward, without ICMP redirects (client and reals share their link).
// The VIP and the inside gateway are not configured: the caller gives
// them to a director (addFloating) or to heartbeatd.
func newLab(t *testing.T, directors int, weights ...int) *lab {
	t.Helper()
	nl := netns.NewLab(t)
	l := &lab{t: t, netns: nl, client: nl.AddHost("c", clientIP+"/24")}
	for i := range directors {
		d := nl.AddHost(fmt.Sprintf("d%d", i+1), directorAddrs[i][1])
		d.AddAddr(t, directorAddrs[i][0])
		d.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
			"net.ipv4.conf."+netns.HostIface+".send_redirects=0")
		l.directors = append(l.directors, d)
	}
	for i, w := range weights {
		l.reals = append(l.reals, l.newServer(fmt.Sprintf("rs%d", i+1), fmt.Sprintf("10.81.2.%d", 11+i), w))
	}
	l.fallback = l.newServer("fallback", "10.81.2.20", 0)
	return l
}

// newServer starts a healthy server in namespace <name> at ip:80 whose
// default route is the inside gateway.
func (l *lab) newServer(name, ip string, weight int) *server {
	t := l.t
	t.Helper()
	s := &server{Server: webserver.New(name), addr: ip + ":80", weight: weight, host: l.netns.AddHost(name, ip+"/24")}
	s.host.Run(t, "ip", "route", "add", "default", "via", insideGW)
	s.ServeIn(t, s.host.NS, s.addr)
	return s
}

// addFloating gives director d the VIP and the inside gateway, as
// heartbeatd's IPaddr2 resources would.
func (l *lab) addFloating(d *netns.Host) {
	d.AddAddr(l.t, vip+"/24")
	d.AddAddr(l.t, insideGW+"/24")
}

// config is an ldirectord.cf with backend = nftables for the lab's reals
// and fallback: wrr, negotiate HTTP checks every 0.2 s, quiescent.
func (l *lab) config() string {
	var b strings.Builder
	b.WriteString("backend = nftables\nsupervised = yes\ncheckinterval = 0.2\nchecktimeout = 1\n" +
		"quiescent = yes\ncleanstop = yes\n\n")
	b.WriteString("virtual = " + vipPort + "\n")
	for _, r := range l.reals {
		fmt.Fprintf(&b, "\treal = %s masq %d\n", r.addr, r.weight)
	}
	fmt.Fprintf(&b, "\tfallback = %s masq\n", l.fallback.addr)
	b.WriteString("\tservice = http\n\tscheduler = wrr\n\tprotocol = tcp\n\tchecktype = negotiate\n")
	fmt.Fprintf(&b, "\trequest = %q\n\treceive = %q\n", strings.TrimPrefix(webserver.CheckPath, "/"), webserver.Alive)
	return b.String()
}

// table reads the VIP's real servers and weights from director d's
// nftables table, through the data plane's own read-back (the rule
// comments), as a restarted ldirectord reads it. An absent table is an
// empty map. The read is several netlink dumps, not one snapshot: while
// the daemon changes the table it may see a chain whose rules are gone
// (an error), so callers that poll retry.
func table(t *testing.T, d *netns.Host) (map[string]int, error) {
	t.Helper()
	n := kernel.NewNFTables()
	defer n.Close()
	var vs []kernel.VirtualService
	var err error
	d.Do(t, func() error {
		vs, err = kernel.Table(n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	got := map[string]int{}
	for _, v := range vs {
		if v.ServiceKey.String() != "tcp:"+vipPort {
			t.Fatalf("%s: unexpected virtual service %s in table inet %s", d.NS, v.ServiceKey, kernel.NFTTable)
		}
		for _, r := range v.Dests {
			got[r.String()] = r.Weight
		}
	}
	return got, nil
}

// nftList is `nft list table inet ldirectord` in d ("" when absent).
func nftList(d *netns.Host) string {
	out, _ := d.Command(context.Background(), "nft", "list", "table", "inet", kernel.NFTTable).CombinedOutput()
	return string(out)
}

// waitTable polls d's table until it is exactly want; it returns how long
// that took.
func waitTable(t *testing.T, d *netns.Host, step string, want map[string]int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, err := table(t, d)
		if err != nil {
			t.Logf("%s: reading %s's table while it changes: %v; nft list table now:\n%s", step, d.Name, err, nftList(d))
		} else if maps.Equal(got, want) {
			return time.Since(start)
		}
		if time.Since(start) > settle {
			t.Fatalf("%s: %s's table is %v (%v), not %v, after %v; nft list table:\n%s",
				step, d.Name, got, err, want, settle, nftList(d))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// weights is the table of the lab's servers: name → weight, by address.
func (l *lab) weights(byName map[string]int) map[string]int {
	out := map[string]int{}
	for _, s := range append(slices.Clone(l.reals), l.fallback) {
		if w, ok := byName[s.Name]; ok {
			out[s.addr] = w
		}
	}
	return out
}

// dial opens a connection from the client to the VIP within timeout.
func (l *lab) dial(timeout time.Duration) (*webserver.Conn, error) {
	var c net.Conn
	var err error
	l.client.Do(l.t, func() error {
		c, err = net.DialTimeout("tcp4", vipPort, timeout)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return webserver.NewConn(c), nil
}

// mustDial is dial that fails the test.
func (l *lab) mustDial(t testing.TB) *webserver.Conn {
	t.Helper()
	c, err := l.dial(2 * time.Second)
	if err != nil {
		t.Fatalf("client: connecting to %s: %v", vipPort, err)
	}
	return c
}

// expectSplit sends n requests, each on a new connection, and fails the
// test unless the servers that answered counted want.
func (l *lab) expectSplit(t *testing.T, n int, want map[string]int) {
	t.Helper()
	webserver.ExpectSplit(t, n, want, l.mustDial)
}

// binaries is the ldirectord binary, built once per test binary.
var binaries gobuild.Once

// ldirectord builds the ldirectord binary once and returns its path.
func ldirectord(t *testing.T) string {
	t.Helper()
	return filepath.Join(binaries.Build(t, "github.com/hasuite/hasuite/ldirectord"), "ldirectord")
}

func TestMain(m *testing.M) {
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}
