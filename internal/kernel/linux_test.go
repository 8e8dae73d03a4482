// linux_test.go: root tests of Linux in network namespaces.

package kernel_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/internal/kernel/kerneltest"
	"github.com/hasuite/hasuite/test/netns"
)

func TestLinuxFindIf(t *testing.T) {
	lab := netns.NewLab(t)
	a := lab.AddHost("a", "10.77.0.1/24")
	a.AddAddr(t, "fd77::1/64")
	addVeth(t, a)
	a.Run(t, "ip", "link", "set", "dum0", "up")
	a.Run(t, "ip", "addr", "add", "10.88.0.1/16", "dev", "dum0")
	a.Run(t, "ip", "addr", "add", "fd88::1/64", "dev", "dum0")
	a.Run(t, "ip", "route", "add", "10.99.0.0/24", "dev", "dum0", "metric", "200")
	a.Run(t, "ip", "route", "add", "10.99.0.0/24", "dev", "hb0", "metric", "100")
	a.Run(t, "ip", "route", "add", "10.88.5.0/24", "dev", "hb0")
	a.Run(t, "ip", "route", "add", "10.88.6.7/32", "dev", "hb0")         // host route: never findif's
	a.Run(t, "ip", "route", "add", "default", "via", "10.77.0.254")      // default: never findif's
	a.Run(t, "ip", "route", "add", "10.66.0.0/16", "via", "10.77.0.254") // scope global: not IPv4 findif's
	k := kerneltest.Net(t, a)

	for _, c := range []struct{ ip, iface, prefix, bcast string }{
		{"10.77.0.100", "hb0", "10.77.0.0/24", "10.77.0.255"},
		{"10.88.1.1", "dum0", "10.88.0.0/16", "10.88.255.255"},
		{"10.88.5.9", "hb0", "10.88.5.0/24", "10.88.5.255"}, // longest prefix
		{"10.99.0.9", "hb0", "10.99.0.0/24", "10.99.0.255"}, // lowest metric
		{"10.88.6.7", "dum0", "10.88.0.0/16", "10.88.255.255"},
		{"fd77::100", "hb0", "fd77::/64", "invalid IP"},
		{"fd88::100", "dum0", "fd88::/64", "invalid IP"},
	} {
		r, err := k.FindIf(netip.MustParseAddr(c.ip))
		if err != nil {
			t.Errorf("FindIf(%s): %v", c.ip, err)
			continue
		}
		if d := cmp.Diff([]string{c.iface, c.prefix, c.bcast}, []string{r.Iface, r.Prefix.String(), r.Broadcast.String()}); d != "" {
			t.Errorf("FindIf(%s) (-want +got):\n%s", c.ip, d)
		}
	}
	for _, ip := range []string{"192.0.2.1", "10.66.1.1", "2001:db8::1"} {
		if r, err := k.FindIf(netip.MustParseAddr(ip)); !errors.Is(err, kernel.ErrNoRoute) {
			t.Errorf("FindIf(%s) = %+v, %v; want ErrNoRoute", ip, r, err)
		}
	}
}

