// Package etc tests the files under etc/: the systemd units
// (systemd-analyze verify), the init scripts (shellcheck, and run for real
// in a network namespace), the logrotate files and the sample
// ldirectord.cf.
package etc

// etc_test.go: the tests and their helpers.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/gobuild"
	"github.com/hasuite/hasuite/test/netns"
)

// etcDir is the repository's etc/ from this package.
const etcDir = "../../etc"

var bins gobuild.Once

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// build returns the directory holding the built daemons and tools.
func build(t *testing.T) string {
	t.Helper()
	return bins.Build(t, "github.com/hasuite/hasuite/heartbeatd", "github.com/hasuite/hasuite/ldirectord",
		"github.com/hasuite/hasuite/heartbeatd/cmd/hb_standby")
}

// need returns the path of tool, or skips (fails under
// HASUITE_REQUIRE_ROOT_SUITES=1) when it is not installed.
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		netns.Skip(t, fmt.Sprintf("%s is not installed (apt-get install %s; test/deps.sh does)", tool, pkg))
	}
	return p
}

// TestUnitsVerify runs systemd-analyze verify on each unit, with /usr/sbin
// rewritten to the freshly built binaries (verify checks that every Exec
// command exists). Any message about the unit counts as a failure: verify
// reports bad directives as warnings with exit status 0.
func TestUnitsVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	bin := build(t)
	dir := t.TempDir()
	for _, unit := range []string{"heartbeatd.service", "ldirectord.service"} {
		t.Run(unit, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(etcDir, "systemd", unit))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(text, []byte("ExecStart=/usr/sbin/")) {
				t.Fatalf("%s: no ExecStart=/usr/sbin/...", unit)
			}
			path := filepath.Join(dir, unit)
			if err := os.WriteFile(path, bytes.ReplaceAll(text, []byte("/usr/sbin/"), []byte(bin+"/")), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
			// Units it loads as dependencies (say a classic package's
			// installed next to ours) may draw messages of their own.
			var ours []string
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(line, path) || strings.HasPrefix(line, unit+":") {
					ours = append(ours, line)
				}
			}
			if err != nil || len(ours) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
			}
		})
	}
}

// TestInitScriptsShellcheck: POSIX sh, no shellcheck finding at any level.
func TestInitScriptsShellcheck(t *testing.T) {
	sc := need(t, "shellcheck", "shellcheck")
	for _, script := range []string{"heartbeat", "ldirectord"} {
		out, err := exec.Command(sc, "--shell=sh", "--severity=style", filepath.Join(etcDir, "init.d", script)).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", script, err, out)
		}
	}
}

// TestLogrotate rotates each logrotate file's logs for real, with /var/log
// rewritten to a temporary directory.
func TestLogrotate(t *testing.T) {
	lr := need(t, "logrotate", "logrotate")
	if os.Geteuid() != 0 {
		netns.Skip(t, "needs root: logrotate's create owner root:adm")
	}
	for file, logs := range map[string][]string{
		"heartbeat":  {"ha-log", "ha-debug"},
		"ldirectord": {"ldirectord.log"},
	} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			text, err := os.ReadFile(filepath.Join(etcDir, "logrotate.d", file))
			if err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(dir, "logrotate.conf")
			if err := os.WriteFile(conf, bytes.ReplaceAll(text, []byte("/var/log/"), []byte(dir+"/")), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, l := range logs {
				if err := os.WriteFile(filepath.Join(dir, l), []byte("a line\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := exec.Command(lr, "--force", "--state", filepath.Join(dir, "state"), conf).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Fatalf("logrotate %s: %v\n%s", file, err, out)
			}
			for _, l := range logs {
				// delaycompress: the first rotation is l.1, uncompressed;
				// create: a new, empty l.
				if b, err := os.ReadFile(filepath.Join(dir, l+".1")); err != nil || string(b) != "a line\n" {
					t.Errorf("%s.1 after rotation: %q, %v", l, b, err)
				}
				if fi, err := os.Stat(filepath.Join(dir, l)); err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o640 {
					t.Errorf("%s after rotation: %v, %v (want empty, 0640)", l, fi, err)
				}
			}
		})
	}
}

// TestSampleLdirectordCf: the sample passes ldirectord -t, and so does it
// with its commented examples enabled.
func TestSampleLdirectordCf(t *testing.T) {
	ld := filepath.Join(build(t), "ldirectord")
	sample, err := filepath.Abs(filepath.Join(etcDir, "ha.d", "ldirectord.cf"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(path string, virtuals int) {
		t.Helper()
		out, err := exec.Command(ld, "-t", path).CombinedOutput()
		want := fmt.Sprintf("%s: configuration OK (%d virtual services)\n", path, virtuals)
		if err != nil || string(out) != want {
			t.Errorf("ldirectord -t %s: %v\n%s\nwant %q", path, err, out, want)
		}
	}
	check(sample, 1)

	text, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	head, examples, ok := strings.Cut(string(text), "# --- Further examples")
	if !ok {
		t.Fatal("sample has no Further examples section")
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(examples, "\n") {
		if strings.HasPrefix(line, "#virtual") || strings.HasPrefix(line, "#\t") {
			line = line[1:]
		}
		b.WriteString(line)
	}
	all := filepath.Join(t.TempDir(), "all.cf")
	if err := os.WriteFile(all, []byte(head+"#"+b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	check(all, 4)
}

// script runs an init script action in host h and returns its output and
// exit status.
func script(t *testing.T, h *netns.Host, env []string, name, action string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	path, err := filepath.Abs(filepath.Join(etcDir, "init.d", name))
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.Command(ctx, "/bin/sh", path, action)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("init.d/%s %s: %v", name, action, err)
	}
	t.Logf("init.d/%s %s: exit %d: %s", name, action, code, strings.TrimSpace(string(out)))
	return string(out), code
}
