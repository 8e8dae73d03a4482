package ldvm

// faults_test.go: ldirectord faults against the real IPVS: kill -9 in the
// middle of each phase that writes the table (cold start, a burst of state
// changes, a reload, cleanstop), then a restart that must converge on the
// table the config and the checks give, losing nothing and leaving a
// foreign service alone; reloads with broken configs; a read-only or full
// run or log directory.

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/kernel"
)

// The kill -9 lab: faultVirtuals virtual services on 10.77.6.1, ports
// 1000 and up, each with faultReals reals on 10.77.5.0/26, port 80. The
// reals of virtual i are the addresses ≡ i+1 (mod 4), so every real is in a
// quarter of the virtuals and its one check (shared) decides all of them.
// Reals 33-40 have no server (dead from the start); even virtuals are
// quiescent (a dead real at weight 0), odd ones delete dead reals.
const (
	faultVirtuals = 100
	faultReals    = 10
	faultAddrs    = 40
	faultLive     = 32 // reals 1..32 get a server
)

// faultSet says which virtuals a config has and how: the range of virtual
// indexes [from, to) plus extra ones, and whether it is the reloaded
// variant (every fourth virtual rr instead of wrr, the next one's weights
// up by one).
type faultSet struct {
	ranges   [][2]int
	reloaded bool
}

// faultA is the config the lab starts with; faultB the reload: the last
// quarter of the virtuals gone, 60 new ones (135 in all, so that
// cleanstop takes two netlink batches of at most 128 and a kill can land
// between them), many others changed.
var (
	faultA = faultSet{ranges: [][2]int{{0, faultVirtuals}}}
	faultB = faultSet{ranges: [][2]int{{0, faultDropped}, {faultVirtuals, faultVirtuals + 60}}, reloaded: true}
)

// faultDropped is the first virtual faultB drops.
const faultDropped = faultVirtuals * 3 / 4

func (s faultSet) virtuals() []int {
	var out []int
	for _, r := range s.ranges {
		for i := r[0]; i < r[1]; i++ {
			out = append(out, i)
		}
	}
	return out
}

func faultVIP(i int) string { return fmt.Sprintf("10.77.6.1:%d", 1000+i) }

// faultReal is real j (0-based) of virtual i: its address index (1-40)
// and its weight.
func (s faultSet) faultReal(i, j int) (addr, weight int) {
	addr = i%4 + 4*j + 1
	weight = 1 + (i+j)%4
	if s.reloaded && i%4 == 1 {
		weight++
	}
	return addr, weight
}

func (s faultSet) scheduler(i int) string {
	if s.reloaded && i%4 == 0 {
		return "rr"
	}
	return "wrr"
}

// config is the ldirectord.cf of s.
func (s faultSet) config() string {
	var b strings.Builder
	// A dead real is refused at once; the long timeout keeps a live one
	// up while the guest's one CPU is busy with a big apply.
	b.WriteString("checktimeout=3\ncheckinterval=1\nautoreload=no\nlogfile=\"@DIR@/ld.log\"\n")
	for _, i := range s.virtuals() {
		fmt.Fprintf(&b, "\nvirtual=%s\n", faultVIP(i))
		for j := range faultReals {
			a, w := s.faultReal(i, j)
			fmt.Fprintf(&b, "\treal=10.77.5.%d:80 masq %d\n", a, w)
		}
		q := "no"
		if i%2 == 0 {
			q = "yes"
		}
		fmt.Fprintf(&b, "\tchecktype=connect\n\tscheduler=%s\n\tquiescent=%s\n", s.scheduler(i), q)
	}
	return b.String()
}

// table is what s settles on when the reals in dead fail their checks and
// the others pass, in faultTable's form.
func (s faultSet) table(dead map[int]bool) []string {
	var out []string
	for _, i := range s.virtuals() {
		out = append(out, fmt.Sprintf("tcp:%s %s", faultVIP(i), s.scheduler(i)))
		for j := range faultReals {
			a, w := s.faultReal(i, j)
			if dead[a] {
				if i%2 == 1 {
					continue
				}
				w = 0
			}
			out = append(out, fmt.Sprintf("tcp:%s 10.77.5.%d:80 masq w%d", faultVIP(i), a, w))
		}
	}
	return out
}

