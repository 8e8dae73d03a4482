// state_test.go: Set, the NodeState encoding (round trip, size bound,
// malformed input) and GroupsHash.

package nway

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

type testRand struct{ *rand.Rand }

func newRand(seed int64) testRand {
	return testRand{rand.New(rand.NewPCG(uint64(seed), 0x6e776179))}
}

func (r testRand) Intn(n int) int { return r.IntN(n) }

func TestSet(t *testing.T) {
	s := SetOf(3, 64, 200)
	if !s.Has(3) || !s.Has(64) || !s.Has(200) || s.Has(4) || s.Has(-1) || s.Has(9999) {
		t.Fatalf("Has: %v", s)
	}
	u := s.Without(64).With(5)
	if d := cmp.Diff([]int{3, 64, 200}, s.Indexes()); d != "" {
		t.Fatalf("With/Without changed the original (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{3, 5, 200}, u.Indexes()); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if u.Len() != 3 || SetOf().Len() != 0 || !SetOf().Empty() {
		t.Fatal("Len")
	}
	// Trailing empty words do not make sets differ.
	if !SetOf(1).Equal(SetOf(1, 300).Without(300)) || SetOf(1).Equal(SetOf(2)) {
		t.Fatal("Equal")
	}
}

// randomState draws a valid state over n groups: one phase per group.
func randomState(r testRand, n int) NodeState {
	s := NodeState{Score: r.IntN(1000) - 500, StandbyLocal: r.IntN(2) == 0, StandbyForeign: r.IntN(2) == 0,
		ClaimSeq: r.Uint32(), GroupsHash: r.Uint32()}
	density := r.IntN(10) + 1
	for g := range n {
		if r.IntN(density) != 0 {
			continue
		}
		switch r.IntN(5) {
		case 0:
			s.Held = s.Held.With(g)
		case 1:
			s.Starting = s.Starting.With(g)
		case 2:
			s.Stopping = s.Stopping.With(g)
		case 3:
			s.Failed = s.Failed.With(g)
		}
		if r.IntN(3) == 0 {
			s.Claims = s.Claims.With(g)
		}
	}
	return s
}

func TestStateRoundTrip(t *testing.T) {
	r := newRand(1)
	largest := 0
	for i := range 2000 {
		n := []int{0, 1, 2, 3, 10, 64, 333, MaxGroups}[i%8]
		s := randomState(r, n)
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, len(b))
		if len(b) > MaxMetaSize {
			t.Fatalf("%d bytes for %d groups", len(b), n)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
		if !got.Equal(s) {
			t.Fatalf("state %d over %d groups: got %+v want %+v", i, n, got, s)
		}
	}
	t.Logf("largest random encoding: %d bytes", largest)
}

func TestStateWorstCaseFits(t *testing.T) {
	// Every group of MaxGroups failed and claimed (digit 9), extreme fields.
	s := NodeState{Score: -1 << 31, StandbyLocal: true, StandbyForeign: true, ClaimSeq: 1<<32 - 1, GroupsHash: 1<<32 - 1}
	for g := range MaxGroups {
		s.Failed, s.Claims = s.Failed.With(g), s.Claims.With(g)
	}
	b := s.Marshal()
	t.Logf("worst case for %d groups: %d bytes (limit %d)", MaxGroups, len(b), MaxMetaSize)
	if len(b) > MaxMetaSize {
		t.Fatalf("%d bytes", len(b))
	}
	if got, err := Unmarshal(b); err != nil || !got.Equal(s) {
		t.Fatalf("round trip: %v", err)
	}
	// A typical node: 3 of 10 groups held, nothing else.
	small := NodeState{Score: 2, Held: SetOf(0, 4, 7), GroupsHash: 0xdeadbeef}.Marshal()
	t.Logf("typical: %d bytes", len(small))
	if len(small) > 20 {
		t.Fatalf("typical state takes %d bytes", len(small))
	}
}

func TestStateTooManyGroups(t *testing.T) {
	_, err := NodeState{Held: SetOf(MaxGroups)}.MarshalBinary()
	if err == nil || err.Error() != "nway: node state names group index 1000; at most 1000 groups fit in 512 bytes of meta" {
		t.Fatalf("err %v", err)
	}
	if _, err := (NodeState{Score: 1 << 40}).MarshalBinary(); err == nil {
		t.Fatal("huge score encoded")
	}
	cfg := Config{Node: "a", Nodes: []string{"a"}}
	for range MaxGroups + 1 {
		cfg.Groups = append(cfg.Groups, mkGroup("a", "x"))
	}
	if err := cfg.Validate(); err == nil || err.Error() != "nway: haresources has 1001 groups; membership memberlist supports at most 1000 (node meta is limited to 512 bytes)" {
		t.Fatalf("Validate: %v", err)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good := NodeState{Score: 3, Held: SetOf(1, 2), Claims: SetOf(2), ClaimSeq: 4, GroupsHash: 7}.Marshal()
	dense := NodeState{Held: SetOf(0, 1, 2, 3, 4, 5, 6, 7, 8)}.Marshal()
	if dense[1]&flagDense == 0 {
		t.Fatal("9 held groups did not take the dense form")
	}
	for _, b := range [][]byte{good, dense} {
		for k := range len(b) {
			if _, err := Unmarshal(b[:k]); err == nil {
				t.Errorf("prefix %x of %x accepted", b[:k], b)
			}
		}
		if _, err := Unmarshal(append(bytes.Clone(b), 0)); err == nil {
			t.Errorf("trailing byte accepted on %x", b)
		}
	}
	v2 := bytes.Clone(good)
	v2[0] = 2
	if _, err := Unmarshal(v2); !errors.Is(err, ErrStateVersion) {
		t.Errorf("version 2: %v", err)
	}
	flags := bytes.Clone(good)
	flags[1] |= 0x80
	if _, err := Unmarshal(flags); err == nil {
		t.Error("unknown flag accepted")
	}
	badDigit := NodeState{Held: SetOf(100)}.Marshal() // sparse: ends with the digit
	badDigit[len(badDigit)-1] = 10
	if _, err := Unmarshal(badDigit); err == nil {
		t.Error("digit 10 accepted")
	}
	if _, err := Unmarshal(make([]byte, MaxMetaSize+1)); err == nil {
		t.Error("over-long input accepted")
	}
}

func TestGroupsHash(t *testing.T) {
	base := []config.Group{mkGroup("a", "10.0.0.1"), mkGroup("b", "10.0.0.2")}
	h := GroupsHash(base)
	moved := []config.Group{base[0], base[1]}
	moved[0].Line = 40
	if GroupsHash(moved) != h {
		t.Error("line numbers changed the hash")
	}
	for name, gs := range map[string][]config.Group{
		"order":    {base[1], base[0]},
		"node":     {mkGroup("b", "10.0.0.1"), base[1]},
		"resource": {mkGroup("a", "10.0.0.9"), base[1]},
		"split":    {{Node: "a", Resources: []config.Resource{{Text: "10.0.0.1"}, {Text: "x"}}}, base[1]},
		"fewer":    base[:1],
	} {
		if GroupsHash(gs) == h {
			t.Errorf("%s: same hash", name)
		}
	}
}