func TestLinuxAddrs(t *testing.T) {
	lab := netns.NewLab(t)
	a := lab.AddHost("a", "10.77.0.1/24")
	addVeth(t, a)
	// DAD on, so only IFA_F_NODAD makes an added IPv6 address usable at once.
	a.Run(t, "sysctl", "-q", "-w", "net.ipv6.conf.dum0.accept_dad=1")
	k := kerneltest.Net(t, a)
	if err := k.LinkUp("dum0"); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "-o", "link", "show", "dev", "dum0"); !strings.Contains(out, ",UP") {
		t.Errorf("LinkUp: dum0 not up: %s", out)
	}

	v4 := kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("10.77.0.100/24"),
		Broadcast: netip.MustParseAddr("10.77.0.255"), Label: "hb0:0"}
	v6 := kernel.Addr{Iface: "dum0", Prefix: netip.MustParsePrefix("fd77::100/64")}
	for _, ad := range []kernel.Addr{v4, v4, v6, v6} { // twice: idempotent
		if err := k.AddAddr(ad); err != nil {
			t.Fatalf("AddAddr(%+v): %v", ad, err)
		}
	}
	out := a.Run(t, "ip", "-o", "addr", "show")
	for _, want := range []string{"inet 10.77.0.100/24 brd 10.77.0.255 scope global secondary hb0:0", "inet6 fd77::100/64 scope global nodad"} {
		if !strings.Contains(out, want) {
			t.Errorf("ip addr lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "fd77::100") && strings.Contains(l, "tentative") {
			t.Errorf("fd77::100 is tentative (DAD ran):\n%s", l)
		}
	}
	got, err := k.Addrs("hb0")
	if err != nil {
		t.Fatal(err)
	}
	wantHB0 := []kernel.Addr{
		{Iface: "hb0", Prefix: netip.MustParsePrefix("10.77.0.1/24"), Broadcast: netip.MustParseAddr("10.77.0.255")},
		v4,
	}
	var gotV4 []kernel.Addr
	for _, ad := range got {
		if ad.Prefix.Addr().Is4() {
			gotV4 = append(gotV4, ad)
		}
	}
	if d := cmp.Diff(wantHB0, gotV4, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("Addrs(hb0) IPv4 (-want +got):\n%s", d)
	}
	all, err := k.Addrs("")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ad := range all {
		found = found || ad == v6
	}
	if !found {
		t.Errorf("Addrs(\"\") lacks %+v: %+v", v6, all)
	}

	// Without a broadcast, none is set (netlink would guess one).
	nob := kernel.Addr{Iface: "dum0", Prefix: netip.MustParsePrefix("10.55.0.1/24")}
	if err := k.AddAddr(nob); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "-o", "addr", "show", "dev", "dum0"); strings.Contains(out, "brd 10.55") {
		t.Errorf("broadcast set although none given:\n%s", out)
	}

	// DelAddr removes exactly the address and length given.
	other := kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("10.77.0.100/25")}
	for _, ad := range []kernel.Addr{other, v4, v4, v6} {
		if err := k.DelAddr(ad); err != nil {
			t.Fatalf("DelAddr(%+v): %v", ad, err)
		}
	}
	out = a.Run(t, "ip", "-o", "addr", "show")
	for _, gone := range []string{"10.77.0.100", "fd77::100"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s still there:\n%s", gone, out)
		}
	}
	if !strings.Contains(out, "10.77.0.1/24") {
		t.Errorf("the host's own address went too:\n%s", out)
	}
	for _, err := range []error{
		k.AddAddr(kernel.Addr{Iface: "nosuch0", Prefix: v4.Prefix}),
		k.DelAddr(kernel.Addr{Iface: "nosuch0", Prefix: v4.Prefix}),
		k.LinkUp("nosuch0"),
		k.SendARP("nosuch0", v4.Prefix.Addr(), false),
	} {
		if !errors.Is(err, kernel.ErrNoLink) {
			t.Errorf("on a missing link: %v, want ErrNoLink", err)
		}
	}
	a.Run(t, "ip", "link", "set", "dum0", "down")
	if err := k.SendARP("dum0", v4.Prefix.Addr(), false); !errors.Is(err, unix.ENETDOWN) {
		t.Errorf("SendARP on a down link: %v, want ENETDOWN", err)
	}
	// The link's multicast route is gone with it.
	if err := k.SendNA("dum0", v6.Prefix.Addr()); !errors.Is(err, unix.ENETUNREACH) {
		t.Errorf("SendNA on a down link: %v, want ENETUNREACH", err)
	}
}

