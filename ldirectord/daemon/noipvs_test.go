// noipvs_test.go: a kernel without IPVS: start fails clearly and touches nothing; -t, status and stop still work.

package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/config"
)

const noIPVSMsg = `IPVS is not available in this kernel (load the ip_vs module: "modprobe ip_vs", or set backend = nftables or auto); nothing was changed`

func TestCLINoIPVS(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(c.run, "execute.out")
	exe := c.write(filepath.Join(c.other, "ldirectord"), "#!/bin/sh\necho \"$@\" >> "+out+"\n")
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := c.write(filepath.Join(c.etc, "ldirectord.cf"), "execute=web.cf\n"+goodCfg)
	pidFile := filepath.Join(c.run, "ldirectord.ldirectord.pid")
	checks := 0
	run := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := Main(args, Env{Stdout: &o, Stderr: &e, ConfDirs: []string{c.etc}, RunDir: c.run, Foreground: true,
			Exe: exe, StopTimeout: 5 * time.Second,
			Serve: func(inv Invocation) error { c.served = append(c.served, inv); return nil },
			CheckDataPlane: func(*config.Config) error {
				checks++
				return fmt.Errorf("listing IPVS services: %w", kernel.ErrNoIPVS)
			}})
		return code, o.String(), e.String()
	}
	want := "ldirectord: cannot start for " + cfg + ": " + noIPVSMsg + "\n"
	for _, args := range [][]string{{"start"}, {"-d", "start"}} {
		if code, stdout, stderr := run(args...); code != 1 || stdout != "" || stderr != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", args, code, stdout, stderr, want)
		}
	}
	if checks != 2 {
		t.Errorf("CheckDataPlane called %d times for two starts", checks)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("execute= ran although start failed (%v)", err)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file written although start failed (%v)", err)
	}

	// -t, status and stop do not need IPVS.
	checks = 0
	if code, stdout, _ := run("-t"); code != 0 || !strings.Contains(stdout, "configuration OK") {
		t.Errorf("-t: exit %d, stdout %q", code, stdout)
	}
	if code, stdout, _ := run("status"); code != 3 || stdout != "ldirectord is stopped for "+cfg+"\n" {
		t.Errorf("status: exit %d, stdout %q", code, stdout)
	}
	if code, _, stderr := run("stop"); code != 0 {
		t.Errorf("stop: exit %d, stderr %q", code, stderr)
	}
	if checks != 0 {
		t.Errorf("CheckDataPlane called %d times by -t, status and stop", checks)
	}

	// restart and try-restart check before stopping: a running daemon is
	// left running when its replacement could not start.
	s := sleeper(t)
	c.write(pidFile, strconv.Itoa(s.Process.Pid)+"\n")
	for _, action := range []string{"restart", "try-restart"} {
		if code, _, stderr := run(action); code != 1 || stderr != want {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", action, code, stderr, want)
		}
		if !alive(s.Process.Pid) {
			t.Fatalf("%s stopped the running daemon", action)
		}
	}
	if len(c.served) != 0 {
		t.Errorf("served %d times", len(c.served))
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("execute= ran although restart failed (%v)", err)
	}
}

// Serve itself refuses a data plane that cannot be read: it logs why and
// returns before writing its pid file or changing anything.
func TestServeNoIPVS(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "ldirectord.log")
	cf := filepath.Join(dir, "ldirectord.cf")
	if err := os.WriteFile(cf, []byte(strings.ReplaceAll(goodCfg, "LOG", logFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cf, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "ldirectord.pid")
	fake := &kernel.FakeIPVS{Errs: map[string]error{"services": kernel.ErrNoIPVS}}
	var o, e bytes.Buffer
	err = Serve(Invocation{ConfigPath: cf, CfgName: "ldirectord", PidFile: pidFile, Config: cfg, Action: "start"},
		ServeOptions{IPVS: fake, Stdout: &o, Stderr: &e})
	if !errors.Is(err, kernel.ErrNoIPVS) || err.Error() != noIPVSMsg {
		t.Errorf("Serve = %v, want %q wrapping ErrNoIPVS", err, noIPVSMsg)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file written (%v)", err)
	}
	if len(fake.Calls) != 0 {
		t.Errorf("IPVS changed: %q", fake.Calls)
	}
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), noIPVSMsg) {
		t.Errorf("log lacks the reason:\n%s", b)
	}
}

// On a kernel without IPVS (like the development machines'), the real
// check fails with ErrNoIPVS and start's message names the fix.
func TestCheckDataPlaneHost(t *testing.T) {
	cfg, err := config.Parse("x.cf", strings.NewReader("virtual=10.255.0.1:80\n    real=127.0.0.1:1 masq\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = CheckDataPlane(cfg)
	switch {
	case err == nil:
		t.Skip("this kernel has IPVS and lets us read it")
	case !errors.Is(err, kernel.ErrNoIPVS):
		t.Skipf("IPVS present but not readable here: %v", err)
	}
	if got := dataPlaneError(err).Error(); got != noIPVSMsg {
		t.Errorf("message %q, want %q", got, noIPVSMsg)
	}
}

// Other start-up failures keep their cause and say nothing was changed.
func TestDataPlaneErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("listing IPVS services: %w", kernel.ErrNoIPVS), noIPVSMsg},
		{fmt.Errorf("listing IPVS services: %w", syscall.EPERM),
			"listing IPVS services: operation not permitted: ldirectord needs root (CAP_NET_ADMIN); nothing was changed"},
		{errors.New("backend = auto: no"), "backend = auto: no; nothing was changed"},
	} {
		got := dataPlaneError(tc.err)
		if got.Error() != tc.want || !errors.Is(got, tc.err) {
			t.Errorf("dataPlaneError(%v) = %q, want %q wrapping the cause", tc.err, got, tc.want)
		}
	}
}
