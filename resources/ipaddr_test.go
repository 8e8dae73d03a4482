// ipaddr_test.go: the IPaddr and IPaddr2 agents on kernel.Fake.

package resources

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/hasuite/hasuite/internal/kernel"
)

var (
	fakeMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	cmpPfx  = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
)

func TestParseIPSpec(t *testing.T) {
	type spec struct {
		IP, Iface, Label, Bcast string
		Bits                    int
	}
	for _, c := range []struct {
		in      string
		want    spec
		wantErr string
	}{
		{in: "10.0.0.100", want: spec{IP: "10.0.0.100", Bits: -1}},
		{in: "10.0.0.100/24", want: spec{IP: "10.0.0.100", Bits: 24}},
		{in: "10.0.0.100/255.255.0.0", want: spec{IP: "10.0.0.100", Bits: 16}},
		{in: "10.0.0.100/24/eth0", want: spec{IP: "10.0.0.100", Bits: 24, Iface: "eth0"}},
		{in: "10.0.0.100/24/eth0:web", want: spec{IP: "10.0.0.100", Bits: 24, Iface: "eth0", Label: "eth0:web"}},
		{in: "10.0.0.100/24/eth0/10.0.0.127", want: spec{IP: "10.0.0.100", Bits: 24, Iface: "eth0", Bcast: "10.0.0.127"}},
		{in: "10.0.0.100/24/10.0.0.127", want: spec{IP: "10.0.0.100", Bits: 24, Bcast: "10.0.0.127"}}, // digit: broadcast
		{in: "10.0.0.100//eth0", want: spec{IP: "10.0.0.100", Bits: -1, Iface: "eth0"}},
		{in: "10.0.0.100/", want: spec{IP: "10.0.0.100", Bits: -1}},
		{in: "fd00::100/64/eth0", want: spec{IP: "fd00::100", Bits: 64, Iface: "eth0"}},
		{in: "fd00::100", want: spec{IP: "fd00::100", Bits: -1}},

		{in: "", wantErr: `"" is not an IP address`},
		{in: "eth0", wantErr: `"eth0" is not an IP address`},
		{in: "10.0.0.256/24", wantErr: `"10.0.0.256" is not an IP address`},
		{in: "fe80::1%eth0", wantErr: "not an IP address"},
		{in: "0.0.0.0", wantErr: "cannot be a virtual address"},
		{in: "224.0.0.1", wantErr: "cannot be a virtual address"},
		{in: "127.0.0.2", wantErr: "cannot be a virtual address"},
		{in: "10.0.0.100/33", wantErr: "netmask /33 out of range 1-32"},
		{in: "10.0.0.100/0", wantErr: "netmask /0 out of range 1-32"},
		{in: "10.0.0.100/-1", wantErr: `bad netmask "-1"`},
		{in: "fd00::1/129", wantErr: "out of range 1-128"},
		{in: "fd00::1/255.255.255.0", wantErr: `bad netmask "255.255.255.0"`},
		{in: "10.0.0.100/255.0.255.0", wantErr: "not contiguous"},
		{in: "10.0.0.100/24/eth0/10.0.0.255/x", wantErr: "too many fields"},
		{in: "10.0.0.100/24/10.0.0.255/eth0", wantErr: "a broadcast \"10.0.0.255\" in place of the interface"},
		{in: "10.0.0.100/24/eth0/fd00::1", wantErr: "not an IPv4 address"},
		{in: "10.0.0.100/24/eth0/bcast", wantErr: "not an IPv4 address"},
		{in: "fd00::1/64/eth0/10.0.0.255", wantErr: "IPv6 addresses have no broadcast"},
		{in: "fd00::1/64/eth0:x", wantErr: "IPv6 addresses have no labels"},
		{in: "10.0.0.100/24/averyveryverylongname", wantErr: "bad interface name"},
		{in: "10.0.0.100/24/eth0:", wantErr: "bad label"},
		{in: "10.0.0.100/24/eth0:waytoolonglabel", wantErr: "bad label"},
	} {
		sp, err := parseIPSpec(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseIPSpec(%q) error = %v, want one with %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseIPSpec(%q): %v", c.in, err)
			continue
		}
		got := spec{IP: sp.ip.String(), Bits: sp.bits, Iface: sp.iface, Label: sp.label}
		if sp.bcast.IsValid() {
			got.Bcast = sp.bcast.String()
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("parseIPSpec(%q) (-want +got):\n%s", c.in, d)
		}
	}
}

