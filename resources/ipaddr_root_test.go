// ipaddr_root_test.go: IPaddr2 and IPaddr on a real kernel, seen from a second host (root only).

package resources

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/kernel/kerneltest"
	"github.com/hasuite/hasuite/test/netns"
)

// rootLab returns hosts a and b on 10.77.0.0/24 and fd77::/64, an Env
// working in a, and a's MAC on hb0.
func rootLab(t *testing.T, arp ARP) (a, b *netns.Host, env Env, mac string) {
	lab := netns.NewLab(t)
	a = lab.AddHost("a", "10.77.0.1/24")
	b = lab.AddHost("b", "10.77.0.2/24")
	a.AddAddr(t, "fd77::1/64")
	b.AddAddr(t, "fd77::2/64")
	_, env, _ = fakeEnv(t)
	env.Net = kerneltest.Net(t, a)
	env.IPaddrARP, env.IPaddr2ARP = arp, arp
	return a, b, env, kerneltest.MAC(t, a, "hb0").String()
}

// checkSchedule checks that frame i arrives Interval/2 × i after the first:
// never early, late by less than 80% of a slot (the machine may be busy).
func checkSchedule(t *testing.T, frames []kerneltest.Frame, arp ARP) {
	t.Helper()
	half := arp.Interval / 2
	for i, f := range frames {
		off := f.Time.Sub(frames[0].Time)
		if want := time.Duration(i) * half; off < want-5*time.Millisecond || off > want+half*4/5 {
			t.Errorf("frame %d came %v after the first, want %v", i, off, want)
		}
	}
}

