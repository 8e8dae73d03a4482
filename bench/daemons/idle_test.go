// idle_test.go: BenchmarkIdle, the memory each daemon holds once settled
// with a small config, hasuite's and the classic one alike (root only).

package daemons

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/bench/result"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/interop"
	"github.com/hasuite/hasuite/test/netns"
)

// perlLdirectord is Debian's ldirectord 4.12.
const perlLdirectord = "/usr/sbin/ldirectord"

// BenchmarkIdle measures, after -daemons.settle, the memory (summed VmRSS
// and Pss, see Mem) of:
//
//   - heartbeat: nodea of a pair (both nodes the same implementation,
//     -daemons.setting, one VIP, a ping node, ipfail respawned), once nodea
//     answers for the VIP: every heartbeat process but ipfail (3.0.6: the
//     master and its children in its PID namespace; heartbeatd: its process
//     tree), and ipfail apart;
//   - ldirectord: 2 virtual services × 2 reals, HTTP negotiate checks
//     every second against loopback servers in a namespace; hasuite's over
//     an in-memory IPVS, Perl with an ipvsadm stand-in (bench/ldcheck).
func BenchmarkIdle(b *testing.B) {
	var recs []result.Record
	for _, what := range strings.Split(*flagIdle, ",") {
		switch strings.TrimSpace(what) {
		case "heartbeat":
			recs = append(recs, idleHeartbeat(b)...)
		case "ldirectord":
			recs = append(recs, idleLdirectord(b)...)
		default:
			b.Fatalf("-daemons.idle: unknown %q (want heartbeat or ldirectord)", what)
		}
	}
	finish(b, "Memory of each daemon, idle", recs)
}

// memRecords turns per-round memory into rss and pss records.
func memRecords(c, impl, program string, ms []Mem) []result.Record {
	rss, pss := make([]float64, len(ms)), make([]float64, len(ms))
	procs := 0
	for i, m := range ms {
		rss[i], pss[i], procs = float64(m.RSS), float64(m.PSS), m.Procs
	}
	note := fmt.Sprintf("%d processes", procs)
	return []result.Record{
		{Bench: "idle", Case: c, Impl: impl, Program: program, Metric: "rss", Unit: "KiB", Values: rss, Note: note},
		{Bench: "idle", Case: c, Impl: impl, Program: program, Metric: "pss", Unit: "KiB", Values: pss, Note: note},
	}
}

func idleHeartbeat(b *testing.B) []result.Record {
	s := setting(b)
	ims := impls(b, interop.HaveClassic, "needs heartbeat 3.0.6 (apt-get install heartbeat)")
	daemon, ipfail := map[string][]Mem{}, map[string][]Mem{}
	for round := 1; round <= *flagRounds; round++ {
		for _, impl := range ims {
			b.Run(fmt.Sprintf("heartbeat/%s/%d", impl, round), func(b *testing.B) {
				extra := fmt.Sprintf("ping %s\ndeadping %dms\n", pingNode, s.Deadtime.Milliseconds())
				if impl == result.Classic {
					extra += "respawn hacluster " + classicIpfailPath + "\n"
				} else {
					if !hbnode.HasTool(b, "ipfail") {
						b.Fatal("hasuite's ipfail did not build")
					}
					extra += "respawn root " + oursIpfailPath + "\napiauth ipfail uid=root\n"
				}
				cf := haCF(s, []string{"nodea", "nodeb"}, extra)
				x := newLab(b)
				t0 := time.Now()
				na := startNode(b, impl, x.A, "nodea", cf)
				nb := startNode(b, impl, x.B, "nodeb", cf)
				defer na.Kill(b)
				defer nb.Kill(b)
				x.firstReply(b, "nodea", t0, startupWait)
				time.Sleep(*flagSettle)
				ipf, rest := Split(procsOf(b, na), "ipfail")
				if len(ipf) != 1 {
					b.Fatalf("%s: %d ipfail processes on nodea, want 1", impl, len(ipf))
				}
				md, err1 := MemOf(rest)
				mi, err2 := MemOf(ipf)
				if err1 != nil || err2 != nil {
					b.Fatalf("reading memory: %v %v", err1, err2)
				}
				b.Logf("%s: heartbeat %d processes RSS %d KiB PSS %d KiB; ipfail RSS %d KiB PSS %d KiB", impl, md.Procs, md.RSS, md.PSS, mi.RSS, mi.PSS)
				daemon[impl] = append(daemon[impl], md)
				ipfail[impl] = append(ipfail[impl], mi)
				b.ReportMetric(float64(md.RSS), "rss-KiB")
			})
		}
	}
	var recs []result.Record
	for _, impl := range ims {
		recs = append(recs, memRecords("heartbeat", impl, programOf(impl, classicHeartbeat, oursHeartbeat), daemon[impl])...)
	}
	for _, impl := range ims {
		recs = append(recs, memRecords("ipfail", impl, programOf(impl, classicIpfail, oursIpfail), ipfail[impl])...)
	}
	return recs
}

