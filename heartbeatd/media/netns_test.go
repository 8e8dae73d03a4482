// netns_test.go: root-only tests of every medium between two namespaces.

package media_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/media"
	"github.com/hasuite/hasuite/test/netns"
)

type packet struct {
	data string
	from netip.AddrPort
}

// node is one host of the lab with an open medium and its read loop.
type node struct {
	host *netns.Host
	m    media.Medium
	pkts chan packet
}

// open opens spec inside h's namespace and runs it until the test ends.
func open(t *testing.T, h *netns.Host, spec media.Spec) *node {
	t.Helper()
	n := &node{host: h, pkts: make(chan packet, 16)}
	h.Do(t, func() error {
		var err error
		n.m, err = media.Open(spec)
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- n.m.Run(ctx, func(b []byte, from netip.AddrPort) {
			n.pkts <- packet{string(b), from}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s Run() = %v", n.m.Name(), err)
		}
		n.m.Close()
	})
	return n
}

// recv returns the next packet n receives, failing after 5 s.
func (n *node) recv(t *testing.T) packet {
	t.Helper()
	select {
	case p := <-n.pkts:
		return p
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no packet within 5s", n.host.Name)
		return packet{}
	}
}

func (n *node) send(t *testing.T, msg string) {
	t.Helper()
	if err := n.m.Send([]byte(msg)); err != nil {
		t.Fatalf("%s: %v", n.host.Name, err)
	}
}

// newLab makes hosts a and b with IPv4 and IPv6 addresses.
func newLab(t *testing.T) (a, b *netns.Host) {
	l := netns.NewLab(t)
	a = l.AddHost("a", "10.77.0.1/24")
	b = l.AddHost("b", "10.77.0.2/24")
	a.AddAddr(t, "fd77::1/64")
	b.AddAddr(t, "fd77::2/64")
	return a, b
}

func TestMediaBetweenNamespaces(t *testing.T) {
	netns.RequireRoot(t)
	a, b := newLab(t)
	// Source addresses by family; "ll": IPv6 link-local, as the kernel
	// picks for a link-local scope group (ff02::/16).
	ll := func(h *netns.Host) string {
		var s string
		h.Do(t, func() error {
			ifi, err := net.InterfaceByName("hb0")
			if err != nil {
				return err
			}
			addrs, err := ifi.Addrs()
			for _, a := range addrs {
				if ip := a.(*net.IPNet).IP; ip.IsLinkLocalUnicast() {
					s = ip.String()
				}
			}
			return err
		})
		return s
	}
	addr := map[*netns.Host]map[string]string{
		a: {"4": "10.77.0.1", "6": "fd77::1", "ll": ll(a)},
		b: {"4": "10.77.0.2", "6": "fd77::2", "ll": ll(b)},
	}
	tests := []struct {
		name   string
		spec   func(self, peer *netns.Host) media.Spec
		family string
		self   bool // a sender receives its own packets
	}{
		{"bcast", func(_, _ *netns.Host) media.Spec {
			return media.Spec{Kind: "bcast", Iface: "hb0", Port: 694}
		}, "4", true},
		{"mcast loop 0", func(_, _ *netns.Host) media.Spec {
			return media.Spec{Kind: "mcast", Iface: "hb0", Addr: "225.0.0.1", Port: 694, TTL: 1}
		}, "4", false},
		{"mcast loop 1", func(_, _ *netns.Host) media.Spec {
			return media.Spec{Kind: "mcast", Iface: "hb0", Addr: "225.0.0.1", Port: 695, TTL: 1, Loop: true}
		}, "4", true},
		{"ucast", func(_, peer *netns.Host) media.Spec {
			return media.Spec{Kind: "ucast", Iface: "hb0", Addr: addr[peer]["4"], Port: 694}
		}, "4", false},
		{"mcast6 loop 0", func(_, _ *netns.Host) media.Spec {
			return media.Spec{Kind: "mcast6", Iface: "hb0", Addr: "ff02::694", Port: 694, TTL: 1}
		}, "ll", false},
		{"mcast6 loop 1", func(_, _ *netns.Host) media.Spec {
			return media.Spec{Kind: "mcast6", Iface: "hb0", Addr: "ff05::694", Port: 695, TTL: 1, Loop: true}
		}, "6", true},
		{"ucast6", func(_, peer *netns.Host) media.Spec {
			return media.Spec{Kind: "ucast6", Iface: "hb0", Addr: addr[peer]["6"], Port: 694}
		}, "6", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			na := open(t, a, tt.spec(a, b))
			nb := open(t, b, tt.spec(b, a))
			if got, want := na.m.Link(), "hb0"; got != want {
				t.Errorf("Link() = %q, want %q", got, want)
			}
			if got, want := na.m.Name(), strings.Fields(tt.name)[0]+" hb0"; got != want {
				t.Errorf("Name() = %q, want %q", got, want)
			}
			ping := fmt.Sprintf("%s ping", tt.name)
			pong := fmt.Sprintf("%s pong", tt.name)
			na.send(t, ping)
			p := nb.recv(t)
			if p.data != ping || p.from.Addr().WithZone("").String() != addr[a][tt.family] || p.from.Port() == 694 {
				t.Errorf("b got %q from %v, want %q from %s at an ephemeral port", p.data, p.from, ping, addr[a][tt.family])
			}
			// A looped copy of a's own packet arrives during a's send, so
			// before b's answer: the first packet a sees tells whether
			// it got its own.
			nb.send(t, pong)
			var want []string
			if tt.self {
				want = append(want, ping+" from "+addr[a][tt.family])
			}
			want = append(want, pong+" from "+addr[b][tt.family])
			for i, w := range want {
				p := na.recv(t)
				if got := p.data + " from " + p.from.Addr().WithZone("").String(); got != w {
					t.Errorf("a packet %d = %q, want %q", i, got, w)
				}
			}
			if tt.self {
				// b has loop on too: drain its own pong.
				if p := nb.recv(t); p.data != pong {
					t.Errorf("b own packet = %q, want %q", p.data, pong)
				}
			}
		})
	}
}

