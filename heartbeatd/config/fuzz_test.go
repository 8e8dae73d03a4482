// Fuzz targets for the three parsers.
package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// addFileSeeds adds the named files' contents as seeds.
func addFileSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// checkErrors checks every joined *Error points inside the input.
func checkErrors(t *testing.T, err error, text string) {
	lines := strings.Count(text, "\n") + 1
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %T %v is not a *config.Error", e, e)
		}
		if ce.Line < 0 || ce.Line > lines {
			t.Fatalf("error line %d outside 0..%d: %v", ce.Line, lines, ce)
		}
	}
}

func FuzzParseHACF(f *testing.F) {
	addFileSeeds(f, "testdata/full-ha.cf", "testdata/lab-ha.cf", filepath.Join(sampleDir, "ha.cf"))
	for _, s := range []string{
		"keepalive 2000 ms\n", "node a,b c\nbcast eth0 eth1\n", "udpport 700\nucast hb0 10.0.0.2 10.0.0.3\n",
		"mcast hb0 239.0.0.1 694 1 0\nmcast6 hb0 ff02::1 694 4 1\n", "ping_group g 1.2.3.4 5.6.7.8\nping6 ::1\n",
		"apiauth x uid=a,b gid=c\nrespawn u /bin/x a b\nfailfast u /bin/y\n", "nice_failback on\nauto_failback legacy\n",
		"crm respawn\ncrm_daemon_dir /x\n", "env A=b,C=\n", "stonith_host * t p q\nstonith t f\n",
		"keepalive 1#c\r\n\tdeadtime\t.5\n", "\x00\n#\n\\\n", "deadtime 99999999999999999999\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseHACF("f", strings.NewReader(text))
		if err != nil {
			checkErrors(t, err, text)
			return
		}
		again, _ := ParseHACF("f", strings.NewReader(text))
		if diff := cmp.Diff(c, again, hacfCmp); diff != "" {
			t.Fatalf("parse is not deterministic:\n%s", diff)
		}
		seen := map[string]bool{}
		for _, n := range append(append([]string{}, c.Nodes...), pingNames(c)...) {
			if n != asciiLower(n) || n == "" || len(n) > MaxNodeName || seen[n] {
				t.Fatalf("bad or repeated node name %q", n)
			}
			seen[n] = true
		}
		if len(seen) > MaxNodes || len(c.Media)+len(c.Ping)+len(c.Serial) > MaxMedia {
			t.Fatalf("limits exceeded: %d nodes, %d media", len(seen), len(c.Media))
		}
		for _, m := range c.Media {
			if m.Port < 1 || m.Port > 65535 || m.TTL < 0 || m.TTL > 4 || m.Iface == "" || m.Line < 1 {
				t.Fatalf("bad medium %+v", m)
			}
		}
		// warntime defaults to deadtime/2, which may be 0 until Validate
		// rejects such a deadtime.
		if c.Keepalive <= 0 || c.Warntime < 0 || c.Deadtime < 0 || c.Initdead < 0 || c.Deadping < 0 {
			t.Fatalf("bad times %v %v %v %v %v", c.Keepalive, c.Warntime, c.Deadtime, c.Initdead, c.Deadping)
		}
		for _, p := range []string{"keepalive", "deadtime", "warntime", "initdead", "deadping", "udpport", "auto_failback"} {
			if c.Params[p] == "" {
				t.Fatalf("Params[%s] empty", p)
			}
		}
		if err := c.Validate("a"); err != nil {
			checkErrors(t, err, text)
		} else if c.Warntime <= 0 || c.Deadtime <= 2*c.Keepalive || c.Initdead < c.Deadtime {
			t.Fatalf("Validate passed bad times %v %v %v %v", c.Keepalive, c.Warntime, c.Deadtime, c.Initdead)
		}
	})
}

func pingNames(c *HACF) []string {
	var names []string
	for _, p := range c.Ping {
		names = append(names, p.Name)
	}
	return names
}

func FuzzParseAuthKeys(f *testing.F) {
	addFileSeeds(f, "testdata/lab-authkeys", filepath.Join(sampleDir, "authkeys"))
	for _, s := range []string{"auth 1\n1 crc\n", "auth 15\n15 md5 k#k\n0 sha1 x\n", "2 md5 abc\nauth 2",
		"auth 1\n1 sha1 two words\n", "auth\n", "a\n", "auth 1\n1 crc\n1 crc\n", "  # c\r\n\fauth 0\n0 crc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, err := ParseAuthKeys("k", strings.NewReader(text))
		if err != nil {
			checkErrors(t, err, text)
			return
		}
		if _, ok := a.Entries[a.Active]; !ok {
			t.Fatalf("active entry %d missing", a.Active)
		}
		for n, e := range a.Entries {
			if n != e.Num || n < 0 || n > MaxAuthNum {
				t.Fatalf("bad entry number %d/%d", n, e.Num)
			}
			if (e.Method == "crc") != (e.Key == "") || strings.ContainsAny(e.Key, whitespace) {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzParseHaresources(f *testing.F) {
	seeds := []string{"nodea 10.0.0.1 httpd\n", "nodea IPaddr::10.0.0.1/24/eth0 \\\n ldirectord\n#c\nnodeb a::b::::c\n",
		"nodea a\nnodea a\n", "nodec x\n", "nodea ::x\n", "nodea a \\", "NODEB\tb\r\n"}
	for _, s := range seeds {
		f.Add(s, "nodea nodeb")
	}
	b, err := os.ReadFile(filepath.Join(sampleDir, "haresources"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b), "lb1 lb2")
	f.Fuzz(func(t *testing.T, text, nodes string) {
		known := strings.Fields(nodes)
		groups, err := ParseHaresources("h", strings.NewReader(text), known)
		if err != nil {
			checkErrors(t, err, text)
			return
		}
		keys := map[string]bool{}
		for _, g := range groups {
			if keys[g.Key] || len(g.Resources) == 0 || g.Key != g.Resources[0].Text || g.Node != asciiLower(g.Node) {
				t.Fatalf("bad group %+v", g)
			}
			keys[g.Key] = true
			found := false
			for _, n := range known {
				found = found || asciiLower(n) == g.Node
			}
			if !found {
				t.Fatalf("group node %q not in %q", g.Node, known)
			}
			for _, r := range g.Resources {
				if r.Name == "" || strings.ContainsAny(r.Text, " \t") {
					t.Fatalf("bad resource %+v", r)
				}
			}
		}
	})
}
