// authkeys_test.go: a reload takes a rewritten authkeys (sign and accept).

package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

func TestSameKeys(t *testing.T) {
	base := func() *config.AuthKeys {
		return &config.AuthKeys{Active: 1, Entries: map[int]config.AuthEntry{
			1: {Num: 1, Method: "sha1", Key: "k1", Line: 2},
			2: {Num: 2, Method: "md5", Key: "k2", Line: 3},
		}}
	}
	moved := base()
	moved.Entries[1] = config.AuthEntry{Num: 1, Method: "sha1", Key: "k1", Line: 9}
	active := base()
	active.Active = 2
	key := base()
	key.Entries[2] = config.AuthEntry{Num: 2, Method: "md5", Key: "other"}
	method := base()
	method.Entries[1] = config.AuthEntry{Num: 1, Method: "md5", Key: "k1"}
	fewer := base()
	delete(fewer.Entries, 2)
	renumbered := base()
	delete(renumbered.Entries, 2)
	renumbered.Entries[3] = config.AuthEntry{Num: 3, Method: "md5", Key: "k2"}
	for _, c := range []struct {
		name string
		b    *config.AuthKeys
		want bool
	}{
		{"same", base(), true},
		{"line moved", moved, true},
		{"auth switched", active, false},
		{"key changed", key, false},
		{"method changed", method, false},
		{"entry removed", fewer, false},
		{"entry renumbered", renumbered, false},
	} {
		if got := sameKeys(base(), c.b); got != c.want {
			t.Errorf("%s: sameKeys = %v, want %v", c.name, got, c.want)
		}
		if got := sameKeys(c.b, base()); got != c.want {
			t.Errorf("%s (swapped): sameKeys = %v, want %v", c.name, got, c.want)
		}
	}
}

// The key change of authkeys(5) EXAMPLES, one Load per reload: every step's
// keys accept what the previous step signed, and the final keys reject the
// old key; a world-readable file is refused.
func TestLoadFollowsRewrittenAuthKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("ha.cf", "keepalive 1\ndeadtime 10\nbcast lo\nnode nodea nodeb\n", 0o644)
	load := func(keys string) *wire.Keyring {
		t.Helper()
		write("authkeys", keys, 0o600)
		f, err := Load(dir, "nodea")
		if err != nil {
			t.Fatalf("Load with authkeys %q: %v", keys, err)
		}
		return f.Ring
	}
	sign := func(r *wire.Keyring) []byte {
		t.Helper()
		m := wire.New("status").Add("src", "nodeb").Add("seq", "1").Add("hg", "1").Add("ts", "1").Add("st", "active")
		p, err := wire.Encode(m, r, true)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	steps := []string{
		"auth 1\n1 sha1 old-key\n",
		"auth 1\n1 sha1 old-key\n2 sha1 new-key\n",
		"auth 2\n1 sha1 old-key\n2 sha1 new-key\n",
		"auth 2\n2 sha1 new-key\n",
	}
	rings := make([]*wire.Keyring, len(steps))
	for i, s := range steps {
		rings[i] = load(s)
		if i == 0 {
			continue
		}
		if _, err := wire.Decode(sign(rings[i-1]), rings[i]); err != nil {
			t.Errorf("step %d rejects what step %d signed: %v", i, i-1, err)
		}
		if _, err := wire.Decode(sign(rings[i]), rings[i-1]); err != nil {
			t.Errorf("step %d rejects what step %d signed: %v", i-1, i, err)
		}
	}
	final := rings[len(rings)-1]
	if got := final.Out().Num; got != 2 {
		t.Errorf("final keys sign with entry %d, want 2", got)
	}
	if _, err := wire.Decode(sign(rings[0]), final); !errors.Is(err, wire.ErrAuth) {
		t.Errorf("final keys on an old-key packet: %v, want %v", err, wire.ErrAuth)
	}
	// The operator's direct rewrite (no overlap step) also rejects the old key.
	direct := load("auth 1\n1 sha1 other-key\n")
	if _, err := wire.Decode(sign(rings[0]), direct); !errors.Is(err, wire.ErrAuth) {
		t.Errorf("rewritten key on an old-key packet: %v, want %v", err, wire.ErrAuth)
	}

	write("authkeys", "auth 1\n1 sha1 old-key\n", 0o644)
	if _, err := Load(dir, "nodea"); err == nil {
		t.Error("Load took a group/other-readable authkeys")
	}
}
