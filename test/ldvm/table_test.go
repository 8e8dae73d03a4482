package ldvm

// table_test.go: the IPVS table ldirectord programs on a real kernel: every
// kind of service against the classic Perl daemon, a real server's life
// cycle with reload, and kill -9 plus restart.

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// kindsConfig has every kind of virtual service classic ldirectord
// programs. Checks are real: HTTP and TCP servers the test runs on the
// addresses of a dummy link, ping to them; 10.77.1.3 and fd77::12 have no
// server, so their checks fail (connection refused).
const kindsConfig = `# Every kind of virtual service classic ldirectord programs.
checktimeout=1
negotiatetimeout=2
checkinterval=1
autoreload=no
quiescent=no
logfile="@DIR@/ld.log"
fallback=10.77.1.8:80 masq
fallback6=[fd77::8]:80 masq

# NAT, wrr, HTTP negotiate, thresholds; the third real has no server:
# quiescent=no deletes it.
virtual=10.77.0.1:80
	real=10.77.1.1:8080 masq 3
	real=10.77.1.2:8080 masq 1 l:10 u:100
	real=10.77.1.3:8080 masq 2
	service=http
	checktype=negotiate
	request="health"
	receive="OK"
	scheduler=wrr
	protocol=tcp

# DR, persistent with a netmask, lc; quiescent=yes keeps the dead real at 0.
virtual=10.77.0.1:443
	real=10.77.1.1:443 gate 2
	real=10.77.1.3:443 gate 5
	checktype=connect
	scheduler=lc
	persistent=300
	netmask=255.255.255.0
	quiescent=yes

# DR with a real port other than the VIP's (ipvsadm maps it), sh with a flag.
virtual=10.77.0.2:443
	real=10.77.1.2:8443 gate 4
	checktype=connect
	scheduler=sh
	schedflags=sh-port

# TUN, wlc; its only real is dead, so the fallback serves.
virtual=10.77.0.3:25
	real=10.77.1.3:25 ipip 1
	fallback=10.77.1.9:25 ipip
	checktype=connect
	scheduler=wlc

# TUN with live reals, dh.
virtual=10.77.0.3:8080
	real=10.77.1.1:8080 ipip 2
	real=10.77.1.2:8080 ipip 3
	checktype=connect
	scheduler=dh

# UDP, one-packet scheduling, ping checks.
virtual=10.77.0.4:53
	real=10.77.1.1:53 masq 1
	real=10.77.1.2:53 masq 2
	protocol=udp
	checktype=ping
	scheduler=rr
	ops=yes

# fwmark, persistent, connect checks on checkport.
virtual=100
	real=10.77.1.1 gate 1
	real=10.77.1.2 gate 2
	checktype=connect
	checkport=8080
	scheduler=rr
	persistent=60

# Its only real is dead, no fallback of its own: the global one serves.
virtual=10.77.0.5:80
	real=10.77.1.3:80 masq 1
	checktype=connect

# checktype=on: up without a server.
virtual=10.77.0.6:80
	real=10.77.1.3:80 masq 2
	checktype=on
	scheduler=rr

# checktype=off: never checked; a real comes up only if IPVS had it, so
# the global fallback serves.
virtual=10.77.0.7:80
	real=10.77.1.1:80 masq 3
	checktype=off
	scheduler=rr

# IPv6 NAT, sed, quiescent.
virtual6=[fd77::1]:80
	real6=[fd77::11]:8080 masq 2
	real6=[fd77::12]:8080 masq 1
	checktype=connect
	scheduler=sed
	quiescent=yes

# IPv6 with its only real dead: the global fallback6 serves.
virtual6=[fd77::2]:80
	real6=[fd77::12]:80 masq 1
	checktype=connect
	scheduler=rr

# IPv6 fwmark, persistent with a prefix netmask.
virtual6=200
	real6=[fd77::11] masq 1
	checktype=connect
	checkport=8080
	scheduler=nq
	persistent=30
	netmask=64
`