// faultForeign is foreignService's table in faultTable's form.
var faultForeign = []string{"tcp:10.77.9.9:80 10.77.9.10:80 masq w1", "tcp:10.77.9.9:80 rr"} // sorted

// faultTable reads the whole table from /proc/net/ip_vs as a sorted list
// of lines, one per service ("tcp:VIP:PORT sched") and per real
// ("tcp:VIP:PORT RIP:RPORT fwd wN"): one read, where netlink takes a dump
// per service (1.8 s for 200 services under TCG). IPv4 TCP services are
// all it parses.
func faultTable(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/ip_vs")
	if err != nil {
		t.Fatal(err)
	}
	hexAddr := func(s string) string { // "0A4D0601:03E8"
		ip, err1 := strconv.ParseUint(s[:min(8, len(s))], 16, 32)
		port, err2 := strconv.ParseUint(s[min(9, len(s)):], 16, 16)
		if len(s) != 13 || err1 != nil || err2 != nil {
			t.Fatalf("/proc/net/ip_vs: address %q", s)
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), uint16(port)).String()
	}
	forward := map[string]string{"Masq": "masq", "Route": "gate", "Tunnel": "ipip", "Local": "local"}
	var out []string
	svc := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "TCP":
			svc = "tcp:" + hexAddr(f[1])
			out = append(out, svc+" "+f[2])
		case len(f) >= 4 && f[0] == "->" && f[1] != "RemoteAddress:Port":
			out = append(out, svc+" "+hexAddr(f[1])+" "+forward[f[2]]+" w"+f[3])
		}
	}
	slices.Sort(out)
	return out
}

// sorted returns the lines of the tables together, sorted.
func sorted(tabs ...[]string) []string {
	out := slices.Concat(tabs...)
	slices.Sort(out)
	return out
}

// faultWait bounds each wait of TestGuestFaultKill9Phases: a restart over
// this lab's table takes 2-20 s in the guest, depending on the host's load.
const faultWait = 60 * time.Second

// logTail is the end of the daemon's log, for failure messages (the whole
// log of this lab runs to thousands of lines).
func logTail(ld *ldProc) string {
	lines := strings.Split(ld.log(), "\n")
	return strings.Join(lines[max(0, len(lines)-60):], "\n")
}

// faultDead are the reals without a server at the start.
func faultDead(extra ...int) map[int]bool {
	dead := map[int]bool{}
	for a := faultLive + 1; a <= faultAddrs; a++ {
		dead[a] = true
	}
	for _, a := range extra {
		dead[a] = true
	}
	return dead
}

// startNice starts the detached daemon at nice 19 without waiting: the
// test's polling (nice 0) then runs as soon as it wakes, so on the guest's
// one CPU a kill -9 lands right after the change it saw, in the middle of
// the daemon's work. The result of "ldirectord start" arrives on the
// channel.
func (p *ldProc) startNice() <-chan string {
	p.t.Helper()
	done := make(chan string, 1)
	cmd := exec.Command("nice", "-n", "19", p.bin, p.cf, "start")
	cmd.Env = p.env()
	go func() {
		out, err := cmd.CombinedOutput()
		if err != nil {
			done <- fmt.Sprintf("ldirectord start: %v\n%s", err, out)
			return
		}
		done <- ""
	}()
	return done
}

// renice sets the nice value of every thread of the running daemon (as
// startNice, for a daemon started at normal priority).
func (p *ldProc) renice(n int) {
	p.t.Helper()
	pid := p.pid()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		p.t.Fatal(err)
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			p.t.Fatalf("renice %d: %v", tid, err)
		}
	}
}

