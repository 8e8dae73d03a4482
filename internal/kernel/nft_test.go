package kernel

// nft_test.go: the nftables data plane in network namespaces: real TCP connections through its NAT, and its table read back.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hasuite/hasuite/test/netns"
)

func TestSpread(t *testing.T) {
	d := func(last byte, w int) Dest {
		return Dest{Addr: netip.AddrFrom4([4]byte{10, 0, 0, last}), Weight: w}
	}
	names := func(ds []Dest) string {
		var b strings.Builder
		for _, x := range ds {
			b.WriteByte('a' + x.Addr.As4()[3] - 1)
		}
		return b.String()
	}
	for _, tc := range []struct {
		in   []Dest
		want string
	}{
		{[]Dest{d(1, 1), d(2, 1), d(3, 1)}, "abc"},
		{[]Dest{d(1, 3), d(2, 2), d(3, 1)}, "abacba"},
		{[]Dest{d(1, 300), d(2, 200), d(3, 0), d(4, 100)}, "abadba"},
		{[]Dest{d(1, 0)}, ""},
	} {
		if got := names(spread(tc.in)); got != tc.want {
			t.Errorf("spread(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Weights beyond maxSlots keep their proportions.
	big := spread([]Dest{d(1, 65535), d(2, 1)})
	if n := len(big); n > maxSlots+1 || names(big[:1]) != "a" || !strings.Contains(names(big), "b") {
		t.Errorf("spread of 65535:1 has %d slots (%q…); want <= %d with one b", n, names(big[:3]), maxSlots+1)
	}
}

// nftLab is a director in front of three real servers: the client
// (10.78.0.10) reaches the VIP 10.79.0.100 through the director, which has
// 10.78.0.1 and 10.77.0.1 on one bridge; the real servers (10.77.0.11-13)
// answer through it too, as LVS-NAT needs.
type nftLab struct {
	dir, client *netns.Host
	reals       []*netns.Host
	n           *NFTables
}

var nftVIP = netip.MustParseAddr("10.79.0.100")

func newNFTLab(t *testing.T) *nftLab {
	netns.RequireRoot(t)
	lab := netns.NewLab(t)
	l := &nftLab{
		dir:    lab.AddHost("d", "10.77.0.1/24"),
		client: lab.AddHost("c", "10.78.0.10/24"),
	}
	l.dir.AddAddr(t, "10.78.0.1/24")
	l.dir.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
		"net.ipv4.conf."+netns.HostIface+".send_redirects=0")
	l.dir.Run(t, "ip", "addr", "add", nftVIP.String()+"/32", "dev", "lo")
	l.client.Run(t, "ip", "route", "add", "10.79.0.0/24", "via", "10.78.0.1")
	for i := range 3 {
		r := lab.AddHost(fmt.Sprintf("r%d", i+1), fmt.Sprintf("10.77.0.%d/24", 11+i))
		r.Run(t, "ip", "route", "add", "10.78.0.0/24", "via", "10.77.0.1")
		serveName(t, r, 8080)
		l.reals = append(l.reals, r)
	}
	l.n = NewNFTables()
	t.Cleanup(func() { l.n.Close() })
	l.dir.Do(t, func() error { _, err := l.n.Services(); return err }) // opens the socket there
	return l
}

// serveName answers every line on every connection to port with h.Name.
func serveName(t *testing.T, h *netns.Host, port int) {
	var ln net.Listener
	h.Do(t, func() error {
		var err error
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s := bufio.NewScanner(c)
				for s.Scan() {
					fmt.Fprintln(c, h.Name)
				}
			}()
		}
	}()
}

// nameConn is a client connection to the VIP.
type nameConn struct {
	c net.Conn
	r *bufio.Reader
}

func (l *nftLab) dial(t *testing.T) *nameConn {
	t.Helper()
	var c net.Conn
	l.client.Do(t, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", netip.AddrPortFrom(nftVIP, 80).String(), 2*time.Second)
		return err
	})
	return &nameConn{c: c, r: bufio.NewReader(c)}
}

// ask sends a line and returns the name of the real server that answered.
func (nc *nameConn) ask(t *testing.T) string {
	t.Helper()
	nc.c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintln(nc.c, "who"); err != nil {
		t.Fatalf("asking: %v", err)
	}
	s, err := nc.r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return strings.TrimSpace(s)
}

