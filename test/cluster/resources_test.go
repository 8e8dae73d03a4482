// resources_test.go: hasuite's additions to R1 on a real pair (resource
// monitoring, haresources reload) and the classic plumbing around it
// (respawn children, the FIFO the classic scripts write to).

package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

func TestResourceMonitorMovesGroup(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	l := newRLab(t, rlabOpts{failback: "off", hacf: "resource_monitor 200ms\n"})
	l.settle(t)
	// The VIP vanishes behind heartbeatd's back.
	l.a.Run(t, "ip", "addr", "del", vipA+"/24", "dev", "hb0")
	took := l.waitHolders(t, map[string]string{vipA: "b", vipB: "b"}, 3*time.Second)
	t.Logf("group moved %v after the VIP vanished (monitor interval 200ms)", took)
	l.checkEnd(t, map[string]string{vipA: "b", vipB: "b"}, "none", "all")
	waitLogWithin(t, l.na, "failed its status check", time.Second)
	l.pa.WaitServedBy(t, "b", 2*time.Second)
}

func TestHaresourcesReload(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	l := newRLab(t, rlabOpts{failback: "off"})
	l.settle(t)
	const vipC = "10.77.0.150"
	// nodea gets a second group, nodeb's group goes away.
	hr := "nodea IPaddr2::" + vipA + "/24/hb0\nnodea IPaddr2::" + vipC + "/24/hb0\n"
	for _, n := range []string{l.na.ConfDir(), l.nb.ConfDir()} {
		if err := os.WriteFile(filepath.Join(n, "haresources"), []byte(hr), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pids := []int{l.na.Pid(), l.nb.Pid()}
	reloaded := time.Now()
	l.na.Reload(t)
	l.nb.Reload(t)
	deadline := time.Now().Add(3 * time.Second)
	for {
		a, b := l.a.IPv4Addrs(t), l.b.IPv4Addrs(t)
		if strings.Contains(strings.Join(a, " "), vipC) && !strings.Contains(strings.Join(b, " "), vipB) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reload: a has %v, b has %v", a, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The unchanged group was not touched: vipA answered throughout.
	time.Sleep(200 * time.Millisecond)
	if gap, before, after := l.pa.Outage(reloaded); gap > 100*time.Millisecond || before != "a" || after != "a" {
		t.Errorf("vipA outage %v (%s -> %s) during the reload, want none", gap, before, after)
	}
	if strings.Contains(l.na.Log(), "Releasing resource group: nodea IPaddr2::"+vipA) {
		t.Error("the unchanged group was released")
	}
	waitLogWithin(t, l.na, "haresources reloaded: 1 added, 1 removed, 0 changed", time.Second)
	if got := []int{l.na.Pid(), l.nb.Pid()}; got[0] != pids[0] || got[1] != pids[1] {
		t.Errorf("pids changed %v -> %v", pids, got)
	}

	// A broken haresources is refused and the running one stays.
	if err := os.WriteFile(filepath.Join(l.na.ConfDir(), "haresources"), []byte("nodez IPaddr2::10.77.0.160\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l.na.Reload(t)
	waitLogWithin(t, l.na, "reload failed, keeping the running configuration", 2*time.Second)
	if !strings.Contains(strings.Join(l.a.IPv4Addrs(t), " "), vipC) {
		t.Error("a broken reload dropped a group")
	}
}

func TestRespawnChildren(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	dir := t.TempDir()
	kid := filepath.Join(dir, "kid")
	quitter := filepath.Join(dir, "quitter")
	write := func(path, body string) {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(kid, "echo $$ >> "+dir+"/kid.pids\necho \"$HA_CURHOST\" > "+dir+"/kid.host\nexec sleep 600\n")
	write(quitter, "echo run >> "+dir+"/quitter.runs\nexit 100\n")
	l := newRLab(t, rlabOpts{failback: "on", hacf: "respawn root " + kid + "\nrespawn root " + quitter + "\n"})
	l.settle(t)
	pids := waitLines(t, filepath.Join(dir, "kid.pids"), 1, 3*time.Second)
	if b, _ := os.ReadFile(filepath.Join(dir, "kid.host")); strings.TrimSpace(string(b)) != "nodea" && strings.TrimSpace(string(b)) != "nodeb" {
		t.Errorf("HA_CURHOST in the child = %q", b)
	}
	// Kill one child: it comes back (after the classic 1 s pause).
	pid, _ := strconv.Atoi(pids[0])
	if err := exec.Command("kill", "-9", strconv.Itoa(pid)).Run(); err != nil {
		t.Fatal(err)
	}
	waitLines(t, filepath.Join(dir, "kid.pids"), 3, 4*time.Second)
	// Exit 100 means "do not respawn": one run per node.
	time.Sleep(1500 * time.Millisecond)
	if runs := waitLines(t, filepath.Join(dir, "quitter.runs"), 2, time.Second); len(runs) != 2 {
		t.Errorf("the exit-100 child ran %d times on two nodes, want 2", len(runs))
	}
	waitLogWithin(t, l.na, "will not respawn", time.Second)
}

// waitLines waits until path has at least n lines and returns them.
func waitLines(t *testing.T, path string, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Fields(string(b))
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines, want %d, after %v", path, len(lines), n, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClassicScriptsThroughFIFO(t *testing.T) {
	netns.RequireRoot(t)
	const classic = "/usr/share/heartbeat/hb_standby"
	if _, err := os.Stat(classic); err != nil {
		netns.Skip(t, "Debian's heartbeat package is not installed ("+classic+")")
	}
	t.Parallel()
	l := newRLab(t, rlabOpts{failback: "off"})
	l.settle(t)
	// The classic script writes ask_resources into the FIFO named by HA_FIFO.
	cmd := exec.Command(classic, "all")
	cmd.Env = append(os.Environ(), "HA_FIFO="+filepath.Join(l.na.Dir, "state", "fifo"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s all: %v: %s", classic, err, out)
	}
	l.checkEnd(t, map[string]string{vipA: "b", vipB: "b"}, "none", "all")
	waitLogWithin(t, l.nb, "nodea wants to go standby [all]", time.Second)
}
