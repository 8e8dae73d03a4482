// demo_test.go: CI runs the demo as make demo does, non-interactive (-ci), and passes only if it exits 0: every narrated step observed.

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

func TestDemo(t *testing.T) {
	netns.RequireRoot(t)
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := t.TempDir()
	// ipfail runs as hacluster when the machine has that user: it must
	// reach the binaries.
	for _, d := range []string{filepath.Dir(bin), bin} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", bin+"/", "./heartbeatd", "./heartbeatd/cmd/cl_status",
		"./ipfail", "./ldirectord", "./test/demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	start := time.Now()
	cmd := exec.Command(filepath.Join(bin, "demo"), "-ci", "-bin", bin)
	cmd.WaitDelay = 5 * time.Second
	done := make(chan struct{})
	timer := time.AfterFunc(4*time.Minute, func() {
		cmd.Process.Signal(os.Interrupt) // it cleans up on SIGINT
		close(done)
	})
	out, err := cmd.CombinedOutput()
	timer.Stop()
	t.Logf("demo -ci (%v):\n%s", time.Since(start).Round(time.Second), out)
	select {
	case <-done:
		t.Fatal("the demo did not finish within 4 minutes")
	default:
	}
	if err != nil {
		t.Fatalf("demo -ci: %v", err)
	}
	if !strings.Contains(string(out), "every step was observed") {
		t.Fatal("demo -ci exited 0 without its closing line")
	}
	if left := demoNamespaces(); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
}
