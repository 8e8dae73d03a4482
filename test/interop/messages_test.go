// The resource messages heartbeatd and heartbeat 3.0.6 send for the same
// step, captured on the wire, must match field for field.

package interop

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// resourceTypes are the R1 resource message types compared.
var resourceTypes = map[string]bool{"starting": true, "resource": true, "ask_resources": true,
	"hb_takeover": true, "ip-request": true, "ip-request-resp": true, "stonith": true, "shutdone": true}

// addressing fields differ by node, and the API adds from_id, to_id and
// client_gen to what our tools send (3.0.6's tools write to the FIFO):
// they are left out of the comparison.
var addressing = map[string]bool{"src": true, "dest": true, "destuuid": true,
	"from_id": true, "to_id": true, "client_gen": true}

// normalised returns the resource messages src sent in msgs, each without
// standard and addressing fields, with node names and the two group keys
// replaced by role names (self/peer, selfkey/peerkey).
func normalised(msgs []sniffed, src string) []string {
	peer := map[string]string{"nodea": "nodeb", "nodeb": "nodea"}[src]
	keys := map[string]string{"nodea": "IPaddr2::" + vipA + "/24/hb0", "nodeb": "IPaddr2::" + vipB + "/24/hb0"}
	r := strings.NewReplacer(keys[src], "selfkey", keys[peer], "peerkey", src, "self", peer, "peer")
	var out []string
	for _, m := range msgs {
		if m.msg.Get("src") != src || !resourceTypes[m.msg.Type()] {
			continue
		}
		var f []string
		for _, x := range m.msg.Fields {
			if !standardFields[x.Name] && !addressing[x.Name] {
				f = append(f, x.Name+"="+r.Replace(string(x.Value)))
			}
		}
		out = append(out, strings.Join(f, " "))
	}
	return out
}

func TestMixedResourceMessagesMatch(t *testing.T) {
	RequireClassic(t)
	t.Parallel()
	p := newRscPair(t, rscOptions{AutoFailback: "on"})
	p.waitVIPs(onlyA, onlyB, settleWithin)
	p.waitRscstatus("local", "local", moveWithin)

	// phase runs do, waits for the VIPs and a quiet second, and returns
	// the messages of each node meanwhile.
	phase := func(name string, do func(), wantA, wantB []string) (ours, classic []string) {
		t.Helper()
		from := time.Now()
		do()
		p.waitVIPs(wantA, wantB, moveWithin)
		// Quiet time: a survivor reports stonith after deadtime.
		time.Sleep(mixedDeadtime + time.Second)
		msgs := p.sniff.since(from)
		ours, classic = normalised(msgs, "nodea"), normalised(msgs, "nodeb")
		t.Logf("%s:\n  heartbeatd: %s\n  3.0.6:      %s", name, strings.Join(ours, "\n              "), strings.Join(classic, "\n              "))
		return ours, classic
	}

	// Start-up: each announces itself, grants itself its group (req_resource
	// sends the grant to itself) and reports holding it, stable.
	startup := p.sniff.since(time.Time{})
	for _, m := range []string{"t=starting",
		"t=ip-request-resp ipaddr=selfkey weown=yes ok=OK",
		"t=resource rsc_hold=local rtype=full isstable=1 info=req_our_resources()"} {
		o, c := slices.Contains(normalised(startup, "nodea"), m), slices.Contains(normalised(startup, "nodeb"), m)
		if !o || !c {
			t.Errorf("start-up %q: sent by heartbeatd %v, by 3.0.6 %v", m, o, c)
		}
	}

	// hb_standby all, each way: the requester's messages, and the
	// responder's, must be the same whichever implementation plays it.
	respOurs, reqClassic := phase("3.0.6 hb_standby all", func() {
		p.classic.classicTool(t, "/usr/share/heartbeat/hb_standby", "all")
	}, both, none)
	reqOurs, respClassic := phase("heartbeatd hb_standby all", func() { oursTool(t, p.ours, "hb_standby", "all") }, none, both)
	if d := cmp.Diff(reqClassic, reqOurs); d != "" {
		t.Errorf("hb_standby all, requester's messages (-3.0.6 +heartbeatd):\n%s", d)
	}
	// The responder sends its "done" and its resource report at the same
	// moment; 3.0.6 and heartbeatd put them on the wire in either order.
	if d := cmp.Diff(respClassic, respOurs, sorted); d != "" {
		t.Errorf("hb_standby all, responder's messages (-3.0.6 +heartbeatd):\n%s", d)
	}

	// hb_takeover all from the node holding nothing.
	reqOurs, respClassic = phase("heartbeatd hb_takeover all", func() { oursTool(t, p.ours, "hb_takeover", "all") }, both, none)
	respOurs, reqClassic = phase("3.0.6 hb_takeover all", func() {
		p.classic.classicTool(t, "/usr/share/heartbeat/hb_takeover", "all")
	}, none, both)
	// The node asking for the takeover then answers the peer's standby.
	if d := cmp.Diff(reqClassic, reqOurs, sorted); d != "" {
		t.Errorf("hb_takeover all, requester's messages (-3.0.6 +heartbeatd):\n%s", d)
	}
	if d := cmp.Diff(respClassic, respOurs); d != "" {
		t.Errorf("hb_takeover all, responder's messages (-3.0.6 +heartbeatd):\n%s", d)
	}

	// Back home, then a graceful stop each way.
	phase("3.0.6 hb_standby foreign", func() {
		p.classic.classicTool(t, "/usr/share/heartbeat/hb_standby", "foreign")
	}, onlyA, onlyB)
	respOurs, stopClassic := phase("3.0.6 stops", func() {
		if err := p.classic.stop(stopTimeout); err != nil {
			t.Fatal(err)
		}
	}, both, none)
	p.classic.Start(t)
	p.waitBothActive(8 * time.Second)
	p.waitVIPs(onlyA, onlyB, settleWithin)
	p.waitRscstatus("local", "local", moveWithin)
	stopOurs, respClassic := phase("heartbeatd stops", func() { p.ours.Stop(t) }, none, both)
	if d := cmp.Diff(stopClassic, stopOurs); d != "" {
		t.Errorf("graceful stop, stopping node's messages (-3.0.6 +heartbeatd):\n%s", d)
	}
	// The survivor: 3.0.6 also answers shutdone with go_standby(other)
	// ("resource all isstable=1" + "ask_resources foreign info=done") and
	// reports stonith only once deadtime has passed. heartbeatd must send
	// nothing 3.0.6 does not, and both must report the takeover.
	for _, m := range []string{"t=resource rsc_hold=all rtype=full isstable=1 info=req_our_resources()",
		"t=resource rsc_hold=foreign info=mach_down"} {
		if !slices.Contains(respOurs, m) || !slices.Contains(respClassic, m) {
			t.Errorf("graceful stop: survivor's %q: heartbeatd sent it %v, 3.0.6 %v", m, slices.Contains(respOurs, m), slices.Contains(respClassic, m))
		}
	}
	for _, m := range respOurs {
		if !slices.Contains(respClassic, m) {
			t.Errorf("graceful stop: heartbeatd as survivor sent %q, which 3.0.6 never sends there", m)
		}
	}
}

// sorted compares string slices as multisets.
var sorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })
