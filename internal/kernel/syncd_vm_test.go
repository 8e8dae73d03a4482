package kernel

// syncd_vm_test.go: the sync daemon calls against Linux 6.1's real IPVS, inside the test VM.

import (
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/test/ipvsvm"
)

// TestSyncdVM runs the TestGuestSync* tests in the IPVS VM.
func TestSyncdVM(t *testing.T) {
	ipvsvm.RunTests(t, ipvsvm.GoTest{Run: "^TestGuestSync"})
}

// TestSyncHostNoIPVS: on a kernel without IPVS (the development machines')
// every call fails with ErrNoIPVS.
func TestSyncHostNoIPVS(t *testing.T) {
	if ipvsvm.InGuest() {
		t.Skip("the VM has IPVS")
	}
	_, err := SyncDaemons()
	if err == nil {
		t.Skip("this kernel has IPVS")
	}
	if !errors.Is(err, ErrNoIPVS) {
		t.Fatalf("SyncDaemons: %v, want ErrNoIPVS", err)
	}
	if err := StartSyncDaemon(SyncMaster, "lo", 0); !errors.Is(err, ErrNoIPVS) {
		t.Errorf("StartSyncDaemon: %v, want ErrNoIPVS", err)
	}
	if err := StopSyncDaemon(SyncMaster); !errors.Is(err, ErrNoIPVS) {
		t.Errorf("StopSyncDaemon: %v, want ErrNoIPVS", err)
	}
}