// kindsTable is the table kindsConfig settles on (classic semantics,
// spec §4): live reals at their weight, dead ones deleted (quiescent=no)
// or at 0 (quiescent=yes), the fallback only where no real lives; gate
// reals take the VIP's port; plus a service ldirectord does not own.
const kindsTable = `TCP 10.77.0.1:80 wrr
-> 10.77.1.1:8080 Masq 3 0 0
-> 10.77.1.2:8080 Masq 1 100 10
TCP 10.77.0.1:443 lc persistent 300 mask 255.255.255.0
-> 10.77.1.1:443 Route 2 0 0
-> 10.77.1.3:443 Route 0 0 0
TCP 10.77.0.2:443 sh (sh-port)
-> 10.77.1.2:443 Route 4 0 0
TCP 10.77.0.3:25 wlc
-> 10.77.1.9:25 Tunnel 1 0 0
TCP 10.77.0.3:8080 dh
-> 10.77.1.1:8080 Tunnel 2 0 0
-> 10.77.1.2:8080 Tunnel 3 0 0
TCP 10.77.0.5:80 wrr
-> 10.77.1.8:80 Masq 1 0 0
TCP 10.77.0.6:80 rr
-> 10.77.1.3:80 Masq 2 0 0
TCP 10.77.0.7:80 rr
-> 10.77.1.8:80 Masq 1 0 0
TCP 10.77.9.9:80 rr
-> 10.77.9.10:80 Masq 1 0 0
UDP 10.77.0.4:53 rr ops
-> 10.77.1.1:53 Masq 1 0 0
-> 10.77.1.2:53 Masq 2 0 0
TCP [fd77::1]:80 sed
-> [fd77::11]:8080 Masq 2 0 0
-> [fd77::12]:8080 Masq 0 0 0
TCP [fd77::2]:80 rr
-> [fd77::8]:80 Masq 1 0 0
FWM 100 rr persistent 60
-> 10.77.1.1:0 Route 1 0 0
-> 10.77.1.2:0 Route 2 0 0
FWM 200 IPv6 nq persistent 30 mask 64
-> [fd77::11]:0 Masq 1 0 0
`

// foreignTable is the service someone else made, which ldirectord must
// leave alone (also at cleanstop).
const foreignTable = `TCP 10.77.9.9:80 rr
-> 10.77.9.10:80 Masq 1 0 0
`

// foreignService makes foreignTable's service with ipvsadm, as an
// operator would.
func foreignService(t *testing.T) {
	t.Helper()
	ldCmd(t, "ipvsadm", "-A", "-t", "10.77.9.9:80", "-s", "rr")
	ldCmd(t, "ipvsadm", "-a", "-t", "10.77.9.9:80", "-r", "10.77.9.10:80", "-m")
}

// stopClean stops the daemon the classic way and fails unless its
// cleanstop left exactly want (foreignTable, or "" for none).
func stopClean(t *testing.T, ld *ldProc, want string) {
	t.Helper()
	ld.stop()
	if got := ipvsTable(t); got != want {
		t.Fatalf("after stopping ldirectord (cleanstop) the table is:\n%s\nwant:\n%s\nlog:\n%s", got, want, ld.log())
	}
}

// settle starts ld in the foreground, waits up to timeout for kindsTable
// and for it to hold still, and returns how long it took to get there.
func settle(t *testing.T, ld *ldProc, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ld.ldForeground()
	waitTable(t, kindsTable, timeout, ld.log)
	took := time.Since(start)
	if got := stableTable(t, 3*time.Second, 20*time.Second); got != kindsTable {
		t.Fatalf("%s did not stay settled: (-want +got)\n%s\nlog:\n%s", ld.bin, cmp.Diff(kindsTable, got), ld.log())
	}
	return took
}

// kindsLab starts the real servers kindsConfig checks and the foreign
// service.
func kindsLab(t *testing.T) {
	guestDummy(t, "ldkinds0", "10.77.1.1/32", "10.77.1.2/32", "10.77.1.3/32",
		"fd77::11/128", "fd77::12/128")
	ldHTTPReal(t, "10.77.1.1:8080", "OK\n")
	ldHTTPReal(t, "10.77.1.2:8080", "OK\n")
	ldHTTPReal(t, "[fd77::11]:8080", "OK\n")
	ldTCPReal(t, "10.77.1.1:443")
	ldTCPReal(t, "10.77.1.2:8443")
	foreignService(t)
}

