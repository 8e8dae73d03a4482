// Tests for the haresources parser.
package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var twoNodes = []string{"nodea", "nodeb"}

func TestParseHaresources(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Group
	}{
		{"spec key example", "nodea IPaddr::10.77.0.100/24/hb0 ldirectord\n", []Group{{
			Node: "nodea", Key: "IPaddr::10.77.0.100/24/hb0", Line: 1,
			Resources: []Resource{
				{Name: "IPaddr", Args: []string{"10.77.0.100/24/hb0"}, Text: "IPaddr::10.77.0.100/24/hb0"},
				{Name: "ldirectord", Text: "ldirectord"},
			},
		}}},
		{"bare IP keeps its text as key", "NodeB 10.0.0.1 httpd\n", []Group{{
			Node: "nodeb", Key: "10.0.0.1", Line: 1,
			Resources: []Resource{
				{Name: "IPaddr", Args: []string{"10.0.0.1"}, Text: "10.0.0.1"},
				{Name: "httpd", Text: "httpd"},
			},
		}}},
		{"bare IP with netmask", "nodea 10.0.0.1/24/eth0/10.0.0.255", []Group{{
			Node: "nodea", Key: "10.0.0.1/24/eth0/10.0.0.255", Line: 1,
			Resources: []Resource{{Name: "IPaddr", Args: []string{"10.0.0.1/24/eth0/10.0.0.255"}, Text: "10.0.0.1/24/eth0/10.0.0.255"}},
		}}},
		{"ResourceManager's own example", "nodea  10.0.0.170 Filesystem::/dev/sda1::/data1::ext2\n", []Group{{
			Node: "nodea", Key: "10.0.0.170", Line: 1,
			Resources: []Resource{
				{Name: "IPaddr", Args: []string{"10.0.0.170"}, Text: "10.0.0.170"},
				{Name: "Filesystem", Args: []string{"/dev/sda1", "/data1", "ext2"}, Text: "Filesystem::/dev/sda1::/data1::ext2"},
			},
		}}},
		{"continuations, comments, blanks, tabs",
			"# header\n\nnodea\tIPaddr2::10.0.0.5/24 \\\n   ldirectord::ldirectord.cf  # lvs\n" +
				"  nodeb   LVSSyncDaemonSwap::master \\\n\t\tIPaddr::10.0.0.6\\\n/24 # joined without a blank\n" +
				"nodea drbddisk::r0 \\ # not a continuation: comment after the backslash\n" +
				"nodeb empty::::arg\n",
			[]Group{
				{Node: "nodea", Key: "IPaddr2::10.0.0.5/24", Line: 3, Resources: []Resource{
					{Name: "IPaddr2", Args: []string{"10.0.0.5/24"}, Text: "IPaddr2::10.0.0.5/24"},
					{Name: "ldirectord", Args: []string{"ldirectord.cf"}, Text: "ldirectord::ldirectord.cf"},
				}},
				{Node: "nodeb", Key: "LVSSyncDaemonSwap::master", Line: 5, Resources: []Resource{
					{Name: "LVSSyncDaemonSwap", Args: []string{"master"}, Text: "LVSSyncDaemonSwap::master"},
					{Name: "IPaddr", Args: []string{"10.0.0.6/24"}, Text: "IPaddr::10.0.0.6/24"},
				}},
				{Node: "nodea", Key: "drbddisk::r0", Line: 8, Resources: []Resource{
					{Name: "drbddisk", Args: []string{"r0"}, Text: "drbddisk::r0"},
					{Name: `\`, Text: `\`},
				}},
				{Node: "nodeb", Key: "empty::::arg", Line: 9, Resources: []Resource{
					{Name: "empty", Args: []string{"arg"}, Text: "empty::::arg"},
				}},
			}},
		{"trailing backslash at end of file", "nodea a \\", []Group{{Node: "nodea", Key: "a", Line: 1,
			Resources: []Resource{{Name: "a", Text: "a"}}}}},
		{"CRLF", "nodea a::1\r\nnodeb b\r\n", []Group{
			{Node: "nodea", Key: "a::1", Line: 1, Resources: []Resource{{Name: "a", Args: []string{"1"}, Text: "a::1"}}},
			{Node: "nodeb", Key: "b", Line: 2, Resources: []Resource{{Name: "b", Text: "b"}}},
		}},
		{"empty file", "# nothing\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHaresources("haresources", strings.NewReader(tt.in), twoNodes)
			if err != nil {
				t.Fatalf("ParseHaresources: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHaresourcesErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nodec httpd", `haresources:1: bad node name "nodec": not a node declared in ha.cf`},
		{"\n\nnodea", `haresources:3: node nodea has no resources`},
		{"nodea ::x", `haresources:1: resource "::x" has no script name`},
		{"nodea a\nnodeb b\nnodeb \\\n a c", `haresources:3: duplicate group key "a" (first used at line 1); the first resource of each line must be unique`},
		{"nodea 10.0.0.1\nnodeb IPaddr::10.0.0.1", ""}, // different text, different key (as classic)
		{"nodex a\nnodea b\nnodea b", "haresources:1: bad node name \"nodex\": not a node declared in ha.cf\n" +
			`haresources:3: duplicate group key "b" (first used at line 2); the first resource of each line must be unique`},
	}
	for _, tt := range tests {
		_, err := ParseHaresources("haresources", strings.NewReader(tt.in), twoNodes)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("ParseHaresources(%q) error\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestIsIP(t *testing.T) {
	tests := map[string]bool{
		"10.0.0.1":          true,
		"10.0.0.1/24/eth0":  true,
		"1x.2y.3z.4":        true, // the glob is that loose
		"10.0.0":            false,
		"IPaddr::10.0.0.1":  false,
		"10.0.0.x":          false,
		"10..0.0.1":         true, // "[0-9]*" may swallow a dot
		"10.0.0.":           false,
		"":                  false,
		"a10.0.0.1":         false,
		"10.0.0.1::foo::ba": true,
	}
	for s, want := range tests {
		if got := isIP(s); got != want {
			t.Errorf("isIP(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestLoadHaresources(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haresources")
	if err := os.WriteFile(path, []byte("nodea 10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := LoadHaresources(path, twoNodes)
	if err != nil || len(g) != 1 || g[0].Key != "10.0.0.1" {
		t.Errorf("LoadHaresources = %+v, %v", g, err)
	}
	if _, err := LoadHaresources(path+".missing", twoNodes); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}
