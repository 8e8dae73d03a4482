package ipvsvm

// ipvsvm_test.go: the harness itself: module order, a real boot, the exit status, a timeout.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadOrder(t *testing.T) {
	k, err := Find()
	if err != nil {
		t.Skip(err)
	}
	ix, err := indexModules(k.ModulesDir)
	if err != nil {
		t.Fatal(err)
	}
	_, names, err := ix.loadOrder(BaseModules)
	if err != nil {
		t.Fatal(err)
	}
	// Dependencies and the soft dependency by alias (libcrc32c: pre: crc32c)
	// come first.
	for _, before := range [][2]string{
		{"crc32c_generic", "libcrc32c"}, {"libcrc32c", "nf_conntrack"}, {"nf_conntrack", "ip_vs"},
		{"ip_vs", "ip_vs_rr"}, {"nf_nat", "ip_vs_ftp"}, {"virtio_mmio", "9pnet_virtio"}, {"netfs", "9p"},
	} {
		i, j := slices.Index(names, before[0]), slices.Index(names, before[1])
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s (at %d) must load before %s (at %d): %v", before[0], i, before[1], j, names)
		}
	}
	if _, _, err := ix.loadOrder([]string{"no_such_module"}); err == nil || err.Error() != "module no_such_module not found" {
		t.Errorf("missing module: error %v", err)
	}
}

func TestJobScript(t *testing.T) {
	got := jobScript(Job{Script: "echo hi", WorkDir: "/tmp/it's", Env: []string{"A=b c", "bad"}})
	want := `#!/bin/sh
export 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
export 'HOME=/root'
export 'TMPDIR=/tmp'
export 'LC_ALL=C.UTF-8'
export 'HASUITE_IPVSVM_GUEST=1'
export 'A=b c'
cd '/tmp/it'\''s' || exit 126
echo hi
`
	if got != want {
		t.Errorf("jobScript:\n%s\nwant:\n%s", got, want)
	}
}

// TestRun boots the VM once: IPVS is there, the host root and the job
// directory are shared, and the script's exit status comes back.
func TestRun(t *testing.T) {
	if InGuest() {
		t.Skip("inside the VM")
	}
	k := Require(t)
	t.Parallel()
	dir := t.TempDir()
	res, err := k.Run(context.Background(), Job{
		Dir:     dir,
		WorkDir: dir,
		Script: `set -e
test -r /proc/net/ip_vs
grep -q '^ip_vs_wrr ' /proc/modules
test -x "` + os.Args[0] + `"     # the host's files
echo "release $(uname -r) guest=$HASUITE_IPVSVM_GUEST cwd=$(pwd)"
ipvsadm -A -t 10.0.0.1:80 -s wrr
ipvsadm -Ln > table.txt
printf 'no newline at the end'
exit 3`,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot %v, total %v", res.Ready, res.Wall)
	if res.RC != 3 {
		t.Fatalf("exit status %d, want 3; output:\n%s\nconsole:\n%s", res.RC, res.Output, res.Console)
	}
	want := "release " + k.Release + " guest=1 cwd=" + dir
	if !strings.Contains(res.Output, want) {
		t.Errorf("output %q does not contain %q", res.Output, want)
	}
	table, err := os.ReadFile(filepath.Join(dir, "table.txt"))
	if err != nil {
		t.Fatalf("artefact: %v", err)
	}
	if !strings.Contains(string(table), "TCP  10.0.0.1:80 wrr") {
		t.Errorf("ipvsadm -Ln in the guest:\n%s", table)
	}
	if !strings.Contains(res.Console, markReady) || strings.Contains(res.Console, markError) {
		t.Errorf("console:\n%s", res.Console)
	}
}

// TestRunTimeout: a job that hangs is killed at the timeout.
func TestRunTimeout(t *testing.T) {
	if InGuest() {
		t.Skip("inside the VM")
	}
	k := Require(t)
	t.Parallel()
	start := time.Now()
	res, err := k.Run(context.Background(), Job{Script: "sleep 600", Timeout: 4 * time.Second})
	if err == nil || res == nil || res.RC != RCTimeout {
		t.Fatalf("Run = %+v, %v; want RC %d and an error", res, err, RCTimeout)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

// TestRunPanic: a guest kernel panic ends the run at once with RCNoStatus.
func TestRunPanic(t *testing.T) {
	if InGuest() {
		t.Skip("inside the VM")
	}
	k := Require(t)
	t.Parallel()
	res, err := k.Run(context.Background(), Job{Script: "echo c > /proc/sysrq-trigger; sleep 600", Timeout: 60 * time.Second})
	if err == nil || res == nil || res.RC != RCNoStatus {
		t.Fatalf("Run = %+v, %v; want RC %d and an error", res, err, RCNoStatus)
	}
	if !strings.Contains(err.Error(), "without a job status") {
		t.Errorf("error %v", err)
	}
}