func FuzzParseIPSpec(f *testing.F) {
	for _, s := range []string{"10.0.0.1/24/eth0/10.0.0.255", "10.0.0.1/255.255.255.0", "fd00::1/64/eth0:0", "1/2/3/4/5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := parseIPSpec(s)
		if err != nil {
			return
		}
		if !sp.ip.IsValid() || sp.bits < -1 || sp.bits > sp.ip.BitLen() || sp.bits == 0 {
			t.Errorf("parseIPSpec(%q) = %+v", s, sp)
		}
		if sp.label != "" && !strings.HasPrefix(sp.label, sp.iface+":") {
			t.Errorf("parseIPSpec(%q): label %q not of %q", s, sp.label, sp.iface)
		}
	})
}

func TestNewIPaddrArgs(t *testing.T) {
	env := Env{Net: kernel.NewFake()}
	for _, c := range []struct {
		args    []string
		v2      bool
		name    string
		ip      string
		wantErr string
	}{
		{args: []string{"10.0.0.1/24"}, name: "IPaddr::10.0.0.1/24", ip: "10.0.0.1"},
		{args: []string{"10.0.0.1"}, v2: true, name: "IPaddr2::10.0.0.1", ip: "10.0.0.1"},
		// haresources split "fd00::100/64/eth0" at "::".
		{args: []string{"fd00", "100/64/eth0"}, v2: true, name: "IPaddr2::fd00::100/64/eth0", ip: "fd00::100"},
		{args: nil, wantErr: "IPaddr needs an address"},
		{args: []string{"10.0.0.1", "x"}, v2: true, wantErr: "IPaddr2 takes one argument, ip[/nn[/if[/bcast]]], not 2"},
		{args: []string{"10.0.0.1/40"}, wantErr: "out of range"},
	} {
		ag, err := NewIPaddr(c.args, env, c.v2)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("NewIPaddr(%q) error = %v, want %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewIPaddr(%q): %v", c.args, err)
			continue
		}
		if ag.Name() != c.name || ag.(*IPaddr).spec.ip.String() != c.ip {
			t.Errorf("NewIPaddr(%q) = %s %s, want %s %s", c.args, ag.Name(), ag.(*IPaddr).spec.ip, c.name, c.ip)
		}
	}
}

// fakeEnv returns a Fake with hb0 (10.0.0.0/24, fd00::/64) and eth1
// (10.1.0.0/16), an environment using it, and the log hook.
func fakeEnv(t *testing.T) (*kernel.Fake, Env, *test.Hook) {
	f := kernel.NewFake()
	f.AddLink("lo", nil, true)
	f.AddLink("hb0", fakeMAC, false)
	f.AddLink("eth1", net.HardwareAddr{2, 0, 0, 0, 0, 0x0b}, true)
	f.AddRoute("hb0", "10.0.0.0/24", 0)
	f.AddRoute("hb0", "fd00::/64", 256)
	f.AddRoute("eth1", "10.1.0.0/16", 0)
	f.AddRoute("lo", "10.9.0.0/16", 0)
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	// Tiny announcements unless a test wants more.
	env := Env{Net: f, Log: log, IPaddrARP: ARP{Repeats: 1, Interval: 2 * time.Millisecond}, IPaddr2ARP: ARP{Repeats: 1, Interval: 2 * time.Millisecond}}
	return f, env, hook
}

func mustAgent(t *testing.T, arg string, env Env, v2 bool) *IPaddr {
	t.Helper()
	a, err := NewIPaddr([]string{arg}, env, v2)
	if err != nil {
		t.Fatal(err)
	}
	return a.(*IPaddr)
}

