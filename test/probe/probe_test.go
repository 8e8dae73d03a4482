// probe_test.go: the outage computation, and a VIP moved by hand between two
// responders in a lab (root).

package probe

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/test/netns"
)

func TestOutage(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	// replies builds a record: one reply per (receive ms, responder).
	replies := func(rs ...any) []Reply {
		var out []Reply
		for i := 0; i < len(rs); i += 2 {
			out = append(out, Reply{Seq: uint64(i / 2), Received: at(rs[i].(int)), From: rs[i+1].(string)})
		}
		return out
	}
	type result struct {
		Gap           time.Duration
		Before, After string
	}
	cases := []struct {
		name    string
		replies []Reply
		since   int
		end     int
		want    result
	}{
		{"steady", replies(0, "a", 5, "a", 10, "a", 16, "a"), 2, 18, result{ms(6), "a", "a"}},
		{"failover", replies(0, "a", 5, "a", 905, "b", 910, "b"), 7, 912, result{ms(900), "a", "b"}},
		{"gap starts before since", replies(0, "a", 500, "b"), 300, 505, result{ms(500), "a", "b"}},
		{"longest of two gaps", replies(0, "a", 100, "a", 400, "b"), 1, 402, result{ms(300), "a", "b"}},
		{"gaps before since ignored", replies(0, "a", 700, "a", 705, "b"), 701, 707, result{ms(5), "a", "b"}},
		{"no reply before since", replies(250, "b", 255, "b"), 50, 257, result{ms(200), "", "b"}},
		{"not resumed", replies(0, "a", 5, "a"), 3, 800, result{ms(795), "a", ""}},
		{"nothing at all", nil, 0, 400, result{ms(400), "", ""}},
		{"short silence at the end is not an outage", replies(0, "a", 5, "a", 10, "a"), 1, 19, result{ms(5), "a", "a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got result
			got.Gap, got.Before, got.After = outage(c.replies, at(c.since), at(c.end), ms(10))
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("outage (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	type result struct {
		Name string
		Seq  uint64
		OK   bool
	}
	cases := []struct {
		in   string
		want result
	}{
		{"nodea\n\x00\x00\x00\x00\x00\x00\x01\x02", result{"nodea", 258, true}},
		{"nodea\n\x00\x01", result{}},
		{"\n\x00\x00\x00\x00\x00\x00\x00\x01", result{}},
		{"nodea", result{}},
	}
	for _, c := range cases {
		var got result
		got.Name, got.Seq, got.OK = parseReply([]byte(c.in))
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("parseReply(%q) (-want +got):\n%s", c.in, d)
		}
	}
}

// TestMovedAddress moves a static address from host a to host b by hand,
// with a known pause, and checks that the prober on the client measures
// that pause as the outage, with the right responders either side.
func TestMovedAddress(t *testing.T) {
	netns.RequireRoot(t)
	lab := netns.NewLab(t)
	a := lab.AddHost("a", "10.77.0.1/24")
	b := lab.AddHost("b", "10.77.0.2/24")
	c := lab.AddHost("c", "10.77.0.10/24")
	const vip, port = "10.77.0.100", 7000
	StartResponder(t, a, port)
	StartResponder(t, b, port)
	a.Run(t, "ip", "addr", "add", vip+"/24", "dev", "hb0")
	p := NewProber(t, c, netip.AddrPortFrom(netip.MustParseAddr(vip), port), 0)
	p.WaitServedBy(t, "a", 5*time.Second)

	// Undisturbed service: no gap much longer than a period.
	steady := time.Now()
	time.Sleep(300 * time.Millisecond)
	if gap, before, after := p.Outage(steady); gap > 100*time.Millisecond || before != "a" || after != "a" {
		t.Errorf("steady service: Outage = %v from %q to %q, want < 100ms from a to a", gap, before, after)
	}

	const pause = 400 * time.Millisecond
	start := time.Now()
	a.Run(t, "ip", "addr", "del", vip+"/24", "dev", "hb0")
	down := time.Now() // from here a ignores the VIP
	time.Sleep(pause)
	up := time.Now() // until here b does not have it
	b.Run(t, "ip", "addr", "add", vip+"/24", "dev", "hb0")
	how := announce(t, b, c, vip)
	end := time.Now()
	took := p.WaitServedBy(t, "b", 5*time.Second)

	gap, before, after := p.Outage(start)
	t.Logf("moved by hand with %s: outage %v (pause %v, del..announce %v, b served %v after the announcement)",
		how, gap, up.Sub(down), end.Sub(start), took)
	if before != "a" || after != "b" {
		t.Errorf("outage from %q to %q, want from a to b", before, after)
	}
	// The service was surely down between down and up; it was back at
	// most a round trip after b answered; the last reply before start came
	// within a period (ample margin for a loaded machine).
	lo := up.Sub(down)
	hi := time.Since(start) + 10*DefaultEvery
	if gap < lo || gap > hi {
		t.Errorf("outage %v, want between %v and %v", gap, lo, hi)
	}
	// b answered almost at once after the announcement: the measured gap
	// must not include a long neighbour timeout.
	if gap > end.Sub(start)+500*time.Millisecond {
		t.Errorf("outage %v much longer than the move (%v): announcement not effective", gap, end.Sub(start))
	}
	if _, _, ignored, _ := p.Stats(); ignored != 0 {
		t.Errorf("%d replies ignored (wrong source address or malformed)", ignored)
	}
	p.Stop()
	sent, answered, _, _ := p.Stats()
	replies := p.Replies()
	served := replies[len(replies)-1].Received.Sub(replies[0].Received) - gap
	if want := int(served / DefaultEvery / 2); answered < want || sent < answered {
		t.Errorf("%d probes sent, %d answered; want at least %d answers in %v of service (one per %v, halved for a loaded machine)",
			sent, answered, want, served, DefaultEvery)
	}
}

// sendARP is heartbeat's gratuitous ARP tool (Debian's heartbeat package),
// used when arping is not installed.
const sendARP = "/usr/libexec/heartbeat/send_arp"

// announce makes the client use owner for vip: a gratuitous ARP with
// arping -U or heartbeat's send_arp if installed, else flushing the
// client's neighbour entry.
func announce(t *testing.T, owner, client *netns.Host, vip string) string {
	t.Helper()
	if _, err := exec.LookPath("arping"); err == nil {
		owner.Run(t, "arping", "-U", "-c", "1", "-I", owner.Iface, vip)
		return "arping -U"
	}
	if _, err := os.Stat(sendARP); err == nil {
		// One request and one reply, 10 ms apart (as IPaddr2 runs it).
		owner.Run(t, sendARP, "-i", "20", "-r", "1", "-p", filepath.Join(t.TempDir(), "send_arp.pid"),
			owner.Iface, vip, "auto", "not_used", "not_used")
		return "send_arp"
	}
	client.Run(t, "ip", "neigh", "flush", "to", vip, "dev", client.Iface)
	return "neighbour flush"
}
