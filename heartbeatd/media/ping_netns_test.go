// ping_netns_test.go: root-only tests of the ping medium between namespaces.

package media_test

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/heartbeatd/media"
	"github.com/hasuite/hasuite/test/netns"
)

type echoed struct {
	node, payload string
	from          netip.Addr
}

// openPing opens the ping medium inside h's namespace and runs it until
// the test ends.
func openPing(t *testing.T, h *netns.Host, spec media.PingSpec) (*media.Ping, chan echoed) {
	t.Helper()
	var p *media.Ping
	h.Do(t, func() error {
		var err error
		p, err = media.OpenPing(spec)
		return err
	})
	got := make(chan echoed, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(node string, payload []byte, from netip.Addr) {
			got <- echoed{node, string(payload), from}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ping Run() = %v", err)
		}
		p.Close()
	})
	return p, got
}

// expect waits for the echo of payload from node (and address from, unless
// empty), skipping other echoes.
func expect(t *testing.T, got chan echoed, node, payload, from string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-got:
			if e.node == node && e.payload == payload {
				if from != "" && e.from.String() != from {
					t.Errorf("%s: echo from %s, want %s", node, e.from, from)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no echo of %q from ping node %s within 5s", payload, node)
		}
	}
}

// silence checks that nothing at all is echoed for a while.
func silence(t *testing.T, got chan echoed, what string) {
	t.Helper()
	select {
	case e := <-got:
		t.Errorf("%s: unexpected echo %+v", what, e)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestPingMediumBetweenNamespaces(t *testing.T) {
	netns.RequireRoot(t)
	l := netns.NewLab(t)
	a := l.AddHost("a", "10.77.0.1/24")
	b := l.AddHost("b", "10.77.0.2/24")
	l.AddHost("c", "10.77.0.3/24")
	d := l.AddHost("d", "10.77.0.4/24")
	a.AddAddr(t, "fd77::1/64")
	b.AddAddr(t, "fd77::2/64")
	p, got := openPing(t, a, media.PingSpec{ID: 0x4801, Targets: []media.PingTarget{
		{Name: "10.77.0.2", Addrs: []string{"10.77.0.2"}},
		{Name: "fd77::2", Addrs: []string{"fd77::2"}},
		{Name: "routers", Addrs: []string{"10.77.0.3", "10.77.0.4"}},
	}})
	send := func(node, payload string) {
		t.Helper()
		if err := p.Send(node, []byte(payload)); err != nil {
			t.Fatalf("Send(%s): %v", node, err)
		}
	}

	// Every node answers with the payload it was sent.
	send("10.77.0.2", "###\nfor b\n")
	expect(t, got, "10.77.0.2", "###\nfor b\n", "10.77.0.2")
	send("fd77::2", "for b over IPv6")
	expect(t, got, "fd77::2", "for b over IPv6", "fd77::2")
	send("routers", "for the group")
	expect(t, got, "routers", "for the group", "") // from .3 or .4: the first reply counts
	silence(t, got, "the second member's reply to the same probe")

	// The group is up while any member answers.
	a.Run(t, "ip", "route", "add", "blackhole", "10.77.0.3/32")
	err := p.Send("routers", []byte("one member blackholed"))
	if err == nil || !strings.Contains(err.Error(), "10.77.0.3") {
		t.Errorf("Send to a blackholed member: err = %v, want one naming 10.77.0.3", err)
	}
	expect(t, got, "routers", "one member blackholed", "10.77.0.4")

	// No member answers: nothing comes back, though the request goes out.
	d.Run(t, "nft", "add table inet pingtest; add chain inet pingtest in { type filter hook input priority 0; }; "+
		"add rule inet pingtest in icmp type echo-request drop")
	_ = p.Send("routers", []byte("all dropped"))
	silence(t, got, "group with every member silent")

	// A blackholed single ping node: the send fails, nothing comes back.
	a.Run(t, "ip", "route", "add", "blackhole", "10.77.0.2/32")
	if err := p.Send("10.77.0.2", []byte("blackholed")); err == nil {
		t.Error("Send to a blackholed address succeeded")
	}
	silence(t, got, "blackholed ping node")

	// Restored, both answer again.
	a.Run(t, "ip", "route", "del", "blackhole", "10.77.0.2/32")
	send("10.77.0.2", "restored")
	expect(t, got, "10.77.0.2", "restored", "10.77.0.2")
	d.Run(t, "nft", "delete table inet pingtest")
	_ = p.Send("routers", []byte("restored member")) // 10.77.0.3 is still blackholed
	expect(t, got, "routers", "restored member", "10.77.0.4")
	a.Run(t, "ip", "route", "del", "blackhole", "10.77.0.3/32")
	d.Run(t, "nft", "add table inet pingtest; add chain inet pingtest in { type filter hook input priority 0; }; "+
		"add rule inet pingtest in icmp type echo-request drop")
	send("routers", "the other member")
	expect(t, got, "routers", "the other member", "10.77.0.3")

	if err := p.Send("10.77.0.9", []byte("x")); err == nil {
		t.Error("Send to an unknown ping node succeeded")
	}
}

func TestPingRepliesAreMatchedByIdentifier(t *testing.T) {
	netns.RequireRoot(t)
	l := netns.NewLab(t)
	a := l.AddHost("a", "10.77.0.1/24")
	l.AddHost("b", "10.77.0.2/24")
	targets := []media.PingTarget{{Name: "10.77.0.2", Addrs: []string{"10.77.0.2"}}}
	p1, got1 := openPing(t, a, media.PingSpec{ID: 0x4802, Targets: targets})
	_, got2 := openPing(t, a, media.PingSpec{ID: 0x4803, Targets: targets})
	// Both raw sockets see the reply; only the pinger whose identifier
	// it carries takes it.
	if err := p1.Send("10.77.0.2", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	expect(t, got1, "10.77.0.2", "mine", "10.77.0.2")
	silence(t, got2, "the other pinger")
	// A reply for a probe never sent (ping(8)'s own) is ignored as well.
	a.Run(t, "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.77.0.2")
	silence(t, got1, "ping(8)'s replies")
}

func TestOpenPingWithoutCapNetRaw(t *testing.T) {
	netns.RequireRoot(t)
	errc := make(chan error, 1)
	go func() {
		// Capabilities are per thread: drop CAP_NET_RAW on this one only.
		// Never unlocked, so the thread ends with the goroutine.
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective &^= 1 << unix.CAP_NET_RAW
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		p, err := media.OpenPing(media.PingSpec{Targets: []media.PingTarget{{Name: "10.77.0.2", Addrs: []string{"10.77.0.2"}}}})
		if err == nil {
			p.Close()
		}
		errc <- err
	}()
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "needs root (CAP_NET_RAW)") {
		t.Errorf("OpenPing without CAP_NET_RAW: err = %v, want one saying it needs root", err)
	}
}