func addrsOf(t *testing.T, f *kernel.Fake) []kernel.Addr {
	t.Helper()
	as, err := f.Addrs("")
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestIPaddrStartStop(t *testing.T) {
	p := netip.MustParsePrefix
	ad := netip.MustParseAddr
	for _, c := range []struct {
		arg  string
		v2   bool
		want kernel.Addr
		log  string
	}{
		{arg: "10.0.0.100", want: kernel.Addr{Iface: "hb0", Prefix: p("10.0.0.100/24"), Broadcast: ad("10.0.0.255"), Label: "hb0:0"},
			log: "Adding inet address 10.0.0.100/24 with broadcast address 10.0.0.255 to device hb0 (label hb0:0)"},
		{arg: "10.0.0.100", v2: true, want: kernel.Addr{Iface: "hb0", Prefix: p("10.0.0.100/24"), Broadcast: ad("10.0.0.255")},
			log: "Adding inet address 10.0.0.100/24 with broadcast address 10.0.0.255 to device hb0"},
		{arg: "10.1.2.3/24", v2: true, want: kernel.Addr{Iface: "eth1", Prefix: p("10.1.2.3/24"), Broadcast: ad("10.1.2.255")}},
		{arg: "10.1.2.3/8", v2: true, want: kernel.Addr{}}, // no route of /8 or less
		{arg: "10.0.0.100/25/hb0/10.0.0.126", want: kernel.Addr{Iface: "hb0", Prefix: p("10.0.0.100/25"), Broadcast: ad("10.0.0.126"), Label: "hb0:0"}},
		{arg: "10.0.0.100/24/eth1:web", want: kernel.Addr{Iface: "eth1", Prefix: p("10.0.0.100/24"), Broadcast: ad("10.0.0.255"), Label: "eth1:web"}},
		{arg: "10.1.0.7//eth1", v2: true, want: kernel.Addr{Iface: "eth1", Prefix: p("10.1.0.7/16"), Broadcast: ad("10.1.255.255")}},
		{arg: "10.0.0.7//eth1", v2: true, want: kernel.Addr{}}, // no route through eth1
		{arg: "10.9.0.1", v2: true, want: kernel.Addr{}},       // routes through lo do not count
		{arg: "10.9.0.1/16/lo", v2: true, want: kernel.Addr{Iface: "lo", Prefix: p("10.9.0.1/16"), Broadcast: ad("10.9.255.255")}},
		{arg: "192.168.1.1", want: kernel.Addr{}},
		{arg: "fd00::100", v2: true, want: kernel.Addr{Iface: "hb0", Prefix: p("fd00::100/64")},
			log: "Adding inet6 address fd00::100/64 to device hb0"},
		{arg: "fd00::100/64/eth1", want: kernel.Addr{Iface: "eth1", Prefix: p("fd00::100/64")}},
	} {
		t.Run(c.arg, func(t *testing.T) {
			f, env, hook := fakeEnv(t)
			a := mustAgent(t, c.arg, env, c.v2)
			ctx := context.Background()
			err := a.Start(ctx)
			if !c.want.Prefix.IsValid() {
				if !errors.Is(err, kernel.ErrNoRoute) || !strings.HasPrefix(err.Error(), a.Name()+": cannot find the ") {
					t.Fatalf("Start = %v, want a no-route error naming %s", err, a.Name())
				}
				if up, err := a.Running(ctx); up || err != nil {
					t.Errorf("Running = %v, %v; want false, nil", up, err)
				}
				if err := a.Stop(ctx); err != nil {
					t.Errorf("Stop = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if d := cmp.Diff([]kernel.Addr{c.want}, addrsOf(t, f), cmpAddr, cmpPfx); d != "" {
				t.Errorf("after Start (-want +got):\n%s", d)
			}
			if l, _ := f.Link(c.want.Iface); !l.Up {
				t.Errorf("%s left down", c.want.Iface)
			}
			if c.log != "" && !hasLog(hook, c.log) {
				t.Errorf("no log %q in:\n%s", c.log, logText(hook))
			}
			if up, err := a.Running(ctx); !up || err != nil {
				t.Errorf("Running = %v, %v; want true", up, err)
			}
			if err := a.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if got := addrsOf(t, f); len(got) != 0 {
				t.Errorf("after Stop: %v", got)
			}
			if up, err := a.Running(ctx); up || err != nil {
				t.Errorf("Running after Stop = %v, %v; want false", up, err)
			}
			if err := a.Stop(ctx); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func hasLog(h *test.Hook, msg string) bool {
	for _, e := range h.AllEntries() {
		if e.Message == msg {
			return true
		}
	}
	return false
}

func logText(h *test.Hook) string {
	var b strings.Builder
	for _, e := range h.AllEntries() {
		b.WriteString(e.Level.String() + " " + e.Message + "\n")
	}
	return b.String()
}

func TestIPaddrLabels(t *testing.T) {
	f, env, _ := fakeEnv(t)
	// hb0:0 is taken by someone else's address; hb0:1 by the first agent.
	if err := f.AddAddr(kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("10.0.0.50/24"), Label: "hb0:0"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var agents []*IPaddr
	for _, arg := range []string{"10.0.0.101", "10.0.0.102", "10.0.0.103"} {
		a := mustAgent(t, arg, env, false)
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
	}
	if err := agents[0].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	a := mustAgent(t, "10.0.0.104", env, false)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, ad := range addrsOf(t, f) {
		labels[ad.Prefix.Addr().String()] = ad.Label
	}
	want := map[string]string{"10.0.0.50": "hb0:0", "10.0.0.102": "hb0:2", "10.0.0.103": "hb0:3", "10.0.0.104": "hb0:1"}
	if d := cmp.Diff(want, labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
}

func TestIPaddrIdempotent(t *testing.T) {
	f, env, hook := fakeEnv(t)
	ctx := context.Background()
	vip := netip.MustParsePrefix("10.0.0.100/24")
	// Already there (another node's script, or our previous life): Start
	// neither adds nor announces it.
	if err := f.AddAddr(kernel.Addr{Iface: "hb0", Prefix: vip}); err != nil {
		t.Fatal(err)
	}
	a := mustAgent(t, "10.0.0.100", env, true)
	if up, err := a.Running(ctx); !up || err != nil {
		t.Fatalf("Running = %v, %v; want true", up, err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(addrsOf(t, f)); n != 1 || len(f.Frames()) != 0 {
		t.Errorf("Start of a running address: %d addresses, %d frames; want 1, 0", n, len(f.Frames()))
	}
	if !hasLog(hook, "inet 10.0.0.100/24 is already configured on hb0") {
		t.Errorf("no 'already configured' log in:\n%s", logText(hook))
	}

	// Stop removes only the address with our length on our interface.
	others := []kernel.Addr{
		{Iface: "lo", Prefix: netip.MustParsePrefix("10.0.0.100/32")},
		{Iface: "eth1", Prefix: vip},
		{Iface: "hb0", Prefix: netip.MustParsePrefix("10.0.0.100/16")},
		{Iface: "hb0", Prefix: netip.MustParsePrefix("10.0.0.1/24")},
	}
	for _, o := range others {
		if err := f.AddAddr(o); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := a.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff(others, addrsOf(t, f), cmpAddr, cmpPfx); d != "" {
		t.Errorf("after Stop (-want +got):\n%s", d)
	}
	if up, err := a.Running(ctx); up || err != nil {
		t.Errorf("Running with only other lengths and interfaces = %v, %v; want false", up, err)
	}
	// A fresh agent (no memory of Start) stops the same way.
	if err := f.AddAddr(kernel.Addr{Iface: "hb0", Prefix: vip}); err != nil {
		t.Fatal(err)
	}
	if err := mustAgent(t, "10.0.0.100", env, true).Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(others, addrsOf(t, f), cmpAddr, cmpPfx); d != "" {
		t.Errorf("after a fresh agent's Stop (-want +got):\n%s", d)
	}
}

func TestIPaddrErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")

	f, env, _ := fakeEnv(t)
	f.SetErr("AddAddr", boom)
	a := mustAgent(t, "10.0.0.100", env, true)
	if err := a.Start(ctx); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "IPaddr2::10.0.0.100: ") {
		t.Errorf("Start with AddAddr failing = %v", err)
	}

	f, env, hook := fakeEnv(t)
	f.SetErr("SendARP", boom)
	a = mustAgent(t, "10.0.0.100", env, false)
	if err := a.Start(ctx); err != nil {
		t.Errorf("Start with ARP failing = %v, want nil (the address is up)", err)
	}
	if !strings.Contains(logText(hook), "error announcing the address failed") {
		t.Errorf("ARP failure not logged:\n%s", logText(hook))
	}

	f, env, _ = fakeEnv(t)
	a = mustAgent(t, "10.0.0.100/24/nosuch0", env, true)
	if err := a.Start(ctx); !errors.Is(err, kernel.ErrNoLink) {
		t.Errorf("Start on a missing interface = %v, want ErrNoLink", err)
	}
	if up, err := a.Running(ctx); up || err != nil {
		t.Errorf("Running on a missing interface = %v, %v", up, err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Errorf("Stop on a missing interface = %v", err)
	}

	f, env, _ = fakeEnv(t)
	a = mustAgent(t, "10.0.0.100", env, true)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.SetErr("DelAddr", boom)
	if err := a.Stop(ctx); !errors.Is(err, boom) {
		t.Errorf("Stop with DelAddr failing = %v", err)
	}
	f.SetErr("Addrs", boom)
	if _, err := a.Running(ctx); !errors.Is(err, boom) {
		t.Errorf("Running with Addrs failing = %v", err)
	}

	// IPv6 keys addresses without length: another length is a conflict.
	f, env, _ = fakeEnv(t)
	if err := f.AddAddr(kernel.Addr{Iface: "hb0", Prefix: netip.MustParsePrefix("fd00::100/48")}); err != nil {
		t.Fatal(err)
	}
	if err := mustAgent(t, "fd00::100", env, true).Start(ctx); err == nil || !strings.Contains(err.Error(), "another prefix length") {
		t.Errorf("Start over fd00::100/48 = %v", err)
	}
}

// TestIPaddrAnnounce checks count, order and spacing of the frames, on
// their recorded times.
func TestIPaddrAnnounce(t *testing.T) {
	const repeats, interval = 3, 100 * time.Millisecond
	half := interval / 2
	for _, c := range []struct {
		arg string
		v2  bool
	}{{"10.0.0.100", false}, {"10.0.0.100", true}, {"fd00::100", true}} {
		t.Run(map[bool]string{false: "IPaddr", true: "IPaddr2"}[c.v2]+"/"+c.arg, func(t *testing.T) {
			f, env, _ := fakeEnv(t)
			env.IPaddrARP = ARP{Repeats: repeats, Interval: interval}
			env.IPaddr2ARP = env.IPaddrARP
			a := mustAgent(t, c.arg, env, c.v2)
			start := time.Now()
			if err := a.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(f.Frames()); n < 1 || n > 2 {
				t.Errorf("%d frames when Start returned, want the first one (at most a second)", n)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(f.Frames()) < 2*repeats && time.Now().Before(deadline) {
				time.Sleep(half / 4)
			}
			time.Sleep(interval) // any extra frame shows up
			frames := f.Frames()
			if len(frames) != 2*repeats {
				t.Fatalf("%d frames, want %d", len(frames), 2*repeats)
			}
			ip := netip.MustParseAddr(c.arg)
			for i, fr := range frames {
				want := kernel.Frame{Iface: "hb0", IP: ip, NA: ip.Is6(), Reply: ip.Is4() && i%2 == 1, Time: fr.Time}
				if d := cmp.Diff(want, fr, cmpAddr); d != "" {
					t.Errorf("frame %d (-want +got):\n%s", i, d)
				}
				// On schedule: never early, late by less than a slot (the
				// machine may be busy).
				at := start.Add(time.Duration(i) * half)
				if lag := fr.Time.Sub(at); lag < 0 || lag > half {
					t.Errorf("frame %d at %v after start, want %v (+ less than %v)", i, fr.Time.Sub(start), time.Duration(i)*half, half)
				}
			}
			if err := a.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestIPaddrStopCancelsAnnouncements(t *testing.T) {
	f, env, _ := fakeEnv(t)
	env.IPaddrARP = ARP{Repeats: 50, Interval: 40 * time.Millisecond}
	a := mustAgent(t, "10.0.0.100", env, false)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := len(f.Frames())
	if n > 3 {
		t.Errorf("%d frames sent before Stop returned, want 2 (3 at worst)", n)
	}
	time.Sleep(100 * time.Millisecond) // five slots: none may come
	if m := len(f.Frames()); m != n {
		t.Errorf("%d frames after Stop returned", m-n)
	}
	if got := addrsOf(t, f); len(got) != 0 {
		t.Errorf("after Stop: %v", got)
	}
}

func TestIPaddrDefaults(t *testing.T) {
	f := kernel.NewFake()
	for _, v2 := range []bool{false, true} {
		a, err := NewIPaddr([]string{"10.0.0.1"}, Env{Net: f}, v2)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]ARP{false: {10, 500 * time.Millisecond}, true: {5, 200 * time.Millisecond}}[v2]
		if got := a.(*IPaddr).arp; got != want {
			t.Errorf("v2=%v: ARP = %+v, want %+v", v2, got, want)
		}
	}
}
