// auth_test.go: digest test vectors, crc formatting and keyring checks.

package wire

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"strings"
	"testing"
)

func TestSumVectors(t *testing.T) {
	// Test vectors of spec §1.4.
	tests := []struct {
		key  Key
		in   string
		want string
	}{
		{Key{Num: 1, Method: MethodCRC}, "123456789", "765e7680"},
		{Key{Num: 1, Method: MethodMD5, Secret: []byte("key")}, "abc", "d2fe98063f876b03193afb49b4979591"},
		{Key{Num: 1, Method: MethodSHA1, Secret: []byte("key")}, "abc", "4fd0b215276ef12f2b3e4c8ecac2811498b656fc"},
		{Key{Num: 1, Method: "rot13", Secret: []byte("key")}, "abc", ""},
	}
	for _, tt := range tests {
		if got := tt.key.Sum([]byte(tt.in)); got != tt.want {
			t.Errorf("%v Sum(%q) = %q, want %q", tt.key, tt.in, got, tt.want)
		}
	}
}

func TestCRCUnpadded(t *testing.T) {
	// Find an input whose crc has a leading zero nibble: %lx prints no padding.
	k := Key{Num: 1, Method: MethodCRC}
	for i := 0; ; i++ {
		in := []byte(fmt.Sprintf("x%d", i))
		c := crcSum(in)
		if c >= 1<<28 {
			continue
		}
		got := k.Sum(in)
		if want := fmt.Sprintf("%x", c); got != want || len(got) == 8 {
			t.Fatalf("Sum(%q) = %q, want unpadded %q", in, got, want)
		}
		return
	}
}

func TestHMACLongKeyHashedFirst(t *testing.T) {
	// RFC 2104: a key longer than the 64-byte block is replaced by its hash.
	long := bytes.Repeat([]byte("k"), 100)
	h := sha1.Sum(long)
	a := Key{Num: 1, Method: MethodSHA1, Secret: long}.Sum([]byte("abc"))
	b := Key{Num: 1, Method: MethodSHA1, Secret: h[:]}.Sum([]byte("abc"))
	if a != b || len(a) != 40 {
		t.Errorf("long key digest %q, hashed key digest %q", a, b)
	}
}

func TestNewKeyring(t *testing.T) {
	sha := Key{Num: 1, Method: MethodSHA1, Secret: []byte("s")}
	tests := []struct {
		name string
		out  int
		keys []Key
		err  string
	}{
		{"ok", 1, []Key{sha, {Num: 2, Method: MethodCRC}, {Num: 15, Method: MethodMD5, Secret: []byte("m")}}, ""},
		{"zero", 0, []Key{{Num: 0, Method: MethodCRC}}, ""},
		{"range", 1, []Key{sha, {Num: 16, Method: MethodCRC}}, "wire: auth key 16: number out of range 0..15"},
		{"negative", 1, []Key{{Num: -1, Method: MethodCRC}}, "wire: auth key -1: number out of range 0..15"},
		{"dup", 1, []Key{sha, sha}, "wire: auth key 1: defined twice"},
		{"crc key", 1, []Key{{Num: 1, Method: MethodCRC, Secret: []byte("x")}}, "wire: auth key 1: crc takes no key"},
		{"md5 no key", 1, []Key{{Num: 1, Method: MethodMD5}}, "wire: auth key 1: md5 needs a key"},
		{"method", 1, []Key{{Num: 1, Method: "SHA1", Secret: []byte("s")}}, `wire: auth key 1: unknown method "SHA1"`},
		{"no out", 3, []Key{sha}, "wire: outbound auth key 3 is not defined"},
		{"out range", 99, []Key{sha}, "wire: outbound auth key 99 is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := NewKeyring(tt.out, tt.keys...)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.Out(); got.Num != tt.out {
				t.Errorf("Out() = %v, want key %d", got, tt.out)
			}
			for _, k := range tt.keys {
				got, ok := kr.Key(k.Num)
				if !ok || got.Method != k.Method || !bytes.Equal(got.Secret, k.Secret) {
					t.Errorf("Key(%d) = %v, %v", k.Num, got, ok)
				}
			}
			if _, ok := kr.Key(7); ok {
				t.Error("Key(7) found, not defined")
			}
		})
	}
}

func TestKeyringCopiesSecret(t *testing.T) {
	secret := []byte("s3cretKey")
	kr, err := NewKeyring(1, Key{Num: 1, Method: MethodSHA1, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	before := kr.Out().Sum([]byte("abc"))
	secret[0] = 'X'
	if after := kr.Out().Sum([]byte("abc")); after != before {
		t.Error("keyring shares the caller's secret slice")
	}
}

func TestKeyFormatHidesSecret(t *testing.T) {
	k := Key{Num: 2, Method: MethodMD5, Secret: []byte("topsecret")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, k); strings.Contains(s, "topsecret") || !strings.Contains(s, "2 md5") {
			t.Errorf("Sprintf(%s) = %q", verb, s)
		}
	}
}
