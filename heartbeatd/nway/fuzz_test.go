// fuzz_test.go: fuzz target for the node state a peer gossips.

package nway

import (
	"bytes"
	"testing"
)

// FuzzUnmarshal: a peer's state that decodes re-encodes within the meta
// size to bytes that decode to the same state, and that encoding is stable.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []NodeState{
		{},
		{StandbyLocal: true, GroupsHash: 0xdeadbeef, Score: -3, ClaimSeq: 7},
		{Held: Set{}.With(0).With(5), Claims: Set{}.With(5), Score: 100},
		{Starting: Set{}.With(1), Stopping: Set{}.With(2), Failed: Set{}.With(3), StandbyForeign: true},
	} {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dense := NodeState{}
	for g := 0; g < 40; g++ {
		dense.Held = dense.Held.With(g)
	}
	f.Add(dense.Marshal())
	f.Add([]byte{encodingVersion, 0xff, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Unmarshal(b)
		if err != nil {
			return
		}
		enc, err := s.MarshalBinary()
		if err != nil || len(enc) > MaxMetaSize {
			t.Fatalf("decoded state %+v does not encode: %d bytes, %v", s, len(enc), err)
		}
		back, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("re-encoded state %x does not decode: %v", enc, err)
		}
		again, err := back.MarshalBinary()
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("encoding not stable: %x then %x (%v)", enc, again, err)
		}
		if back.Score != s.Score || back.ClaimSeq != s.ClaimSeq || back.GroupsHash != s.GroupsHash ||
			back.StandbyLocal != s.StandbyLocal || back.StandbyForeign != s.StandbyForeign {
			t.Fatalf("round trip changed %+v to %+v", s, back)
		}
		for g := range MaxGroups {
			if s.digit(g) != back.digit(g) {
				t.Fatalf("group %d: digit %d became %d", g, s.digit(g), back.digit(g))
			}
		}
	})
}