// TestGuestSyncDaemons drives both daemons through their life cycle and
// checks each step against the kernel's answer, ipvsadm's view and the
// kernel's error numbers that the idempotent calls hide.
func TestGuestSyncDaemons(t *testing.T) {
	ipvsvm.GuestOnly(t)
	syncdVMRun(t, "ip", "link", "set", "dummy0", "up")
	s := NewSync()
	t.Cleanup(func() {
		_ = s.StopSyncDaemon(SyncMaster)
		_ = s.StopSyncDaemon(SyncBackup)
	})
	want := func(step string, states ...SyncState) []SyncDaemon {
		t.Helper()
		ds, err := s.SyncDaemons()
		if err != nil {
			t.Fatalf("%s: SyncDaemons: %v", step, err)
		}
		var got []SyncState
		for _, d := range ds {
			got = append(got, d.State)
		}
		if !slices.Equal(got, states) {
			t.Fatalf("%s: running %v, want %v (%+v)", step, got, states, ds)
		}
		return ds
	}
	want("at boot")

	if err := s.StartSyncDaemon(SyncMaster, "dummy0", 5); err != nil {
		t.Fatal(err)
	}
	ds := want("master started", SyncMaster)
	d := ds[0]
	if d.Iface != "dummy0" || d.SyncID != 5 || d.Group != netip.MustParseAddr("224.0.0.81") || d.Port != 8848 || d.TTL != 1 || d.MaxLen <= 0 {
		t.Errorf("master daemon %+v: want dummy0, syncid 5 and the kernel's defaults 224.0.0.81:8848 ttl 1", d)
	}
	// What the idempotent start hides: the kernel says EEXIST.
	if err := rawDaemon(ipvsCmdNewDaemon, SyncMaster, "dummy0", 5); !errors.Is(err, unix.EEXIST) {
		t.Errorf("second NEW_DAEMON master: %v, want EEXIST", err)
	}
	if err := s.StartSyncDaemon(SyncMaster, "dummy0", 9); err != nil {
		t.Errorf("starting a running master: %v", err)
	}
	if ds := want("master started twice", SyncMaster); ds[0].SyncID != 5 {
		t.Errorf("a second start changed the running master: %+v", ds[0])
	}
	if out := syncdVMRun(t, "ipvsadm", "-L", "--daemon"); !strings.Contains(out, "master sync daemon (mcast=dummy0, syncid=5") {
		t.Errorf("ipvsadm -L --daemon:\n%s", out)
	}

	if err := s.StartSyncDaemon(SyncBackup, "dummy0", 0); err != nil {
		t.Fatal(err)
	}
	want("backup started too", SyncMaster, SyncBackup)
	// The kernel threads are named ipvs-m:<netns>:<n> and ipvs-b:<netns>:<n>,
	// not [ipvs_syncmaster] or [ipvs_syncbackup] as the classic script greps.
	comms := syncdVMThreads(t)
	hasPrefix := func(p string) bool {
		return slices.ContainsFunc(comms, func(c string) bool { return strings.HasPrefix(c, p) })
	}
	if !hasPrefix("ipvs-m:") || !hasPrefix("ipvs-b:") {
		t.Errorf("kernel threads %v: want ipvs-m:* and ipvs-b:*", comms)
	}
	if hasPrefix("ipvs_sync") {
		t.Errorf("kernel threads %v: unexpected classic name", comms)
	}

	if err := s.StopSyncDaemon(SyncMaster); err != nil {
		t.Fatal(err)
	}
	want("master stopped", SyncBackup)
	if err := rawDaemon(ipvsCmdDelDaemon, SyncMaster, "", 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("DEL_DAEMON of a stopped master: %v, want ESRCH", err)
	}
	if err := s.StopSyncDaemon(SyncMaster); err != nil {
		t.Errorf("stopping a stopped master: %v", err)
	}

	err := s.StartSyncDaemon(SyncMaster, "nosuch0", 0)
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "starting IPVS sync daemon master on nosuch0 syncid 0: no such interface") {
		t.Errorf("master on a missing interface: %v", err)
	}
	want("after the failed start", SyncBackup)

	if err := s.StopSyncDaemon(SyncBackup); err != nil {
		t.Fatal(err)
	}
	want("all stopped")

	// A stop right after a start often finds the thread not yet run: the
	// kernel then sends no ack (EINTR); the stop must still succeed.
	for i := 0; i < 5; i++ {
		if err := s.StartSyncDaemon(SyncMaster, "dummy0", 1); err != nil {
			t.Fatalf("quick start %d: %v", i, err)
		}
		if err := s.StopSyncDaemon(SyncMaster); err != nil {
			t.Fatalf("quick stop %d: %v", i, err)
		}
		want("after a quick start and stop")
	}

	// ipvsadm's daemons are the same kernel objects.
	syncdVMRun(t, "ipvsadm", "--start-daemon", "backup", "--mcast-interface=dummy0", "--syncid", "7")
	if ds := want("ipvsadm started a backup", SyncBackup); ds[0].Iface != "dummy0" || ds[0].SyncID != 7 {
		t.Errorf("backup started by ipvsadm: %+v", ds[0])
	}
	if err := s.StopSyncDaemon(SyncBackup); err != nil {
		t.Fatal(err)
	}
	if out := syncdVMRun(t, "ipvsadm", "-L", "--daemon"); strings.TrimSpace(out) != "" {
		t.Errorf("ipvsadm -L --daemon after stop: %q", out)
	}
}

// rawDaemon sends one NEW_DAEMON or DEL_DAEMON and returns the kernel's
// error unchanged.
func rawDaemon(cmd uint8, state SyncState, iface string, syncID int) error {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(ipvsCmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(ipvsDaemonAttrState, uint32(state))
		if cmd == ipvsCmdNewDaemon {
			nae.String(ipvsDaemonAttrMcastIfn, iface)
			nae.Uint32(ipvsDaemonAttrSyncID, uint32(syncID))
		}
		return nil
	})
	s := &netlinkSync{dial: func() (*genetlink.Conn, error) { return genetlink.Dial(nil) }}
	_, err := s.execute(cmd, ae, netlink.Request|netlink.Acknowledge)
	return err
}

// syncdVMThreads returns the comm of every process.
func syncdVMThreads(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			names = append(names, strings.TrimSpace(string(b)))
		}
	}
	return names
}

func syncdVMRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
