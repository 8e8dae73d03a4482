// ping_match_test.go: matching echo replies to probes, without sockets.

package media

import (
	"net/netip"
	"testing"
)

func TestPingMatcher(t *testing.T) {
	one := &pingTarget{name: "10.77.0.254", addrs: []netip.Addr{netip.MustParseAddr("10.77.0.254")}}
	group := &pingTarget{name: "routers", addrs: []netip.Addr{netip.MustParseAddr("10.77.0.253"), netip.MustParseAddr("fd77::fe")}}
	m := matcher{id: 0x1234}
	s1 := m.register(one)   // seq 0
	s2 := m.register(group) // seq 1
	type reply struct {
		from    string
		id, seq int
		want    string // "" = dropped
	}
	for i, r := range []reply{
		{"10.77.0.254", 0x1234, int(s1), "10.77.0.254"},
		{"10.77.0.254", 0x1234, int(s1), ""},     // the same probe answered twice
		{"10.77.0.254", 0x4321, int(s2), ""},     // another pinger's identifier
		{"10.77.0.254", 0x1234, int(s2), ""},     // not a member of the group
		{"10.77.0.253", 0x1234, 7, ""},           // never sent
		{"fd77::fe", 0x1234, int(s2), "routers"}, // any member answers for the group
		{"10.77.0.253", 0x1234, int(s2), ""},     // the other member's reply to the same probe
	} {
		got := ""
		if tg := m.match(netip.MustParseAddr(r.from), r.id, r.seq); tg != nil {
			got = tg.name
		}
		if got != r.want {
			t.Errorf("reply %d %+v matched %q, want %q", i, r, got, r.want)
		}
	}
	// A probe older than the window is forgotten; the numbering wraps.
	old := m.register(one)
	for i := 0; i < pingWindow; i++ {
		m.register(group)
	}
	if tg := m.match(netip.MustParseAddr("10.77.0.254"), 0x1234, int(old)); tg != nil {
		t.Error("a reply to a probe older than the window matched")
	}
	for i := 0; i < 0x10000; i++ {
		m.register(one)
	}
	last := m.next - 1
	if tg := m.match(netip.MustParseAddr("10.77.0.254"), 0x1234, int(last)); tg != one {
		t.Errorf("after wrapping, seq %d matched %v", last, tg)
	}
}
