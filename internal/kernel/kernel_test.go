// kernel_test.go: unit tests of route choice, frames and the Fake.

package kernel_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/internal/kernel/kerneltest"
)

var macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}

func TestBroadcast(t *testing.T) {
	for _, c := range []struct{ prefix, want string }{
		{"10.0.0.100/24", "10.0.0.255"},
		{"10.0.0.1/8", "10.255.255.255"},
		{"192.168.1.5/30", "192.168.1.7"},
		{"172.16.5.4/20", "172.16.15.255"},
		{"10.0.0.1/0", "255.255.255.255"},
		{"10.0.0.1/31", "invalid IP"},
		{"10.0.0.1/32", "invalid IP"},
		{"fd00::1/64", "invalid IP"},
	} {
		if got := kernel.Broadcast(netip.MustParsePrefix(c.prefix)).String(); got != c.want {
			t.Errorf("Broadcast(%s) = %s, want %s", c.prefix, got, c.want)
		}
	}
}

func TestFindIf(t *testing.T) {
	f := kernel.NewFake()
	f.AddRoute("eth0", "10.0.0.0/8", 0)
	f.AddRoute("eth1", "10.1.0.0/16", 100)
	f.AddRoute("eth2", "10.1.0.0/16", 50)
	f.AddRoute("eth3", "10.1.2.0/24", 500)
	f.AddRoute("eth4", "0.0.0.0/0", 0)
	f.AddRoute("eth5", "fd00::/64", 256)
	f.AddRoute("eth6", "fd00::/48", 1)
	f.AddRoute("eth7", "::/0", 0)
	for _, c := range []struct {
		ip    string
		iface string
		pfx   string
		bcast string
		err   error
	}{
		{ip: "10.1.2.3", iface: "eth3", pfx: "10.1.2.0/24", bcast: "10.1.2.255"},   // longest prefix beats metric
		{ip: "10.1.3.3", iface: "eth2", pfx: "10.1.0.0/16", bcast: "10.1.255.255"}, // lowest metric
		{ip: "10.9.9.9", iface: "eth0", pfx: "10.0.0.0/8", bcast: "10.255.255.255"},
		{ip: "192.168.0.1", err: kernel.ErrNoRoute}, // the default route never counts
		{ip: "fd00::5", iface: "eth5", pfx: "fd00::/64"},
		{ip: "fd00:0:0:1::5", iface: "eth6", pfx: "fd00::/48"},
		{ip: "2001:db8::1", err: kernel.ErrNoRoute},
	} {
		r, err := f.FindIf(netip.MustParseAddr(c.ip))
		if !errors.Is(err, c.err) {
			t.Errorf("FindIf(%s) error = %v, want %v", c.ip, err, c.err)
			continue
		}
		if c.err != nil {
			continue
		}
		got := []string{r.Iface, r.Prefix.String(), r.Broadcast.String()}
		want := []string{c.iface, c.pfx, c.bcast}
		if want[2] == "" {
			want[2] = "invalid IP"
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("FindIf(%s) (-want +got):\n%s", c.ip, d)
		}
	}
	rs, err := f.RoutesTo(netip.MustParseAddr("10.1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rs {
		order = append(order, r.Iface)
	}
	if d := cmp.Diff([]string{"eth3", "eth2", "eth1", "eth0"}, order); d != "" {
		t.Errorf("RoutesTo order (-want +got):\n%s", d)
	}
}

func TestARPFrame(t *testing.T) {
	ip := netip.MustParseAddr("10.77.0.100")
	for _, reply := range []bool{false, true} {
		b := kernel.ARPFrame(macA, ip, reply)
		if len(b) != 42 {
			t.Errorf("reply=%v: frame is %d bytes, want 42", reply, len(b))
		}
		f, ok := kerneltest.Parse(b)
		if !ok {
			t.Fatalf("reply=%v: frame does not parse: % x", reply, b)
		}
		want := kerneltest.Frame{
			EtherDst: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EtherSrc: macA,
			ARP: true, Op: 1, SenderMAC: macA, TargetMAC: net.HardwareAddr{0, 0, 0, 0, 0, 0},
			SenderIP: ip, TargetIP: ip,
		}
		if reply {
			want.Op, want.TargetMAC = 2, macA
		}
		if d := cmp.Diff(want, f, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
			t.Errorf("reply=%v (-want +got):\n%s", reply, d)
		}
	}
}

func TestNAMessage(t *testing.T) {
	ip := netip.MustParseAddr("fd77::100")
	msg := kernel.NAMessage(macA, ip)
	// Wrap it as a received frame, checksum as the kernel would fill it.
	src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1")
	frame := []byte{0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0x0a, 0x86, 0xdd}
	hdr := make([]byte, 40)
	hdr[0] = 0x60
	binary.BigEndian.PutUint16(hdr[4:6], uint16(len(msg)))
	hdr[6], hdr[7] = unix.IPPROTO_ICMPV6, 255
	copy(hdr[8:24], src.AsSlice())
	copy(hdr[24:40], dst.AsSlice())
	sum := checksum(append(append(append([]byte{}, src.AsSlice()...), dst.AsSlice()...),
		append([]byte{0, 0, 0, byte(len(msg)), 0, 0, 0, unix.IPPROTO_ICMPV6}, msg...)...))
	binary.BigEndian.PutUint16(msg[2:4], sum)
	f, ok := kerneltest.Parse(append(append(frame, hdr...), msg...))
	if !ok {
		t.Fatalf("NA does not parse: % x", msg)
	}
	want := kerneltest.Frame{
		EtherDst: net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}, EtherSrc: macA,
		NA: true, IPSrc: src, IPDst: dst, HopLimit: 255, Override: true,
		Target: ip, TargetLL: macA, ChecksumOK: true,
	}
	if d := cmp.Diff(want, f, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if len(msg) != 32 {
		t.Errorf("NA is %d bytes, want 32", len(msg))
	}
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestFakeAddrs(t *testing.T) {
	f := kernel.NewFake()
	f.AddLink("hb0", macA, false)
	v4 := kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("10.0.0.100/24"),
		Broadcast: netip.MustParseAddr("10.0.0.255"), Label: "hb0:0"}
	v4b := kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("10.0.0.100/16")}
	v6 := kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("fd00::100/64")}
	v6b := kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("fd00::100/120")}
	for _, a := range []kernel.Addr{v4, v4, v4b, v6, v6b} {
		if err := f.AddAddr(a); err != nil {
			t.Fatalf("AddAddr(%v): %v", a, err)
		}
	}
	got, err := f.Addrs("hb0")
	if err != nil {
		t.Fatal(err)
	}
	// IPv4 keys by address and length, IPv6 by address: v6b is "existing".
	if d := cmp.Diff([]kernel.Addr{v4, v4b, v6}, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("Addrs (-want +got):\n%s", d)
	}
	for _, a := range []kernel.Addr{v4b, v4b, v6b} {
		if err := f.DelAddr(a); err != nil {
			t.Fatalf("DelAddr(%v): %v", a, err)
		}
	}
	if got, _ := f.Addrs(""); len(got) != 2 {
		t.Errorf("after deleting v4b and a missing v6b: %v", got)
	}
	if err := f.AddAddr(kernel.Addr{Iface: "eth9", Prefix: v4.Prefix}); !errors.Is(err, kernel.ErrNoLink) {
		t.Errorf("AddAddr on a missing link: %v, want ErrNoLink", err)
	}
	boom := errors.New("boom")
	f.SetErr("AddAddr", boom)
	if err := f.AddAddr(v4); !errors.Is(err, boom) {
		t.Errorf("AddAddr with injected error: %v", err)
	}
	f.SetErr("AddAddr", nil)
	if err := f.AddAddr(v4); err != nil {
		t.Errorf("AddAddr after clearing the error: %v", err)
	}
}

