package kernel

// ipvs_vm_test.go: the IPVS calls against Linux 6.1's real IPVS, inside the test VM.

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/test/ipvsvm"
)

// TestIPVSVM runs the TestGuestIPVS* tests in the IPVS VM.
func TestIPVSVM(t *testing.T) {
	ipvsvm.RunTests(t, ipvsvm.GoTest{Run: "^TestGuestIPVS"})
}

// TestIPVSHostNoIPVS: on a kernel without IPVS every call fails with
// ErrNoIPVS.
func TestIPVSHostNoIPVS(t *testing.T) {
	if ipvsvm.InGuest() {
		t.Skip("the VM has IPVS")
	}
	v := NewIPVS()
	defer v.Close()
	_, err := v.Services()
	if err == nil {
		t.Skip("this kernel has IPVS")
	}
	if !errors.Is(err, ErrNoIPVS) {
		t.Fatalf("Services: %v, want ErrNoIPVS", err)
	}
	if err := v.NewService(Service{ServiceKey: ServiceKey{FWMark: 1}, Scheduler: "rr"}); !errors.Is(err, ErrNoIPVS) {
		t.Errorf("NewService: %v, want ErrNoIPVS", err)
	}
}

func ipvsVMRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ipvsadmTable is ipvsadm -Ln (with --thresholds) without its two header lines.
func ipvsadmTable(t *testing.T, args ...string) string {
	t.Helper()
	out := ipvsVMRun(t, "ipvsadm", append([]string{"-Ln"}, args...)...)
	lines := strings.Split(out, "\n")
	if len(lines) < 3 {
		t.Fatalf("ipvsadm -Ln: %q", out)
	}
	lines = lines[3:]
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

// TestGuestIPVSCalls programs a mixed table (IPv4, IPv6, fwmark; tcp, udp,
// sctp; persistence, netmask, flags; masq, gate, ipip; thresholds) and reads
// it back through the API and through ipvsadm.
func TestGuestIPVSCalls(t *testing.T) {
	ipvsvm.GuestOnly(t)
	v := NewIPVS()
	defer v.Close()
	if svcs, err := v.Services(); err != nil || len(svcs) != 0 {
		t.Fatalf("empty table: %v, %v", svcs, err)
	}
	a := netip.MustParseAddr
	web := ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}
	dns := ServiceKey{Proto: UDP, Addr: a("2001:db8::1"), Port: 53}
	sctp := ServiceKey{Proto: SCTP, Addr: a("10.0.0.1"), Port: 3868}
	fwm := ServiceKey{FWMark: 5}
	fwm6 := ServiceKey{FWMark: 6, IPv6: true}
	want := []VirtualService{
		{Service: Service{ServiceKey: web, Scheduler: "wrr", Persistent: 300, Netmask: 24}, Dests: []Dest{
			{Addr: a("10.0.0.2"), Port: 80, Forward: ForwardMasq, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
			{Addr: a("10.0.0.3"), Port: 80, Forward: ForwardGate, Weight: 0},
			{Addr: a("10.0.0.4"), Port: 80, Forward: ForwardTunnel, Weight: 1}}},
		{Service: Service{ServiceKey: sctp, Scheduler: "rr"}, Dests: []Dest{
			{Addr: a("10.0.0.2"), Port: 3868, Forward: ForwardMasq, Weight: 1}}},
		{Service: Service{ServiceKey: dns, Scheduler: "sh", Flags: OnePacket | SchedFlag1 | SchedFlag2}, Dests: []Dest{
			{Addr: a("2001:db8::2"), Port: 5353, Forward: ForwardMasq, Weight: 2}}},
		{Service: Service{ServiceKey: fwm, Scheduler: "lc", Persistent: 60}, Dests: []Dest{
			{Addr: a("10.0.0.5"), Port: 0, Forward: ForwardGate, Weight: 1}}},
		{Service: Service{ServiceKey: fwm6, Scheduler: "rr", Persistent: 30, Netmask: 64}, Dests: []Dest{
			{Addr: a("2001:db8::5"), Port: 0, Forward: ForwardGate, Weight: 1}}},
	}
	t.Cleanup(func() {
		for _, vs := range want {
			_ = v.DelService(vs.ServiceKey)
		}
	})
	for i := len(want) - 1; i >= 0; i-- { // reversed: the listing sorts
		vs := want[i]
		if err := v.NewService(vs.Service); err != nil {
			t.Fatal(err)
		}
		for j := len(vs.Dests) - 1; j >= 0; j-- {
			if err := v.NewDest(vs.ServiceKey, vs.Dests[j]); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := Table(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("table read back (-want +got):\n%s", diff)
	}
	wantAdm := `TCP  10.0.0.1:80 wrr persistent 300 mask 255.255.255.0
  -> 10.0.0.2:80                  Masq    3      0          0
  -> 10.0.0.3:80                  Route   0      0          0
  -> 10.0.0.4:80                  Tunnel  1      0          0
SCTP 10.0.0.1:3868 rr
  -> 10.0.0.2:3868                Masq    1      0          0
UDP  [2001:db8::1]:53 sh (sh-fallback,sh-port) ops
  -> [2001:db8::2]:5353           Masq    2      0          0
FWM  5 lc persistent 60
  -> 10.0.0.5:0                   Route   1      0          0
FWM  6 IPv6 rr persistent 30 mask 64
  -> [2001:db8::5]:0              Route   1      0          0
`
	if diff := cmp.Diff(wantAdm, ipvsadmTable(t)); diff != "" {
		t.Errorf("ipvsadm -Ln (-want +got):\n%s", diff)
	}
	if out := ipvsadmTable(t, "--thresholds"); !strings.Contains(out, "  -> 10.0.0.2:80                  100        10         0          0\n") {
		t.Errorf("ipvsadm -Ln --thresholds:\n%s", out)
	}

	// Updates.
	upd := want[0].Service
	upd.Scheduler, upd.Persistent, upd.Netmask = "rr", 0, 0
	if err := v.UpdateService(upd); err != nil {
		t.Fatal(err)
	}
	d := want[0].Dests[0]
	d.Forward, d.Weight, d.UpperThreshold, d.LowerThreshold = ForwardGate, 7, 0, 0
	if err := v.UpdateDest(web, d); err != nil {
		t.Fatal(err)
	}
	if err := v.DelDest(web, want[0].Dests[2]); err != nil {
		t.Fatal(err)
	}
	if err := v.DelService(sctp); err != nil {
		t.Fatal(err)
	}
	svcs, err := v.Services()
	if err != nil {
		t.Fatal(err)
	}
	if svcs[0] != upd.Canon() || len(svcs) != 4 {
		t.Errorf("after updates: services %+v", svcs)
	}
	ds, err := v.Dests(web)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Dest{d, want[0].Dests[1]}, ds, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("dests after updates (-want +got):\n%s", diff)
	}
	if out := ipvsadmTable(t); !strings.HasPrefix(out, "TCP  10.0.0.1:80 rr\n  -> 10.0.0.2:80                  Route   7      0          0\n") {
		t.Errorf("ipvsadm after updates:\n%s", out)
	}

	// A gate real with another port: the kernel keeps the port it is
	// given (ipvsadm is what maps it).
	gate := Dest{Addr: a("10.0.0.6"), Port: 8080, Forward: ForwardGate, Weight: 1}
	if err := v.NewDest(web, gate); err != nil {
		t.Fatal(err)
	}
	ds, _ = v.Dests(web)
	if last := ds[len(ds)-1]; last.Addr != gate.Addr || last.Port != 8080 {
		t.Errorf("gate real read back as %s, want the port kept", last)
	}

	// A real server whose address is local keeps its method (old kernels
	// turned it into local; 6.1 decides per connection).
	ipvsVMRun(t, "ip", "addr", "add", "10.0.0.7/32", "dev", "lo")
	if err := v.NewDest(web, Dest{Addr: a("10.0.0.7"), Port: 80, Forward: ForwardMasq, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	ds, _ = v.Dests(web)
	if last := ds[len(ds)-1]; last.Addr != a("10.0.0.7") || last.Forward != ForwardMasq {
		t.Errorf("local real read back as %s %s, want masq", last, last.Forward)
	}

	// Errors.
	errCases := []struct {
		name  string
		err   error
		is    []error
		prefx string
	}{
		{"duplicate service", v.NewService(want[3].Service), []error{ErrExists, unix.EEXIST}, "adding virtual service fwm:5: already exists"},
		{"unknown scheduler", v.NewService(Service{ServiceKey: sctp, Scheduler: "nosuch"}), []error{ErrNoScheduler, unix.ENOENT}, "adding virtual service sctp:10.0.0.1:3868: unknown scheduler"},
		{"missing service", v.DelService(sctp), []error{ErrNoService, unix.ESRCH}, "deleting virtual service sctp:10.0.0.1:3868: no such virtual service"},
		{"update missing service", v.UpdateService(Service{ServiceKey: sctp, Scheduler: "rr"}), []error{ErrNoService}, "changing virtual service"},
		{"dests of a missing service", func() error { _, err := v.Dests(sctp); return err }(), []error{ErrNoService}, "listing real servers of sctp:10.0.0.1:3868"},
		{"duplicate real", v.NewDest(web, d), []error{ErrExists}, "adding real server 10.0.0.2:80 to tcp:10.0.0.1:80: already exists"},
		{"missing real", v.DelDest(web, want[0].Dests[2]), []error{ErrNoDest, unix.ENOENT}, "deleting real server 10.0.0.4:80 from tcp:10.0.0.1:80: no such real server"},
		{"update missing real", v.UpdateDest(web, want[0].Dests[2]), []error{ErrNoDest}, "changing real server 10.0.0.4:80"},
		{"real of a missing service", v.NewDest(sctp, d), []error{ErrNoService}, "adding real server 10.0.0.2:80 to sctp:10.0.0.1:3868"},
	}
	for _, c := range errCases {
		for _, is := range c.is {
			if !errors.Is(c.err, is) {
				t.Errorf("%s: %v, want errors.Is %v", c.name, c.err, is)
			}
		}
		if c.err == nil || !strings.HasPrefix(c.err.Error(), c.prefx) {
			t.Errorf("%s: %v, want prefix %q", c.name, c.err, c.prefx)
		}
	}

	// A service with no real server lists none, without error.
	if err := v.NewService(Service{ServiceKey: sctp, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	if ds, err := v.Dests(sctp); err != nil || len(ds) != 0 {
		t.Errorf("dests of an empty service: %v, %v", ds, err)
	}
	for _, vs := range want {
		if err := v.DelService(vs.ServiceKey); err != nil {
			t.Error(err)
		}
	}
	if svcs, err := v.Services(); err != nil || len(svcs) != 0 {
		t.Errorf("after deleting all: %v, %v", svcs, err)
	}
}
