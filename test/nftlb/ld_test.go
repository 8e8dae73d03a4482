package nftlb

// ld_test.go: running the ldirectord binary in a director's namespace: start
// (supervised, with a pid file), stop through its command line, the log.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

// ldProc is one ldirectord run on a config in its own directory (config,
// pid file, log).
type ldProc struct {
	host    *netns.Host
	bin     string
	dir, cf string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// startLD writes text as ldirectord.cf and runs "ldirectord CF start" in
// h's namespace. The config must say supervised = yes: the daemon stays in
// the foreground (logging to stdout) and writes its pid file. When the test
// ends a daemon still running gets SIGTERM (and must exit within 10 s).
func startLD(t *testing.T, h *netns.Host, text string) *ldProc {
	t.Helper()
	p := &ldProc{host: h, bin: ldirectord(t), dir: t.TempDir(), done: make(chan struct{})}
	p.cf = filepath.Join(p.dir, "ldirectord.cf")
	if err := os.WriteFile(p.cf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(p.log())
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = h.Command(context.Background(), p.bin, p.cf, "start")
	p.cmd.Env = p.env()
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting ldirectord in %s: %v", h.NS, err)
	}
	logf.Close()
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	// Cleanups run last first: the log is shown after the stop.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("=== ldirectord in %s: log ===\n%s", h.Name, p.logText())
		}
	})
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		// ip netns exec execs ldirectord: the pid is the daemon's.
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			t.Errorf("ldirectord in %s did not exit within 10s of SIGTERM", h.Name)
		}
	})
	p.waitPidFile(t)
	return p
}

// env puts the pid file in p.dir.
func (p *ldProc) env() []string {
	return append(os.Environ(), "HASUITE_LDIRECTORD_RUNDIR="+p.dir)
}

func (p *ldProc) log() string { return filepath.Join(p.dir, "ldirectord.log") }

func (p *ldProc) logText() string {
	b, err := os.ReadFile(p.log())
	if err != nil {
		return err.Error()
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// waitPidFile waits until the daemon has written its pid file: it runs.
func (p *ldProc) waitPidFile(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(p.dir, "ldirectord.*.pid")); len(m) > 0 {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("ldirectord in %s exited at start (%v):\n%s", p.host.Name, p.waitErr, p.logText())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ldirectord in %s wrote no pid file within 10s:\n%s", p.host.Name, p.logText())
		}
	}
}

// stop runs "ldirectord CF stop", which returns once the daemon has exited
// (after cleanstop), and checks that both succeeded.
func (p *ldProc) stop(t *testing.T) {
	t.Helper()
	cmd := p.host.Command(context.Background(), p.bin, p.cf, "stop")
	cmd.Env = p.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldirectord %s stop: %v: %s", p.cf, err, out)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("ldirectord stop returned but the daemon still runs")
	}
	if p.waitErr != nil {
		t.Errorf("ldirectord exited after stop: %v", p.waitErr)
	}
}