// count opens n connections, one question each, and counts the answers.
func (l *nftLab) count(t *testing.T, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		nc := l.dial(t)
		got[nc.ask(t)]++
		nc.c.Close()
	}
	return got
}

func (l *nftLab) do(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func TestNFTablesTraffic(t *testing.T) {
	l := newNFTLab(t)
	svc := Service{ServiceKey: ServiceKey{Proto: TCP, Addr: nftVIP, Port: 80}, Scheduler: "wrr"}
	real := func(i, w int) Dest {
		return Dest{Addr: netip.AddrFrom4([4]byte{10, 77, 0, byte(11 + i)}), Port: 8080, Forward: ForwardMasq, Weight: w}
	}
	l.do(t, func() error { return l.n.NewService(svc) })
	for i, w := range []int{1, 2, 3} {
		l.do(t, func() error { return l.n.NewDest(svc.ServiceKey, real(i, w)) })
	}
	name := func(i int) string { return l.reals[i].Name }

	// wrr: exactly the weights over whole rounds of the slot map.
	want := map[string]int{name(0): 10, name(1): 20, name(2): 30}
	if got := l.count(t, 60); !cmp.Equal(got, want) {
		t.Errorf("60 connections at weights 1:2:3 went %v, want %v", got, want)
	}

	// Quiescent: weight 0 takes no new connections, an open one keeps working.
	open := l.dial(t)
	first := open.ask(t)
	var q int
	for i := range l.reals {
		if name(i) == first {
			q = i
		}
	}
	l.do(t, func() error { return l.n.UpdateDest(svc.ServiceKey, real(q, 0)) })
	if got := l.count(t, 30); got[first] != 0 || len(got) != 2 {
		t.Errorf("with %s quiesced, 30 new connections went %v", first, got)
	}
	if again := open.ask(t); again != first {
		t.Errorf("the connection opened before quiescing %s is now answered by %q", first, again)
	}
	open.c.Close()

	// Read back by a new instance, as a restarted daemon does.
	fresh := NewNFTables()
	defer fresh.Close()
	var got []VirtualService
	l.dir.Do(t, func() error {
		var err error
		got, err = Table(fresh)
		return err
	})
	wantTable, err := Table(l.n)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantTable, got, addrCmp); diff != "" {
		t.Errorf("table read back (-want +got):\n%s", diff)
	}

	// A deleted real takes nothing; sh keeps one client on one real.
	l.do(t, func() error { return l.n.DelDest(svc.ServiceKey, real(q, 0)) })
	svc.Scheduler = "sh"
	l.do(t, func() error { return l.n.UpdateService(svc) })
	if got := l.count(t, 12); len(got) != 1 || got[first] != 0 {
		t.Errorf("sh: 12 connections from one client went %v, want one real (not %s)", got, first)
	}

	// Gate cannot be done with NAT.
	gate := real(q, 1)
	gate.Forward = ForwardGate
	if err := l.n.NewDest(svc.ServiceKey, gate); !errors.Is(err, ErrNFTForward) {
		t.Errorf("adding a gate real: %v, want ErrNFTForward", err)
	}

	// The last service takes the table with it.
	l.do(t, func() error { return l.n.DelService(svc.ServiceKey) })
	if out := l.dir.Run(t, "nft", "list", "tables"); strings.Contains(out, NFTTable) {
		t.Errorf("nft list tables after the last service went:\n%s", out)
	}
}