// addVeth gives host h a second interface, dum0 (one end of a veth pair
// whose other end, dum1, is up: this kernel has no dummy links).
func addVeth(t *testing.T, h *netns.Host) {
	h.Run(t, "ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
	h.Run(t, "ip", "link", "set", "dum1", "up")
}

// lab2 returns a lab with hosts a and b on one IPv4 and one IPv6 subnet.
func lab2(t *testing.T) (a, b *netns.Host) {
	lab := netns.NewLab(t)
	a = lab.AddHost("a", "10.77.0.1/24")
	b = lab.AddHost("b", "10.77.0.2/24")
	a.AddAddr(t, "fd77::1/64")
	b.AddAddr(t, "fd77::2/64")
	return a, b
}

func TestLinuxSendARP(t *testing.T) {
	a, b := lab2(t)
	k := kerneltest.Net(t, a)
	vip := netip.MustParseAddr("10.77.0.100")
	kerneltest.SetNeigh(t, b, vip, "02:00:00:00:00:99")
	capture := kerneltest.Listen(t, b)
	for _, reply := range []bool{false, true} {
		if err := k.SendARP("hb0", vip, reply); err != nil {
			t.Fatal(err)
		}
	}
	frames := capture.Wait(t, kerneltest.ARPFor(vip), 2, 2*time.Second, 100*time.Millisecond)
	mac := kerneltest.MAC(t, a, "hb0")
	var want []string
	for _, op := range []string{"1 00:00:00:00:00:00", "2 " + mac.String()} {
		want = append(want, "ff:ff:ff:ff:ff:ff "+mac.String()+" "+mac.String()+" 10.77.0.100 10.77.0.100 "+op)
	}
	if d := cmp.Diff(want, describeARP(frames)); d != "" {
		t.Errorf("frames at b (-want +got):\n%s", d)
	}
	if got := kerneltest.Neigh(t, b, vip); got != mac.String() {
		t.Errorf("b's neighbour entry for %s = %q, want %s (a's MAC)", vip, got, mac)
	}
	if err := k.SendARP("hb0", netip.MustParseAddr("fd77::1"), false); err == nil {
		t.Error("SendARP of an IPv6 address succeeded")
	}
}

// describeARP renders frames as "ethdst ethsrc sendermac senderip targetip op targetmac".
func describeARP(fs []kerneltest.Frame) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.Join([]string{f.EtherDst.String(), f.EtherSrc.String(), f.SenderMAC.String(),
			f.SenderIP.String(), f.TargetIP.String(), map[uint16]string{1: "1", 2: "2"}[f.Op], f.TargetMAC.String()}, " "))
	}
	return out
}

func TestLinuxSendNA(t *testing.T) {
	a, b := lab2(t)
	k := kerneltest.Net(t, a)
	vip := netip.MustParseAddr("fd77::100")
	if err := k.AddAddr(kernel.Addr{Iface: "hb0", Prefix: netip.PrefixFrom(vip, 64)}); err != nil {
		t.Fatal(err)
	}
	kerneltest.SetNeigh(t, b, vip, "02:00:00:00:00:99")
	capture := kerneltest.Listen(t, b)
	if err := k.SendNA("hb0", vip); err != nil {
		t.Fatal(err)
	}
	frames := capture.Wait(t, kerneltest.NAFor(vip), 1, 2*time.Second, 100*time.Millisecond)
	if len(frames) != 1 {
		t.Fatalf("b got %d NAs for %s, want 1: %+v", len(frames), vip, frames)
	}
	mac := kerneltest.MAC(t, a, "hb0")
	f := frames[0]
	want := kerneltest.Frame{
		EtherDst: []byte{0x33, 0x33, 0, 0, 0, 1}, EtherSrc: mac,
		NA: true, IPSrc: vip, IPDst: netip.MustParseAddr("ff02::1"), HopLimit: 255,
		Override: true, Target: vip, TargetLL: mac, ChecksumOK: true,
	}
	f.Time = time.Time{}
	if d := cmp.Diff(want, f, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("NA at b (-want +got):\n%s", d)
	}
	if got := kerneltest.Neigh(t, b, vip); got != mac.String() {
		t.Errorf("b's neighbour entry for %s = %q, want %s (a's MAC)", vip, got, mac)
	}

	// Not configured on a: still sent, from a link-local source.
	other := netip.MustParseAddr("fd77::200")
	if err := k.SendNA("hb0", other); err != nil {
		t.Fatal(err)
	}
	frames = capture.Wait(t, kerneltest.NAFor(other), 1, 2*time.Second, 0)
	if len(frames) != 1 || !frames[0].IPSrc.IsLinkLocalUnicast() {
		t.Errorf("NA for an address a lacks: %+v, want one from a link-local source", frames)
	}
}
