// lab_test.go: the pair under attack, the attacker's sockets and the checks
// every fault class shares.

package faults

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/scrape"
)

const (
	testKey     = "f4ults"
	addrA       = "10.77.0.1"
	addrB       = "10.77.0.2"
	vipA, vipB  = "10.77.0.101", "10.77.0.102"
	hbPort      = 694
	metricsAddr = addrA + ":9707" // nodea's endpoint, the node under attack
	deadtime    = time.Second
	// logBurst is heartbeatd's bad-packet log budget per key: 5 lines at
	// once, then one per 10 s (daemon.badLog). Each class runs well
	// under 10 s, so it may add at most logBurst lines per key.
	logBurst = 5
)

// lab is a heartbeatd pair, each node holding its own VIP, and mallory, a
// third namespace on the same segment.
type lab struct {
	a, b    *netns.Host
	mallory *netns.Host
	na, nb  *hbnode.Node
	ring    *wire.Keyring // the cluster's key, for valid-format messages
	// sniff reads the next heartbeat datagram nodeb sent (its UDP payload).
	sniff interface {
		ReadFrom([]byte) (int, net.Addr, error)
		SetReadDeadline(time.Time) error
	}
}

// newLab is the pair on bcast.
func newLab(t *testing.T) *lab { return newLabOn(t, "bcast") }

// newLabOn is the pair on medium "bcast" or "ucast" (each node's ucast
// line naming the other).
func newLabOn(t *testing.T, medium string) *lab {
	t.Helper()
	netns.RequireRoot(t)
	l := &lab{}
	nl := netns.NewLab(t)
	l.a = nl.AddHost("a", addrA+"/24")
	l.b = nl.AddHost("b", addrB+"/24")
	l.mallory = nl.AddHost("m", "10.77.0.66/24")
	hr := "nodea IPaddr2::" + vipA + "/24/hb0\nnodeb IPaddr2::" + vipB + "/24/hb0\n"
	start := func(h *netns.Host, name, peer string) *hbnode.Node {
		line := "bcast hb0"
		if medium == "ucast" {
			line = "ucast hb0 " + peer
		}
		cf := hbnode.HACF("200ms", "1", "4", []string{line}, "nodea", "nodeb") +
			"metrics_listen 0.0.0.0:9707\n"
		return hbnode.Start(t, h, hbnode.Options{Node: name, HACF: cf,
			AuthKeys: hbnode.AuthKeys("sha1", testKey), Haresources: hr})
	}
	l.na, l.nb = start(l.a, "nodea", addrB), start(l.b, "nodeb", addrA)
	var err error
	l.ring, err = wire.NewKeyring(1, wire.Key{Num: 1, Method: wire.MethodSHA1, Secret: []byte(testKey)})
	if err != nil {
		t.Fatal(err)
	}
	if medium == "ucast" {
		// Unicast never reaches mallory's port of the bridge: the
		// datagrams nodeb sends are read on nodea's interface instead,
		// as an attacker on the path (or a mirror port) would.
		l.a.Do(t, func() (err error) {
			l.sniff, err = sniffUDP("hb0", addrB, hbPort)
			return err
		})
	} else {
		// The pair broadcasts its heartbeats: mallory hears them on the
		// heartbeat port, as any host on the segment can.
		l.mallory.Do(t, func() (err error) {
			l.sniff, err = net.ListenPacket("udp4", "0.0.0.0:694")
			return err
		})
	}
	t.Cleanup(func() { l.sniff.(io.Closer).Close() })
	l.na.WaitStatus(t, "nodeb", "active", 8*time.Second)
	l.nb.WaitStatus(t, "nodea", "active", 8*time.Second)
	l.na.WaitRsc(t, "local", 8*time.Second)
	l.nb.WaitRsc(t, "local", 8*time.Second)
	return l
}

// capture returns the next n authentic non-NS_ packets nodeb broadcasts
// (NS_ messages carry no seq), with their decoded messages.
func (l *lab) capture(t *testing.T, n int) ([][]byte, []*wire.Message) {
	t.Helper()
	var pkts [][]byte
	var msgs []*wire.Message
	buf := make([]byte, 65536)
	l.sniff.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(pkts) < n {
		k, _, err := l.sniff.ReadFrom(buf)
		if err != nil {
			t.Fatalf("capturing nodeb's heartbeats: %v (have %d of %d)", err, len(pkts), n)
		}
		m, err := wire.Decode(buf[:k], l.ring)
		if err != nil || m.Get("src") != "nodeb" || strings.HasPrefix(m.Type(), "NS_") {
			continue
		}
		pkts = append(pkts, append([]byte(nil), buf[:k]...))
		msgs = append(msgs, m)
	}
	return pkts, msgs
}