func TestFakeFrames(t *testing.T) {
	f := kernel.NewFake()
	now := time.Unix(1000, 0)
	f.Now = func() time.Time { now = now.Add(time.Second); return now }
	f.AddLink("hb0", macA, false)
	ip := netip.MustParseAddr("10.0.0.1")
	if err := f.SendARP("hb0", ip, false); !errors.Is(err, unix.ENETDOWN) {
		t.Errorf("SendARP on a down link: %v, want ENETDOWN", err)
	}
	if err := f.LinkUp("hb0"); err != nil {
		t.Fatal(err)
	}
	if l, _ := f.Link("hb0"); !l.Up {
		t.Error("LinkUp left the link down")
	}
	ip6 := netip.MustParseAddr("fd00::1")
	for _, err := range []error{
		f.SendARP("hb0", ip, false), f.SendARP("hb0", ip, true), f.SendNA("hb0", ip6),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SendNA("hb0", ip); err == nil {
		t.Error("SendNA of an IPv4 address succeeded")
	}
	want := []kernel.Frame{
		{Iface: "hb0", IP: ip, Time: time.Unix(1001, 0)},
		{Iface: "hb0", IP: ip, Reply: true, Time: time.Unix(1002, 0)},
		{Iface: "hb0", IP: ip6, NA: true, Time: time.Unix(1003, 0)},
	}
	if d := cmp.Diff(want, f.Frames(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("Frames (-want +got):\n%s", d)
	}
}
