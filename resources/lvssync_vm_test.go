package resources

// lvssync_vm_test.go: LVSSyncDaemonSwap against Linux 6.1's real IPVS, inside the test VM.

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/ipvsvm"
)

// TestLVSSyncVM runs the TestGuestLVSSync* tests in the IPVS VM.
func TestLVSSyncVM(t *testing.T) {
	ipvsvm.RunTests(t, ipvsvm.GoTest{Run: "^TestGuestLVSSync"})
}

// TestGuestLVSSyncDaemonSwap swaps the daemons as heartbeat would on
// takeover and release, checking the kernel, ipvsadm and the logs.
func TestGuestLVSSyncDaemonSwap(t *testing.T) {
	ipvsvm.GuestOnly(t)
	if out, err := exec.Command("ip", "link", "set", "dummy0", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set dummy0 up: %v: %s", err, out)
	}
	sync := kernel.NewSync()
	t.Cleanup(func() {
		_ = sync.StopSyncDaemon(kernel.SyncMaster)
		_ = sync.StopSyncDaemon(kernel.SyncBackup)
	})
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	env := Env{Log: log}
	ctx := context.Background()

	agent, err := New("LVSSyncDaemonSwap::master::dummy0::3", env)
	if err != nil {
		t.Fatal(err)
	}
	master := agent.(*LVSSyncDaemonSwap)
	backupAgent, err := New("LVSSyncDaemonSwap::backup::dummy0", env)
	if err != nil {
		t.Fatal(err)
	}
	backup := backupAgent.(*LVSSyncDaemonSwap)

	// step checks the daemons the kernel runs, ipvsadm's view of them, and
	// the status line of the master agent.
	step := func(name string, wantDaemons []string, wantIpvsadm []string, wantStatus string) {
		t.Helper()
		ds, err := sync.SyncDaemons()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.State.String()+" "+d.Iface+" "+strconv.Itoa(d.SyncID))
		}
		if !slices.Equal(got, wantDaemons) {
			t.Errorf("%s: daemons %q, want %q", name, got, wantDaemons)
		}
		out, err := exec.Command("ipvsadm", "-L", "--daemon").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: ipvsadm -L --daemon: %v: %s", name, err, out)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" {
				lines = append(lines, strings.SplitN(l, ", maxlen", 2)[0])
			}
		}
		if !slices.Equal(lines, wantIpvsadm) {
			t.Errorf("%s: ipvsadm -L --daemon %q, want %q", name, lines, wantIpvsadm)
		}
		status, err := master.Status(ctx)
		if err != nil {
			t.Fatalf("%s: status: %v", name, err)
		}
		if status != wantStatus {
			t.Errorf("%s: status %q, want %q", name, status, wantStatus)
		}
		running, err := master.Running(ctx)
		if err != nil || running != (wantStatus == "master running") {
			t.Errorf("%s: Running = %v, %v with status %q", name, running, err, status)
		}
	}
	msgs := func() []string {
		var m []string
		for _, e := range hook.AllEntries() {
			m = append(m, e.Message)
		}
		hook.Reset()
		return m
	}

	step("boot", nil, nil, "master stopped")

	// Standby node at start: heartbeat stops the group it does not own,
	// which starts the backup daemon.
	if err := master.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	step("stop on the standby", []string{"backup dummy0 3"},
		[]string{"backup sync daemon (mcast=dummy0, syncid=3"}, "master stopped")
	if got, want := msgs(), []string{"ipvs_syncbackup up", "ipvs_syncmaster released"}; !slices.Equal(got, want) {
		t.Errorf("logs %q, want %q", got, want)
	}

	// Takeover.
	if err := master.Start(ctx); err != nil {
		t.Fatal(err)
	}
	step("takeover", []string{"master dummy0 3"},
		[]string{"master sync daemon (mcast=dummy0, syncid=3"}, "master running")
	if got, want := msgs(), []string{"ipvs_syncbackup down", "ipvs_syncmaster up", "ipvs_syncmaster obtained"}; !slices.Equal(got, want) {
		t.Errorf("logs %q, want %q", got, want)
	}
	if err := master.Start(ctx); err != nil {
		t.Fatalf("second start: %v", err)
	}
	step("second start", []string{"master dummy0 3"},
		[]string{"master sync daemon (mcast=dummy0, syncid=3"}, "master running")

	// Release.
	if err := master.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	step("release", []string{"backup dummy0 3"},
		[]string{"backup sync daemon (mcast=dummy0, syncid=3"}, "master stopped")
	if err := master.Stop(ctx); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	step("second stop", []string{"backup dummy0 3"},
		[]string{"backup sync daemon (mcast=dummy0, syncid=3"}, "master stopped")

	// Both running (started by hand): start and stop still leave one.
	if err := sync.StartSyncDaemon(kernel.SyncMaster, "dummy0", 3); err != nil {
		t.Fatal(err)
	}
	if err := master.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	step("stop with both running", []string{"backup dummy0 3"},
		[]string{"backup sync daemon (mcast=dummy0, syncid=3"}, "master stopped")

	// A backup agent (the other node's group): its start stops the master.
	if err := master.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := backup.Start(ctx); err != nil {
		t.Fatal(err)
	}
	step("backup agent start", []string{"backup dummy0 0"},
		[]string{"backup sync daemon (mcast=dummy0, syncid=0"}, "master stopped")
	if s, err := backup.Status(ctx); err != nil || s != "backup running" {
		t.Errorf("backup agent status %q, %v", s, err)
	}

	// A missing interface: the start fails with the kernel's ENODEV after
	// the backup was stopped, as in the classic order.
	bad, err := New("LVSSyncDaemonSwap::master::nosuch0", env)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Start(ctx)
	if !errors.Is(err, unix.ENODEV) || !strings.HasPrefix(err.Error(), "LVSSyncDaemonSwap::master::nosuch0 start: starting IPVS sync daemon master on nosuch0 syncid 0: no such interface") {
		t.Errorf("start on a missing interface: %v", err)
	}
	step("failed start", nil, nil, "master stopped")
}
