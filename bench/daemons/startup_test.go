// startup_test.go: BenchmarkStartup, from a heartbeat's start to the VIP
// answering, heartbeat 3.0.6 and heartbeatd alike (root only).

package daemons

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/bench/outage"
	"github.com/hasuite/hasuite/bench/result"
	"github.com/hasuite/hasuite/test/interop"
)

// startupWait bounds one start-up: 3.0.6 may wait initdead (10 s) and
// then its RSCRCVD timer, and its scripts run slowly under load.
const startupWait = 60 * time.Second

// BenchmarkStartup measures the time from starting nodea's daemon until a
// client's probe of the VIP is first answered by nodea, in two cases,
// with the same ha.cf for both implementations (-daemons.setting):
//
//   - pair: nodea and nodeb (both nodes of the ha.cf) started at once
//     (nodeb as soon as nodea runs);
//   - join: nodeb started first, alone: after initdead it holds the VIP;
//     then nodea, the VIP's home node (auto_failback on), starts and the
//     time runs until nodea answers.
//
// Rounds of the implementations alternate. (A single-node ha.cf is no
// case: heartbeat 3.0.6 alone never took its resources within a minute.)
func BenchmarkStartup(b *testing.B) {
	s := setting(b)
	ims := impls(b, interop.HaveClassic, "needs heartbeat 3.0.6 (apt-get install heartbeat)")
	var recs []result.Record
	for _, c := range strings.Split(*flagStartup, ",") {
		c = strings.TrimSpace(c)
		if c != "pair" && c != "join" {
			b.Fatalf("-daemons.startup: unknown case %q (want pair or join)", c)
		}
		byImpl, confByImpl := map[string][]time.Duration{}, map[string][]time.Duration{}
		for round := 1; round <= *flagRounds; round++ {
			for _, impl := range ims {
				b.Run(fmt.Sprintf("%s/%s/%d", c, impl, round), func(b *testing.B) {
					d, conf := startup(b, impl, c, s)
					byImpl[impl] = append(byImpl[impl], d)
					confByImpl[impl] = append(confByImpl[impl], conf)
					b.ReportMetric(d.Seconds(), "vip-up-s")
				})
			}
		}
		for _, impl := range ims {
			note := "ha.cf " + s.String() + ", initdead " + fmt.Sprint(max(2*s.Deadtime, 10*time.Second))
			program := programOf(impl, classicHeartbeat, oursHeartbeat)
			recs = append(recs,
				result.Record{Bench: "startup", Case: c, Impl: impl, Program: program, Metric: "vip-up", Unit: "s", Values: result.Seconds(byImpl[impl]), Note: note},
				result.Record{Bench: "startup", Case: c, Impl: impl, Program: program, Metric: "vip-configured", Unit: "s", Values: result.Seconds(confByImpl[impl]), Note: note})
		}
	}
	finish(b, "From a heartbeat's start to the VIP answering", recs)
}

// startup runs one round of case c in a fresh lab and returns the times
// from nodea's start to its first answer for the VIP (d) and to the VIP
// appearing on its interface (conf).
func startup(b *testing.B, impl, c string, st outage.Setting) (d, conf time.Duration) {
	x := newLab(b)
	pair := []string{"nodea", "nodeb"}
	var nodes []*outage.Node
	defer func() {
		for _, n := range nodes {
			n.Kill(b)
		}
	}()
	if c == "join" {
		t0 := time.Now()
		nodes = append(nodes, startNode(b, impl, x.B, "nodeb", haCF(st, pair, "")))
		x.firstReply(b, "nodeb", t0, startupWait)
	}
	cf := haCF(st, pair, "")
	t0 := time.Now()
	configured := watchVIP(b, x.A, startupWait)
	nodes = append(nodes, startNode(b, impl, x.A, "nodea", cf))
	if c == "pair" {
		nodes = append(nodes, startNode(b, impl, x.B, "nodeb", cf))
	}
	d = x.firstReply(b, "nodea", t0, startupWait).Sub(t0)
	conf = configured().Sub(t0)
	b.Logf("%s %s: VIP on nodea's interface %v, answered by nodea %v after its start", c, impl, conf.Round(time.Millisecond), d.Round(time.Millisecond))
	if impl == result.Ours && d > 4*st.Deadtime {
		// Slower than expected: keep nodea's log for a look.
		a := nodes[len(nodes)-1]
		if c == "pair" {
			a = nodes[0]
		}
		if f, err := os.CreateTemp("", "hasuite-bench-startup-*.log"); err == nil {
			f.WriteString(a.Ours.Log())
			f.Close()
			b.Logf("slower than 4 × deadtime: nodea's log kept in %s", f.Name())
		}
	}
	return d, conf
}
