// nway_test.go: the memberlist path's configuration from the files: the
// manager's settings, the start-up checks and the memberlist key.

package daemon

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/gossip"
	"github.com/hasuite/hasuite/heartbeatd/nway"
)

// writeConf writes a memberlist ha.cf (plus extra), authkeys and
// haresources into a temporary confdir.
func writeConf(t *testing.T, extra, haresources string) string {
	t.Helper()
	dir := t.TempDir()
	hacf := "membership memberlist\nmemberlist_bind 10.0.0.1\nmemberlist_seeds 10.0.0.2\nnode nodea nodeb nodec\n" + extra
	for name, content := range map[string]string{"ha.cf": hacf, "authkeys": "auth 2\n1 md5 old\n2 sha1 new\n", "haresources": haresources} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestNwayConfig(t *testing.T) {
	dir := writeConf(t, "auto_failback off\nquorum on\nmemberlist_gossip_interval 30ms\n",
		"nodea IPaddr2::10.0.0.10\nnodec IPaddr2::10.0.0.11\n")
	f, err := Load(dir, "nodeb")
	if err != nil {
		t.Fatal(err)
	}
	c := nwayConfig("nodeb", f)
	if c.Node != "nodeb" || strings.Join(c.Nodes, " ") != "nodea nodeb nodec" || len(c.Groups) != 2 ||
		c.AutoFailback != "off" || c.Quorum != "on" || c.StartSettle != 120*time.Millisecond {
		t.Errorf("nwayConfig = %+v", c)
	}
	// The defaults: legacy and auto, 4 × 50 ms.
	f, err = Load(writeConf(t, "", ""), "nodea")
	if err != nil {
		t.Fatal(err)
	}
	if c := nwayConfig("nodea", f); c.AutoFailback != "legacy" || c.Quorum != "auto" || c.StartSettle != 200*time.Millisecond {
		t.Errorf("defaults: nwayConfig = %+v", c)
	}
	// The key comes from the active entry (auth 2).
	if k := memberlistKey(f.Keys); !bytes.Equal(k, gossip.DeriveKey("sha1", "new")) || bytes.Equal(k, gossip.DeriveKey("md5", "old")) {
		t.Error("memberlist key not derived from the active authkeys entry")
	}
}

// TestLoadChecksNwayGroups: more groups than the node meta can carry is a
// start-up error naming ha.cf.
func TestLoadChecksNwayGroups(t *testing.T) {
	var hr strings.Builder
	for i := 0; i <= nway.MaxGroups; i++ {
		fmt.Fprintf(&hr, "nodea IPaddr2::10.1.%d.%d\n", i/250, i%250+1)
	}
	_, err := Load(writeConf(t, "", hr.String()), "nodea")
	if err == nil || !strings.Contains(err.Error(), "ha.cf") || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Load with %d groups: %v, want the nway limit", nway.MaxGroups+1, err)
	}
	if _, err := Load(writeConf(t, "", ""), "nodea"); err != nil {
		t.Errorf("Load without groups: %v", err)
	}
}
