// Package nwaybench measures `membership memberlist` failure detection
// on five directors while both cores are saturated by a CPU hog: the time
// from a crash to a survivor declaring the node dead and to its groups
// running elsewhere, and what the load costs in false "dead" declarations
// and needless group moves (make bench-nway; root).
package nwaybench

// nway_test.go: BenchmarkNwayDetection.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/nway"
)

var (
	duration = flag.Duration("nway.duration", 10*time.Minute, "how long to run the kills (short mode: 90s)")
	hogs     = flag.Int("nway.hogs", runtime.NumCPU(), "busy-loop processes at nice 0 outside the namespaces")
	minGap   = flag.Duration("nway.mingap", 5*time.Second, "least quiet time before a kill")
	maxGap   = flag.Duration("nway.maxgap", 20*time.Second, "most quiet time before a kill")
	seed     = flag.Uint64("nway.seed", uint64(time.Now().UnixNano()), "random seed (victims and gaps)")
)

// kill is one crash and what was measured.
type kill struct {
	victim   string
	detect   time.Duration // crash -> a survivor's API says dead
	failover time.Duration // crash -> every group of the victim on a survivor
	held     int           // groups the victim held
	back     int           // groups that went back to it after its reboot
}

// BenchmarkNwayDetection runs five directors at the tuned settings (the
// ha.cf defaults), starts the CPU hogs, then until -nway.duration is over:
// waits a random quiet time, crashes a random director (SIGKILL and link
// down), measures detection and failover, and reboots it (auto_failback on
// brings its groups back). At the end it counts every "node X is dead" the
// daemons logged beyond one per crash and observer (false declarations)
// and every group move beyond the crashes' and reboots' (needless moves).
func BenchmarkNwayDetection(b *testing.B) {
	netns.RequireRoot(b)
	if b.N > 1 {
		b.Skip("run with -benchtime 1x")
	}
	rng := rand.New(rand.NewPCG(*seed, 0))
	l := nway.NewLab(b, nway.Opts{N: 5, Failback: "on"})
	l.WaitExactly(b, l.Preferred(), 30*time.Second, "every group on its preferred director")
	startHogs(b, *hogs)
	time.Sleep(5 * time.Second) // the daemons adapt (Lifeguard) before the first kill
	start := time.Now()
	busy0, total0 := cpuTimes()
	var kills []kill
	for time.Since(start) < *duration {
		time.Sleep(*minGap + time.Duration(rng.Int64N(int64(*maxGap-*minGap)+1)))
		victim := l.Order[rng.IntN(len(l.Order))]
		kills = append(kills, crashAndReboot(b, l, victim))
		k := kills[len(kills)-1]
		b.Logf("%s: crash of %s detected after %v, its %d groups elsewhere after %v; %d back after the reboot",
			time.Since(start).Round(time.Second), nway.NodeName(victim), k.detect.Round(time.Millisecond), k.held,
			k.failover.Round(time.Millisecond), k.back)
	}
	elapsed := time.Since(start)
	busy1, total1 := cpuTimes()
	busy := 100 * float64(busy1-busy0) / float64(max(total1-total0, 1))

	needed := 0
	for _, k := range kills {
		needed += k.held + k.back
	}
	moves := 0
	for _, m := range l.Moves() {
		if !m.At.Before(start) {
			moves++
		}
	}
	falseDead := falseDeaths(l, kills)
	var detect, failover []time.Duration
	for _, k := range kills {
		detect = append(detect, k.detect)
		failover = append(failover, k.failover)
	}
	worst, which := l.WorstOverlap()
	fmt.Printf("\nmembership memberlist, 5 directors, probe 200ms/100ms, suspicion mult 3, gossip 50ms\n")
	fmt.Printf("load: %d busy loops at nice 0 on %d CPUs (CPUs %.0f%% busy), %v of kills, seed %d\n", *hogs, runtime.NumCPU(), busy, elapsed.Round(time.Second), *seed)
	fmt.Printf("kills:                        %d\n", len(kills))
	fmt.Printf("detection (crash -> dead):    median %v  p95 %v  max %v\n", pct(detect, 50), pct(detect, 95), pct(detect, 100))
	fmt.Printf("failover (crash -> VIP up):   median %v  p95 %v  max %v\n", pct(failover, 50), pct(failover, 95), pct(failover, 100))
	fmt.Printf("false \"dead\" declarations:    %d\n", falseDead)
	fmt.Printf("group moves:                  %d (%d needed, %d needless)\n", moves, needed, moves-needed)
	fmt.Printf("longest VIP on two directors: %v (%s)\n", worst.Round(time.Millisecond), which)
}

// crashAndReboot crashes victim, measures, reboots it and waits until
// every group is back on its preferred director.
func crashAndReboot(b *testing.B, l *nway.Lab, victim string) kill {
	k := kill{victim: victim}
	var held []string
	for vip, hs := range l.Holders() {
		if slices.Contains(hs, victim) {
			held = append(held, vip)
		}
	}
	k.held = len(held)
	observer := l.Order[(slices.Index(l.Order, victim)+1)%len(l.Order)]
	name := nway.NodeName(victim)
	t0 := time.Now()
	l.Crash(b, victim)
	for l.Nodes[observer].NodeStatus(name) != "dead" {
		if time.Since(t0) > time.Minute {
			b.Fatalf("%s still sees %s alive a minute after its crash", observer, name)
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.detect = time.Since(t0)
	l.WaitHolders(b, time.Minute, "the groups of "+name+" elsewhere", func(h map[string][]string) bool {
		for _, vip := range held {
			if len(h[vip]) != 1 {
				return false
			}
		}
		return true
	})
	k.failover = time.Since(t0)
	time.Sleep(2 * time.Second)
	away := 0
	for _, g := range l.Groups {
		if hs := l.Holders()[g.VIP]; g.Pref == victim && (len(hs) != 1 || hs[0] != victim) {
			away++
		}
	}
	k.back = away
	l.Reboot(b, victim)
	l.WaitExactly(b, l.Preferred(), time.Minute, "every group back on its preferred director after the reboot of "+name)
	return k
}

// deadLine is the daemon's log line for a member declared dead.
var deadLine = regexp.MustCompile(`node (node[a-e]) is dead`)

// falseDeaths counts, per observer and dead node, the "is dead" lines
// beyond the number of crashes of that node (each crash is declared once
// by each observer that was up: every observer but the victim is).
func falseDeaths(l *nway.Lab, kills []kill) int {
	crashes := map[string]int{}
	for _, k := range kills {
		crashes[nway.NodeName(k.victim)]++
	}
	extra := 0
	for _, h := range l.Order {
		log, err := os.ReadFile(l.Nodes[h].LogFile())
		if err != nil {
			continue
		}
		seen := map[string]int{}
		for _, m := range deadLine.FindAllStringSubmatch(string(log), -1) {
			seen[m[1]]++
		}
		for node, n := range seen {
			if n > crashes[node] {
				extra += n - crashes[node]
			}
		}
	}
	return extra
}

// startHogs starts n busy loops at nice 0 in the root namespace, stopped
// at cleanup.
func startHogs(b *testing.B, n int) {
	for i := 0; i < n; i++ {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		})
	}
}

// cpuTimes returns the busy and total jiffies of all CPUs (/proc/stat);
// zeros when unreadable.
func cpuTimes() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			continue
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// pct is the p-th percentile (nearest rank) of ds; 0 when empty.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s) + 99) / 100
	return s[max(i-1, 0)].Round(time.Millisecond)
}