// killWhen calls hit every pause (0: without pause) until it says the
// phase under way has begun to show in the table, then kills the daemon
// with SIGKILL. It returns the whole table right after the kill.
//
// The daemon runs at nice 19 and the test at 0, so on the guest's one CPU
// the test runs as soon as it wakes and a kill lands right after the
// change it saw. A phase made of one netlink batch after another with
// nothing in between (cleanstop's deletions, 128 to a batch) needs pause 0:
// the daemon then runs only in short slices and is preempted on its way
// back from one batch, before it sends the next.
func killWhen(t *testing.T, ld *ldProc, phase string, pause time.Duration, hit func() bool) []string {
	t.Helper()
	deadline := time.Now().Add(faultWait)
	for !hit() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: nothing showed in the table within %s\nlog:\n%s", phase, faultWait, logTail(ld))
		}
		time.Sleep(pause)
	}
	for deadline := time.Now().Add(5 * time.Second); ld.pid() <= 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no pid file", phase)
		}
	}
	ld.kill9()
	return faultTable(t)
}

// dests lists the reals of the virtual services in keys (none for a
// service not there yet).
func dests(t *testing.T, v *kernel.NetlinkIPVS, keys []kernel.ServiceKey) []kernel.Dest {
	t.Helper()
	var out []kernel.Dest
	for _, k := range keys {
		ds, err := v.Dests(k)
		if err != nil && !os.IsNotExist(err) && !errors.Is(err, kernel.ErrNoService) {
			t.Fatal(err)
		}
		out = append(out, ds...)
	}
	return out
}

func faultKey(i int) kernel.ServiceKey {
	k, err := kernel.ParseServiceKey("tcp:" + faultVIP(i))
	if err != nil {
		panic(err)
	}
	return k
}

