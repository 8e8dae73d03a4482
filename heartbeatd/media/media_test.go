// media_test.go: spec validation, broadcast computation and the read loop
// over loopback.

package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string // "" = valid
	}{
		{"bcast", Spec{Kind: "bcast", Iface: "eth0", Port: 694}, ""},
		{"mcast", Spec{Kind: "mcast", Iface: "eth0", Addr: "225.0.0.1", Port: 694, TTL: 1}, ""},
		{"mcast6", Spec{Kind: "mcast6", Iface: "eth0", Addr: "ff02::694", Port: 694, TTL: 255, Loop: true}, ""},
		{"ucast", Spec{Kind: "ucast", Iface: "eth0", Addr: "10.0.0.2", Port: 694}, ""},
		{"ucast hostname", Spec{Kind: "ucast", Iface: "eth0", Addr: "nodeb", Port: 694}, ""},
		{"ucast6", Spec{Kind: "ucast6", Iface: "eth0", Addr: "fe80::2", Port: 694}, ""},
		{"unknown kind", Spec{Kind: "serial", Iface: "ttyS0", Port: 694}, `unknown medium kind "serial"`},
		{"no iface", Spec{Kind: "bcast", Port: 694}, "bcast: no interface"},
		{"port 0", Spec{Kind: "bcast", Iface: "eth0"}, "bcast eth0: port 0 out of range 1..65535"},
		{"port too big", Spec{Kind: "ucast", Iface: "eth0", Addr: "10.0.0.2", Port: 65536}, "ucast eth0: port 65536 out of range 1..65535"},
		{"mcast bad group", Spec{Kind: "mcast", Iface: "eth0", Addr: "nodeb", Port: 694}, `mcast eth0: bad multicast group "nodeb"`},
		{"mcast unicast group", Spec{Kind: "mcast", Iface: "eth0", Addr: "10.0.0.1", Port: 694}, "mcast eth0: 10.0.0.1 is not a multicast address"},
		{"mcast v6 group", Spec{Kind: "mcast", Iface: "eth0", Addr: "ff02::1", Port: 694}, "mcast eth0: ff02::1 is not an IPv4 address"},
		{"mcast6 v4 group", Spec{Kind: "mcast6", Iface: "eth0", Addr: "225.0.0.1", Port: 694}, "mcast6 eth0: 225.0.0.1 is not an IPv6 address"},
		{"mcast6 mapped group", Spec{Kind: "mcast6", Iface: "eth0", Addr: "::ffff:225.0.0.1", Port: 694}, "mcast6 eth0: ::ffff:225.0.0.1 is not an IPv6 address"},
		{"mcast ttl", Spec{Kind: "mcast", Iface: "eth0", Addr: "225.0.0.1", Port: 694, TTL: 256}, "mcast eth0: ttl 256 out of range 0..255"},
		{"mcast negative ttl", Spec{Kind: "mcast", Iface: "eth0", Addr: "225.0.0.1", Port: 694, TTL: -1}, "mcast eth0: ttl -1 out of range 0..255"},
		{"ucast no peer", Spec{Kind: "ucast", Iface: "eth0", Port: 694}, "ucast eth0: no peer address"},
		{"ucast v6 peer", Spec{Kind: "ucast", Iface: "eth0", Addr: "fd00::1", Port: 694}, "ucast eth0: fd00::1 is not an IPv4 address"},
		{"ucast6 v4 peer", Spec{Kind: "ucast6", Iface: "eth0", Addr: "10.0.0.2", Port: 694}, "ucast6 eth0: 10.0.0.2 is not an IPv6 address"},
		{"ucast multicast peer", Spec{Kind: "ucast", Iface: "eth0", Addr: "225.0.0.1", Port: 694}, "ucast eth0: 225.0.0.1 is not a unicast address"},
		{"ucast6 unspecified peer", Spec{Kind: "ucast6", Iface: "eth0", Addr: "::", Port: 694}, "ucast6 eth0: :: is not a unicast address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := tt.spec.Validate(); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() error mismatch (-want +got):\n%s", diff)
			}
			if tt.want == "" {
				return
			}
			// Open must refuse it the same way, before touching sockets.
			_, err := Open(tt.spec)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Open() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBroadcastAddr(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name            string
		addr, mask, brd netip.Addr
		want            string
		wantErr         string
	}{
		{"explicit", a("10.77.0.1"), a("255.255.255.0"), a("10.77.0.255"), "10.77.0.255", ""},
		{"explicit unusual", a("10.77.0.1"), a("255.255.255.0"), a("10.77.0.127"), "10.77.0.127", ""},
		{"computed /24", a("10.77.0.1"), a("255.255.255.0"), a("0.0.0.0"), "10.77.0.255", ""},
		{"computed invalid brd", a("10.77.0.1"), a("255.255.255.0"), netip.Addr{}, "10.77.0.255", ""},
		{"computed /20", a("172.16.5.9"), a("255.255.240.0"), a("0.0.0.0"), "172.16.15.255", ""},
		{"computed /8", a("127.0.0.1"), a("255.0.0.0"), a("0.0.0.0"), "127.255.255.255", ""},
		{"computed /30", a("192.168.1.5"), a("255.255.255.252"), a("0.0.0.0"), "192.168.1.7", ""},
		{"/31", a("192.168.1.4"), a("255.255.255.254"), a("0.0.0.0"), "", "192.168.1.4/31 has no broadcast address"},
		{"/32", a("192.168.1.4"), a("255.255.255.255"), a("0.0.0.0"), "", "192.168.1.4/32 has no broadcast address"},
		{"/32 explicit", a("192.168.1.4"), a("255.255.255.255"), a("192.168.1.255"), "192.168.1.255", ""},
		{"v6", a("fd00::1"), a("255.255.255.0"), a("0.0.0.0"), "", "not an IPv4 address and mask: fd00::1/255.255.255.0"},
		{"v6 brd", a("10.0.0.1"), a("255.255.255.0"), a("fd00::ff"), "", "broadcast address fd00::ff is not IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := broadcastAddr(tt.addr, tt.mask, tt.brd)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			gotS := ""
			if got.IsValid() {
				gotS = got.String()
			}
			if diff := cmp.Diff(tt.want+"|"+tt.wantErr, gotS+"|"+gotErr); diff != "" {
				t.Errorf("broadcastAddr(%v, %v, %v) mismatch (-want +got):\n%s", tt.addr, tt.mask, tt.brd, diff)
			}
		})
	}
}

