package lvs

// lvs_vm_test.go: the reconciler against Linux 6.1's real IPVS, inside the test VM, and its cold-apply benchmark.

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/ipvsvm"
)

// TestLVSVM runs the TestGuestLVS* tests in the IPVS VM. With
// HASUITE_IPVS_BENCH=1 (make bench-ipvs) the benchmark is full size; see
// TestGuestLVSBench.
func TestLVSVM(t *testing.T) {
	gt := ipvsvm.GoTest{Run: "^TestGuestLVS"}
	if benchFull() {
		gt.Timeout = 15 * time.Minute
		gt.CPUs, _ = strconv.Atoi(os.Getenv("HASUITE_IPVS_BENCH_CPUS"))
	}
	ipvsvm.RunTests(t, gt)
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
	out, err := ipvsadmList()
	if err != nil {
		t.Fatal(err)
	}
	return out
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

func benchFull() bool { return os.Getenv("HASUITE_IPVS_BENCH") == "1" }

// TestGuestLVSBench times a cold Apply of virtual services × real servers
// (issue 4, benchmark d: 1,000 × 10 with HASUITE_IPVS_BENCH=1, else 20 × 10)
// against ipvsadm: one process per entry as Perl ldirectord runs it, and
// ipvsadm -R of the whole table. The tables they make must be equal. One
// process per entry is timed for the first HASUITE_IPVS_BENCH_EXEC_VIRTUALS
// virtual services (default 100; 2 in the small run) and extrapolated.
// HASUITE_IPVS_BENCH_CPUS sets the VM's CPUs (default 1).
//
// Each timed run starts in a new network namespace, with an IPVS that has
// never held a real server: the kernel keeps a deleted real server in a
// trash list for one to two minutes and every add searches that list, so
// a run after a flush of 10,000 real servers is slower than a cold start.
func TestGuestLVSBench(t *testing.T) {
	ipvsvm.GuestOnly(t)
	nsvc, nreal, execSvcs, reps := 20, 10, 2, 1
	if benchFull() {
		nsvc, execSvcs, reps = 1000, 100, 5
		if n, err := strconv.Atoi(os.Getenv("HASUITE_IPVS_BENCH_EXEC_VIRTUALS")); err == nil && n > 0 && n <= nsvc {
			execSvcs = n
		}
	}
	var desired []Virtual
	var changes []kernel.Change
	var rules strings.Builder
	var calls [][]string // one ipvsadm call per entry
	for s := 0; s < nsvc; s++ {
		vip := netip.AddrFrom4([4]byte{10, 1, byte(s / 250), byte(s%250 + 1)})
		key := kernel.ServiceKey{Proto: kernel.TCP, Addr: vip, Port: 80}
		vs := Virtual{Service: kernel.Service{ServiceKey: key, Scheduler: "wrr"}}
		changes = append(changes, kernel.Change{Kind: kernel.ChangeNewService, Service: vs.Service})
		v := vip.String() + ":80"
		calls = append(calls, []string{"-A", "-t", v, "-s", "wrr"})
		for i := 0; i < nreal; i++ {
			rip := netip.AddrFrom4([4]byte{10, 2, byte(i / 250), byte(i%250 + 1)})
			d := kernel.Dest{Addr: rip, Port: 8080, Forward: kernel.ForwardMasq, Weight: i%5 + 1}
			vs.Reals = append(vs.Reals, d)
			changes = append(changes, kernel.Change{Kind: kernel.ChangeNewDest, Service: vs.Service, Dest: d})
			calls = append(calls, []string{"-a", "-t", v, "-r", rip.String() + ":8080", "-m", "-w", strconv.Itoa(d.Weight)})
		}
		desired = append(desired, vs)
	}
	for _, c := range calls {
		fmt.Fprintln(&rules, strings.Join(c, " "))
	}
	n := len(calls)
	execN := execSvcs * (nreal + 1)

	// cold times do in a new network namespace and returns the table it
	// made; then, if after is not nil, runs it there.
	cold := func(do func() error, after func() error) (time.Duration, string) {
		t.Helper()
		var d time.Duration
		var table string
		err := inNewNetns(func() error {
			start := time.Now()
			if err := do(); err != nil {
				return err
			}
			d = time.Since(start)
			var err error
			if table, err = ipvsadmList(); err != nil || after == nil {
				return err
			}
			return after()
		})
		if err != nil {
			t.Fatal(err)
		}
		return d, table
	}
	apply := func(b func() (Backend, func())) func() error {
		return func() error {
			backend, done := b()
			defer done()
			res := New(backend, nil).Apply(desired)
			if len(res.Ops) != n {
				return fmt.Errorf("%d ops, want %d: %v", len(res.Ops), n, res.Err())
			}
			return res.Err()
		}
	}
	netlink := func() (Backend, func()) { v := kernel.NewIPVS(); return v, func() { v.Close() } }
	single := func() (Backend, func()) { // hides Batch: one request per change
		v := kernel.NewIPVS()
		return struct{ Backend }{v}, func() { v.Close() }
	}
	var noop time.Duration
	noopApply := func() error {
		v := kernel.NewIPVS()
		defer v.Close()
		r := New(v, nil)
		r.Apply(desired)
		start := time.Now()
		res := r.Apply(desired)
		noop = time.Since(start)
		if len(res.Ops) != 0 {
			return fmt.Errorf("no-op Apply: %d ops, %v", len(res.Ops), res.Err())
		}
		return res.Err()
	}
	batchOnly := func() error {
		v := kernel.NewIPVS()
		defer v.Close()
		return errors.Join(v.Batch(changes)...)
	}
	restore := func() error { _, err := run(rules.String(), "ipvsadm", "-R"); return err }
	perProcess := func() error {
		for _, c := range calls[:execN] {
			if _, err := run("", "ipvsadm", c...); err != nil {
				return err
			}
		}
		return nil
	}

	rows := []struct {
		what    string
		do      func() error
		after   func() error
		entries int
		reps    int
	}{
		{"Apply (reconciler + batched netlink)", apply(netlink), noopApply, n, reps},
		{"  Batch alone (the same changes, no reconciler)", batchOnly, nil, n, reps},
		{"Apply, one netlink request per change", apply(single), nil, n, reps},
		{"ipvsadm -R, one process for the table", restore, nil, n, reps},
		{fmt.Sprintf("ipvsadm, one process per entry: first %d entries", execN), perProcess, nil, execN, 1},
	}
	times := make([][]time.Duration, len(rows))
	var ours string
	for rep := range reps {
		for i, r := range rows {
			if rep >= r.reps {
				continue
			}
			d, table := cold(r.do, r.after)
			times[i] = append(times[i], d)
			want := ours
			if r.entries < n {
				want = strings.Join(strings.SplitAfter(ours, "\n")[:r.entries], "")
			}
			if ours == "" {
				ours = table
			} else if diff := cmp.Diff(want, table); diff != "" {
				t.Fatalf("%s made another table than Apply (-Apply +this):\n%s", r.what, diff)
			}
		}
	}
	if strings.Count(ours, "\n") != n {
		t.Fatalf("Apply's table has %d lines, want %d", strings.Count(ours, "\n"), n)
	}

	var tab strings.Builder
	clock, _ := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	fmt.Fprintf(&tab, "cold apply of %d virtual services × %d real servers = %d entries; Linux %s in qemu TCG, %d vCPU, clock %s; %d runs, each in a new netns\n",
		nsvc, nreal, n, kernelRelease(t), runtime.NumCPU(), strings.TrimSpace(string(clock)), reps)
	fmt.Fprintf(&tab, "  %-54s %9s %9s %9s  %s\n", "", "best", "median", "worst", "best/entry")
	row := func(what string, ds []time.Duration, entries int) {
		slices.Sort(ds)
		ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
		fmt.Fprintf(&tab, "  %-54s %9s %9s %9s  %s\n", what, ms(ds[0]), ms(ds[len(ds)/2]), ms(ds[len(ds)-1]), perEntry(ds[0], entries))
	}
	for i, r := range rows {
		row(r.what, times[i], r.entries)
	}
	if execN < n {
		perEntry := slices.Min(times[len(rows)-1])
		fmt.Fprintf(&tab, "  %-54s %9s  (extrapolated from the %d entries above, not measured)\n",
			fmt.Sprintf("  … all %d entries, extrapolated", n), (perEntry * time.Duration(n) / time.Duration(execN)).Round(time.Second), execN)
	}
	row("no-op Apply (lists the table, changes nothing)", []time.Duration{noop}, n)
	t.Log("\n" + tab.String())
}

// inNewNetns runs f on a thread of its own in a new network namespace (and
// so with a new IPVS); processes f starts are in it too. The thread ends
// with f.
func inNewNetns(f func() error) error {
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("new network namespace: %w", err)
			return
		}
		// IPVS refuses a real server whose address type is not unicast,
		// and with no route table every address is "broadcast".
		if _, err := run("", "ip", "link", "set", "lo", "up"); err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	return <-done
}

// run runs a command with stdin and returns its output.
func run(stdin string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ipvsadmList is ipvsadm -Ln without its header and trailing blanks.
func ipvsadmList() (string, error) {
	out, err := run("", "ipvsadm", "-Ln")
	if err != nil {
		return "", err
	}
	lines := strings.Split(out, "\n")[3:]
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n"), nil
}

func kernelRelease(t *testing.T) string {
	return strings.TrimSpace(lvsVMRun(t, "", "uname", "-r"))
}

func perEntry(d time.Duration, n int) string {
	us := float64(d.Nanoseconds()) / 1e3 / float64(n)
	if us >= 1000 {
		return strconv.FormatFloat(us/1000, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(us, 'f', 1, 64) + " µs"
}
