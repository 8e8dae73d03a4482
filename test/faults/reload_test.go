// reload_test.go: a reload with a broken ha.cf, haresources or authkeys
// keeps the running configuration, and says why where it is asked for.

package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/scrape"
)

// TestBrokenReload breaks each configuration file of nodea in turn and
// asks for a reload three ways: heartbeatd -r and the init script's
// reload must exit non-zero naming file:line and the fault, before any
// signal; SIGHUP itself must log the same and keep the old configuration:
// heartbeats go on, both addresses stay, the reload gauge drops to 0.
// Restoring the file makes the next reload succeed.
func TestBrokenReload(t *testing.T) {
	t.Parallel()
	hr := "nodea IPaddr2::" + opsVipA + "/24/hb0\nnodeb IPaddr2::" + opsVipB + "/24/hb0\n"
	p := startOps(t, hr, "metrics_listen 0.0.0.0:9708\n", opsNode{}, opsNode{})
	p.na.WaitRsc(t, "local", 8*time.Second)
	p.nb.WaitRsc(t, "local", 8*time.Second)
	const reloadOK = "hasuite_heartbeat_config_last_reload_successful"

	bin := hbnode.Build(t)
	defaults := filepath.Join(t.TempDir(), "default")
	if err := os.WriteFile(defaults, []byte("HEARTBEATD_OPTS=\"-confdir "+p.na.ConfDir()+
		" -pidfile "+filepath.Join(p.na.Dir, "heartbeatd.pid")+" -node nodea\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	initReload := func() (string, int) {
		cmd := exec.Command("/bin/sh", "../../etc/init.d/heartbeat", "reload")
		cmd.Env = append(os.Environ(), "HEARTBEATD="+filepath.Join(bin, "heartbeatd"),
			"HEARTBEAT_DEFAULTS="+defaults, "HEARTBEAT_NO_LSB=1")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}

	conf := p.na.ConfDir()
	cases := []struct {
		file   string
		broken func(good string) string
		want   string // file:line and what is wrong
	}{
		{"ha.cf", func(g string) string { return g + "keepalive banana\n" },
			":" + strconv.Itoa(strings.Count(readFile(t, filepath.Join(conf, "ha.cf")), "\n")+1) + `: keepalive: invalid time value: "banana"`},
		{"haresources", func(g string) string { return g + "nodez IPaddr2::10.78.0.103/24/hb0\n" },
			`:3: bad node name "nodez": not a node declared in ha.cf`},
		{"authkeys", func(string) string { return "auth 1\n1 sha1\n" },
			":2: entry 1: auth method sha1 requires a key"},
	}
	for _, c := range cases {
		path := filepath.Join(conf, c.file)
		want := path + c.want
		good := readFile(t, path)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(c.broken(good)), fi.Mode()); err != nil {
			t.Fatal(err)
		}
		off := logLen(t, p.na)

		if out, code := p.na.ReloadCommand(t); code == 0 || !strings.Contains(out, want) {
			t.Errorf("%s: heartbeatd -r exit %d, output %q; want non-zero and %q", c.file, code, out, want)
		}
		if out, code := initReload(); code != 6 || !strings.Contains(out, want) {
			t.Errorf("%s: init.d/heartbeat reload exit %d, output %q; want 6 and %q", c.file, code, out, want)
		}
		if strings.Contains(logSince(t, p.na, off), "reload") {
			t.Errorf("%s: the failed checks reached the daemon:\n%s", c.file, logSince(t, p.na, off))
		}
		p.na.Reload(t) // SIGHUP
		got := waitLog(t, p.na, off, "reload failed, keeping the running configuration", 3*time.Second)
		// The log quotes the error field (strconv.Quote).
		if q := strconv.Quote(want); !strings.Contains(got, q[1:len(q)-1]) {
			t.Errorf("%s: the daemon's reload error does not say %q:\n%s", c.file, want, got)
		}
		if m := scrape.Scrape(t, p.b, opsA+":9708"); m[reloadOK] != 0 {
			t.Errorf("%s: %s = %v after the failed reload, want 0", c.file, reloadOK, m[reloadOK])
		}
		p.stillTalking(t, c.file)
		if !holds(t, p.a, opsVipA) || !holds(t, p.b, opsVipB) || holds(t, p.a, opsVipB) || holds(t, p.b, opsVipA) {
			t.Errorf("%s: addresses moved: nodea %v, nodeb %v", c.file, p.a.IPv4Addrs(t), p.b.IPv4Addrs(t))
		}
		if ra, rb := p.na.RscStatus(), p.nb.RscStatus(); ra != "local" || rb != "local" {
			t.Errorf("%s: rscstatus %q, %q; want local, local", c.file, ra, rb)
		}

		if err := os.WriteFile(path, []byte(good), fi.Mode()); err != nil {
			t.Fatal(err)
		}
		off = logLen(t, p.na)
		if out, code := p.na.ReloadCommand(t); code != 0 {
			t.Fatalf("%s restored: heartbeatd -r exit %d: %s", c.file, code, out)
		}
		waitLog(t, p.na, off, "configuration reloaded", 3*time.Second)
		if m := scrape.Scrape(t, p.b, opsA+":9708"); m[reloadOK] != 1 {
			t.Errorf("%s restored: %s = %v, want 1", c.file, reloadOK, m[reloadOK])
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