// FuzzBroadcastAddr checks the computed broadcast address: same network
// bits as the address, every host bit set.
func FuzzBroadcastAddr(f *testing.F) {
	f.Add(uint32(0x0a4d0001), 24)
	f.Add(uint32(0xac100509), 20)
	f.Add(uint32(0x7f000001), 8)
	f.Add(uint32(0xc0a80104), 31)
	f.Add(uint32(0), 0)
	f.Fuzz(func(t *testing.T, ip uint32, ones int) {
		if ones < 0 || ones > 32 {
			return
		}
		mask := ^uint32(0) << (32 - ones)
		if ones == 0 {
			mask = 0
		}
		from := func(v uint32) netip.Addr {
			return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		}
		got, err := broadcastAddr(from(ip), from(mask), netip.IPv4Unspecified())
		if ones >= 31 {
			if err == nil {
				t.Errorf("/%d: got %v, want an error", ones, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("/%d: %v", ones, err)
		}
		b := got.As4()
		g := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if g&mask != ip&mask || g|mask != ^uint32(0) {
			t.Errorf("broadcastAddr(%v/%d) = %v", from(ip), ones, got)
		}
	})
}

func TestOpenMissingInterface(t *testing.T) {
	for _, s := range []Spec{
		{Kind: "bcast", Iface: "hsnosuch0", Port: 694},
		{Kind: "mcast", Iface: "hsnosuch0", Addr: "225.0.0.1", Port: 694},
		{Kind: "mcast6", Iface: "hsnosuch0", Addr: "ff02::694", Port: 694},
		{Kind: "ucast", Iface: "hsnosuch0", Addr: "127.0.0.1", Port: 694},
		{Kind: "ucast6", Iface: "hsnosuch0", Addr: "::1", Port: 694},
	} {
		_, err := Open(s)
		want := s.Kind + " hsnosuch0: interface not found: "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Open(%s) error = %v, want prefix %q", s.Kind, err, want)
		}
	}
}

// freePort returns a UDP port that was free on loopback a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

type packet struct {
	data string
	from netip.AddrPort
}

// runMedium starts m.Run and returns the packets it delivers and a channel
// with Run's result.
func runMedium(ctx context.Context, m Medium) (<-chan packet, <-chan error) {
	pkts := make(chan packet, 16)
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, func(b []byte, from netip.AddrPort) {
			pkts <- packet{string(b), from}
			// The medium must not reuse the slice it handed over.
			for i := range b {
				b[i] = 'X'
			}
		})
	}()
	return pkts, done
}

