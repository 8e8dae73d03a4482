// hang_test.go: a resource script whose start or stop never returns is
// killed with its process group at resource_timeout, and the group moves
// as classic's give-up rules say, never on both nodes at once.

package faults

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/test/hbnode"
)

// hangScript is resource.d/app on both nodes. Marker files in
// <confdir>/app-state make it hang: hang-start on every start (after
// forking a sleeping child into its process group), hang-stop on the
// next stop only. It records the pids the test expects killed.
const hangScript = `#!/bin/sh
d=$(dirname "$0")/../app-state
mkdir -p "$d"
case "$1" in
start)
	if [ -e "$d/hang-start" ]; then
		sleep 1000 &
		echo $! >"$d/start-child.pid"
		echo $$ >"$d/start.pid"
		sleep 1000
	fi
	touch "$d/running"
	;;
stop)
	if [ -e "$d/hang-stop" ]; then
		rm -f "$d/hang-stop"
		echo $$ >"$d/stop.pid"
		sleep 1000
	fi
	rm -f "$d/running"
	;;
status)
	if [ -e "$d/running" ]; then echo running; else echo stopped; fi
	;;
esac
`

const resourceTimeout = 2 * time.Second

// TestHangingResourceScript: nodea's start of app hangs. heartbeatd kills
// the script and its forked child at resource_timeout, stops the group
// (its address too) and gives it up: GiveupDelay later nodeb runs it.
// Then nodeb is asked to hand it back while its stop hangs once: the stop
// is killed at the timeout, retried, and only then does nodea take the
// group. A watcher checks the address is never on both nodes.
func TestHangingResourceScript(t *testing.T) {
	t.Parallel()
	files := map[string]string{"resource.d/app": hangScript}
	hr := "nodea IPaddr2::" + opsVipA + "/24/hb0 app\n"
	cf := "resource_timeout " + strconv.Itoa(int(resourceTimeout/time.Second)) + "\n"
	aFiles := map[string]string{"resource.d/app": hangScript, "app-state/hang-start": ""}
	p := startOps(t, hr, cf, opsNode{files: aFiles}, opsNode{files: files})
	state := func(n *hbnode.Node, name string) string { return filepath.Join(n.ConfDir(), "app-state", name) }
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }

	// The watcher: the address on both nodes at once is a failure.
	var both atomic.Int32
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if holds(t, p.a, opsVipA) && holds(t, p.b, opsVipA) {
				both.Add(1)
			}
		}
	}()
	defer func() {
		close(stop)
		<-watched
		if n := both.Load(); n > 0 {
			t.Errorf("%s was on both nodes in %d samples (50 ms apart)", opsVipA, n)
		}
	}()

	// 1. The hanging start.
	wait(t, "nodea's start of app", 15*time.Second, func() bool { return exists(state(p.na, "start.pid")) })
	began := time.Now()
	got := waitLog(t, p.na, 0, "Giving up resources due to failure of app", resourceTimeout+10*time.Second)
	took := time.Since(began)
	// took starts once the script has run a while (start.pid seen).
	if took > resourceTimeout+5*time.Second || took < resourceTimeout-500*time.Millisecond {
		t.Errorf("the hanging start was given up %v after it began, resource_timeout is %v", took, resourceTimeout)
	}
	if want := "app start: timed out after 2s, process group killed"; !strings.Contains(got, want) {
		t.Errorf("nodea's log does not say %q:\n%s", want, got)
	}
	for _, f := range []string{"start.pid", "start-child.pid"} {
		if pid := pidIn(t, state(p.na, f)); alive(pid) {
			t.Errorf("%s %d (app start's process group) still runs", f, pid)
		}
	}
	if holds(t, p.a, opsVipA) {
		t.Errorf("nodea kept %s after giving the group up", opsVipA)
	}
	t.Logf("hanging start given up %v after it began", took.Round(time.Millisecond))

	// 2. The peer runs it, GiveupDelay after the failure (classic's 30 s).
	gaveUp := time.Now()
	wait(t, "nodeb holding the given-up group", rm.GiveupDelay+15*time.Second, func() bool {
		return holds(t, p.b, opsVipA) && exists(state(p.nb, "running"))
	})
	if d := time.Since(gaveUp); d < rm.GiveupDelay-2*time.Second {
		t.Errorf("nodeb took the group %v after the give-up, before GiveupDelay %v", d, rm.GiveupDelay)
	}
	if exists(state(p.na, "running")) {
		t.Error("app marked running on nodea too")
	}

	// 3. Back to nodea while nodeb's stop hangs once.
	must(t, os.Remove(state(p.na, "hang-start")))
	must(t, os.WriteFile(state(p.nb, "hang-stop"), nil, 0o644))
	off := logLen(t, p.nb)
	if out, code := p.nb.RunTool(t, "hb_standby", "foreign"); code != 0 {
		t.Fatalf("hb_standby foreign on nodeb: exit %d: %s", code, out)
	}
	wait(t, "nodeb's stop of app", 10*time.Second, func() bool { return exists(state(p.nb, "stop.pid")) })
	began = time.Now()
	wait(t, "nodea holding its group again", resourceTimeout+15*time.Second, func() bool {
		return holds(t, p.a, opsVipA) && exists(state(p.na, "running"))
	})
	if d := time.Since(began); d < resourceTimeout {
		t.Errorf("nodea took the group %v after nodeb's stop began, before that stop's timeout %v", d, resourceTimeout)
	}
	got = logSince(t, p.nb, off)
	for _, want := range []string{"app stop: timed out after 2s, process group killed", "Retrying failed stop operation [app]"} {
		if !strings.Contains(got, want) {
			t.Errorf("nodeb's log does not say %q:\n%s", want, got)
		}
	}
	if pid := pidIn(t, state(p.nb, "stop.pid")); alive(pid) {
		t.Errorf("app stop %d still runs", pid)
	}
	if holds(t, p.b, opsVipA) || exists(state(p.nb, "running")) {
		t.Error("nodeb still holds the group")
	}
}

func wait(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
	}
}

func pidIn(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