// deadReals are the reals of kindsConfig without a server (or never
// checked), as log lines name them.
var deadReals = []string{"10.77.1.3:8080", "10.77.1.3:443", "10.77.1.3:25", "[fd77::12]:8080",
	"10.77.1.3:80 (10.77.0.5:80)", "10.77.1.1:80 (10.77.0.7:80)", "[fd77::12]:80"}

// deadRealOps are the IPVS changes in log that name one of deadReals.
func deadRealOps(log string) []string {
	var ops []string
	for _, op := range ldOps(log, 0) {
		if slices.ContainsFunc(deadReals, func(r string) bool { return strings.Contains(op, r) }) {
			ops = append(ops, op)
		}
	}
	return ops
}

// envPerl=0 leaves out the Perl half of TestGuestTableKinds (Perl's
// start-up and its ipvsadm calls cost 20-70 s under TCG).
const envPerl = "HASUITE_LDVM_PERL"

// TestGuestTableKinds runs ours and then Debian's Perl ldirectord 4.12 on
// kindsConfig in the same VM: both must settle on kindsTable exactly, ours
// without giving a dead real traffic on the way (classic's start adds it
// at full weight first, spec §8.2) and its cleanstop must leave only the
// foreign service. Then classic is killed (kill -9, so its table stays)
// and ours, started over that table, must adopt it without one change:
// the drop-in migration. HASUITE_LDVM_PERL=0 runs only ours.
func TestGuestTableKinds(t *testing.T) {
	kindsLab(t)

	ours := ldConfig(t, kindsConfig)
	settledOurs := settle(t, ours, 20*time.Second)
	for _, op := range deadRealOps(ours.log()) {
		if !strings.Contains(op, "Weight set to 0") {
			t.Errorf("a dead real got an IPVS change other than quiescent: %q", op)
		}
	}
	stopClean(t, ours, foreignTable)
	t.Logf("ours settled %.1fs after start", settledOurs.Seconds())
	if os.Getenv(envPerl) == "0" {
		t.Logf("%s=0: no comparison with Perl ldirectord", envPerl)
		return
	}

	perl := ldConfig(t, kindsConfig)
	perl.bin = perlLdirectord
	settledPerl := settle(t, perl, 150*time.Second)
	perlDance := 0
	for _, op := range deadRealOps(perl.log()) {
		if strings.HasPrefix(op, "Added real") && !strings.Contains(op, "Weight set to 0") {
			perlDance++
		}
	}
	t.Logf("settled after start: ours %.1fs, Perl %.1fs (Perl gave dead reals full weight %d times on the way)",
		settledOurs.Seconds(), settledPerl.Seconds(), perlDance)
	perl.kill9()

	s := ipvsSample()
	again := ldConfig(t, kindsConfig)
	again.ldForeground()
	time.Sleep(3 * time.Second) // three check intervals
	seen, reads := s.Stop(t)
	if len(seen) != 1 {
		t.Errorf("ours changed the table classic left %d times:\n%s", len(seen)-1, strings.Join(seen, "--\n"))
	}
	if ops := ldOps(again.log(), 0); len(ops) > 0 {
		t.Errorf("ours changed IPVS over the table classic left:\n%s", strings.Join(ops, "\n"))
	}
	if got := ipvsTable(t); got != kindsTable {
		t.Fatalf("ours over classic's table: (-want +got)\n%s", cmp.Diff(kindsTable, got))
	}
	t.Logf("ours over classic's table: %d reads, no change", reads)
	stopClean(t, again, foreignTable)
}

// cycleConfig: two virtuals share the HTTP check of two reals; one
// quiesces (with a fallback), one deletes; a third is removed at reload.
const cycleConfig = `checktimeout=1
negotiatetimeout=1
checkinterval=1
autoreload=no
logfile="@DIR@/ld.log"

virtual=10.77.0.10:80
	real=10.77.2.1:80 masq 3
	real=10.77.2.2:80 masq 2
	fallback=10.77.2.9:80 masq
	service=http
	checktype=negotiate
	request="/"
	receive="alive"
	scheduler=wrr
	quiescent=yes

virtual=10.77.0.11:80
	real=10.77.2.1:80 masq 1
	real=10.77.2.2:80 masq 1
	service=http
	checktype=negotiate
	request="/"
	receive="alive"
	scheduler=rr
	quiescent=no

virtual=10.77.0.12:80
	real=10.77.2.1:80 masq 1
	checktype=connect
	scheduler=rr
`