// injector sends datagrams from a source address of mallory's own, one
// per class, so that each class starts with a fresh log rate-limit bucket
// (heartbeatd limits per reason and source host).
func (l *lab) injector(t *testing.T, src string) func(pkts ...[]byte) {
	t.Helper()
	l.mallory.AddAddr(t, src+"/24")
	var conn *net.UDPConn
	l.mallory.Do(t, func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)})
		return err
	})
	t.Cleanup(func() { conn.Close() })
	dst := &net.UDPAddr{IP: net.ParseIP(addrA), Port: hbPort}
	return func(pkts ...[]byte) {
		t.Helper()
		for _, p := range pkts {
			if _, err := conn.WriteTo(p, dst); err != nil {
				t.Fatalf("send %d bytes: %v", len(p), err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// snapshot is what a class compares before and after its packets.
type snapshot struct {
	metrics map[string]float64
	logLen  int
}

func (l *lab) snap(t *testing.T) snapshot {
	t.Helper()
	return snapshot{metrics: scrape.Scrape(t, l.mallory, metricsAddr), logLen: logLen(t, l.na)}
}

func dropped(reason string) string {
	return `hasuite_heartbeat_packets_dropped_total{reason="` + reason + `"}`
}

// reasons are every drop reason heartbeatd exports.
var reasons = []string{"auth", "malformed", "too_big", "queue_full", "duplicate", "replay", "unknown_node", "not_for_us"}

// expect is what one class must leave behind on nodea.
type expect struct {
	reason  string // the drop counter that grows by sent ("" = none may move)
	sent    int
	authLog bool   // hasuite_heartbeat_auth_failures_total grows by sent too
	logLine string // a line that must appear, at most logBurst times ("" = none required)
}

// check waits one deadtime (so a peer wrongly declared dead would show),
// then asserts the counters, the pair's state and the log.
func (l *lab) check(t *testing.T, before snapshot, e expect) {
	t.Helper()
	time.Sleep(deadtime)
	after := l.snap(t)
	for _, r := range reasons {
		want := before.metrics[dropped(r)]
		if r == e.reason {
			want += float64(e.sent)
		}
		if got := after.metrics[dropped(r)]; got != want {
			t.Errorf("dropped{reason=%q}: %v before, %v after %d packets; want %v",
				r, before.metrics[dropped(r)], got, e.sent, want)
		}
	}
	const authTotal = "hasuite_heartbeat_auth_failures_total"
	if d := after.metrics[authTotal] - before.metrics[authTotal]; (e.reason == "auth") != (d != 0) || (d != 0 && d != float64(e.sent)) {
		t.Errorf("%s grew by %v after %d %s drops", authTotal, d, e.sent, e.reason)
	}
	// The pair stayed up: nothing declared dead, nothing moved.
	for _, s := range []string{`hasuite_heartbeat_node_deaths_total{node="nodeb"}`, `hasuite_heartbeat_node_status{node="nodeb",status="dead"}`} {
		if after.metrics[s] != 0 {
			t.Errorf("%s = %v", s, after.metrics[s])
		}
	}
	if sa, sb := l.na.NodeStatus("nodeb"), l.nb.NodeStatus("nodea"); sa != "active" || sb != "active" {
		t.Errorf("nodea sees nodeb %q, nodeb sees nodea %q; want active", sa, sb)
	}
	if ra, rb := l.na.RscStatus(), l.nb.RscStatus(); ra != "local" || rb != "local" {
		t.Errorf("rscstatus nodea %q, nodeb %q; want local, local", ra, rb)
	}
	if out, code := l.na.ClStatus(t, "nodestatus", "nodeb"); code != 0 || strings.TrimSpace(out) != "active" {
		t.Errorf("cl_status nodestatus nodeb on nodea: %q, exit %d", out, code)
	}
	for h, vip := range map[*netns.Host]string{l.a: vipA, l.b: vipB} {
		if !holds(t, h, vip) {
			t.Errorf("%s no longer holds %s", h.Name, vip)
		}
	}
	// The daemon is alive and logged at a limited rate.
	if err := syscall.Kill(l.na.Pid(), 0); errors.Is(err, syscall.ESRCH) {
		t.Fatalf("nodea's heartbeatd is gone:\n%s", l.na.Log())
	}
	added := logSince(t, l.na, before.logLen)
	lines := strings.Count(added, "\n")
	if lines >= e.sent || lines > 2*logBurst {
		t.Errorf("%d packets added %d log lines, want at most %d:\n%s", e.sent, lines, 2*logBurst, added)
	}
	if e.logLine != "" {
		if n := strings.Count(added, e.logLine); n < 1 || n > logBurst {
			t.Errorf("%q logged %d times for %d packets, want 1..%d:\n%s", e.logLine, n, e.sent, logBurst, added)
		}
	}
	for _, bad := range []string{"panic", "goroutine "} {
		if strings.Contains(l.na.Log(), bad) {
			t.Fatalf("nodea's log shows %q:\n%s", bad, l.na.Log())
		}
	}
	if e.reason == "" {
		t.Logf("%d packets: no drop counter moved, %d log lines", e.sent, lines)
		return
	}
	t.Logf("%d packets: dropped{%s} +%v, %d log lines", e.sent, e.reason,
		after.metrics[dropped(e.reason)]-before.metrics[dropped(e.reason)], lines)
}
