// builtin_test.go: classic ipfail paths mapped to the ipfail next to the daemon.

package respawn

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

// fakeInstall pretends the daemon runs as <dir>/heartbeatd, with an ipfail
// of mode perm next to it (none when perm is 0), until the test ends.
func fakeInstall(t *testing.T, perm os.FileMode, body string) string {
	t.Helper()
	dir := t.TempDir()
	if perm != 0 {
		if err := os.WriteFile(filepath.Join(dir, "ipfail"), []byte("#!/bin/sh\n"+body+"\n"), perm); err != nil {
			t.Fatal(err)
		}
	}
	old := executable
	executable = func() (string, error) { return filepath.Join(dir, "heartbeatd"), nil }
	t.Cleanup(func() { executable = old })
	return dir
}

func TestMapBuiltin(t *testing.T) {
	tests := []struct {
		name    string
		perm    os.FileMode
		r       config.Respawn
		want    config.Respawn // Path and Command with DIR for the install directory
		wantMap bool
	}{
		{"classic docs path", 0o755,
			config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Command: "/usr/lib/heartbeat/ipfail"},
			config.Respawn{User: "hacluster", Path: "DIR/ipfail", Command: "DIR/ipfail"}, true},
		{"Debian path with arguments", 0o755,
			config.Respawn{User: "hacluster", Path: "/usr/libexec/heartbeat/ipfail", Args: []string{"-d"}, Command: "/usr/libexec/heartbeat/ipfail -d"},
			config.Respawn{User: "hacluster", Path: "DIR/ipfail", Args: []string{"-d"}, Command: "DIR/ipfail -d"}, true},
		{"another program", 0o755,
			config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ccm", Command: "/usr/lib/heartbeat/ccm"},
			config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ccm", Command: "/usr/lib/heartbeat/ccm"}, false},
		{"no ipfail next to the daemon", 0,
			config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Command: "/usr/lib/heartbeat/ipfail"},
			config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Command: "/usr/lib/heartbeat/ipfail"}, false},
		{"ipfail next to the daemon not executable", 0o644,
			config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Command: "/usr/lib/heartbeat/ipfail"},
			config.Respawn{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Command: "/usr/lib/heartbeat/ipfail"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fakeInstall(t, tt.perm, "exit 100")
			got, ok := mapBuiltin(tt.r)
			want := tt.want
			if tt.wantMap {
				want.Path = filepath.Join(dir, "ipfail")
				want.Command = shellQuote(want.Path) + want.Command[len("DIR/ipfail"):]
			}
			if ok != tt.wantMap {
				t.Errorf("mapped = %v, want %v", ok, tt.wantMap)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("mapBuiltin (-want +got):\n%s", d)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"/usr/sbin/ipfail": "/usr/sbin/ipfail", "/opt/my dir/ipfail": "'/opt/my dir/ipfail'",
		"it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// A classic path that does not exist passes Check when ours exists, and the
// supervisor runs ours, logging the replacement once.
func TestBuiltinIpfailRuns(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ran")
	dir := fakeInstall(t, 0o755, `echo "$0 $*" > "`+out+`"; exit 100`)
	r := config.Respawn{User: currentUser(t), Path: "/usr/lib/heartbeat/ipfail", Args: []string{"-d"},
		Command: "/usr/lib/heartbeat/ipfail -d", Line: 7}
	if err := Check("ha.cf", []config.Respawn{r}); err != nil {
		t.Errorf("Check: %v", err)
	}
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	s, events := realSupervisor(t, Options{Log: log}, r)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, events, EventGaveUp)
	if d := cmp.Diff([]string{filepath.Join(dir, "ipfail") + " -d"}, lines(t, out)); d != "" {
		t.Errorf("child command line (-want +got):\n%s", d)
	}
	n := 0
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.InfoLevel && e.Data["classic"] == "/usr/lib/heartbeat/ipfail" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("mapping logged %d times, want once", n)
	}

	// Without our ipfail the classic path is checked as written.
	if _, err := os.Stat(r.Path); err == nil {
		return // a classic ipfail is installed here
	}
	fakeInstall(t, 0, "")
	if err := Check("ha.cf", []config.Respawn{r}); err == nil {
		t.Error("Check of a missing classic ipfail without ours: no error")
	}
}