// restartConverge restarts the daemon after a kill and waits until the
// table is want, sampling it meanwhile: every line the kill left that want
// has too (kept, the foreign service's among them) must be there in every
// sample.
func restartConverge(t *testing.T, ld *ldProc, atKill, want []string) {
	t.Helper()
	var kept []string
	for _, l := range atKill {
		if _, in := slices.BinarySearch(want, l); in {
			kept = append(kept, l)
		}
	}
	start := time.Now()
	ld.ldDaemon()
	samples, reading := 0, time.Duration(0)
	var got []string
	for {
		r0 := time.Now()
		got = faultTable(t)
		reading += time.Since(r0)
		samples++
		for _, l := range kept {
			if _, in := slices.BinarySearch(got, l); !in {
				t.Fatalf("after the restart %q, which the kill left and the config wants, went missing\nlog:\n%s", l, logTail(ld))
			}
		}
		if slices.Equal(got, want) {
			break
		}
		if time.Since(start) > faultWait {
			t.Fatalf("the restarted daemon did not converge within %s (-want +got):\n%s\nlog:\n%s", faultWait, cmp.Diff(want, got), logTail(ld))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("restart converged in %s (%d lines, %d kept from the kill, %d samples taking %s)",
		time.Since(start).Round(time.Millisecond), len(want), len(kept), samples, reading.Round(time.Millisecond))
}

// TestGuestFaultKill9Phases: kill -9 in the middle of cold start, of a
// burst of state changes, of a reload and of cleanstop; after each, a
// restart converges on exactly the table a fresh start gives, never losing
// an entry that both the killed daemon and the config had, and the
// foreign service stays as it was throughout.
func TestGuestFaultKill9Phases(t *testing.T) {
	var addrs []string
	for a := 1; a <= faultAddrs; a++ {
		addrs = append(addrs, fmt.Sprintf("10.77.5.%d/32", a))
	}
	guestDummy(t, "ldfault0", addrs...)
	servers := map[int]*ldReal{}
	for a := 1; a <= faultLive; a++ {
		servers[a] = ldTCPReal(t, fmt.Sprintf("10.77.5.%d:80", a))
	}
	foreignService(t)
	v := kernel.NewIPVS()
	t.Cleanup(func() { v.Close() })
	ld := ldConfig(t, faultA.config())
	tableA := sorted(faultA.table(faultDead()), faultForeign)
	probe := []kernel.ServiceKey{faultKey(0), faultKey(1), faultKey(2), faultKey(3)} // every real is in one of them

	// A fresh start settles on the table the generator gives; cleanstop
	// leaves the foreign service alone.
	start := time.Now()
	ld.ldDaemon()
	waitLines(t, ld, tableA)
	t.Logf("fresh start of %d virtuals x %d reals: %s", faultVirtuals, faultReals, time.Since(start).Round(time.Millisecond))
	ld.stop()
	if got := faultTable(t); !slices.Equal(got, faultForeign) {
		t.Fatalf("cleanstop left (-want +got)\n%s", cmp.Diff(faultForeign, got))
	}

	t.Run("ColdStart", func(t *testing.T) {
		started := ld.startNice()
		atKill := killWhen(t, ld, "cold start", 2*time.Millisecond, func() bool { return len(dests(t, v, probe)) > 0 })
		<-started
		n := 0
		for _, l := range atKill {
			if strings.Contains(l, " 10.77.5.") {
				n++
			}
		}
		all := len(tableA) - len(faultForeign) - faultVirtuals
		t.Logf("killed with %d of %d reals applied", n, all)
		if n == 0 || n >= all {
			t.Fatalf("the kill did not land mid-apply: %d of %d reals in the table", n, all)
		}
		restartConverge(t, ld, atKill, tableA)
	})

	// Reals 1-8 fail at once: 200 entries to quiesce or delete, written as
	// each one's check fails.
	down := []int{1, 2, 3, 4, 5, 6, 7, 8}
	tableDown := sorted(faultA.table(faultDead(down...)), faultForeign)
	t.Run("StateChange", func(t *testing.T) {
		waitLines(t, ld, tableA)
		ld.renice(19)
		before := faultTable(t)
		for _, a := range down {
			servers[a].Stop()
		}
		atKill := killWhen(t, ld, "state change", 2*time.Millisecond, func() bool {
			return !slices.Equal(probeLines(t, v, probe), probeLinesOf(before, probe))
		})
		changed := len(diffLines(before, atKill))
		all := len(diffLines(tableA, tableDown))
		t.Logf("killed with %d of %d changed lines written", changed, all)
		if changed == 0 || changed >= all {
			t.Fatalf("the kill did not land mid-change: %d of %d lines changed", changed, all)
		}
		restartConverge(t, ld, atKill, tableDown)
	})

	// A reload to faultB (scheduler and weight edits, 25 virtuals gone, 60
	// new). The virtuals it drops that the killed daemon had not deleted
	// yet are no longer in the config: the restarted daemon leaves them as
	// it would any other service (classic too: no state outlives a kill).
	var leftover []string
	tableB := sorted(faultB.table(faultDead(down...)), faultForeign)
	t.Run("Reload", func(t *testing.T) {
		waitLines(t, ld, tableDown)
		ld.renice(19)
		svcsBefore := serviceLines(t, v)
		ld.writeConfig(faultB.config())
		if out, rc := ld.ctl("reload"); rc != 0 {
			t.Fatalf("reload: exit %d\n%s", rc, out)
		}
		atKill := killWhen(t, ld, "reload", 2*time.Millisecond, func() bool { return !slices.Equal(serviceLines(t, v), svcsBefore) })
		if slices.Equal(atKill, tableDown) || slices.Equal(atKill, tableB) {
			t.Fatalf("the kill did not land mid-reload")
		}
		t.Logf("killed with %d of %d changed lines written", len(diffLines(tableDown, atKill)), len(diffLines(tableDown, tableB)))
		for _, l := range atKill {
			for i := faultDropped; i < faultVirtuals; i++ {
				if strings.HasPrefix(l, "tcp:"+faultVIP(i)+" ") {
					leftover = append(leftover, l)
				}
			}
		}
		t.Logf("%d lines of dropped virtuals were left by the kill", len(leftover))
		restartConverge(t, ld, atKill, sorted(tableB, leftover))
	})

	// SIGTERM, and kill -9 once the first batch of deletions is in: the
	// window before the second batch is short, so a kill that comes too
	// late (every virtual gone) is retried, up to three times.
	t.Run("CleanStop", func(t *testing.T) {
		want := sorted(tableB, leftover)
		ours := len(faultB.virtuals())
		for attempt := 1; ; attempt++ {
			waitLines(t, ld, want)
			ld.renice(19)
			if err := syscall.Kill(ld.pid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// Deletions go in the kernel's order of services: the first
			// virtual goes with the first batch. Asking for it alone is
			// cheap.
			atKill := killWhen(t, ld, "cleanstop", time.Millisecond, func() bool {
				_, err := v.Dests(faultKey(0))
				return errors.Is(err, kernel.ErrNoService)
			})
			left := countServices(atKill) - 1 - countServices(leftover)
			t.Logf("attempt %d: killed with %d of %d virtuals left to purge", attempt, left, ours)
			if left >= ours {
				t.Fatalf("the kill came before cleanstop began: %d of %d virtuals left", left, ours)
			}
			restartConverge(t, ld, atKill, want)
			if left > 0 {
				break
			}
			if attempt == 3 {
				t.Fatalf("the kill did not land mid-cleanstop in %d attempts", attempt)
			}
		}
		ld.stop()
		if got := faultTable(t); !slices.Equal(got, sorted(faultForeign, leftover)) {
			t.Fatalf("the final cleanstop left (-want +got)\n%s", cmp.Diff(sorted(faultForeign, leftover), got))
		}
	})
}

// waitLines waits until the table is want.
func waitLines(t *testing.T, ld *ldProc, want []string) {
	t.Helper()
	start := time.Now()
	for got := faultTable(t); !slices.Equal(got, want); got = faultTable(t) {
		if time.Since(start) > faultWait {
			t.Fatalf("table not as wanted within %s (-want +got):\n%s\nlog:\n%s", faultWait, cmp.Diff(want, got), logTail(ld))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probeLines are the lines of the reals of the services in keys.
func probeLines(t *testing.T, v *kernel.NetlinkIPVS, keys []kernel.ServiceKey) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		for _, d := range dests(t, v, []kernel.ServiceKey{k}) {
			out = append(out, fmt.Sprintf("%s %s %s w%d", k, d, d.Forward, d.Weight))
		}
	}
	slices.Sort(out)
	return out
}

// probeLinesOf are probeLines taken from a table in faultTable's form.
func probeLinesOf(lines []string, keys []kernel.ServiceKey) []string {
	var out []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 4 && slices.ContainsFunc(keys, func(k kernel.ServiceKey) bool { return f[0] == k.String() }) {
			out = append(out, l)
		}
	}
	return out
}

// serviceLines are the table's service lines (read without the reals).
func serviceLines(t *testing.T, v *kernel.NetlinkIPVS) []string {
	t.Helper()
	svcs, err := v.Services()
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, s := range svcs {
		out = append(out, fmt.Sprintf("%s %s", s.ServiceKey, s.Scheduler))
	}
	slices.Sort(out)
	return out
}

// countServices counts the service lines in a table in faultTable's form.
func countServices(lines []string) int {
	n := 0
	for _, l := range lines {
		if len(strings.Fields(l)) == 2 {
			n++
		}
	}
	return n
}

// diffLines are the lines in one of a and b but not the other.
func diffLines(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "-"+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+"+l)
		}
	}
	return out
}

// procForeign is foreignService's table in procTable's form.
const procForeign = `tcp:10.77.9.9:80 rr
tcp:10.77.9.9:80 10.77.9.10:80 masq w1
`

// procTable is faultTable as text, services before their reals (each
// service line sorts after its reals in faultTable, so "wrr" and such go
// first here): cheap enough to poll, where ipvsTable runs ipvsadm twice
// (0.3-1 s each under TCG).
func procTable(t *testing.T) string {
	t.Helper()
	return procText(faultTable(t))
}

// procText orders lines (faultTable's form) as procTable does.
func procText(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if len(strings.Fields(l)) == 2 {
			b.WriteString(l + "\n")
			for _, r := range lines {
				if f := strings.Fields(r); len(f) == 4 && f[0] == strings.Fields(l)[0] {
					b.WriteString(r + "\n")
				}
			}
		}
	}
	return b.String()
}

