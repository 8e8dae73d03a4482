// fuzz_test.go: fuzz target for the sub-commands' option parsing.

package main

import (
	"strings"
	"testing"
)

// FuzzGetopt splits a command line at NULs: every option letter is one of
// optstr's (or '?' with a complaint), and every word that is neither an
// option nor an option's argument comes back as an operand, in order.
func FuzzGetopt(f *testing.F) {
	for _, s := range []string{"-m\x00nodea", "nodea\x00-m", "-mp\x00x", "-x\x00--\x00-m", "-n\x00", "-n3\x00-", "--\x00--", ":\x00-:"} {
		f.Add(s, "mn:p")
	}
	f.Add("-t\x0010\x00rsc", "t:")
	f.Fuzz(func(t *testing.T, line, optstr string) {
		if strings.ContainsAny(optstr, "?-") || strings.HasPrefix(optstr, ":") {
			t.Skip("'?', '-' and a leading ':' are not option letters to getopt")
		}
		args := strings.Split(line, "\x00")
		opts, operands, complaints := getopt("cl_status", args, optstr)
		bad := 0
		for _, o := range opts {
			if o.c == '?' {
				bad++
				continue
			}
			if o.c == ':' || strings.IndexByte(optstr, o.c) < 0 {
				t.Fatalf("option %q not in %q", o.c, optstr)
			}
		}
		if bad != len(complaints) {
			t.Fatalf("%d bad options, %d complaints", bad, len(complaints))
		}
		rest := args
		for _, op := range operands {
			for len(rest) > 0 && rest[0] != op {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				t.Fatalf("operand %q not in order in %q", op, args)
			}
			rest = rest[1:]
		}
		words := 0
		for _, a := range args {
			if a == "--" {
				break
			}
			if len(a) < 2 || a[0] != '-' {
				words++
			}
		}
		if len(operands) < words-len(opts) {
			t.Fatalf("%d operands for %d plain words and %d options", len(operands), words, len(opts))
		}
	})
}
