// Tests for the authkeys parser and permission check.
package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAuthKeys(t *testing.T) {
	tests := []struct {
		name, in string
		want     *AuthKeys
	}{
		{"spec example", "auth 1\n1 sha1 s3cretKey\n", &AuthKeys{File: "authkeys", Active: 1,
			Entries: map[int]AuthEntry{1: {Num: 1, Method: "sha1", Key: "s3cretKey", Line: 2}}}},
		{"all methods, comments, blanks, CRLF", "# comment\n\n  auth 3\r\n1 crc\r\n2 md5 k#ey\n\t3  sha1\tother\n  # indented comment\n15 crc\n0 crc\n",
			&AuthKeys{File: "authkeys", Active: 3, Entries: map[int]AuthEntry{
				0:  {Num: 0, Method: "crc", Line: 9},
				1:  {Num: 1, Method: "crc", Line: 4},
				2:  {Num: 2, Method: "md5", Key: "k#ey", Line: 5},
				3:  {Num: 3, Method: "sha1", Key: "other", Line: 6},
				15: {Num: 15, Method: "crc", Line: 8},
			}}},
		{"auth after its entry", "2 md5 abc\nauth 2", &AuthKeys{File: "authkeys", Active: 2,
			Entries: map[int]AuthEntry{2: {Num: 2, Method: "md5", Key: "abc", Line: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthKeys("authkeys", strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseAuthKeys: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAuthKeysErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `authkeys: missing auth directive (want "auth N" naming the entry used to sign)`},
		{"1 sha1 k\n", `authkeys: missing auth directive (want "auth N" naming the entry used to sign)`},
		{"auth 2\n1 sha1 k\n", `authkeys:1: auth 2: no entry 2 in the file`},
		{"auth\n1 crc", "authkeys:1: invalid auth line: want \"auth N\"\n" +
			`authkeys: missing auth directive (want "auth N" naming the entry used to sign)`},
		{"auth 1 2\n1 crc", "authkeys:1: invalid auth line: want \"auth N\"\n" +
			`authkeys: missing auth directive (want "auth N" naming the entry used to sign)`},
		{"auth one\n1 crc", "authkeys:1: invalid auth line: invalid entry number \"one\": want 0..15\n" +
			`authkeys: missing auth directive (want "auth N" naming the entry used to sign)`},
		{"auth 1\nauth 1\n1 crc", `authkeys:2: duplicate auth line (first at line 1)`},
		{"auth 1\n1 crc\n1 md5 k", `authkeys:3: duplicate entry 1 (first at line 2)`},
		{"auth 16\n16 crc", "authkeys:1: invalid auth line: invalid entry number \"16\": want 0..15\n" +
			"authkeys:2: invalid entry number \"16\": want 0..15\n" +
			`authkeys: missing auth directive (want "auth N" naming the entry used to sign)`},
		{"auth 1\n-1 crc\n1 crc", `authkeys:2: invalid line: want "N method [key]" or "auth N"`},
		{"auth 1\n1", `authkeys:2: entry 1: invalid line: want "N method [key]" or "auth N"`},
		{"auth 1\ns3cretKey\n1 crc", `authkeys:2: invalid line: want "N method [key]" or "auth N"`},
		{"auth 1\n1 sha256 k", `authkeys:2: entry 1: unknown auth method (want crc, md5 or sha1)`},
		{"auth 1\n1 SHA1 k", `authkeys:2: entry 1: unknown auth method (want crc, md5 or sha1)`},
		{"auth 1\n1 s3cretKey", `authkeys:2: entry 1: unknown auth method (want crc, md5 or sha1)`},
		{"auth 1\n1 crc k", `authkeys:2: entry 1: auth method crc does not use a key`},
		{"auth 1\n1 md5", `authkeys:2: entry 1: auth method md5 requires a key`},
		{"auth 1\n1 sha1", `authkeys:2: entry 1: auth method sha1 requires a key`},
		{"auth 1\n1 sha1 two words", `authkeys:2: entry 1: the key must be a single word without blanks`},
		{"auth 1\n1 sha1 k\nsha1 k2", `authkeys:3: invalid line: want "N method [key]" or "auth N"`},
	}
	for _, tt := range tests {
		_, err := ParseAuthKeys("authkeys", strings.NewReader(tt.in))
		if err == nil {
			t.Errorf("ParseAuthKeys(%q) succeeded, want %s", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseAuthKeys(%q) error\n got %s\nwant %s", tt.in, err, tt.want)
		}
		for _, secret := range []string{"s3cretKey", "two words", " k2"} {
			if strings.Contains(tt.in, secret) && strings.Contains(err.Error(), secret) {
				t.Errorf("ParseAuthKeys(%q) error shows the key: %s", tt.in, err)
			}
		}
	}
}

func TestLoadAuthKeysPermissions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "authkeys")
	if err := os.WriteFile(path, []byte("auth 1\n1 sha1 k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode os.FileMode
		want string
	}{
		{0o600, ""},
		{0o400, ""},
		{0o622, ""}, // write bits are not checked, like classic
		{0o640, path + ": bad permissions 0640 on keyfile: it must not be readable by group or others (600 recommended)"},
		{0o604, path + ": bad permissions 0604 on keyfile: it must not be readable by group or others (600 recommended)"},
		{0o644, path + ": bad permissions 0644 on keyfile: it must not be readable by group or others (600 recommended)"},
	}
	for _, tt := range tests {
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		a, err := LoadAuthKeys(path)
		got := ""
		if err != nil {
			got = err.Error()
		} else if a.Active != 1 || a.File != path {
			t.Errorf("mode %#o: got %+v", tt.mode, a)
		}
		if got != tt.want {
			t.Errorf("mode %#o: error\n got %s\nwant %s", tt.mode, got, tt.want)
		}
	}
	if _, err := LoadAuthKeys(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestAuthKeysNums(t *testing.T) {
	a, err := ParseAuthKeys("k", strings.NewReader("auth 3\n9 crc\n3 crc\n0 crc\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 3, 9}, a.Nums()); diff != "" {
		t.Errorf("Nums (-want +got):\n%s", diff)
	}
}