// ldConfig is the small ldirectord.cf both implementations read.
const ldConfig = `# hasuite daemons benchmark
checkinterval = 1
checktimeout = 2
negotiatetimeout = 2
supervised = yes
quiescent = no
autoreload = no

virtual = 10.1.0.1:80
	real = 127.1.0.1:80 gate
	real = 127.1.0.2:80 gate
	service = http
	checktype = negotiate
	request = "/"
	receive = "ok"
	scheduler = wrr
	protocol = tcp

virtual = 10.1.0.2:80
	real = 127.1.0.3:80 gate
	real = 127.1.0.4:80 gate
	service = http
	checktype = negotiate
	request = "/"
	receive = "ok"
	scheduler = wrr
	protocol = tcp
`

func idleLdirectord(b *testing.B) []result.Record {
	ims := impls(b, func() bool { _, err := os.Stat(perlLdirectord); return err == nil }, "needs Perl ldirectord 4.12 (apt-get install ldirectord)")
	bin := binaries.Build(b, "github.com/hasuite/hasuite/bench/ldcheck/ours",
		"github.com/hasuite/hasuite/bench/ldcheck/ldserver", "github.com/hasuite/hasuite/bench/ldcheck/ipvsadm")
	mem := map[string][]Mem{}
	for round := 1; round <= *flagRounds; round++ {
		for _, impl := range ims {
			b.Run(fmt.Sprintf("ldirectord/%s/%d", impl, round), func(b *testing.B) {
				h := netns.NewLab(b).AddHost("ld", "10.200.0.1/24")
				startLdserver(b, h, bin)
				dir := b.TempDir()
				pid := startLdirectord(b, h, impl, bin, dir)
				time.Sleep(*flagSettle)
				if err := syscall.Kill(pid, 0); err != nil {
					log, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
					b.Fatalf("%s exited: %s", impl, log)
				}
				m, err := MemOf(Tree(pid))
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%s: %d processes RSS %d KiB PSS %d KiB", impl, m.Procs, m.RSS, m.PSS)
				mem[impl] = append(mem[impl], m)
				b.ReportMetric(float64(m.RSS), "rss-KiB")
			})
		}
	}
	var recs []result.Record
	for _, impl := range ims {
		recs = append(recs, memRecords("ldirectord", impl, programOf(impl, classicLdirectord, oursLdirectord), mem[impl])...)
	}
	return recs
}

// startLdserver starts bench/ldcheck's real servers in h.
func startLdserver(b *testing.B, h *netns.Host, bin string) {
	cmd := h.Command(context.Background(), filepath.Join(bin, "ldserver"))
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting ldserver: %v", err)
	}
	b.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("ldserver did not start: %q %v", line, err)
	}
}

// startLdirectord starts impl on ldConfig in h, as bench/ldcheck does, and
// returns its pid.
func startLdirectord(b *testing.B, h *netns.Host, impl, bin, dir string) int {
	cf := filepath.Join(dir, "ldirectord.cf")
	if err := os.WriteFile(cf, []byte(ldConfig), 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "LDCHECK_OPS="+filepath.Join(dir, "ops"))
	cmd := h.Command(context.Background(), filepath.Join(bin, "ours"), cf, "start")
	if impl == result.Classic {
		// ip netns exec gives it a private mount namespace, where the
		// stand-in replaces ipvsadm.
		cmd = h.Command(context.Background(), "sh", "-c", fmt.Sprintf("mount --bind %s /usr/sbin/ipvsadm && exec %s %s start",
			filepath.Join(bin, "ipvsadm"), perlLdirectord, cf))
		env = append(env, "LDCHECK_IPVSADM_STATE="+filepath.Join(dir, "ipvsadm.state"))
	} else {
		env = append(env, "HASUITE_LDIRECTORD_RUNDIR="+dir)
	}
	cmd.Env = env
	log, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", impl, err)
	}
	b.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		log.Close()
	})
	return cmd.Process.Pid
}
