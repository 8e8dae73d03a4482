// keys_test.go: DeriveKey and the user-message key against an independent
// HKDF computation (RFC 5869 written out in Python's hmac/hashlib).

package gossip

import (
	"encoding/hex"
	"testing"
)

func TestDeriveKey(t *testing.T) {
	k := DeriveKey("sha1", "secret one")
	if got, want := hex.EncodeToString(k), "e9cbe77081a080d59ace9c1315f722f05ce21a82a7950ce0a7b2220f9e4906e5"; got != want {
		t.Errorf("DeriveKey = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(userKey(k)), "dd3c4a116f997466513fe027dd4491b24f146b62a269cb6015dd383c64dba80b"; got != want {
		t.Errorf("userKey = %s, want %s", got, want)
	}
	if string(DeriveKey("md5", "secret one")) == string(k) || string(DeriveKey("sha1", "secret two")) == string(k) {
		t.Error("method and secret must both change the key")
	}
	if err := checkKey(k); err != nil {
		t.Error(err)
	}
	if err := checkKey(k[:20]); err == nil {
		t.Error("a 20-byte key was accepted")
	}
}

func TestNewErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no name":          {Key: testKey, Bind: "127.0.0.1:0"},
		"short key":        {Node: "a", Key: testKey[:10], Bind: "127.0.0.1:0"},
		"host name bind":   {Node: "a", Key: testKey, Bind: "localhost:0"},
		"bad port":         {Node: "a", Key: testKey, Bind: "127.0.0.1:70000"},
		"bad advertise":    {Node: "a", Key: testKey, Bind: "127.0.0.1:0", Advertise: "x"},
		"timeout too long": {Node: "a", Key: testKey, Bind: "127.0.0.1:0", Tuning: Tuning{ProbeInterval: 100e6, ProbeTimeout: 100e6}},
	} {
		if g, err := New(cfg); err == nil {
			g.Shutdown()
			t.Errorf("%s: New succeeded", name)
		}
	}
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1:7946", "node-b": "node-b:7946", "fd00::1": "[fd00::1]:7946", "[fd00::1]:9": "[fd00::1]:9", "b:1": "b:1"} {
		if got := withPort(in); got != want {
			t.Errorf("withPort(%q) = %q, want %q", in, got, want)
		}
	}
}
