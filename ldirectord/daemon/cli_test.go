package daemon

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
)

// TestMain lets the test binary be ldirectord itself (for start's detach).
func TestMain(m *testing.M) {
	if os.Getenv("LDD_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], Env{Serve: func(inv Invocation) error {
			return Serve(inv, ServeOptions{IPVS: &kernel.FakeIPVS{}})
		}}))
	}
	os.Exit(m.Run())
}

const goodCfg = "checkinterval=5\nlogfile=\"LOG\"\nvirtual=10.255.0.1:80\n    real=127.0.0.1:1 masq\n    checktype=off\n"

type cliEnv struct {
	t                     *testing.T
	etc, conf, run, other string
	served                []Invocation
}

func newCLI(t *testing.T) *cliEnv {
	d := t.TempDir()
	c := &cliEnv{t: t, etc: filepath.Join(d, "etc"), conf: filepath.Join(d, "etc/conf"), run: filepath.Join(d, "run"), other: filepath.Join(d, "other")}
	for _, p := range []string{c.conf, c.run, c.other} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *cliEnv) write(path, text string) string {
	c.t.Helper()
	text = strings.ReplaceAll(text, "LOG", filepath.Join(c.run, "ldirectord.log"))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return path
}

func (c *cliEnv) main(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, Env{Stdout: &o, Stderr: &e, ConfDirs: []string{c.etc, c.conf}, RunDir: c.run,
		Foreground: true, StopTimeout: 5 * time.Second,
		Serve: func(inv Invocation) error { c.served = append(c.served, inv); return nil }})
	return code, o.String(), e.String()
}

// sleeper starts a process whose command line contains "ldirectord" and
// returns its pid; it exits on SIGTERM.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	link := filepath.Join(t.TempDir(), "ldirectord")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Start returns once exec has begun, before the kernel has set up the
	// new program's arguments: until then /proc/PID/cmdline reads empty and
	// the process would not look like an ldirectord.
	cmdline := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if b, _ := os.ReadFile(cmdline); strings.Contains(string(b), "ldirectord") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed the sleeper's arguments", cmdline)
		}
	}
	return cmd
}

func TestCLIUsage(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{}, {"-x", "start"}, {"bogus"}, {"a", "b", "start"}, {"--nope", "status"}} {
		if code, _, stderr := c.main(args...); code != 255 || !strings.Contains(stderr, "Usage:") {
			t.Errorf("%q: exit %d, stderr %q; want 255 and usage", args, code, stderr)
		}
	}
	if code, stdout, _ := c.main("-v"); code != 0 || !strings.Contains(stdout, "Linux Director") {
		t.Errorf("-v: %d %q", code, stdout)
	}
}

func TestCLIConfigLookup(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		name, place string // place: etc, conf, other (given as a path), none
	}{
		{"a.cf", "etc"}, {"b.cf", "conf"}, {"c.cf", "other"}, {"d.cf", "none"},
	}
	for _, tt := range tests {
		arg := tt.name
		var want string
		switch tt.place {
		case "etc":
			want = c.write(filepath.Join(c.etc, tt.name), goodCfg)
		case "conf":
			want = c.write(filepath.Join(c.conf, tt.name), goodCfg)
		case "other":
			want = c.write(filepath.Join(c.other, tt.name), goodCfg)
			arg = want
		}
		c.served = nil
		code, _, stderr := c.main(arg, "start")
		if tt.place == "none" {
			if code != 1 || !strings.Contains(stderr, "Config file d.cf not found") {
				t.Errorf("%s: exit %d, %q", tt.name, code, stderr)
			}
			continue
		}
		if code != 0 || len(c.served) != 1 {
			t.Fatalf("%s: exit %d, served %v, stderr %q", tt.name, code, c.served, stderr)
		}
		inv := c.served[0]
		if inv.ConfigPath != want || inv.PidFile != filepath.Join(c.run, "ldirectord."+tt.name+".pid") || inv.CfgName != tt.name {
			t.Errorf("%s: %+v", tt.name, inv)
		}
	}
	// No config argument: ldirectord.cf, pid file ldirectord.ldirectord.pid.
	c.write(filepath.Join(c.etc, "ldirectord.cf"), goodCfg)
	c.served = nil
	if code, _, _ := c.main("start"); code != 0 || c.served[0].PidFile != filepath.Join(c.run, "ldirectord.ldirectord.pid") {
		t.Errorf("default config: %d %+v", code, c.served)
	}
	// -d: no pid file.
	c.served = nil
	if code, _, _ := c.main("-d", "start"); code != 0 || c.served[0].PidFile != "" || !c.served[0].Debug {
		t.Errorf("-d: %d %+v", code, c.served)
	}
}

