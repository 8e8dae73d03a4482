// fuzz_test.go: fuzz targets for the quoting of respawn commands and the children's environment.

package respawn

import (
	"strings"
	"testing"
)

// shWord reads one /bin/sh word made of plain characters, '…' quotes and
// backslash escapes, as the shell reads a command line; ok is false when
// the word does not end where s does.
func shWord(s string) (word string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", false
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case strings.IndexByte(" \t\n;&|<>()$`\"*?[#~\\", c) >= 0:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// FuzzShellQuote: a quoted argument is one shell word that reads back as
// the argument.
func FuzzShellQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "/usr/lib/heartbeat/ipfail", "two words", "it's", "'", "$HOME", "a\nb", "*", "~x", "-p=1,2:3@4%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := shellQuote(s)
		if got, ok := shWord(q); !ok || got != s {
			t.Fatalf("shellQuote(%q) = %q reads as %q (%v)", s, q, got, ok)
		}
	})
}

// FuzzEnviron: Environ gives each name once, with the last value set for
// it, as successive setenv calls do; the lists are split at NULs.
func FuzzEnviron(f *testing.F) {
	f.Add("PATH=/bin\x00HOME=/root\x00HA_DIR=/x", "HA_DIR=/etc/ha.d\x00HA_CURHOST=nodea\x00HA_DIR=/y")
	f.Add("A\x00A=1\x00=x", "A=2\x00\x00B")
	f.Fuzz(func(t *testing.T, base, vars string) {
		b, v := strings.Split(base, "\x00"), strings.Split(vars, "\x00")
		last := map[string]string{}
		for _, kv := range append(append([]string{}, b...), v...) {
			name, _, _ := strings.Cut(kv, "=")
			last[name] = kv
		}
		out := Environ(b, v)
		seen := map[string]bool{}
		for _, kv := range out {
			name, _, _ := strings.Cut(kv, "=")
			if seen[name] || last[name] != kv {
				t.Fatalf("Environ gives %q (last set %q, seen %v)", kv, last[name], seen[name])
			}
			seen[name] = true
		}
		if len(seen) != len(last) {
			t.Fatalf("Environ has %d names, want %d", len(seen), len(last))
		}
	})
}
