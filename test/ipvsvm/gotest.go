package ipvsvm

// gotest.go: running Go tests inside the VM from a host-side test.

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// GoTest is a run of a Go test binary inside the VM.
type GoTest struct {
	// Run is the -test.run pattern selecting the tests to run in the VM
	// (required). It must not select the host-side test that calls
	// RunTests; RunTests skips itself in the guest anyway.
	Run string
	// Binary is the test binary (built with go test -c); default: the
	// running test binary.
	Binary string
	// Dir is the directory the tests run in; default: the current one (go
	// test runs a package's tests in its source directory).
	Dir string
	// Args are extra test flags, e.g. "-test.count=2".
	Args []string
	// Env holds extra "NAME=value" variables; every HASUITE_* variable of
	// the host is passed on as well.
	Env []string
	// Modules, Timeout, Mem and CPUs are as in Job.
	Modules []string
	Timeout time.Duration
	Mem     int
	CPUs    int
}

// noTests is what the testing package prints when -test.run matched nothing.
const noTests = "testing: warning: no tests to run"

// RunTests boots a VM and runs the tests gt selects in it, with -test.v:
// it logs their output and fails t when any fails, when none ran, or when
// the VM gives no result. It skips like Require when the VM is unavailable
// and skips t inside the guest (the host-side test has nothing to do
// there). It returns the result (nil when skipped or failed to run).
func RunTests(t *testing.T, gt GoTest) *Result {
	t.Helper()
	if InGuest() {
		t.Skip("inside the IPVS VM: the host runs this")
	}
	k := Require(t)
	if gt.Run == "" {
		t.Fatal("ipvsvm: RunTests needs a -test.run pattern")
	}
	if gt.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			t.Fatalf("ipvsvm: %v", err)
		}
		gt.Binary = exe
	}
	if gt.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatalf("ipvsvm: %v", err)
		}
		gt.Dir = wd
	}
	env := append([]string{}, gt.Env...)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HASUITE_") && !strings.HasPrefix(kv, EnvGuest+"=") {
			env = append(env, kv)
		}
	}
	timeout := gt.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	// The guest's tests time out (and print where they hang) before the
	// host kills the VM.
	guestTimeout := timeout - 10*time.Second
	if guestTimeout < timeout/2 {
		guestTimeout = timeout / 2
	}
	args := []string{gt.Binary, "-test.run", gt.Run, "-test.v", "-test.count=1",
		"-test.timeout", guestTimeout.String()}
	args = append(args, gt.Args...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	job := Job{
		Script:  "exec " + strings.Join(quoted, " "),
		WorkDir: gt.Dir,
		Env:     env,
		Dir:     t.TempDir(),
		Modules: gt.Modules,
		Timeout: timeout,
		Mem:     gt.Mem,
		CPUs:    gt.CPUs,
	}
	res, err := k.Run(context.Background(), job)
	if res != nil {
		out := res.Output
		if out == "" {
			out = res.Console
		}
		t.Logf("ipvsvm: %s in the VM (kernel %s): exit %d, boot %.1fs, total %.1fs; output:\n%s",
			gt.Run, k.Release, res.RC, res.Ready.Seconds(), res.Wall.Seconds(), out)
	}
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case res.RC != 0:
		t.Errorf("ipvsvm: tests %s failed in the VM (exit %d)", gt.Run, res.RC)
	case strings.Contains(res.Output, noTests) || !regexp.MustCompile(`(?m)^\s*--- PASS`).MatchString(res.Output):
		t.Errorf("ipvsvm: no test matching %s ran in the VM", gt.Run)
	}
	return res
}

// GuestOnly skips the test unless it runs inside the VM; a host-side test
// calling RunTests runs it there. The skip is not a failure under
// HASUITE_REQUIRE_ROOT_SUITES=1: the host-side test is what fails when the
// VM is unavailable.
func GuestOnly(t testing.TB) {
	t.Helper()
	if !InGuest() {
		t.Skip("runs inside the IPVS VM (through ipvsvm.RunTests)")
	}
}