func recvPacket(t *testing.T, pkts <-chan packet) packet {
	t.Helper()
	select {
	case p := <-pkts:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no packet received within 5s")
		return packet{}
	}
}

func waitRun(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s")
	}
}

// TestUcastLoopback exercises Send, Run, cancellation and Close over lo:
// a ucast medium whose peer is 127.0.0.1 receives its own packets.
func TestUcastLoopback(t *testing.T) {
	port := freePort(t)
	var errs []error
	m, err := Open(Spec{Kind: "ucast", Iface: "lo", Addr: "127.0.0.1", Port: port,
		OnError: func(err error) { errs = append(errs, err) }})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("SO_BINDTODEVICE not permitted: %v", err)
		}
		t.Fatal(err)
	}
	defer m.Close()
	if m.Name() != "ucast lo" || m.Link() != "lo" {
		t.Errorf("Name, Link = %q, %q; want %q, %q", m.Name(), m.Link(), "ucast lo", "lo")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pkts, done := runMedium(ctx, m)
	for _, msg := range []string{"first", "second", ""} {
		if err := m.Send([]byte(msg)); err != nil {
			t.Fatalf("Send(%q): %v", msg, err)
		}
	}
	for _, want := range []string{"first", "second", ""} {
		p := recvPacket(t, pkts)
		if p.data != want || p.from.Addr() != netip.MustParseAddr("127.0.0.1") || p.from.Port() == uint16(port) {
			t.Errorf("got %q from %v, want %q from 127.0.0.1 at an ephemeral port", p.data, p.from, want)
		}
	}
	cancel()
	waitRun(t, done)
	if len(errs) != 0 {
		t.Errorf("OnError calls: %v", errs)
	}

	// Close, not only cancellation, ends Run.
	m2, err := Open(Spec{Kind: "ucast", Iface: "lo", Addr: "127.0.0.1", Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, done2 := runMedium(context.Background(), m2)
	if err := m2.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	waitRun(t, done2)
	if err := m2.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if err := m2.Send([]byte("x")); err == nil {
		t.Error("Send after Close succeeded")
	}
}

// TestSendTooBig checks that an impossible datagram is an error, not a hang.
func TestSendTooBig(t *testing.T) {
	m, err := Open(Spec{Kind: "ucast", Iface: "lo", Addr: "127.0.0.1", Port: freePort(t)})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("SO_BINDTODEVICE not permitted: %v", err)
		}
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Send(make([]byte, maxMessage))
	want := "ucast lo: sending to 127.0.0.1:"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Send(256 KiB) = %v, want an error starting %q", err, want)
	}
}
