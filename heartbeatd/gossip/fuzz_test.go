// fuzz_test.go: fuzz targets for the signed user messages peers gossip and their replay window.

package gossip

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzParseMsg: a packet that parses is re-encoded from its fields to the
// same signed bytes (so the MAC covers exactly what was parsed), and a
// message encoded from any fields parses back to them and verifies.
func FuzzParseMsg(f *testing.F) {
	key := userKey(DeriveKey("sha1", "x"))
	f.Add(encodeMsg(key, kindData, "nodeb", 7, 42, []byte("hello")))
	f.Add(encodeMsg(key, kindLeave, "n", 0, 0, nil))
	f.Add(encodeMsg(key, kindData, string(bytes.Repeat([]byte("a"), 255)), 1<<63, 1, bytes.Repeat([]byte{0}, 100)))
	f.Add([]byte{msgVersion, 2, 1, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseMsg(b)
		if err == nil {
			re := encodeMsg(key, h.kind, h.node, h.gen, h.seq, h.payload)
			if len(re) != len(b) || !bytes.Equal(re[:len(re)-macSize], h.signed) || len(h.mac) != macSize {
				t.Fatalf("parsed %+v from %x; re-encoded %x", h, b, re)
			}
		}
		// The packet's bytes as fields: kind, name, numbers, payload.
		if len(b) < 19 {
			return
		}
		kind, n := b[0]%2, 1+int(b[1])%min(255, len(b)-18)
		node, gen, seq, payload := string(b[2:2+n]), binary.BigEndian.Uint64(b[len(b)-16:]), binary.BigEndian.Uint64(b[len(b)-8:]), b[2+n:len(b)-16]
		p := encodeMsg(key, kind, node, gen, seq, payload)
		got, err := parseMsg(p)
		if err != nil || got.kind != kind || got.node != node || got.gen != gen || got.seq != seq || !bytes.Equal(got.payload, payload) {
			t.Fatalf("encode/parse of %q %d %d %x: %+v, %v", node, gen, seq, payload, got, err)
		}
	})
}

// FuzzReplayGuard feeds (sender, generation, sequence) triples, 3 bytes
// each: no triple is accepted twice, nothing from a generation below one
// already accepted from that sender is accepted, and a first or newer
// sequence is never refused.
func FuzzReplayGuard(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 1, 2, 0, 1, 2, 0, 1, 1, 0, 0, 9, 1, 5, 200, 1, 5, 100, 1, 5, 199})
	f.Add([]byte{0, 2, 0, 0, 2, 255, 0, 2, 63, 0, 2, 191, 0, 2, 192})
	f.Fuzz(func(t *testing.T, b []byte) {
		var g replayGuard
		accepted := map[[3]uint64]bool{}
		type hi struct{ gen, seq uint64 }
		newest := map[string]hi{}
		for i := 0; i+3 <= len(b); i += 3 {
			node, gen, seq := string('a'+b[i]%3), uint64(b[i+1]%4), uint64(b[i+2])
			key := [3]uint64{uint64(node[0]), gen, seq}
			top, seen := newest[node]
			why := g.accept(node, gen, seq)
			switch {
			case why == "" && accepted[key]:
				t.Fatalf("%s gen %d seq %d accepted twice", node, gen, seq)
			case why == "" && seen && gen < top.gen:
				t.Fatalf("%s gen %d accepted after gen %d", node, gen, top.gen)
			case why != "" && (!seen || gen > top.gen || gen == top.gen && seq > top.seq):
				t.Fatalf("%s gen %d seq %d refused (%s), newest %+v", node, gen, seq, why, top)
			}
			if why == "" {
				accepted[key] = true
				if !seen || gen > top.gen || gen == top.gen && seq > top.seq {
					newest[node] = hi{gen, seq}
				}
			}
		}
	})
}
