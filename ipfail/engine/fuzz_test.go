// fuzz_test.go: fuzz target for ipfail's handling of the messages heartbeatd delivers.

package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// FuzzMessages steps the engine through a run of delivered messages (each
// ends at "<<<\n"; one that does not decode is a Timer event instead),
// with the ping-node count and resource state taken from pings and rsc:
// it only ever talks to its peer or asks the cluster for resources, a
// message for another node changes nothing, and a pending giveup is never
// further off than twice the keepalive plus StableWait.
func FuzzMessages(f *testing.F) {
	peerMsg := func(ms ...*wire.Message) []byte {
		var b []byte
		for _, m := range ms {
			b = append(b, wire.Marshal(m)...)
		}
		return b
	}
	f.Add(peerMsg(wire.New(TypeNumPing).Add(api.FieldSrc, "nodeb").Add(FieldNumPing, "3")), []byte{1, 1}, true)
	f.Add(peerMsg(wire.New(TypeNumPing).Add(FieldNumPing, "1"), wire.New(TypeAbortGiveup)), []byte{2}, false)
	f.Add(peerMsg(wire.New(TypeYouAreDead), wire.New(TypeResource).Add(api.FieldSrc, "nodeb").Add(FieldIsStable, "1")), []byte{0, 0, 0}, true)
	f.Add(peerMsg(wire.New("ifstat").Add(api.FieldNode, "ping1").Add(api.FieldIfName, "ping1").Add(api.FieldStatus, "dead"),
		wire.New("st").Add(api.FieldSrc, "ping1").Add(api.FieldStatus, "ping")), []byte{0, 1}, false)
	f.Add(peerMsg(wire.New(TypeYouAreDead).Add(api.FieldDest, "nodec")), []byte{0}, true)
	f.Add(peerMsg(wire.New(api.TypeClientStatus).Add(api.FieldStatus, api.ClientJoin).Add(api.FieldFromID, ClientName).Add(api.FieldSrc, "nodeb")), []byte{4}, false)
	f.Fuzz(func(t *testing.T, data, pings []byte, autoFailback bool) {
		const keepalive = time.Second
		e := New(Config{Local: "nodea", Peer: "nodeb", AutoFailback: autoFailback, Keepalive: keepalive})
		now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
		for i, chunk := range bytes.SplitAfter(data, []byte("<<<\n")) {
			if len(chunk) == 0 {
				continue
			}
			snap := Snapshot{Resources: "local"}
			if i < len(pings) {
				snap.PingNodes = int(pings[i] % 8)
				if pings[i] >= 128 {
					snap.Resources = "transition"
				}
			}
			var ev Event = Timer{}
			m, err := wire.Unmarshal(chunk)
			if err == nil {
				ev = Message{Msg: m}
			}
			beforeAt, beforeOK := e.Deadline()
			acts := e.Step(now, snap, ev)
			if err == nil {
				if dest, ok := m.Lookup(api.FieldDest); ok && !strings.EqualFold(dest, "nodea") {
					if at, ok := e.Deadline(); len(acts) != 0 || at != beforeAt || ok != beforeOK {
						t.Fatalf("message for %s acted: %v", dest, acts)
					}
				}
			}
			for _, a := range acts {
				switch a := a.(type) {
				case SendNode:
					if a.Node != "nodeb" || a.Msg.Type() == "" {
						t.Fatalf("sent %s to %q", a.Msg, a.Node)
					}
				case SendCluster:
					if a.Msg.Type() != "ask_resources" {
						t.Fatalf("sent %s to the cluster", a.Msg)
					}
				}
			}
			if at, ok := e.Deadline(); ok && (at.Before(now) && ev == Event(Timer{}) || at.After(now.Add(2*keepalive+StableWait))) {
				t.Fatalf("deadline %v at %v", at.Sub(now), now)
			}
			if rsc, ok := e.GiveupPending(); ok && rsc != All && rsc != Foreign {
				t.Fatalf("giveup of %q", rsc)
			}
			now = now.Add(700 * time.Millisecond)
		}
	})
}