// waitProc polls procTable until it is want (in procTable's form) and
// fails after timeout (0: checks once) with the difference and log().
func waitProc(t *testing.T, want string, timeout time.Duration, log func() string) {
	t.Helper()
	start := time.Now()
	for {
		got := procTable(t)
		if got == want {
			return
		}
		if time.Since(start) >= timeout {
			msg := ""
			if log != nil {
				msg = "\nlog:\n" + log()
			}
			t.Fatalf("table not as wanted within %s (-want +got):\n%s%s", timeout, cmp.Diff(want, got), msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// brokenGood is the running config of TestGuestFaultBrokenReload.
const brokenGood = `checktimeout=1
checkinterval=1
autoreload=no
logfile="@DIR@/ld.log"

virtual=10.77.0.40:80
	real=10.77.7.1:80 masq 2
	real=10.77.7.2:80 masq 1
	checktype=connect
	scheduler=wrr
	quiescent=yes
`

// brokenTable is what brokenGood settles on with both servers up.
const brokenTable = `tcp:10.77.0.40:80 wrr
tcp:10.77.0.40:80 10.77.7.1:80 masq w2
tcp:10.77.0.40:80 10.77.7.2:80 masq w1
` + procForeign

// brokenChanged is brokenGood with changes a reload would make (another
// scheduler and weight, a new virtual, dead reals deleted): a broken
// variant of it must change nothing.
const brokenChanged = `checktimeout=1
checkinterval=1
autoreload=no
logfile="@DIR@/ld.log"

virtual=10.77.0.40:80
	real=10.77.7.1:80 masq 5
	real=10.77.7.2:80 masq 1
	checktype=connect
	scheduler=rr
	quiescent=no

virtual=10.77.0.41:80
	real=10.77.7.1:80 masq 1
	checktype=connect
`

// TestGuestFaultBrokenReload: "ldirectord reload" and SIGHUP with a config
// broken in several ways. The command exits non-zero naming file:line and
// the fault (or the missing file) and sends nothing; the daemon, sent
// SIGHUP anyway, logs the same and keeps its table and its checks, which
// go on acting under the old config.
func TestGuestFaultBrokenReload(t *testing.T) {
	guestDummy(t, "ldbroken0", "10.77.7.1/32", "10.77.7.2/32")
	ldTCPReal(t, "10.77.7.1:80")
	r2 := ldTCPReal(t, "10.77.7.2:80")
	foreignService(t)
	ld := ldConfig(t, brokenGood)
	ld.ldDaemon()
	waitProc(t, brokenTable, 20*time.Second, ld.log)

	lines := strings.Count(brokenChanged, "\n")
	for _, c := range []struct {
		name, line, want string // want follows "FILE:LINE: "
	}{
		{"syntax error", "virtual 10.77.0.42:80", `unknown directive "virtual 10.77.0.42:80" (expected key = value)`},
		{"unknown directive", "frobnicate=yes", `unknown directive "frobnicate"`},
		{"bad address", "\treal=10.77.7.2:99999 masq 1", `real "10.77.7.2:99999": invalid port "99999" for real server (port out of range 0..65535)`},
	} {
		ld.writeConfig(brokenChanged + c.line + "\n")
		where := fmt.Sprintf("%s:%d: %s", ld.cf, lines+1, c.want)
		out, rc := ld.ctl("reload")
		if rc != 2 || !strings.Contains(out, where) {
			t.Errorf("%s: reload exited %d with %q; want 2 and %q", c.name, rc, out, where)
		}
		brokenHUP(t, ld, c.name, where)
	}

	// The config file gone.
	if err := os.Remove(ld.cf); err != nil {
		t.Fatal(err)
	}
	if out, rc := ld.ctl("reload"); rc != 1 || !strings.Contains(out, "Config file "+ld.cf+" not found") {
		t.Errorf("missing file: reload exited %d with %q; want 1 and \"Config file %s not found\"", rc, out, ld.cf)
	}
	brokenHUP(t, ld, "missing file", "open "+ld.cf+": no such file or directory")

	// The old checks still run under the old config: quiescent=yes.
	r2.Stop()
	waitProc(t, `tcp:10.77.0.40:80 wrr
tcp:10.77.0.40:80 10.77.7.1:80 masq w2
tcp:10.77.0.40:80 10.77.7.2:80 masq w0
`+procForeign, 10*time.Second, ld.log)
	r2.Start()
	waitProc(t, brokenTable, 10*time.Second, ld.log)

	// A good config reloads as usual.
	ld.writeConfig(brokenChanged)
	if out, rc := ld.ctl("reload"); rc != 0 {
		t.Fatalf("reload of a good config: exit %d\n%s", rc, out)
	}
	waitProc(t, `tcp:10.77.0.40:80 rr
tcp:10.77.0.40:80 10.77.7.1:80 masq w5
tcp:10.77.0.40:80 10.77.7.2:80 masq w1
tcp:10.77.0.41:80 wrr
tcp:10.77.0.41:80 10.77.7.1:80 masq w1
`+procForeign, 10*time.Second, ld.log)
	ld.stop()
	waitProc(t, procForeign, 0, ld.log)
}

// brokenHUP sends the daemon SIGHUP with a broken config in place: it must
// log why (msg, with file and line), say the reload failed and keep the
// table.
func brokenHUP(t *testing.T, ld *ldProc, name, msg string) {
	t.Helper()
	from := len(ld.log())
	if err := syscall.Kill(ld.pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(ld.log()[from:], "Reload failed"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no \"Reload failed\" logged within 5s of SIGHUP:\n%s", name, ld.log()[from:])
		}
	}
	if logged := ld.log()[from:]; !strings.Contains(logged, "Error reading config: "+msg) {
		t.Errorf("%s: the daemon's log does not say %q:\n%s", name, "Error reading config: "+msg, logged)
	}
	if got := procTable(t); got != brokenTable {
		t.Errorf("%s: a failed reload changed the table: (-want +got)\n%s", name, cmp.Diff(brokenTable, got))
	}
}

// diskConfig: the lab of TestGuestFaultDisk, logging into DIR/log.
const diskConfig = `checktimeout=1
checkinterval=1
autoreload=no
logfile="@DIR@/log/ld.log"

virtual=10.77.0.50:80
	real=10.77.8.1:80 masq 2
	real=10.77.8.2:80 masq 1
	checktype=connect
	scheduler=wrr
	quiescent=yes
`

const diskTable = `tcp:10.77.0.50:80 wrr
tcp:10.77.0.50:80 10.77.8.1:80 masq w2
tcp:10.77.0.50:80 10.77.8.2:80 masq w1
` + procForeign

// diskMount mounts a tmpfs of size bytes on dir and unmounts it at the end.
func diskMount(t *testing.T, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ldCmd(t, "mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "ldfault", dir)
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// diskFill fills the file system of dir until it has no space left.
func diskFill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return
		}
	}
}

// TestGuestFaultDisk: the run directory (pid file) or the log directory
// read-only, or the run directory full, at start: "ldirectord start" fails
// with the reason and changes nothing. The log directory turning read-only
// while the daemon runs: the daemon goes on keeping the table right, warns
// once on stderr, and once the log can be written again notes there how
// many lines were lost and why.
func TestGuestFaultDisk(t *testing.T) {
	guestDummy(t, "lddisk0", "10.77.8.1/32", "10.77.8.2/32")
	ldTCPReal(t, "10.77.8.1:80")
	r2 := ldTCPReal(t, "10.77.8.2:80")
	foreignService(t)
	ld := ldConfig(t, diskConfig)
	runDir, logDir := filepath.Join(ld.dir, "run"), filepath.Join(ld.dir, "log")
	diskMount(t, runDir, 64<<10)
	diskMount(t, logDir, 1<<20)
	ctl := func(action string) (string, int) {
		cmd := exec.Command(ld.bin, ld.cf, action)
		cmd.Env = append(ld.env(), "HASUITE_LDIRECTORD_RUNDIR="+runDir)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	pidFile := filepath.Join(runDir, "ldirectord.ldirectord.cf.pid")
	logFile := filepath.Join(logDir, "ld.log")
	t.Cleanup(func() { // a daemon left by a failure, before the unmounts
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	refused := func(name, want string) {
		t.Helper()
		out, rc := ctl("start")
		if rc != 1 || !strings.Contains(out, "cannot start for "+ld.cf+": "+want) || !strings.Contains(out, "nothing was changed") {
			t.Errorf("%s: start exited %d with %q; want 1 and %q", name, rc, out, want)
		}
		if got := procTable(t); got != procForeign {
			t.Errorf("%s: the refused start changed the table:\n%s", name, got)
		}
		if _, err := os.Stat(pidFile); err == nil {
			t.Errorf("%s: a pid file was written", name)
		}
	}
	ldCmd(t, "mount", "-o", "remount,ro", runDir)
	refused("run directory read-only", "pid file: open "+pidFile+".tmp: read-only file system")
	ldCmd(t, "mount", "-o", "remount,rw", runDir)
	diskFill(t, runDir)
	refused("run directory full", "pid file: write "+pidFile+".tmp: no space left on device")
	if err := os.Remove(filepath.Join(runDir, "fill")); err != nil {
		t.Fatal(err)
	}
	ldCmd(t, "mount", "-o", "remount,ro", logDir)
	refused("log directory read-only", "logfile: open "+logFile+": read-only file system")
	ldCmd(t, "mount", "-o", "remount,rw", logDir)

	// Mid-run: the log directory goes read-only, then a real fails. The
	// daemon runs in the foreground, as under systemd, so its stderr (the
	// journal there) can be read.
	stderrFile := filepath.Join(ld.dir, "stderr.log")
	ef, err := os.Create(stderrFile)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	daemon := exec.Command(ld.bin, ld.cf, "start")
	daemon.Env = append(ld.env(), "HASUITE_LDIRECTORD_RUNDIR="+runDir, "HASUITE_LDIRECTORD_FOREGROUND=1")
	daemon.Stdout, daemon.Stderr = ef, ef
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	waitProc(t, diskTable, 20*time.Second, ld.log)
	ldCmd(t, "mount", "-o", "remount,ro", logDir)
	r2.Stop()
	waitProc(t, `tcp:10.77.0.50:80 wrr
tcp:10.77.0.50:80 10.77.8.1:80 masq w2
tcp:10.77.0.50:80 10.77.8.2:80 masq w0
`+procForeign, 10*time.Second, nil)
	warning := "ldirectord: cannot write log file: open " + logFile + ": read-only file system; log lines are lost until it can be written\n"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(stderrFile)
		if string(b) == warning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stderr is %q, want the one warning %q", b, warning)
		}
	}
	if _, rc := ctl("status"); rc != 0 {
		t.Fatalf("the daemon did not survive its log turning read-only (status exit %d)", rc)
	}
	ldCmd(t, "mount", "-o", "remount,rw", logDir)
	r2.Start()
	waitProc(t, diskTable, 10*time.Second, nil)
	// The daemon logs a change after making it: wait for the restore's
	// line, the second (the first is from the start).
	var logged string
	for deadline := time.Now().Add(10 * time.Second); strings.Count(logged, "Restored real server: 10.77.8.2:80") < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restore of 10.77.8.2 was not logged within 10s:\n%s", logged)
		}
		b, _ := os.ReadFile(logFile)
		logged = string(b)
	}
	note := regexp.MustCompile(`Log file ` + regexp.QuoteMeta(logFile) + ` could not be written from .*: ([0-9]+) lines lost \(open ` + regexp.QuoteMeta(logFile) + `: read-only file system\)`)
	switch m := note.FindStringSubmatch(logged); {
	case m == nil:
		t.Errorf("no note of the lost lines in the log:\n%s", logged)
	case m[1] == "0":
		t.Errorf("the note counts no lost line: %s", m[0])
	}
	if strings.Contains(logged, "Quiescent real server: 10.77.8.2:80") {
		t.Errorf("the quiesce, made while the log was read-only, is in the log:\n%s", logged)
	}
	if out, rc := ctl("stop"); rc != 0 {
		t.Fatalf("stop: exit %d\n%s", rc, out)
	}
	if err := <-exited; err != nil {
		t.Errorf("the daemon exited with %v after SIGTERM", err)
	}
	waitProc(t, procForeign, 0, nil)
}
