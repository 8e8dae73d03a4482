// statedir_test.go: a state directory (hb_uuid, hb_generation) or log
// file system that is read-only or full. At start heartbeatd refuses with
// the path and the reason and leaves no truncated file; in the middle of a
// run the cluster carries on and the log says what it missed.

package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// mountTmpfs mounts a tmpfs of size at a new directory under the test's
// temporary directory; read-only when ro (after prepare has written into
// it). The daemons' mount namespaces (ip netns exec) share its superblock.
func mountTmpfs(t *testing.T, size string, prepare func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	must(t, os.Mkdir(dir, 0o755))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if prepare != nil {
		prepare(dir)
	}
	return dir
}

// remount makes the tmpfs at dir read-only or writable again.
func remount(t *testing.T, dir string, ro bool) {
	t.Helper()
	flags := uintptr(syscall.MS_REMOUNT)
	if ro {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, ""); err != nil {
		t.Fatalf("remount %s (ro=%v): %v", dir, ro, err)
	}
}

// fill writes a file into dir until the file system is full and returns
// its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	chunk := bytes.Repeat([]byte("x"), 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}

// padToPage appends one log-shaped line to path, the log of the process
// pid, so that it ends at a page boundary: on a full tmpfs the daemon's
// next line then needs a page it cannot get. The process is stopped
// meanwhile: a line of its own between the file's size and the pad would
// leave the pad no room.
func padToPage(t *testing.T, path string, pid int) {
	t.Helper()
	must(t, syscall.Kill(pid, syscall.SIGSTOP))
	defer syscall.Kill(pid, syscall.SIGCONT)
	wait(t, "the daemon stopped for the padding", 5*time.Second, func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			i := bytes.LastIndexByte(b, ')')
			if err != nil || i < 0 || i+2 >= len(b) || b[i+2] != 'T' && b[i+2] != 't' {
				return false
			}
		}
		return len(tasks) > 0
	})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	defer f.Close()
	fi, err := f.Stat()
	must(t, err)
	head := time.Now().Format("Jan _2 15:04:05") + " nodea heartbeat: [0]: info: padding "
	n := int(4096 - fi.Size()%4096)
	if n == 4096 || n <= len(head) {
		return // at a page's end already, or the first line or two fill the page anyway
	}
	if _, err := f.WriteString(head + strings.Repeat("x", n-len(head)-1) + "\n"); err != nil {
		t.Fatalf("padding %s: %v", path, err)
	}
}

// writeState writes hb_uuid and an hb_generation of gen into dir/state.
func writeState(t *testing.T, dir string, gen int) string {
	t.Helper()
	state := filepath.Join(dir, "state")
	must(t, os.MkdirAll(state, 0o755))
	must(t, os.WriteFile(filepath.Join(state, "hb_uuid"), []byte("0123456789abcdef"), 0o644))
	must(t, os.WriteFile(filepath.Join(state, "hb_generation"), []byte(fmt.Sprintf("%15d\n", gen)), 0o644))
	return state
}

// TestStateDirAtStart starts heartbeatd on a state directory it cannot
// write: it must exit 1 at once naming the file and the reason (3.0.6
// too refuses to start: "Cannot get/increment generation number"), since
// a generation it cannot persist could be reused after the next restart
// and let old packets replay. hb_generation must stay as it was, with no
// temporary file left. With space back, it starts on generation+1.
func TestStateDirAtStart(t *testing.T) {
	t.Parallel()
	netns.RequireRoot(t)
	h := netns.NewLab(t).AddHost("s", "10.78.1.1/24")
	bin := hbnode.Build(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "etc")
	must(t, os.MkdirAll(conf, 0o755))
	logFile := filepath.Join(dir, "ha-log")
	cf := strings.ReplaceAll(hbnode.HACF("200ms", "1", "10", []string{"bcast hb0"}, "nodea", "nodeb"), hbnode.LogPlaceholder, logFile)
	must(t, os.WriteFile(filepath.Join(conf, "ha.cf"), []byte(cf), 0o644))
	must(t, os.WriteFile(filepath.Join(conf, "authkeys"), []byte(hbnode.AuthKeys("sha1", testKey)), 0o600))
	args := func(state string) []string {
		return []string{"-f", "-confdir", conf, "-statedir", state, "-rundir", filepath.Join(dir, "run"),
			"-pidfile", filepath.Join(dir, "pid"), "-node", "nodea"}
	}
	// refused runs heartbeatd and expects it to exit 1 within 10 s saying
	// each of wants.
	refused := func(name, state string, wants ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		began := time.Now()
		out, err := h.Command(ctx, filepath.Join(bin, "heartbeatd"), args(state)...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: heartbeatd exited with %v after %v, want status 1:\n%s", name, err, time.Since(began), out)
		}
		for _, want := range wants {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: heartbeatd said %q, want %q", name, out, want)
			}
		}
		t.Logf("%s: refused in %v: %s", name, time.Since(began).Round(time.Millisecond), strings.TrimSpace(string(out)))
	}
	unchanged := func(name, state string, gen int) {
		t.Helper()
		if b, _ := os.ReadFile(filepath.Join(state, "hb_generation")); string(b) != fmt.Sprintf("%15d\n", gen) {
			t.Errorf("%s: hb_generation is %q, want %d as before", name, b, gen)
		}
		if left, _ := filepath.Glob(filepath.Join(state, ".hb_generation.*")); len(left) > 0 {
			t.Errorf("%s: temporary files left: %v", name, left)
		}
	}

	// Read-only, first start: hb_uuid cannot be created.
	ro := mountTmpfs(t, "64k", nil)
	remount(t, ro, true)
	refused("read-only, first start", ro, "writing "+ro+"/hb_uuid: ", "read-only file system")

	// Read-only with state: hb_generation cannot be incremented.
	roState := ""
	ro2 := mountTmpfs(t, "64k", func(d string) { roState = writeState(t, d, 1000) })
	remount(t, ro2, true)
	refused("read-only", roState, "writing "+roState+"/hb_generation: ", "read-only file system")
	unchanged("read-only", roState, 1000)

	// Full: the new hb_generation cannot be written; the old one stays.
	fullState := ""
	full := mountTmpfs(t, "64k", func(d string) { fullState = writeState(t, d, 2000) })
	filler := fill(t, full)
	refused("full", fullState, "writing "+fullState+"/hb_generation: ", "no space left on device")
	unchanged("full", fullState, 2000)

	// Space back: it starts, one generation on (the refused runs used none).
	must(t, os.Remove(filler))
	cmd := h.Command(context.Background(), filepath.Join(bin, "heartbeatd"), args(fullState)...)
	must(t, cmd.Start())
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	wait(t, "heartbeatd up after space came back", 10*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "heartbeatd is up generation=2001 ")
	})
	unchanged("space back", fullState, 2001)
}

