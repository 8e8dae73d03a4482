// Tests that the sample files in etc/ha.d parse and validate cleanly.
package config

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sampleDir = "../../etc/ha.d"

func TestSampleTree(t *testing.T) {
	c, err := LoadHACF(filepath.Join(sampleDir, "ha.cf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"lb1", "lb2"} {
		if err := c.Validate(node); err != nil {
			t.Errorf("Validate(%s): %v", node, err)
		}
	}
	if len(c.Warnings) != 0 {
		t.Errorf("sample ha.cf warnings: %q", c.Warnings)
	}
	var media []string
	for _, m := range c.Media {
		media = append(media, m.Kind+" "+m.Iface+" "+m.Addr)
	}
	if diff := cmp.Diff([]string{"bcast eth1 ", "ucast eth0 192.168.0.11", "ucast eth0 192.168.0.12"}, media); diff != "" {
		t.Errorf("sample media (-want +got):\n%s", diff)
	}

	groups, err := LoadHaresources(filepath.Join(sampleDir, "haresources"), c.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{{Node: "lb1", Key: "IPaddr2::192.168.0.100/24/eth0", Line: 18, Resources: []Resource{
		{Name: "IPaddr2", Args: []string{"192.168.0.100/24/eth0"}, Text: "IPaddr2::192.168.0.100/24/eth0"},
		{Name: "ldirectord", Args: []string{"ldirectord.cf"}, Text: "ldirectord::ldirectord.cf"},
	}}}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Errorf("sample haresources (-want +got):\n%s", diff)
	}

	// The checked-in mode is not kept by git, so load a private copy.
	keys, err := LoadAuthKeys(private(t, filepath.Join(sampleDir, "authkeys")))
	if err != nil {
		t.Fatal(err)
	}
	if e := keys.Entries[keys.Active]; keys.Active != 1 || e.Method != "sha1" || e.Key == "" {
		t.Errorf("sample authkeys: active %d entry %+v", keys.Active, e)
	}
}
