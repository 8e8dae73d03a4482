// message_test.go: user-message encoding and the replay window.

package gossip

import (
	"bytes"
	"testing"
)

func TestEncodeParse(t *testing.T) {
	key := userKey(DeriveKey("sha1", "x"))
	b := encodeMsg(key, kindData, "nodeb", 7, 42, []byte("hello"))
	h, err := parseMsg(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.node != "nodeb" || h.gen != 7 || h.seq != 42 || string(h.payload) != "hello" {
		t.Errorf("parsed %+v", h)
	}
	if !bytes.Equal(h.signed, b[:len(b)-macSize]) {
		t.Error("signed bytes do not end before the MAC")
	}
	empty := encodeMsg(key, kindData, "n", 1, 1, nil)
	if h, err := parseMsg(empty); err != nil || len(h.payload) != 0 {
		t.Errorf("empty payload: %+v, %v", h, err)
	}
	for name, bad := range map[string][]byte{
		"nil":           nil,
		"short":         b[:msgOverhead],
		"version":       append([]byte{9}, b[1:]...),
		"kind":          append([]byte{msgVersion, 7}, b[2:]...),
		"empty name":    append([]byte{msgVersion, kindData, 0}, b[3:]...),
		"name too long": append([]byte{msgVersion, kindData, 200}, b[3:]...),
	} {
		if _, err := parseMsg(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestReplayGuard(t *testing.T) {
	var r replayGuard
	steps := []struct {
		node     string
		gen, seq uint64
		want     string
	}{
		{"a", 5, 10, ""},
		{"a", 5, 10, dropReplay},
		{"a", 5, 12, ""},
		{"a", 5, 11, ""}, // late but inside the window
		{"a", 5, 11, dropReplay},
		{"a", 5, 9, ""},
		{"a", 5, 12 + 63, ""},
		{"a", 5, 12, dropReplay}, // max-63: still tracked, seen
		{"a", 5, 11, dropReplay}, // max-64: outside the window
		{"a", 5, 13, ""},         // max-62, unseen
		{"a", 4, 1000, dropOldGeneration},
		{"b", 4, 1, ""}, // per sender
		{"a", 6, 1, ""}, // a new generation restarts the sequence
		{"a", 6, 1, dropReplay},
		{"a", 5, 500, dropOldGeneration},
		{"a", 6, 1 + 1000, ""}, // a jump clears the window
		{"a", 6, 1 + 1000 - 1, ""},
		{"a", 6, 2, dropReplay},
	}
	for i, s := range steps {
		if got := r.accept(s.node, s.gen, s.seq); got != s.want {
			t.Errorf("step %d %s gen %d seq %d: got %q, want %q", i, s.node, s.gen, s.seq, got, s.want)
		}
	}
}
