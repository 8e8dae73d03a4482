// Package ldvm holds hasuite's ldirectord end to end against a real Linux
// IPVS: the daemon binary, run from ldirectord.cf files, inside the test VM
// (test/ipvsvm), with real servers and clients in network namespaces there.
package ldvm

// ldvm_test.go: the host side: build the binary, boot one VM for every
// TestGuest* test.

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/ipvsvm"
)

// envBinary carries the path of the ldirectord binary into the guest.
const envBinary = "HASUITE_LDVM_LDIRECTORD"

// envRun narrows the guest tests (a -test.run pattern; default ^TestGuest).
const envRun = "HASUITE_LDVM_RUN"

// TestLDVM builds ldirectord and runs the TestGuest* tests in one VM.
func TestLDVM(t *testing.T) {
	if ipvsvm.InGuest() {
		t.Skip("inside the IPVS VM: the host runs this")
	}
	ipvsvm.Require(t)
	bin := filepath.Join(t.TempDir(), "ldirectord")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/hasuite/hasuite/ldirectord")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ldirectord: %v\n%s", err, out)
	}
	run := os.Getenv(envRun)
	if run == "" {
		run = "^TestGuest"
	}
	ipvsvm.RunTests(t, ipvsvm.GoTest{
		Run:     run,
		Env:     []string{envBinary + "=" + bin},
		Timeout: 10 * time.Minute,
		Mem:     512,
	})
}

// ldirectordBinary is the binary TestLDVM built (guest side).
func ldirectordBinary(t *testing.T) string {
	t.Helper()
	ipvsvm.GuestOnly(t)
	bin := os.Getenv(envBinary)
	if bin == "" {
		t.Fatalf("%s is not set: run the guest tests through TestLDVM", envBinary)
	}
	return bin
}