// cycleReloaded changes cycleConfig: in the first virtual the scheduler,
// real 1's weight (3 → 5), the down real 2's weight (2 → 6) and a new
// real 3; in the second the check (its receive); the third virtual is gone.
var cycleReloaded = strings.NewReplacer(
	"receive=\"alive\"\n\tscheduler=rr\n", "receive=\"aliv\"\n\tscheduler=rr\n",
	"real=10.77.2.1:80 masq 3\n", "real=10.77.2.1:80 masq 5\n\treal=10.77.2.3:80 masq 4\n",
	"real=10.77.2.2:80 masq 2\n", "real=10.77.2.2:80 masq 6\n",
	"scheduler=wrr\n", "scheduler=wlc\n",
	"\nvirtual=10.77.0.12:80\n\treal=10.77.2.1:80 masq 1\n\tchecktype=connect\n\tscheduler=rr\n", "",
).Replace(cycleConfig)

// reloadOps are the IPVS changes the reload to cycleReloaded must make,
// sorted, and no others.
var reloadOps = []string{
	"Added quiescent real server: 10.77.2.3:80 (10.77.0.10:80) (Weight set to 0)",
	"Changed virtual server: 10.77.0.10:80",
	"Purged virtual server (start): 10.77.0.12:80",
	"Restored real server: 10.77.2.1:80 (10.77.0.10:80) (Weight set to 5)",
	"Restored real server: 10.77.2.3:80 (10.77.0.10:80) (Weight set to 4)",
}

