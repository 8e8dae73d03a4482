package nftlb

// config_test.go: ldirectord -t refuses what the nftables backend cannot do.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigGateNeedsIPVS: with backend = nftables a gate real is a config
// error naming file:line; the same file with backend = ipvs is valid. (No
// namespace: -t only reads the file.)
func TestConfigGateNeedsIPVS(t *testing.T) {
	bin := ldirectord(t)
	cf := func(backend string) string {
		return "backend = " + backend + "\n" + // line 1
			"virtual = 10.81.1.100:80\n" + // line 2
			"\treal = 10.81.2.11:80 masq 1\n" + // line 3
			"\treal = 10.81.2.12:80 gate 1\n" + // line 4
			"\tchecktype = connect\n\tprotocol = tcp\n"
	}
	dir := t.TempDir()
	run := func(backend string) (string, int) {
		path := filepath.Join(dir, backend+".cf")
		if err := os.WriteFile(path, []byte(cf(backend)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-t", path).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}

	out, code := run("nftables")
	want := fmt.Sprintf("%s:4: real: gate forwarding needs IPVS", filepath.Join(dir, "nftables.cf"))
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("ldirectord -t with backend = nftables and a gate real: exit %d, output:\n%s\nwant exit 1 and %q", code, out, want)
	}
	if strings.Contains(out, ":3:") {
		t.Errorf("ldirectord -t blames the masq real on line 3:\n%s", out)
	}
	if out, code := run("ipvs"); code != 0 {
		t.Errorf("ldirectord -t with backend = ipvs and the same reals: exit %d, want 0:\n%s", code, out)
	}
}