func TestIPaddr2Root(t *testing.T) {
	arp := ARP{Repeats: 3, Interval: 300 * time.Millisecond}
	a, b, env, mac := rootLab(t, arp)
	vip := netip.MustParseAddr("10.77.0.100")
	// b talked to the VIP's previous owner.
	kerneltest.SetNeigh(t, b, vip, "02:00:00:00:00:99")
	// The same address on a's lo (an LVS-DR real server's trick) and another
	// address on hb0 must survive Stop.
	a.Run(t, "ip", "addr", "add", "10.77.0.100/32", "dev", "lo")
	a.Run(t, "ip", "addr", "add", "10.77.0.50/24", "dev", "hb0")
	capture := kerneltest.Listen(t, b)
	ctx := context.Background()

	ag, err := NewIPaddr([]string{"10.77.0.100"}, env, true)
	if err != nil {
		t.Fatal(err)
	}
	if up, err := ag.Running(ctx); up || err != nil {
		t.Fatalf("Running before Start = %v, %v (the lo copy must not count)", up, err)
	}
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "-o", "-4", "addr", "show", "dev", "hb0"); !strings.Contains(out, "inet 10.77.0.100/24 brd 10.77.0.255 scope global secondary hb0\\") {
		t.Errorf("hb0 after Start:\n%s", out)
	}
	frames := capture.Wait(t, kerneltest.ARPFor(vip), 2*arp.Repeats, 5*time.Second, arp.Interval)
	var want []string
	for i := 0; i < 2*arp.Repeats; i++ {
		op := "1 00:00:00:00:00:00"
		if i%2 == 1 {
			op = "2 " + mac
		}
		want = append(want, "ff:ff:ff:ff:ff:ff "+mac+" "+mac+" 10.77.0.100 10.77.0.100 "+op)
	}
	if d := cmp.Diff(want, describeARP(frames)); d != "" {
		t.Errorf("frames at b (-want +got):\n%s", d)
	}
	checkSchedule(t, frames, arp)
	if got := kerneltest.Neigh(t, b, vip); got != mac {
		t.Errorf("b's neighbour entry for %s = %q, want a's MAC %s", vip, got, mac)
	}
	if up, err := ag.Running(ctx); !up || err != nil {
		t.Errorf("Running after Start = %v, %v", up, err)
	}

	// Starting again does nothing: no second address, no frames.
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(capture.Wait(t, kerneltest.ARPFor(vip), 0, 0, arp.Interval)); n != 2*arp.Repeats {
		t.Errorf("a second Start sent %d more frames", n-2*arp.Repeats)
	}

	for range 2 {
		if err := ag.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	out := a.Run(t, "ip", "-o", "-4", "addr", "show")
	for _, keep := range []string{"10.77.0.100/32 scope global lo", "10.77.0.50/24", "10.77.0.1/24"} {
		if !strings.Contains(out, keep) {
			t.Errorf("Stop removed %s:\n%s", keep, out)
		}
	}
	if strings.Contains(out, "10.77.0.100/24") {
		t.Errorf("Stop left the VIP:\n%s", out)
	}
	if up, err := ag.Running(ctx); up || err != nil {
		t.Errorf("Running after Stop = %v, %v", up, err)
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

func TestIPaddrRootAliasAndStopCancels(t *testing.T) {
	arp := ARP{Repeats: 10, Interval: 200 * time.Millisecond}
	a, b, env, _ := rootLab(t, arp)
	capture := kerneltest.Listen(t, b)
	ctx := context.Background()
	ag, err := NewIPaddr([]string{"10.77.0.100/24/hb0"}, env, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "-o", "-4", "addr", "show", "dev", "hb0"); !strings.Contains(out, "10.77.0.100/24 brd 10.77.0.255 scope global secondary hb0:0") {
		t.Errorf("hb0 after Start (want alias hb0:0):\n%s", out)
	}
	if err := ag.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	// Stop came right after the first frame (one or two more may have been
	// on their way on a busy machine); nothing may come after it.
	frames := capture.Wait(t, kerneltest.ARPFor(netip.MustParseAddr("10.77.0.100")), 0, 0, 3*arp.Interval)
	if n := len(frames); n < 1 || n > 3 {
		t.Errorf("b got %d frames, want the one sent before Start returned (and at most two more)", n)
	}
	for i, f := range frames {
		if f.Time.After(stopped.Add(5 * time.Millisecond)) {
			t.Errorf("frame %d came %v after Stop returned", i, f.Time.Sub(stopped))
		}
	}
}

func TestIPaddr2RootIPv6(t *testing.T) {
	arp := ARP{Repeats: 2, Interval: 300 * time.Millisecond}
	a, b, env, mac := rootLab(t, arp)
	vip := netip.MustParseAddr("fd77::100")
	kerneltest.SetNeigh(t, b, vip, "02:00:00:00:00:99")
	capture := kerneltest.Listen(t, b)
	ctx := context.Background()
	// As haresources splits "IPaddr2::fd77::100".
	ag, err := NewIPaddr([]string{"fd77", "100"}, env, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "-o", "-6", "addr", "show", "dev", "hb0"); !strings.Contains(out, "fd77::100/64 scope global nodad") {
		t.Errorf("hb0 after Start:\n%s", out)
	}
	frames := capture.Wait(t, kerneltest.NAFor(vip), 2*arp.Repeats, 5*time.Second, arp.Interval)
	if len(frames) != 2*arp.Repeats {
		t.Fatalf("b got %d NAs, want %d", len(frames), 2*arp.Repeats)
	}
	for i, f := range frames {
		if f.IPSrc != vip || f.IPDst != netip.MustParseAddr("ff02::1") || f.HopLimit != 255 || !f.Override || f.Solicited || f.Router ||
			f.TargetLL.String() != mac || f.EtherSrc.String() != mac || !f.ChecksumOK {
			t.Errorf("NA %d: %+v", i, f)
		}
	}
	checkSchedule(t, frames, arp)
	if got := kerneltest.Neigh(t, b, vip); got != mac {
		t.Errorf("b's neighbour entry for %s = %q, want a's MAC %s", vip, got, mac)
	}
	if err := ag.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "-o", "-6", "addr", "show", "dev", "hb0"); strings.Contains(out, "fd77::100") || !strings.Contains(out, "fd77::1/64") {
		t.Errorf("hb0 after Stop:\n%s", out)
	}
}

func TestIPaddrRootFindIf(t *testing.T) {
	a, _, env, _ := rootLab(t, ARP{Repeats: 1, Interval: 20 * time.Millisecond})
	a.Run(t, "ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
	a.Run(t, "ip", "link", "set", "dum1", "up")
	a.Run(t, "ip", "addr", "add", "10.88.0.1/16", "dev", "dum0")
	// dum0 is down, so its subnet has no route yet.
	ctx := context.Background()
	for _, c := range []struct{ arg, want string }{
		{"10.88.4.4", "inet 10.88.4.4/16 brd 10.88.255.255 scope global secondary dum0"},
		{"10.77.0.9", "inet 10.77.0.9/24 brd 10.77.0.255 scope global secondary hb0"},
	} {
		ag, err := NewIPaddr([]string{c.arg}, env, true)
		if err != nil {
			t.Fatal(err)
		}
		if c.arg == "10.88.4.4" {
			// A down link has no route, and findif needs one (spec §7).
			if err := ag.Start(ctx); err == nil || err.Error() != "IPaddr2::10.88.4.4: cannot find the interface for 10.88.4.4 (findif: no route covers the address); give it, e.g. IPaddr2::10.88.4.4/24/eth0" {
				t.Errorf("Start with dum0 down = %v, want no route", err)
			}
			a.Run(t, "ip", "link", "set", "dum0", "up")
		}
		if err := ag.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if out := a.Run(t, "ip", "-o", "-4", "addr", "show"); !strings.Contains(out, c.want) {
			t.Errorf("%s: want %q in:\n%s", c.arg, c.want, out)
		}
	}
	// Given explicitly, a down interface is brought up.
	a.Run(t, "ip", "link", "set", "dum0", "down")
	ag, err := NewIPaddr([]string{"10.66.0.1/24/dum0"}, env, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "-o", "link", "show", "dev", "dum0"); !strings.Contains(out, ",UP") {
		t.Errorf("dum0 not brought up:\n%s", out)
	}
}