// TestUcastPeerDown checks that ICMP port unreachable from a peer without a
// listener does not end the read loop.
func TestUcastPeerDown(t *testing.T) {
	netns.RequireRoot(t)
	a, b := newLab(t)
	var errs []error
	errc := make(chan error, 16)
	spec := media.Spec{Kind: "ucast", Iface: "hb0", Addr: "10.77.0.2", Port: 694,
		OnError: func(err error) { errc <- err }}
	na := open(t, a, spec)
	for i := 0; i < 3; i++ {
		na.send(t, "nobody listens")
	}
	// Port unreachable comes back within a round trip; give it one by
	// pinging b from a before b starts listening.
	a.Run(t, "ping", "-c", "1", "-w", "2", "10.77.0.2")
	nb := open(t, b, media.Spec{Kind: "ucast", Iface: "hb0", Addr: "10.77.0.1", Port: 694})
	nb.send(t, "hello")
	if p := na.recv(t); p.data != "hello" {
		t.Errorf("a got %q, want hello", p.data)
	}
	if err := na.m.Send([]byte("again")); err != nil {
		t.Errorf("Send after port unreachable: %v", err)
	}
	if p := nb.recv(t); p.data != "again" {
		t.Errorf("b got %q, want again", p.data)
	}
	close(errc)
	for err := range errc {
		errs = append(errs, err)
	}
	if len(errs) != 0 {
		t.Errorf("OnError calls: %v", errs)
	}
}

// TestBindToDevice checks that each medium hears only its own interface:
// b has ucast media on hb0 and on a second link hb1, both on port 694;
// without SO_BINDTODEVICE one socket would take every packet.
func TestBindToDevice(t *testing.T) {
	netns.RequireRoot(t)
	a, b := newLab(t)
	for _, cmd := range [][]string{
		{"-n", a.NS, "link", "add", "hb1", "type", "veth", "peer", "name", "hb1", "netns", b.NS},
		{"-n", a.NS, "addr", "add", "10.78.0.1/24", "dev", "hb1"},
		{"-n", b.NS, "addr", "add", "10.78.0.2/24", "dev", "hb1"},
		{"-n", a.NS, "link", "set", "hb1", "up"},
		{"-n", b.NS, "link", "set", "hb1", "up"},
	} {
		if out, err := exec.Command("ip", cmd...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(cmd, " "), err, out)
		}
	}
	b0 := open(t, b, media.Spec{Kind: "ucast", Iface: "hb0", Addr: "10.77.0.1", Port: 694})
	b1 := open(t, b, media.Spec{Kind: "ucast", Iface: "hb1", Addr: "10.78.0.1", Port: 694})
	a0 := open(t, a, media.Spec{Kind: "ucast", Iface: "hb0", Addr: "10.77.0.2", Port: 694})
	a1 := open(t, a, media.Spec{Kind: "ucast", Iface: "hb1", Addr: "10.78.0.2", Port: 694})
	for i := 0; i < 2; i++ {
		a0.send(t, "via hb0")
		a1.send(t, "via hb1")
	}
	for _, c := range []struct {
		n    *node
		want string
	}{{b0, "via hb0 from 10.77.0.1"}, {b0, "via hb0 from 10.77.0.1"}, {b1, "via hb1 from 10.78.0.1"}, {b1, "via hb1 from 10.78.0.1"}} {
		p := c.n.recv(t)
		if got := p.data + " from " + p.from.Addr().String(); got != c.want {
			t.Errorf("%s got %q, want %q", c.n.m.Link(), got, c.want)
		}
	}
}

// TestBcastNoIPv4 checks the error for an interface without IPv4 address.
func TestBcastNoIPv4(t *testing.T) {
	netns.RequireRoot(t)
	l := netns.NewLab(t)
	c := l.AddHost("c", "fd77::3/64")
	c.Do(t, func() error {
		_, err := media.Open(media.Spec{Kind: "bcast", Iface: "hb0", Port: 694})
		if want := "bcast hb0: no IPv4 address"; err == nil || err.Error() != want {
			return fmt.Errorf("Open() error = %v, want %q", err, want)
		}
		return nil
	})
}

// TestCutLink checks that a medium survives losing its link: sending does
// not block, nothing crosses while cut, and traffic resumes on restore.
func TestCutLink(t *testing.T) {
	netns.RequireRoot(t)
	a, b := newLab(t)
	spec := media.Spec{Kind: "mcast", Iface: "hb0", Addr: "225.0.0.1", Port: 694, TTL: 1}
	na, nb := open(t, a, spec), open(t, b, spec)
	na.send(t, "before")
	if p := nb.recv(t); p.data != "before" {
		t.Fatalf("b got %q, want before", p.data)
	}
	a.CutLink(t)
	for i := 0; i < 3; i++ {
		// Dropped by the kernel; an error is allowed, blocking is not.
		if err := na.m.Send([]byte("during")); err != nil {
			t.Logf("Send while cut: %v", err)
		}
	}
	a.RestoreLink(t)
	na.send(t, "after")
	// Had a "during" packet crossed, it would come before "after".
	if p := nb.recv(t); p.data != "after" {
		t.Errorf("b got %q, want after", p.data)
	}
}