// TestGuestLifecycle walks real servers through start, down (quiescent and
// deleted), all down (fallback), restore and a reload, with the daemon
// detached and driven through its command line.
func TestGuestLifecycle(t *testing.T) {
	if strings.Count(cycleReloaded, "masq 5\n\treal=10.77.2.3") != 1 || strings.Count(cycleReloaded, "masq 6\n") != 1 ||
		!strings.Contains(cycleReloaded, "wlc") || !strings.Contains(cycleReloaded, `"aliv"`) || strings.Contains(cycleReloaded, "10.77.0.12") {
		t.Fatal("cycleReloaded did not change cycleConfig")
	}
	guestDummy(t, "ldcycle0", "10.77.2.1/32", "10.77.2.2/32", "10.77.2.3/32")
	r1 := ldHTTPReal(t, "10.77.2.1:80", "alive\n")
	r2 := ldHTTPReal(t, "10.77.2.2:80", "starting\n") // answers, fails receive
	ldHTTPReal(t, "10.77.2.3:80", "alive\n")
	foreignService(t)
	ld := ldConfig(t, cycleConfig)

	// Start: real 2 fails its check, so it never gets traffic: at 0 where
	// quiescent, absent where not.
	s := ipvsSample()
	ld.ldDaemon()
	waitTable(t, `TCP 10.77.0.10:80 wrr
-> 10.77.2.1:80 Masq 3 0 0
-> 10.77.2.2:80 Masq 0 0 0
TCP 10.77.0.11:80 rr
-> 10.77.2.1:80 Masq 1 0 0
TCP 10.77.0.12:80 rr
-> 10.77.2.1:80 Masq 1 0 0
`+foreignTable, 20*time.Second, ld.log)
	time.Sleep(1500 * time.Millisecond) // more checks of real 2 fail
	seen, reads := s.Stop(t)
	for _, st := range seen {
		if m := regexp.MustCompile(`(?m)^.* 10\.77\.2\.2:80 masq w[1-9].*$`).FindString(st); m != "" {
			t.Errorf("at start real 2 got traffic before passing a check: %s", m)
		}
	}
	t.Logf("start: %d distinct tables in %d reads", len(seen), reads)

	r2.SetBody("alive\n")
	waitTable(t, `TCP 10.77.0.10:80 wrr
-> 10.77.2.1:80 Masq 3 0 0
-> 10.77.2.2:80 Masq 2 0 0
TCP 10.77.0.11:80 rr
-> 10.77.2.1:80 Masq 1 0 0
-> 10.77.2.2:80 Masq 1 0 0
TCP 10.77.0.12:80 rr
-> 10.77.2.1:80 Masq 1 0 0
`+foreignTable, 10*time.Second, ld.log)

	// Real 1 stops answering: quiesced in the first virtual, deleted in
	// the others.
	r1.Stop()
	waitTable(t, `TCP 10.77.0.10:80 wrr
-> 10.77.2.1:80 Masq 0 0 0
-> 10.77.2.2:80 Masq 2 0 0
TCP 10.77.0.11:80 rr
-> 10.77.2.2:80 Masq 1 0 0
TCP 10.77.0.12:80 rr
`+foreignTable, 10*time.Second, ld.log)

	// Both down: the fallback serves the first virtual.
	r2.Stop()
	waitTable(t, `TCP 10.77.0.10:80 wrr
-> 10.77.2.1:80 Masq 0 0 0
-> 10.77.2.2:80 Masq 0 0 0
-> 10.77.2.9:80 Masq 1 0 0
TCP 10.77.0.11:80 rr
TCP 10.77.0.12:80 rr
`+foreignTable, 10*time.Second, ld.log)

	// Real 1 back: at its weight, the fallback gone, and never a moment
	// with nothing to serve the first virtual.
	s = ipvsSample()
	r1.Start()
	restored := `TCP 10.77.0.10:80 wrr
-> 10.77.2.1:80 Masq 3 0 0
-> 10.77.2.2:80 Masq 0 0 0
TCP 10.77.0.11:80 rr
-> 10.77.2.1:80 Masq 1 0 0
TCP 10.77.0.12:80 rr
-> 10.77.2.1:80 Masq 1 0 0
` + foreignTable
	waitTable(t, restored, 10*time.Second, ld.log)
	seen, _ = s.Stop(t)
	for _, st := range seen {
		if !regexp.MustCompile(`(?m)^tcp:10\.77\.0\.10:80 \S+ masq w[1-9]`).MatchString(st) {
			t.Errorf("while real 1 came back the first virtual had no server with weight:\n%s", st)
		}
	}

	// Reload with a changed config: only the changes happen; the down real
	// 2 stays quiesced throughout; the second virtual is not touched,
	// although its check changed (its reals stay up until it decides).
	logFrom := len(ld.log())
	ld.writeConfig(cycleReloaded)
	s = ipvsSample()
	if out, rc := ld.ctl("reload"); rc != 0 {
		t.Fatalf("ldirectord reload: exit %d\n%s", rc, out)
	}
	waitTable(t, `TCP 10.77.0.10:80 wlc
-> 10.77.2.1:80 Masq 5 0 0
-> 10.77.2.2:80 Masq 0 0 0
-> 10.77.2.3:80 Masq 4 0 0
TCP 10.77.0.11:80 rr
-> 10.77.2.1:80 Masq 1 0 0
`+foreignTable, 20*time.Second, ld.log)
	time.Sleep(1500 * time.Millisecond) // a round of checks after the reload
	seen, reads = s.Stop(t)
	steady := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^tcp:10\.77\.0\.10:80 10\.77\.2\.1:80 masq w[35] `),
		regexp.MustCompile(`(?m)^tcp:10\.77\.0\.10:80 10\.77\.2\.2:80 masq w0 `),
		regexp.MustCompile(`(?m)^tcp:10\.77\.0\.11:80 10\.77\.2\.1:80 masq w1 `),
	}
	for _, st := range seen {
		for _, re := range steady {
			if !re.MatchString(st) {
				t.Errorf("during the reload the table lost %s:\n%s", re, st)
			}
		}
		if strings.Contains(st, "10.77.2.9") || strings.Contains(st, "tcp:10.77.0.11:80 10.77.2.2") {
			t.Errorf("during the reload a down real or the fallback came back:\n%s", st)
		}
	}
	t.Logf("reload: %d distinct tables in %d reads", len(seen), reads)
	ops := ldOps(ld.log(), logFrom)
	slices.Sort(ops)
	if !slices.Equal(ops, reloadOps) {
		t.Errorf("the reload's IPVS changes: (-want +got)\n%s", cmp.Diff(reloadOps, ops))
	}

	// A broken config: the command line refuses to reload (exit 2) and
	// status still works; a SIGHUP the daemon gets anyway keeps the running
	// config and the table.
	reloaded := ipvsTable(t)
	ld.writeConfig(cycleReloaded + "bogus=1\n")
	if out, rc := ld.ctl("reload"); rc != 2 {
		t.Errorf("reload with a broken config: exit %d, want 2\n%s", rc, out)
	}
	if out, rc := ld.ctl("status"); rc != 0 {
		t.Errorf("status with a broken config: exit %d, want 0\n%s", rc, out)
	}
	logFrom = len(ld.log())
	if err := syscall.Kill(ld.pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(ld.log()[logFrom:], "Reload failed"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no \"Reload failed\" logged after SIGHUP with a broken config:\n%s", ld.log()[logFrom:])
		}
	}
	if got := ipvsTable(t); got != reloaded {
		t.Errorf("a failed reload changed the table: (-want +got)\n%s", cmp.Diff(reloaded, got))
	}
	ld.writeConfig(cycleReloaded)

	// Real 2 back after the reload: at its new weight.
	r2.Start()
	waitTable(t, `TCP 10.77.0.10:80 wlc
-> 10.77.2.1:80 Masq 5 0 0
-> 10.77.2.2:80 Masq 6 0 0
-> 10.77.2.3:80 Masq 4 0 0
TCP 10.77.0.11:80 rr
-> 10.77.2.1:80 Masq 1 0 0
-> 10.77.2.2:80 Masq 1 0 0
`+foreignTable, 10*time.Second, ld.log)

	// cleanstop: ours go, the foreign service stays.
	stopClean(t, ld, foreignTable)
}

// killConfig: a live real, a quiesced one, a virtual on its fallback,
// IPv6 and fwmark.
const killConfig = `checktimeout=1
checkinterval=1
autoreload=no
logfile="@DIR@/ld.log"

virtual=10.77.0.20:80
	real=10.77.3.1:80 masq 2
	real=10.77.3.2:80 masq 1
	checktype=connect
	scheduler=wlc
	quiescent=yes

virtual=10.77.0.21:443
	real=10.77.3.2:443 gate 1
	fallback=10.77.3.9:443 gate
	checktype=connect
	scheduler=rr
	persistent=120

virtual=300
	real=10.77.3.1 gate 5
	checktype=connect
	checkport=80
	scheduler=wrr

virtual6=[fd77::20]:80
	real6=[fd77::31]:80 masq 3
	checktype=connect
	scheduler=rr
`

// killTable is what killConfig settles on.
const killTable = `TCP 10.77.0.20:80 wlc
-> 10.77.3.1:80 Masq 2 0 0
-> 10.77.3.2:80 Masq 0 0 0
TCP 10.77.0.21:443 rr persistent 120
-> 10.77.3.9:443 Route 1 0 0
TCP [fd77::20]:80 rr
-> [fd77::31]:80 Masq 3 0 0
FWM 300 wrr
-> 10.77.3.1:0 Route 5 0 0
`

// TestGuestKill9 kills the settled daemon with SIGKILL: IPVS must stay as
// it was; a restart (over the stale pid file) must adopt the table without
// a single IPVS change and then go on checking.
func TestGuestKill9(t *testing.T) {
	guestDummy(t, "ldkill0", "10.77.3.1/32", "10.77.3.2/32", "fd77::31/128")
	ldTCPReal(t, "10.77.3.1:80")
	ldTCPReal(t, "[fd77::31]:80")
	ld := ldConfig(t, killConfig)
	first := ld.ldDaemon()
	waitTable(t, killTable, 20*time.Second, ld.log)
	time.Sleep(1500 * time.Millisecond) // checks go on: nothing moves

	s := ipvsSample()
	ld.kill9()
	time.Sleep(1500 * time.Millisecond)
	if got := ipvsTable(t); got != killTable {
		t.Fatalf("kill -9 changed the table:\n%s\nwant:\n%s", got, killTable)
	}
	if ld.pid() != first {
		t.Fatalf("pid file after kill -9: %d, want the stale %d", ld.pid(), first)
	}

	logFrom := len(ld.log())
	second := ld.ldDaemon()
	if second == first {
		t.Fatalf("restart kept pid %d", first)
	}
	time.Sleep(3500 * time.Millisecond) // three check intervals and more
	seen, reads := s.Stop(t)
	if len(seen) != 1 {
		t.Errorf("the table changed %d times across kill -9 and restart:\n%s", len(seen)-1, strings.Join(seen, "--\n"))
	}
	if got := ipvsTable(t); got != killTable {
		t.Fatalf("after restart the table is:\n%s\nwant:\n%s", got, killTable)
	}
	restartLog := ld.log()[logFrom:]
	if ops := ldOps(restartLog, 0); len(ops) > 0 {
		t.Errorf("the restarted daemon changed IPVS:\n%s", strings.Join(ops, "\n"))
	}
	if n := strings.Count(restartLog, "Adopted real server"); n != 3 {
		t.Errorf("restart adopted %d reals, want 3 (the live ones):\n%s", n, restartLog)
	}
	t.Logf("kill -9 + restart: %d reads of the table, one state", reads)

	// The restarted daemon is alive and checking: the quiesced real comes
	// back when its server does, the fallback gives way.
	ldTCPReal(t, "10.77.3.2:80")
	ldTCPReal(t, "10.77.3.2:443")
	waitTable(t, `TCP 10.77.0.20:80 wlc
-> 10.77.3.1:80 Masq 2 0 0
-> 10.77.3.2:80 Masq 1 0 0
TCP 10.77.0.21:443 rr persistent 120
-> 10.77.3.2:443 Route 1 0 0
TCP [fd77::20]:80 rr
-> [fd77::31]:80 Masq 3 0 0
FWM 300 wrr
-> 10.77.3.1:0 Route 5 0 0
`, 10*time.Second, ld.log)
	stopClean(t, ld, "")
}

// manualConfig: three reals, the third without a server (quiesced).
const manualConfig = `checktimeout=1
checkinterval=1
autoreload=no
logfile="@DIR@/ld.log"

virtual=10.77.0.30:80
	real=10.77.4.1:80 masq 3
	real=10.77.4.2:80 masq 2
	real=10.77.4.3:80 masq 1
	checktype=connect
	scheduler=wrr
	quiescent=yes
`

// TestGuestManualChanges: an operator drains a live real and deletes a
// quiesced one with ipvsadm; classic leaves such changes until that real's
// own next state change or a reload (spec §4.6, and readdquiescent=no
// exists for it), so another real's state change must not undo them.
func TestGuestManualChanges(t *testing.T) {
	guestDummy(t, "ldmanual0", "10.77.4.1/32", "10.77.4.2/32", "10.77.4.3/32")
	ldTCPReal(t, "10.77.4.1:80")
	r2 := ldTCPReal(t, "10.77.4.2:80")
	ld := ldConfig(t, manualConfig)
	ld.ldDaemon()
	waitTable(t, `TCP 10.77.0.30:80 wrr
-> 10.77.4.1:80 Masq 3 0 0
-> 10.77.4.2:80 Masq 2 0 0
-> 10.77.4.3:80 Masq 0 0 0
`, 10*time.Second, ld.log)

	ldCmd(t, "ipvsadm", "-e", "-t", "10.77.0.30:80", "-r", "10.77.4.1:80", "-m", "-w", "0")
	ldCmd(t, "ipvsadm", "-d", "-t", "10.77.0.30:80", "-r", "10.77.4.3:80")
	manual := `TCP 10.77.0.30:80 wrr
-> 10.77.4.1:80 Masq 0 0 0
-> 10.77.4.2:80 Masq 2 0 0
`
	time.Sleep(1500 * time.Millisecond) // checks go on, nothing changes state
	if got := ipvsTable(t); got != manual {
		t.Fatalf("the daemon undid manual changes without a state change: (-want +got)\n%s\nlog:\n%s", cmp.Diff(manual, got), ld.log())
	}

	r2.Stop()
	waitTable(t, `TCP 10.77.0.30:80 wrr
-> 10.77.4.1:80 Masq 0 0 0
-> 10.77.4.2:80 Masq 0 0 0
`, 10*time.Second, ld.log)
	r2.Start()
	waitTable(t, manual, 10*time.Second, ld.log)
	ld.stop()
}
