// Package nftlb holds the acceptance tests of issue 6 over the nftables data
// plane: the real ldirectord binary with backend = nftables (and heartbeatd
// for the director failover) in network namespaces, with real HTTP traffic
// from a client through LVS-NAT to real servers. Root only (test/netns).
package nftlb

// lab_test.go: the lab (client, directors, real servers and fallback on one
// bridge), the HTTP servers and client, and reading the nftables table.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/netns"
)

// Addresses. Everything shares one bridge; the client's and the reals'
// subnets are routed through the director holding the VIP and the
// inside gateway, as LVS-NAT needs: the reals answer the client through
// the director that did the DNAT, whose conntrack un-NATs the answer.
const (
	vip       = "10.81.1.100" // the virtual service's address (outside)
	vipPort   = vip + ":80"
	insideGW  = "10.81.2.254" // the reals' default gateway (inside)
	clientIP  = "10.81.1.10"
	checkPath = "/check.html" // request=; receive= is alive
	alive     = "alive"
	// peerHeader carries the source address a server saw: NAT keeps the
	// client's.
	peerHeader = "X-Peer"
	// settle bounds every wait for the nftables table to change: checks
	// run every checkInterval and a refused connection fails at once.
	settle = 10 * time.Second
)

// directorAddrs are each director's own addresses: outside, inside.
var directorAddrs = [][2]string{{"10.81.1.1/24", "10.81.2.1/24"}, {"10.81.1.2/24", "10.81.2.2/24"}}

// server is an HTTP server in its own namespace on port 80: "/" answers
// its name (and the client's address in peerHeader), checkPath answers
// alive while healthy, else "sick". Only the check fails: connections keep
// being served, so a quiesced real still answers the ones it has.
type server struct {
	name    string
	addr    string // "10.81.2.11:80"
	weight  int    // configured weight (reals)
	host    *netns.Host
	healthy atomic.Bool
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == checkPath {
		if s.healthy.Load() {
			io.WriteString(w, alive)
		} else {
			io.WriteString(w, "sick")
		}
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	w.Header().Set(peerHeader, host)
	io.WriteString(w, s.name)
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
	s := &server{name: name, addr: ip + ":80", weight: weight, host: l.netns.AddHost(name, ip+"/24")}
	s.healthy.Store(true)
	s.host.Run(t, "ip", "route", "add", "default", "via", insideGW)
	var ln net.Listener
	s.host.Do(t, func() error {
		var err error
		ln, err = net.Listen("tcp4", s.addr)
		return err
	})
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
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
	fmt.Fprintf(&b, "\trequest = %q\n\treceive = %q\n", strings.TrimPrefix(checkPath, "/"), alive)
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
		if w, ok := byName[s.name]; ok {
			out[s.addr] = w
		}
	}
	return out
}

// conn is one client TCP connection to the VIP.
type conn struct {
	c  net.Conn
	br *bufio.Reader
}

// dial opens a connection from the client to the VIP within timeout.
func (l *lab) dial(timeout time.Duration) (*conn, error) {
	var c net.Conn
	var err error
	l.client.Do(l.t, func() error {
		c, err = net.DialTimeout("tcp4", vipPort, timeout)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &conn{c: c, br: bufio.NewReader(c)}, nil
}

// mustDial is dial that fails the test.
func (l *lab) mustDial(t *testing.T) *conn {
	t.Helper()
	c, err := l.dial(2 * time.Second)
	if err != nil {
		t.Fatalf("client: connecting to %s: %v", vipPort, err)
	}
	return c
}

// get sends GET / and returns the name of the server that answered.
// keepAlive keeps the connection open for another request. It checks that
// the server saw the client's own address (NAT, not masquerade).
func (c *conn) get(keepAlive bool, timeout time.Duration) (string, error) {
	hdr := "Connection: close\r\n"
	if keepAlive {
		hdr = "Connection: keep-alive\r\n"
	}
	c.c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c.c, "GET / HTTP/1.1\r\nHost: "+vip+"\r\n"+hdr+"\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	if peer := resp.Header.Get(peerHeader); peer != clientIP {
		return "", fmt.Errorf("%q saw the request come from %q, not the client %s", body, peer, clientIP)
	}
	return strings.TrimSpace(string(body)), nil
}

func (c *conn) mustGet(t *testing.T, keepAlive bool) string {
	t.Helper()
	name, err := c.get(keepAlive, 2*time.Second)
	if err != nil {
		t.Fatalf("client: GET / through %s: %v", vipPort, err)
	}
	return name
}

func (c *conn) close() { c.c.Close() }

// split sends n requests, each on a new TCP connection, and counts who
// answered.
func (l *lab) split(t *testing.T, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		c := l.mustDial(t)
		got[c.mustGet(t, false)]++
		c.close()
	}
	return got
}

// expectSplit is split that fails the test unless the counts are want.
func (l *lab) expectSplit(t *testing.T, n int, want map[string]int) {
	t.Helper()
	start := time.Now()
	got := l.split(t, n)
	t.Logf("%d requests in %.2fs: %s", n, time.Since(start).Seconds(), counts(got))
	if !maps.Equal(got, want) {
		t.Fatalf("%d requests went %s, want %s", n, counts(got), counts(want))
	}
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

var (
	buildOnce sync.Once
	ldBin     string
	binDir    string // removed by TestMain
	buildErr  error
)

// ldirectord builds the ldirectord binary once per test binary.
func ldirectord(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hasuite-nftlb-")
		if err != nil {
			buildErr = err
			return
		}
		binDir, ldBin = dir, filepath.Join(dir, "ldirectord")
		out, err := exec.Command("go", "build", "-o", ldBin, "github.com/hasuite/hasuite/ldirectord").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ldirectord: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return ldBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
