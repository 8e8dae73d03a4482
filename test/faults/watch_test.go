// watch_test.go: a continuous record of where the VIPs are, from the
// kernel's address events in every director namespace, and the checks on
// it (never on two nodes for longer than deadtime, never on no node).

package faults

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// addrEvent is one VIP appearing on or leaving a host.
type addrEvent struct {
	at   time.Time
	host string
	vip  string
	up   bool
}

// addrWatch records the VIPs of every watched host from RTM_NEWADDR and
// RTM_DELADDR events (the initial dump first), so that no overlap is
// missed however short: a sampler would see only what lasts longer than
// its period. A lost event (socket overrun) fails the test.
type addrWatch struct {
	vips  []string
	hosts []*netns.Host

	mu     sync.Mutex
	events []addrEvent
	errs   []error
}

// watchAddrs starts recording vips on hosts; it returns once every host's
// initial dump has arrived.
func watchAddrs(t *testing.T, vips []string, hosts ...*netns.Host) *addrWatch {
	t.Helper()
	w := &addrWatch{vips: vips, hosts: hosts}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	for _, h := range hosts {
		ns, err := vnetns.GetFromName(h.NS)
		if err != nil {
			t.Fatalf("opening namespace %s: %v", h.NS, err)
		}
		ch := make(chan netlink.AddrUpdate, 256)
		err = netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{
			Namespace: &ns, ListExisting: true, ReceiveBufferSize: 1 << 20,
			ErrorCallback: func(err error) {
				select {
				case <-done: // closing the socket at the end is no error
				default:
					w.fail(fmt.Errorf("%s: address events: %w", h.Name, err))
				}
			},
		})
		ns.Close()
		if err != nil {
			t.Fatalf("subscribing to %s's addresses: %v", h.NS, err)
		}
		go func(host string) {
			for u := range ch {
				vip := u.LinkAddress.IP.String()
				if !slices.Contains(vips, vip) {
					continue
				}
				// Stamped under the lock: the record is in time order
				// across hosts.
				w.mu.Lock()
				w.events = append(w.events, addrEvent{at: time.Now(), host: host, vip: vip, up: u.NewAddr})
				w.mu.Unlock()
			}
		}(h.Name)
	}
	// The dumps race with nothing (the daemons start later); a short wait
	// lets them land before the first state is read.
	time.Sleep(50 * time.Millisecond)
	return w
}

func (w *addrWatch) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

// interval is a span during which a VIP was held by a given set of hosts.
type interval struct {
	vip      string
	from, to time.Time
	holders  string // "a", "a b" or ""
}

func (iv interval) String() string {
	return fmt.Sprintf("%s on %q for %v", iv.vip, iv.holders, iv.to.Sub(iv.from).Round(time.Millisecond))
}

// spans replays the record up to end and returns, for every VIP, the
// spans of constant holders that overlap [since, end].
func (w *addrWatch) spans(t *testing.T, since, end time.Time) []interval {
	t.Helper()
	w.mu.Lock()
	events := slices.Clone(w.events)
	errs := slices.Clone(w.errs)
	w.mu.Unlock()
	for _, err := range errs {
		t.Errorf("the address record is incomplete: %v", err)
	}
	var out []interval
	for _, vip := range w.vips {
		on := map[string]bool{}
		holders := func() string {
			var hs []string
			for _, h := range w.hosts {
				if on[h.Name] {
					hs = append(hs, h.Name)
				}
			}
			return strings.Join(hs, " ")
		}
		cur := interval{vip: vip, holders: ""}
		for _, e := range events {
			if e.vip != vip || e.at.After(end) {
				continue
			}
			on[e.host] = e.up
			if h := holders(); h != cur.holders {
				cur.to = e.at
				if cur.to.After(since) && !cur.from.IsZero() {
					out = append(out, clip(cur, since))
				}
				cur = interval{vip: vip, from: e.at, holders: h}
			}
		}
		cur.to = end
		out = append(out, clip(cur, since))
	}
	return out
}

func clip(iv interval, since time.Time) interval {
	if iv.from.Before(since) {
		iv.from = since
	}
	return iv
}

// now returns the holders the record shows at this moment.
func (w *addrWatch) now(t *testing.T) map[string]string {
	t.Helper()
	got := map[string]string{}
	now := time.Now()
	for _, iv := range w.spans(t, now, now) {
		got[iv.vip] = iv.holders
	}
	return got
}

// checkRecord asserts on the record over [since, now]: no VIP was on two
// hosts for longer than maxBoth; when maxNone ≥ 0, none was on no host
// for longer than maxNone. It also checks the record against the kernel's
// current addresses (nothing was lost), logs the longest of each and, if
// the test has failed, every change.
func (w *addrWatch) checkRecord(t *testing.T, since time.Time, maxBoth, maxNone time.Duration) {
	t.Helper()
	// Events of the last instant may still be on their way.
	time.Sleep(20 * time.Millisecond)
	end := time.Now()
	var both, none time.Duration
	for _, iv := range w.spans(t, since, end) {
		d := iv.to.Sub(iv.from)
		switch {
		case strings.Contains(iv.holders, " "):
			both = max(both, d)
			if d > maxBoth {
				t.Errorf("%s at %v after the start of the case (want ≤ %v on two nodes)", iv, iv.from.Sub(since).Round(time.Millisecond), maxBoth)
			}
		case iv.holders == "":
			none = max(none, d)
			if maxNone >= 0 && d > maxNone {
				t.Errorf("%s at %v after the start of the case (want ≤ %v on no node)", iv, iv.from.Sub(since).Round(time.Millisecond), maxNone)
			}
		}
	}
	t.Logf("address record: longest on two nodes %v, longest on no node %v", both.Round(time.Millisecond), none.Round(time.Millisecond))
	recorded, now := w.now(t), hbnode.Holders(t, w.vips, w.hosts...)
	for _, vip := range w.vips {
		if recorded[vip] != now[vip] {
			t.Errorf("the record says %s is on %q, the kernel says %q: events were lost", vip, recorded[vip], now[vip])
		}
	}
	if t.Failed() {
		w.logRecord(t, since)
	}
}

// logRecord logs every change since since, for a failed case.
func (w *addrWatch) logRecord(t *testing.T, since time.Time) {
	t.Helper()
	for _, iv := range w.spans(t, since, time.Now()) {
		t.Logf("  +%v %s", iv.from.Sub(since).Round(time.Millisecond), iv)
	}
}

// TestAddrRecordSpans checks the replay of a record (no root needed).
func TestAddrRecordSpans(t *testing.T) {
	t0 := time.Now()
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	w := &addrWatch{vips: []string{vipA}, hosts: []*netns.Host{{Name: "a"}, {Name: "b"}}, events: []addrEvent{
		{ms(0), "a", vipA, true},
		{ms(100), "b", vipA, true},
		{ms(300), "a", vipA, false},
		{ms(350), "b", vipA, false},
		{ms(400), "b", vipA, true},
	}}
	var got []string
	for _, iv := range w.spans(t, ms(50), ms(500)) {
		got = append(got, fmt.Sprintf("%q %v-%v", iv.holders, iv.from.Sub(t0).Milliseconds(), iv.to.Sub(t0).Milliseconds()))
	}
	want := []string{`"a" 50-100`, `"a b" 100-300`, `"b" 300-350`, `"" 350-400`, `"b" 400-500`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spans = %q, want %q", got, want)
	}
}