func TestCLITest(t *testing.T) {
	c := newCLI(t)
	c.write(filepath.Join(c.etc, "good.cf"), goodCfg)
	bad := c.write(filepath.Join(c.etc, "bad.cf"), "checkinterval=5\nbogus=1\nvirtual=10.255.0.1:80\n    real=127.0.0.1:1 route\n")
	if code, stdout, _ := c.main("-t", "good.cf"); code != 0 || !strings.Contains(stdout, "configuration OK") {
		t.Errorf("-t good: %d %q", code, stdout)
	}
	code, _, stderr := c.main("-t", "bad.cf", "start")
	if code != 1 || !strings.Contains(stderr, bad+":2: ") || !strings.Contains(stderr, bad+":4: ") {
		t.Errorf("-t bad: exit %d, stderr %q", code, stderr)
	}
	if len(c.served) != 0 {
		t.Errorf("-t started a daemon")
	}
}

func TestCLIStatusStopWithBrokenConfig(t *testing.T) {
	c := newCLI(t)
	cfg := c.write(filepath.Join(c.etc, "x.cf"), "bogus=1\n")
	pidFile := filepath.Join(c.run, "ldirectord.x.cf.pid")

	if code, stdout, _ := c.main("x.cf", "status"); code != 3 || stdout != "ldirectord is stopped for "+cfg+"\n" {
		t.Errorf("status stopped: %d %q", code, stdout)
	}
	s := sleeper(t)
	c.write(pidFile, strconv.Itoa(s.Process.Pid)+"\n")
	code, _, stderr := c.main("x.cf", "status")
	if want := "ldirectord for " + cfg + " is running with pid: " + strconv.Itoa(s.Process.Pid) + "\n"; code != 0 || stderr != want {
		t.Errorf("status running: %d %q, want %q", code, stderr, want)
	}
	// start, reload and restart refuse a broken config with exit 2 and
	// leave the running daemon's pid file alone.
	for _, action := range []string{"start", "reload", "restart"} {
		if code, _, stderr := c.main("x.cf", action); code != 2 || !strings.Contains(stderr, cfg+":1: ") {
			t.Errorf("%s with a broken config: %d %q", action, code, stderr)
		}
	}
	if _, err := os.Stat(pidFile); err != nil {
		t.Errorf("pid file gone: %v", err)
	}
	// stop works from the pid file alone and waits for the exit.
	if code, _, stderr := c.main("x.cf", "stop"); code != 0 {
		t.Errorf("stop: %d %q", code, stderr)
	}
	if err := s.Wait(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("sleeper: %v, want terminated", err)
	}
	// Its pid file now names a dead process: stale.
	if code, stdout, _ := c.main("x.cf", "status"); code != 1 || !strings.Contains(stdout, "stale pid file") {
		t.Errorf("stale: %d %q", code, stdout)
	}
	if code, _, _ := c.main("x.cf", "stop"); code != 0 {
		t.Errorf("stop when stopped: %d", code)
	}
}

func TestCLIReloadNotRunning(t *testing.T) {
	c := newCLI(t)
	cfg := c.write(filepath.Join(c.etc, "ldirectord.cf"), goodCfg)
	if code, _, stderr := c.main("reload"); code != 1 || stderr != "ldirectord is stopped for "+cfg+"\n" {
		t.Errorf("reload: %d %q", code, stderr)
	}
	if code, _, _ := c.main("try-restart"); code != 0 || len(c.served) != 0 {
		t.Errorf("try-restart when stopped: %d, served %v", code, c.served)
	}
}