// TestStateDirFullMidRun: nodea's state directory turns read-only and the
// file system of its debugfile (debug 1: a line per packet, so the page
// the file ends in soon fills) runs out of space while the pair runs. Heartbeats go
// on, nodea takes over when nodeb is killed, the write failure is reported
// once on stderr, hb_generation is untouched, and once there is space
// again the debugfile says how many lines it missed, with no torn line.
func TestStateDirFullMidRun(t *testing.T) {
	t.Parallel()
	stateMnt := mountTmpfs(t, "64k", nil)
	logMnt := mountTmpfs(t, "64k", nil)
	debugFile := filepath.Join(logMnt, "ha-debug")
	hr := "nodea IPaddr2::" + opsVipA + "/24/hb0\nnodeb IPaddr2::" + opsVipB + "/24/hb0\n"
	p := startOps(t, hr, "", opsNode{extra: []string{"-statedir", filepath.Join(stateMnt, "state")}, cf: "debugfile " + debugFile + "\ndebug 1\n"}, opsNode{})
	p.na.WaitRsc(t, "local", 8*time.Second)
	p.nb.WaitRsc(t, "local", 8*time.Second)
	genFile := filepath.Join(stateMnt, "state", "hb_generation")
	gen := readFile(t, genFile)

	remount(t, stateMnt, true)
	filler := fill(t, logMnt)
	padToPage(t, debugFile, p.na.Pid())
	from := logLen(t, p.na)
	p.stillTalking(t, "state read-only, log full")
	p.nb.Kill(t)
	began := time.Now()
	wait(t, "nodea taking over nodeb's address", deadtime+5*time.Second, func() bool { return holds(t, p.a, opsVipB) })
	t.Logf("takeover with a read-only state dir and a full log: %v after the kill", time.Since(began).Round(time.Millisecond))
	if !holds(t, p.a, opsVipA) {
		t.Errorf("nodea lost %s", opsVipA)
	}
	stderr := readFile(t, filepath.Join(p.na.Dir, "stderr"))
	if n := strings.Count(stderr, "logging to "+debugFile+": "); n != 1 || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("stderr reports the full debugfile %d times, want once with the reason:\n%s", n, stderr)
	}
	if got := readFile(t, genFile); got != gen {
		t.Errorf("hb_generation changed from %q to %q", gen, got)
	}

	// Every line logged meanwhile (ha-log has them) missed the debugfile.
	missed := strings.Count(logSince(t, p.na, from), "\n")
	time.Sleep(300 * time.Millisecond) // they reached the debugfile's sink too
	must(t, os.Remove(filler))
	remount(t, stateMnt, false)
	p.na.Reload(t)
	wait(t, "the reload in the debugfile", 5*time.Second, func() bool {
		return strings.Contains(readFile(t, debugFile), "configuration reloaded")
	})
	debug := readFile(t, debugFile)
	lost := regexp.MustCompile(`ERROR: logging: ([0-9]+) lines could not be written to ` + regexp.QuoteMeta(debugFile) + ` \(.*no space left on device\)`)
	if m := lost.FindStringSubmatch(debug); m == nil {
		t.Errorf("the debugfile does not say how many lines it missed:\n%s", debug)
	} else if n, _ := strconv.Atoi(m[1]); n < missed || missed < 5 {
		t.Errorf("the debugfile says it missed %d lines; ha-log got %d (want at least 5) meanwhile", n, missed)
	} else {
		t.Logf("debugfile missed %d lines (ha-log got %d meanwhile)", n, missed)
	}
	for i, line := range strings.Split(strings.TrimSuffix(debug, "\n"), "\n") {
		if strings.Count(line, " heartbeat: [") != 1 {
			t.Errorf("debugfile line %d is torn: %q", i+1, line)
		}
	}
}
