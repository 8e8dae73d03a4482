// Fuzz target for the ldirectord.cf parser.
package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/full.cf", "testdata/debian-example.cf"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("virtual=10.0.0.1:80\n\treal=10.0.0.2->10.0.0.4:80 gate 2 \"a\", \"b\" l:1 u:2\n\n\tchecktype=2\n")
	f.Add("virtual6=[::1]:80\n  real6=[::2] masq\n  fallback6=localhost\nvirtual=7\n\tprotocol=fwm\n")
	f.Add("checktimeout=0.5 # c\nquiescent = yes \nsupervised\nvirtual=www.example.com:domain\n    receive=\"a#b\"\n")
	f.Add("tlsverify=yes\ntlscafile=/etc/ssl/ca.pem\nsmtp=[2001:db8::25]:2525\nvirtual=10.0.0.1:993\n\ttlscafile=\"/etc/ssl/other.pem\"\n\tsmtp=mail host\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse("f.cf", strings.NewReader(text), testOptions())
		lines := strings.Count(text, "\n") + 1
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			for _, e := range errorList(err) {
				var ce *Error
				if !errors.As(e, &ce) || ce.Line < 1 || ce.Line > lines || ce.File != "f.cf" {
					t.Fatalf("bad error %T %v (lines %d)", e, e, lines)
				}
			}
			return
		}
		for _, w := range c.Warnings {
			if !strings.HasPrefix(w, "f.cf:") {
				t.Fatalf("bad warning %q", w)
			}
		}
		if c.CheckInterval <= 0 || c.FailureCount < 1 || c.RiseCount < 1 || c.CheckCount < 1 {
			t.Fatalf("bad globals %+v", c)
		}
		ids := map[string]bool{}
		for _, v := range c.Virtuals {
			if ids[v.ID()] {
				t.Fatalf("duplicate virtual %s", v.ID())
			}
			ids[v.ID()] = true
			if v.CheckTimeout <= 0 || v.NegotiateTimeout <= 0 || v.CheckInterval <= 0 || v.FailureCount < 1 || v.RiseCount < 1 {
				t.Fatalf("bad virtual times %+v", v)
			}
			if (v.Proto == "fwm") != (v.FWMark != 0) || (v.Proto != "fwm" && (!v.Addr.IsValid() || v.Addr.Is4() != (v.Family == 4))) {
				t.Fatalf("bad virtual address %+v", v)
			}
			if !schedRE.MatchString(v.Scheduler) || v.Request == "" || v.HTTPMethod == "" || v.Service == "" {
				t.Fatalf("bad virtual %+v", v)
			}
			for _, r := range v.Reals {
				if !r.Addr.IsValid() || r.Addr.Is4() != (v.Family == 4) || (r.Method != Gate && r.Method != Masq && r.Method != IPIP) ||
					r.Weight < 0 || r.Weight > 65535 || r.Line < 1 || r.Line > lines {
					t.Fatalf("bad real %+v in %s", r, v.ID())
				}
			}
		}
		again, err := Parse("f.cf", strings.NewReader(text), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("parse not deterministic:\n%s", cmp.Diff(c, again, addrs))
		}
	})
}

// errorList unwraps a joined error.
func errorList(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestFuzzCorpusPresent keeps the committed seed corpus loadable.
func TestFuzzCorpusPresent(t *testing.T) {
	m, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil || len(m) == 0 {
		t.Fatalf("no seed corpus in testdata/fuzz/FuzzParse: %v", err)
	}
}
