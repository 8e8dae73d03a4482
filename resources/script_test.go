// script_test.go: the script agent against real shell scripts in a temporary tree.

package resources

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/proc/proctest"
)

// testEnv returns an Env whose ConfDir and InitDir are fresh temporary
// directories (ConfDir/resource.d exists).
func testEnv(t *testing.T) Env {
	t.Helper()
	root := t.TempDir()
	env := Env{ConfDir: filepath.Join(root, "ha.d"), InitDir: filepath.Join(root, "init.d")}
	for _, d := range []string{filepath.Join(env.ConfDir, "resource.d"), env.InitDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// writeScript writes an executable shell script and returns its path.
func writeScript(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLocateScript(t *testing.T) {
	env := testEnv(t)
	rd := filepath.Join(env.ConfDir, "resource.d")
	writeScript(t, filepath.Join(rd, "both"), "")
	writeScript(t, filepath.Join(env.InitDir, "both"), "")
	writeScript(t, filepath.Join(env.InitDir, "initonly"), "")
	writeScript(t, filepath.Join(env.InitDir, "noexec"), "")
	if err := os.Chmod(filepath.Join(env.InitDir, "noexec"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not executable in resource.d: init.d's is used.
	if err := os.WriteFile(filepath.Join(rd, "shadowed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	writeScript(t, filepath.Join(env.InitDir, "shadowed"), "")
	if err := os.Mkdir(filepath.Join(rd, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(env.InitDir, "initonly"), filepath.Join(rd, "link")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		script, want, wantErr string
	}{
		{"both", filepath.Join(rd, "both"), ""},
		{"initonly", filepath.Join(env.InitDir, "initonly"), ""},
		{"shadowed", filepath.Join(env.InitDir, "shadowed"), ""},
		{"link", filepath.Join(rd, "link"), ""},
		{"noexec", "", "Cannot locate resource script noexec"},
		{"adir", "", "Cannot locate resource script adir"},
		{"missing", "", "Cannot locate resource script missing"},
	}
	for _, tt := range tests {
		got, err := LocateScript(tt.script, env)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
			var nf *NotFoundError
			if !errors.As(err, &nf) || nf.Script != tt.script {
				t.Errorf("%s: error %v is not a NotFoundError for it", tt.script, err)
			}
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("LocateScript(%q) = %q, %q; want %q, %q", tt.script, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

func TestScriptMissing(t *testing.T) {
	env := testEnv(t)
	s := NewScript("httpd::x", "httpd", []string{"x"}, env)
	const want = "resource httpd::x: Cannot locate resource script httpd"
	ctx := context.Background()
	_, runErr := s.Running(ctx)
	for op, err := range map[string]error{
		"Validate": s.Validate(), "Start": s.Start(ctx), "Stop": s.Stop(ctx), "Running": runErr,
	} {
		if err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", op, err, want)
		}
	}
	// Installing the script later is picked up: lookup happens on every call.
	writeScript(t, filepath.Join(env.InitDir, "httpd"), "exit 0\n")
	if err := s.Validate(); err != nil {
		t.Errorf("Validate after install: %v", err)
	}
}

func TestScriptArgsAndEnvironment(t *testing.T) {
	env := testEnv(t)
	out := filepath.Join(t.TempDir(), "out")
	writeScript(t, filepath.Join(env.ConfDir, "resource.d", "fs"),
		`printf '%s|' "$@" >> `+out+`
echo "HA_X=$HA_X LC_ALL=${LC_ALL-unset} LANGUAGE=${LANGUAGE-unset}" >> `+out+`
`)
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	t.Setenv("LANGUAGE", "fr")
	env.Vars = []string{"HA_X=1", "HA_X=2"}
	s := NewScript("fs::/dev/sda1::/data", "fs", []string{"/dev/sda1", "/data"}, env)
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "/dev/sda1|/data|start|HA_X=2 LC_ALL=unset LANGUAGE=unset\n" +
		"/dev/sda1|/data|stop|HA_X=2 LC_ALL=unset LANGUAGE=unset\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("script saw (-want +got):\n%s", diff)
	}
}

// A script without a "#!" line runs under /bin/sh, as from the classic shell.
func TestScriptWithoutInterpreterLine(t *testing.T) {
	env := testEnv(t)
	p := filepath.Join(env.InitDir, "old")
	if err := os.WriteFile(p, []byte("echo \"$1 $2 Running\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	up, err := NewScript("old::x", "old", []string{"x"}, env).Running(context.Background())
	if err != nil || !up {
		t.Errorf("Running = %t, %v; want true", up, err)
	}
}

func TestScriptStartFailure(t *testing.T) {
	env := testEnv(t)
	p := writeScript(t, filepath.Join(env.InitDir, "bad"), "echo first line >&2\necho 'no config' >&2\nexit 6\n")
	err := NewScript("bad::a", "bad", []string{"a"}, env).Start(context.Background())
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("Start error %v is not a RunError", err)
	}
	if re.Code != 6 || re.TimedOut {
		t.Errorf("RunError %+v, want code 6", re)
	}
	want := "resource bad::a: " + p + " a start: exit code 6: first line | no config"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestScriptRunning(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		body string
		want bool
	}{
		{"echo 'INFO: Running OK'\n", true},
		{"echo 'INFO: Resource is stopped'\n", false},
		{"echo 'httpd is running'; exit 3\n", true}, // exit code ignored
		{"echo 'httpd is not running'; exit 0\n", false},
		{"echo 'running' >&2\n", false}, // only stdout counts
		{"exit 0\n", false},
	}
	for i, tt := range tests {
		name := "s" + strconv.Itoa(i)
		writeScript(t, filepath.Join(env.InitDir, name), `[ "$1" = status ] || exit 9
`+tt.body)
		got, err := NewScript(name, name, nil, env).Running(context.Background())
		if err != nil || got != tt.want {
			t.Errorf("%q: Running = %t, %v; want %t", tt.body, got, err, tt.want)
		}
	}
}

func TestStatusOutputRunning(t *testing.T) {
	tests := []struct {
		out  string
		want bool
	}{
		{"", false},
		{"INFO: Running OK", true},
		{"INFO: Resource is stopped", false},
		{"OK", true},
		{"ok", false},
		{"running", true},
		{"RUNNING", false},
		{"is not running", false},
		{"NOT  Running", false},
		{"Not currently\nrunning", false},
		{"not\nrunning", true},    // "not" must be followed by a space
		{"nothing running", true}, // "not" must be followed by a space
		{"cannot run", false},
		{"not running\nbut OK", false},
	}
	for _, tt := range tests {
		if got := StatusOutputRunning([]byte(tt.out)); got != tt.want {
			t.Errorf("StatusOutputRunning(%q) = %t, want %t", tt.out, got, tt.want)
		}
	}
}

func TestScriptTimeoutKillsGroup(t *testing.T) {
	env := testEnv(t)
	env.ScriptTimeout = 300 * time.Millisecond
	pidFile := filepath.Join(t.TempDir(), "pid")
	writeScript(t, filepath.Join(env.InitDir, "hang"), "sleep 60 &\necho $! > "+pidFile+"\nsleep 60\n")
	s := NewScript("hang", "hang", nil, env)
	for _, op := range []string{"start", "status"} {
		t0 := time.Now()
		var err error
		if op == "start" {
			err = s.Start(context.Background())
		} else {
			_, err = s.Running(context.Background())
		}
		if el := time.Since(t0); el > 10*time.Second {
			t.Errorf("%s took %s", op, el)
		}
		var re *RunError
		if !errors.As(err, &re) || !re.TimedOut || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: error %v, want a timeout", op, err)
		}
		if !strings.Contains(err.Error(), "timed out after 300ms, process group killed") {
			t.Errorf("%s: error %q does not say it timed out", op, err)
		}
		proctest.WaitDead(t, proctest.ReadPid(t, pidFile))
	}
}

func TestScriptContextCancel(t *testing.T) {
	env := testEnv(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	writeScript(t, filepath.Join(env.InitDir, "hang"), "echo $$ > "+pidFile+".tmp\nmv "+pidFile+".tmp "+pidFile+"\nsleep 60\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- NewScript("hang", "hang", nil, env).Stop(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(pidFile); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop error %v, want context.Canceled", err)
	}
	proctest.WaitDead(t, proctest.ReadPid(t, pidFile))
}

// A daemon that keeps the script's stdout and stderr open must not hold
// Start up (classic init scripts often leak them).
func TestScriptDaemonKeepsOutputOpen(t *testing.T) {
	env := testEnv(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	writeScript(t, filepath.Join(env.InitDir, "daemon"), "sleep 30 &\necho $! > "+pidFile+"\necho started\n")
	t0 := time.Now()
	if err := NewScript("daemon", "daemon", nil, env).Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("Start took %s, waited for the daemon", el)
	}
	pid := proctest.ReadPid(t, pidFile)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("daemon %d not running after a successful start: %v", pid, err)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

func TestTail(t *testing.T) {
	long := strings.Repeat("x", 600) + "\nlast words\n"
	tests := []struct{ in, want string }{
		{"", ""},
		{"  one\n", "one"},
		{"a\n b \nc\n", "a | b | c"},
		{long, "last words"},
	}
	for _, tt := range tests {
		if got := tail([]byte(tt.in)); got != tt.want {
			t.Errorf("tail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
