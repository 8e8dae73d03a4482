// initd_test.go: the init scripts run for real in a network namespace, with
// the daemons' paths moved to a temporary directory by environment.

package etc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/netns"
)

// killPidFile kills what pid file names, if anything: cleanup after a
// failed stop.
func killPidFile(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &pid); err == nil && pid > 1 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestLdirectordInitScript: start, status, reload, restart, stop of
// etc/init.d/ldirectord with backend = nftables, the config found by the
// default name (ldirectord.cf) and the pid file the unit uses too.
func TestLdirectordInitScript(t *testing.T) {
	lab := netns.NewLab(t)
	need(t, "nft", "nftables")
	bin := build(t)
	dir := t.TempDir()
	h := lab.AddHost("d", "10.79.0.1/24")
	cfg := "backend = nftables\ncheckinterval = 1\ncleanstop = yes\nlogfile = \"" + dir + "/ldirectord.log\"\n" +
		"virtual = 10.79.0.100:80\n\treal = 10.79.0.2:80 masq\n\tservice = none\n\tchecktype = on\n\tscheduler = rr\n\tprotocol = tcp\n"
	if err := os.WriteFile(filepath.Join(dir, "ldirectord.cf"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "ldirectord.ldirectord.pid")
	t.Cleanup(func() { killPidFile(pidFile) })
	env := []string{"LDIRECTORD=" + bin + "/ldirectord", "LDIRECTORD_DEFAULTS=" + dir + "/none",
		"LDIRECTORD_NO_LSB=1", "HASUITE_LDIRECTORD_CONFDIRS=" + dir, "HASUITE_LDIRECTORD_RUNDIR=" + dir}
	table := func() string {
		out, _ := h.Command(t.Context(), "nft", "list", "table", "inet", kernel.NFTTable).CombinedOutput()
		return string(out)
	}
	pid := func() string {
		b, _ := os.ReadFile(pidFile)
		return strings.TrimSpace(string(b))
	}

	if _, code := script(t, h, env, "ldirectord", "status"); code != 3 {
		t.Errorf("status before start: exit %d, want 3 (LSB: not running)", code)
	}
	if out, code := script(t, h, env, "ldirectord", "start"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	first := pid()
	if first == "" {
		t.Fatalf("start: no pid file %s", pidFile)
	}
	waitFor(t, "the VIP in the nftables table", func() bool { return strings.Contains(table(), "10.79.0.100") })
	if out, code := script(t, h, env, "ldirectord", "status"); code != 0 || !strings.Contains(out, "running with pid: "+first) {
		t.Errorf("status: exit %d: %q, want 0 and pid %s", code, out, first)
	}
	if out, code := script(t, h, env, "ldirectord", "reload"); code != 0 || pid() != first {
		t.Errorf("reload: exit %d: %s; pid %s, want %s kept", code, out, pid(), first)
	}
	waitFor(t, "the reload in the log", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "ldirectord.log"))
		return strings.Contains(string(b), "Reloading Linux Director Daemon config on signal")
	})
	if out, code := script(t, h, env, "ldirectord", "restart"); code != 0 || pid() == first || pid() == "" {
		t.Errorf("restart: exit %d: %s; pid %q, want a new one (was %s)", code, out, pid(), first)
	}
	// stop returns only after the daemon has exited, cleanstop applied.
	if out, code := script(t, h, env, "ldirectord", "stop"); code != 0 {
		t.Errorf("stop: exit %d: %s", code, out)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file after stop: %v, want removed", err)
	}
	if tb := table(); strings.Contains(tb, "10.79.0.100") {
		t.Errorf("cleanstop = yes left the VIP when stop returned:\n%s", tb)
	}
	if _, code := script(t, h, env, "ldirectord", "status"); code != 3 {
		t.Errorf("status after stop: exit %d, want 3", code)
	}
	if _, code := script(t, h, env, "ldirectord", "bogus"); code != 2 {
		t.Errorf("unknown action: exit %d, want 2", code)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestHeartbeatInitScript: start, status, standby, reload, stop of
// etc/init.d/heartbeat with one node of a pair (the peer never comes, so
// it takes its group after initdead), paths moved by HEARTBEATD_OPTS from
// the defaults file as an operator would.
func TestHeartbeatInitScript(t *testing.T) {
	lab := netns.NewLab(t)
	bin := build(t)
	dir := t.TempDir()
	h := lab.AddHost("a", "10.79.1.1/24")
	for _, sub := range []string{"resource.d", "state", "run"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"ha.cf": "logfile " + dir + "/ha-log\nkeepalive 200ms\ndeadtime 2\nwarntime 1\ninitdead 2\n" +
			"udpport 7694\nbcast hb0\nauto_failback on\nnode lb1 lb2\n",
		"authkeys":    "auth 1\n1 sha1 secret\n",
		"haresources": "lb1 dummy\n",
		// The resource's stop is slow: stop must wait for it.
		"resource.d/dummy": "#!/bin/sh\necho \"$1\" >> " + dir + "/dummy.log\ncase \"$1\" in\n" +
			"start) touch " + dir + "/dummy.on ;;\nstop) sleep 1; rm -f " + dir + "/dummy.on ;;\n" +
			"status) if [ -e " + dir + "/dummy.on ]; then echo running; else echo stopped; fi ;;\nesac\n",
		"default": "HEARTBEATD_OPTS=\"-confdir " + dir + " -statedir " + dir + "/state -rundir " + dir +
			"/run -pidfile " + dir + "/heartbeat.pid -node lb1\"\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "resource.d/dummy"), 0o755); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "heartbeat.pid")
	t.Cleanup(func() { killPidFile(pidFile) })
	env := []string{"HEARTBEATD=" + bin + "/heartbeatd", "HB_STANDBY=" + bin + "/hb_standby",
		"HEARTBEAT_DEFAULTS=" + dir + "/default", "HEARTBEAT_NO_LSB=1", "HA_API_SOCKET=" + dir + "/run/register"}
	haLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "ha-log"))
		return string(b)
	}
	on := func() bool {
		_, err := os.Stat(filepath.Join(dir, "dummy.on"))
		return err == nil
	}

	if out, code := script(t, h, env, "heartbeat", "status"); code != 3 || !strings.Contains(out, "heartbeat is stopped. No process") {
		t.Errorf("status before start: exit %d: %q, want 3", code, out)
	}
	if out, code := script(t, h, env, "heartbeat", "start"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	if out, code := script(t, h, env, "heartbeat", "status"); code != 0 || !strings.Contains(out, "heartbeat OK [pid ") {
		t.Errorf("status: exit %d: %q, want 0 and heartbeat OK", code, out)
	}
	waitFor(t, "the group acquired after initdead", on)
	// standby reaches the daemon through hb_standby (with the peer dead it
	// is refused there, as in heartbeat 3).
	if out, code := script(t, h, env, "heartbeat", "standby"); code != 0 {
		t.Errorf("standby: exit %d: %s", code, out)
	}
	waitFor(t, "the standby request in ha-log", func() bool { return strings.Contains(haLog(), "standby message [me] from lb1") })
	if out, code := script(t, h, env, "heartbeat", "reload"); code != 0 {
		t.Errorf("reload: exit %d: %s", code, out)
	}
	waitFor(t, "the reload in ha-log", func() bool { return strings.Contains(haLog(), "configuration reloaded") })
	if out, code := script(t, h, env, "heartbeat", "stop"); code != 0 {
		t.Errorf("stop: exit %d: %s", code, out)
	}
	if on() {
		t.Error("stop returned before the group was released")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file after stop: %v, want removed", err)
	}
	if _, code := script(t, h, env, "heartbeat", "status"); code != 3 {
		t.Errorf("status after stop: exit %d, want 3", code)
	}
	// A broken configuration: start refuses with 6 (not configured).
	if err := os.WriteFile(filepath.Join(dir, "ha.cf"), []byte("bogus_directive 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := script(t, h, env, "heartbeat", "start"); code != 6 {
		t.Errorf("start with a broken ha.cf: exit %d: %s, want 6", code, out)
	}
}

// TestLdirectordUnitExecStart runs ldirectord as ldirectord.service does
// (HASUITE_LDIRECTORD_FOREGROUND=1 ... start, NOTIFY_SOCKET set): the
// process that was started is the daemon and says READY=1 once the VIP is
// in the table; SIGTERM (systemd's stop) gives STOPPING=1, and the process
// exits 0 only after cleanstop.
func TestLdirectordUnitExecStart(t *testing.T) {
	lab := netns.NewLab(t)
	need(t, "nft", "nftables")
	bin := build(t)
	dir := t.TempDir()
	h := lab.AddHost("d", "10.79.2.1/24")
	cfg := "backend = nftables\ncheckinterval = 1\ncleanstop = yes\nlogfile = \"" + dir + "/ldirectord.log\"\n" +
		"virtual = 10.79.2.100:80\n\treal = 10.79.2.2:80 masq\n\tservice = none\n\tchecktype = on\n\tscheduler = rr\n\tprotocol = tcp\n"
	if err := os.WriteFile(filepath.Join(dir, "ldirectord.cf"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if m := string(buf[:n]); m != "WATCHDOG=1" {
				msgs <- m
			}
		}
	}()
	next := func(want string) {
		t.Helper()
		select {
		case m := <-msgs:
			if m != want {
				t.Fatalf("sd_notify %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10s", want)
		}
	}
	table := func() string {
		out, _ := h.Command(t.Context(), "nft", "list", "table", "inet", kernel.NFTTable).CombinedOutput()
		return string(out)
	}

	cmd := h.Command(t.Context(), bin+"/ldirectord", "start")
	cmd.Env = append(os.Environ(), "HASUITE_LDIRECTORD_FOREGROUND=1", "NOTIFY_SOCKET="+sock,
		"HASUITE_LDIRECTORD_CONFDIRS="+dir, "HASUITE_LDIRECTORD_RUNDIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	next("READY=1")
	if tb := table(); !strings.Contains(tb, "10.79.2.100") {
		t.Errorf("READY=1 before the VIP was in the table:\n%s", tb)
	}
	// The pid file the init script uses names this very process (ip netns
	// exec execs the command in place).
	b, _ := os.ReadFile(filepath.Join(dir, "ldirectord.ldirectord.pid"))
	if strings.TrimSpace(string(b)) != fmt.Sprint(cmd.Process.Pid) {
		t.Errorf("pid file %q, want the started process %d", b, cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("STOPPING=1")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ldirectord exited with %v after SIGTERM:\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ldirectord did not exit within 30s of SIGTERM")
	}
	if tb := table(); strings.Contains(tb, "10.79.2.100") {
		t.Errorf("cleanstop = yes left the VIP after exit:\n%s", tb)
	}
}
