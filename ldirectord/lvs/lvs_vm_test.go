package lvs

// lvs_vm_test.go: the reconciler against Linux 6.1's real IPVS, inside the test VM, and its cold-apply benchmark.

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/ipvsvm"
)

// TestLVSVM runs the TestGuestLVS* tests in the IPVS VM. The benchmark
// runs 100 services × 100 reals with HASUITE_IPVS_BENCH=1, else 10 × 20.
func TestLVSVM(t *testing.T) {
	ipvsvm.RunTests(t, ipvsvm.GoTest{Run: "^TestGuestLVS"})
}

func lvsVMRun(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ipvsadmLn is ipvsadm -Ln without its header and trailing blanks.
func ipvsadmLn(t *testing.T) string {
	t.Helper()
	lines := strings.Split(lvsVMRun(t, "", "ipvsadm", "-Ln"), "\n")[3:]
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

// TestGuestLVSApply drives the reconciler through a life cycle against the
// real kernel, next to a virtual service ipvsadm made, and checks each step
// with ipvsadm -Ln.
func TestGuestLVSApply(t *testing.T) {
	ipvsvm.GuestOnly(t)
	v := kernel.NewIPVS()
	defer v.Close()
	t.Cleanup(func() { lvsVMRun(t, "", "ipvsadm", "-C") })
	// Someone else's service, with a real server.
	lvsVMRun(t, "", "ipvsadm", "-A", "-t", "10.0.0.1:25", "-s", "rr")
	lvsVMRun(t, "", "ipvsadm", "-a", "-t", "10.0.0.1:25", "-r", "10.0.0.9:25", "-m")
	// A real server in what will be our service, not in our config.
	lvsVMRun(t, "", "ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "rr")
	lvsVMRun(t, "", "ipvsadm", "-a", "-t", "10.0.0.1:80", "-r", "10.0.0.8:80", "-m")
	a := netip.MustParseAddr
	desired := []Virtual{
		{Service: kernel.Service{ServiceKey: web, Scheduler: "wrr"}, Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.3", 80, kernel.ForwardMasq, 1)}},
		{Service: kernel.Service{ServiceKey: tls, Scheduler: "rr", Persistent: 300}, Reals: []kernel.Dest{
			real("10.0.0.2", 8443, kernel.ForwardGate, 2), real("10.0.0.3", 443, kernel.ForwardGate, 2)}},
		{Service: kernel.Service{ServiceKey: dns6, Scheduler: "sh", Flags: kernel.OnePacket}, Reals: []kernel.Dest{
			{Addr: a("2001:db8::2"), Port: 53, Forward: kernel.ForwardMasq, Weight: 1, UpperThreshold: 50}}},
		{Service: kernel.Service{ServiceKey: mark, Scheduler: "wlc"}, Reals: []kernel.Dest{
			real("10.0.0.4", 0, kernel.ForwardTunnel, 1)}},
	}
	r := New(v, nil)
	step := func(name string, desired []Virtual, wantOps int, want string) {
		t.Helper()
		res := r.Apply(desired)
		if err := res.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(res.Ops) != wantOps {
			t.Errorf("%s: %d ops, want %d: %v", name, len(res.Ops), wantOps, res.Ops)
		}
		if diff := cmp.Diff(want, ipvsadmLn(t)); diff != "" {
			t.Errorf("%s: ipvsadm -Ln (-want +got):\n%s", name, diff)
		}
		if res := r.Apply(desired); len(res.Ops) != 0 || res.Err() != nil {
			t.Errorf("%s: second Apply: %v, %v", name, res.Ops, res.Err())
		}
	}
	step("start", desired, 1+2+1+1+2+1+1+1+1, `TCP  10.0.0.1:25 rr
  -> 10.0.0.9:25                  Masq    1      0          0
TCP  10.0.0.1:80 wrr
  -> 10.0.0.2:80                  Masq    3      0          0
  -> 10.0.0.3:80                  Masq    1      0          0
TCP  10.0.0.1:443 rr persistent 300
  -> 10.0.0.2:443                 Route   2      0          0
  -> 10.0.0.3:443                 Route   2      0          0
UDP  [2001:db8::1]:53 sh ops
  -> [2001:db8::2]:53             Masq    1      0          0
FWM  5 wlc
  -> 10.0.0.4:0                   Tunnel  1      0          0
`)
	desired[0].Reals[1].Weight = 0          // quiesce
	desired[1].Reals = desired[1].Reals[:1] // drop a real
	desired[1].Scheduler = "wrr"            // edit the service
	desired = desired[:3]                   // drop the fwmark service
	step("changes", desired, 4, `TCP  10.0.0.1:25 rr
  -> 10.0.0.9:25                  Masq    1      0          0
TCP  10.0.0.1:80 wrr
  -> 10.0.0.2:80                  Masq    3      0          0
  -> 10.0.0.3:80                  Masq    0      0          0
TCP  10.0.0.1:443 wrr persistent 300
  -> 10.0.0.2:443                 Route   2      0          0
UDP  [2001:db8::1]:53 sh ops
  -> [2001:db8::2]:53             Masq    1      0          0
`)
	step("stop", nil, 3, `TCP  10.0.0.1:25 rr
  -> 10.0.0.9:25                  Masq    1      0          0
`)
}

// TestGuestLVSBench compares a cold Apply of services × reals entries with
// ipvsadm -R of the same table, and prints both times.
func TestGuestLVSBench(t *testing.T) {
	ipvsvm.GuestOnly(t)
	nsvc, nreal := 10, 20
	if os.Getenv("HASUITE_IPVS_BENCH") == "1" {
		nsvc, nreal = 100, 100
	}
	var desired []Virtual
	var rules strings.Builder
	for s := 0; s < nsvc; s++ {
		vip := netip.AddrFrom4([4]byte{10, 1, byte(s / 250), byte(s%250 + 1)})
		key := kernel.ServiceKey{Proto: kernel.TCP, Addr: vip, Port: 80}
		vs := Virtual{Service: kernel.Service{ServiceKey: key, Scheduler: "wrr"}}
		fmt.Fprintf(&rules, "-A -t %s:80 -s wrr\n", vip)
		for i := 0; i < nreal; i++ {
			rip := netip.AddrFrom4([4]byte{10, 2, byte(i / 250), byte(i%250 + 1)})
			vs.Reals = append(vs.Reals, kernel.Dest{Addr: rip, Port: 8080, Forward: kernel.ForwardMasq, Weight: i%5 + 1})
			fmt.Fprintf(&rules, "-a -t %s:80 -r %s:8080 -m -w %d\n", vip, rip, i%5+1)
		}
		desired = append(desired, vs)
	}
	v := kernel.NewIPVS()
	defer v.Close()
	t.Cleanup(func() { lvsVMRun(t, "", "ipvsadm", "-C") })
	r := New(v, nil)
	start := time.Now()
	res := r.Apply(desired)
	apply := time.Since(start)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res.Ops) != nsvc*(nreal+1) {
		t.Fatalf("%d ops, want %d", len(res.Ops), nsvc*(nreal+1))
	}
	ours := ipvsadmLn(t)
	start = time.Now()
	res = r.Apply(desired)
	noop := time.Since(start)
	if len(res.Ops) != 0 {
		t.Fatalf("second Apply: %d ops", len(res.Ops))
	}
	lvsVMRun(t, "", "ipvsadm", "-C")
	start = time.Now()
	lvsVMRun(t, rules.String(), "ipvsadm", "-R")
	restore := time.Since(start)
	if diff := cmp.Diff(ipvsadmLn(t), ours); diff != "" {
		t.Errorf("Apply and ipvsadm -R made different tables (-ipvsadm +Apply):\n%s", diff)
	}
	n := nsvc * (nreal + 1)
	t.Logf("cold apply of %d services × %d reals (%d entries, TCG guest): Apply %v (%s/entry), ipvsadm -R %v (%s/entry); no-op Apply %v",
		nsvc, nreal, n, apply.Round(time.Millisecond), perEntry(apply, n), restore.Round(time.Millisecond), perEntry(restore, n), noop.Round(time.Millisecond))
}

func perEntry(d time.Duration, n int) string {
	return strconv.FormatFloat(float64(d.Microseconds())/float64(n), 'f', 1, 64) + "µs"
}