// TestCLIDetach runs start, status, reload and stop against a detached
// daemon (this test binary as ldirectord, over a FakeIPVS).
func TestCLIDetach(t *testing.T) {
	c := newCLI(t)
	cfg := c.write(filepath.Join(c.etc, "ldirectord.cf"), goodCfg)
	t.Setenv("LDD_TEST_MAIN", "1")
	run := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := Main(args, Env{Stdout: &o, Stderr: &e, ConfDirs: []string{c.etc}, RunDir: c.run, StopTimeout: 10 * time.Second})
		return code, o.String(), e.String()
	}
	if code, _, stderr := run("start"); code != 0 {
		t.Fatalf("start: %d %q", code, stderr)
	}
	pidFile := filepath.Join(c.run, "ldirectord.ldirectord.pid")
	pid, ok := runningPid(pidFile)
	if !ok {
		t.Fatalf("no daemon after start (pid file %s)", pidFile)
	}
	killAtEnd(t, pid)
	if code, _, stderr := run("status"); code != 0 || !strings.Contains(stderr, "ldirectord for "+cfg+" is running with pid: "+strconv.Itoa(pid)) {
		t.Errorf("status: %d %q", code, stderr)
	}
	if code, _, _ := run("start"); code != 0 {
		t.Errorf("second start: %d", code)
	}
	if code, _, stderr := run("reload"); code != 0 {
		t.Errorf("reload: %d %q", code, stderr)
	}
	logFile := filepath.Join(c.run, "ldirectord.log")
	waitFor(t, func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "Reloading Linux Director Daemon config on signal")
	})
	if code, _, stderr := run("restart"); code != 0 {
		t.Fatalf("restart: %d %q", code, stderr)
	}
	if alive(pid) {
		t.Errorf("restart left the old daemon %d running", pid)
	}
	old := pid
	if pid, ok = runningPid(pidFile); !ok || pid == old {
		t.Fatalf("restart: pid %d (%v), old %d", pid, ok, old)
	}
	killAtEnd(t, pid)
	if code, _, stderr := run("stop"); code != 0 {
		t.Errorf("stop: %d %q", code, stderr)
	}
	if alive(pid) {
		t.Errorf("daemon %d still running after stop", pid)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
	b, _ := os.ReadFile(logFile)
	for _, w := range []string{"|ldirectord|" + strconv.Itoa(old) + "] Starting Linux Director", "|ldirectord|" + strconv.Itoa(pid) + "] Starting Linux Director", "Linux Director Daemon terminated on signal: TERM"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("log lacks %q:\n%s", w, b)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

func TestCLIExecute(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(c.run, "execute.out")
	exe := c.write(filepath.Join(c.other, "ldirectord"), "#!/bin/sh\necho \"$@\" >> "+out+"\n")
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	c.write(filepath.Join(c.etc, "ldirectord.cf"), "execute=web.cf\nexecute=mail.cf\n"+goodCfg)
	var o, e bytes.Buffer
	code := Main([]string{"start"}, Env{Stdout: &o, Stderr: &e, ConfDirs: []string{c.etc}, RunDir: c.run, Foreground: true, Exe: exe,
		Serve: func(inv Invocation) error { return nil }})
	if code != 0 {
		t.Fatalf("start: %d %q", code, e.String())
	}
	b, _ := os.ReadFile(out)
	if got, want := string(b), "web.cf start\nmail.cf start\n"; got != want {
		t.Errorf("execute ran %q, want %q", got, want)
	}
}

// killAtEnd kills the daemon pid at the end of the test if it still runs
// as ldirectord.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() {
		if _, ok := runningPidOf(pid); ok {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func runningPidOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return pid, err == nil && alive(pid) && strings.Contains(string(b), "ldirectord")
}