// TestNFTablesTable drives NFTables and FakeIPVS through the same calls,
// IPv4, IPv6 and fwmark, and compares their tables and a read back.
func TestNFTablesTable(t *testing.T) {
	netns.RequireRoot(t)
	h := netns.NewLab(t).AddHost("d", "10.77.0.1/24")
	n := NewNFTables()
	defer n.Close()
	var fake FakeIPVS
	a := netip.MustParseAddr
	web := Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}, Scheduler: "wlc"}
	dns6 := Service{ServiceKey: ServiceKey{Proto: UDP, Addr: a("2001:db8::1"), Port: 53}, Scheduler: "sh"}
	mark := Service{ServiceKey: ServiceKey{FWMark: 7}, Scheduler: "rr", Persistent: 300, Netmask: 24}
	calls := []func(v IPVS) error{
		func(v IPVS) error { return v.NewService(web) },
		func(v IPVS) error { return v.NewService(dns6) },
		func(v IPVS) error { return v.NewService(mark) },
		func(v IPVS) error {
			return v.NewDest(web.ServiceKey, Dest{Addr: a("10.0.0.2"), Port: 8080, Forward: ForwardMasq, Weight: 5, UpperThreshold: 9})
		},
		func(v IPVS) error {
			return v.NewDest(web.ServiceKey, Dest{Addr: a("10.0.0.3"), Port: 80, Forward: ForwardLocal, Weight: 0})
		},
		func(v IPVS) error {
			return v.NewDest(dns6.ServiceKey, Dest{Addr: a("2001:db8::2"), Port: 53, Forward: ForwardMasq, Weight: 1})
		},
		func(v IPVS) error {
			return v.NewDest(mark.ServiceKey, Dest{Addr: a("10.0.0.4"), Forward: ForwardMasq, Weight: 2, LowerThreshold: 1})
		},
		func(v IPVS) error {
			return v.UpdateDest(web.ServiceKey, Dest{Addr: a("10.0.0.3"), Port: 80, Forward: ForwardLocal, Weight: 4})
		},
		func(v IPVS) error { return v.UpdateService(Service{ServiceKey: web.ServiceKey, Scheduler: "rr"}) },
		func(v IPVS) error { return v.DelDest(dns6.ServiceKey, Dest{Addr: a("2001:db8::2"), Port: 53}) },
		func(v IPVS) error { return v.NewService(web) }, // EEXIST from both
	}
	for i, call := range calls {
		var nerr error
		h.Do(t, func() error { nerr = call(n); return nil })
		ferr := call(&fake)
		if (nerr == nil) != (ferr == nil) || (nerr != nil && !errors.Is(nerr, ErrExists)) {
			t.Fatalf("call %d: nftables %v, fake %v", i, nerr, ferr)
		}
	}
	want, _ := Table(&fake)
	for _, v := range []*NFTables{n, NewNFTables()} {
		var got []VirtualService
		h.Do(t, func() error { var err error; got, err = Table(v); return err })
		if diff := cmp.Diff(want, got, addrCmp, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("table (-fake +nftables):\n%s", diff)
		}
	}
	out := h.Run(t, "nft", "list", "table", "inet", NFTTable)
	for _, s := range []string{"numgen inc mod 9", "jhash @nh,96,32 & 0xffffff00 mod 1",
		"dnat ip to 10.0.0.2:8080", "meta mark 0x00000007", `comment "real 10.0.0.4:0 forward=masq weight=2 upper=0 lower=1"`} {
		if !strings.Contains(out, s) {
			t.Errorf("nft list table lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "2001:db8::2") {
		t.Errorf("the deleted IPv6 real is still in the table:\n%s", out)
	}
}

// TestNFTablesTwoInstances: two daemons (two config files) share the
// table; one removing its last service leaves the other's in place, and
// the table goes with the last service of all.
func TestNFTablesTwoInstances(t *testing.T) {
	netns.RequireRoot(t)
	h := netns.NewLab(t).AddHost("d", "10.77.0.1/24")
	a, b := NewNFTables(), NewNFTables()
	defer a.Close()
	defer b.Close()
	svc := func(last byte) Service {
		return Service{ServiceKey: ServiceKey{Proto: TCP, Addr: netip.AddrFrom4([4]byte{10, 0, 0, last}), Port: 80}, Scheduler: "wrr"}
	}
	h.Do(t, func() error {
		if _, err := a.Services(); err != nil { // a reads the table while it is empty
			return err
		}
		if err := b.NewService(svc(2)); err != nil {
			return err
		}
		if err := a.NewService(svc(1)); err != nil {
			return err
		}
		return a.DelService(svc(1).ServiceKey)
	})
	var got []Service
	h.Do(t, func() error { var err error; got, err = NewNFTables().Services(); return err })
	if len(got) != 1 || got[0].ServiceKey != svc(2).ServiceKey {
		t.Fatalf("after one instance removed its only service the table holds %v, want the other's %s", got, svc(2).ServiceKey)
	}
	h.Do(t, func() error { return b.DelService(svc(2).ServiceKey) })
	if out := h.Run(t, "nft", "list", "tables"); strings.Contains(out, NFTTable) {
		t.Errorf("nft list tables after the last service of all went:\n%s", out)
	}
}
