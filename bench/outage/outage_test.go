// outage_test.go: BenchmarkFailoverOutage, heartbeat 3.0.6 and heartbeatd
// side by side in network namespaces (root only).

package outage

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/bench/result"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/interop"
	"github.com/hasuite/hasuite/test/netns"
)

var (
	flagRounds   = flag.Int("outage.rounds", 3, "failovers measured per setting and implementation")
	flagSettings = flag.String("outage.settings", "2s/10s,100ms/500ms,20ms/100ms", "keepalive/deadtime pairs, comma-separated")
	flagImpls    = flag.String("outage.impl", "classic,heartbeatd", "implementations to measure: classic, heartbeatd or both")
	flagMarkdown = flag.String("outage.markdown", "", "also write the table as markdown to this file")
	flagJSON     = flag.String("outage.json", "", "also append the results as JSON lines (bench/result) to this file")
)

// Timing of one round.
const (
	// startWait bounds the time from launching the pair until the VIP
	// answers from nodea: heartbeat 3.0.6 with auto_failback off waits 10 s
	// (RSCRCVD) after a simultaneous start before it takes its groups.
	startWait = 40 * time.Second
	// settle is the least time from launch to the cut: heartbeat 3.0.6
	// advertises deadtime + 2 s for its first 5 s (hb_add_deadtime), and
	// the peer uses the advertised value; cut later, both run steady.
	settle = 7 * time.Second
	// steadyWindow is checked just before the cut: the VIP must have been
	// served without a gap of more than steadyGap over it (waiting up to
	// steadyWait for that).
	steadyWindow = time.Second
	steadyGap    = 100 * time.Millisecond
	steadyWait   = 20 * time.Second
	// takeoverWait bounds the wait for nodeb after the cut, beyond deadtime.
	takeoverWait = 20 * time.Second
)

// BenchmarkFailoverOutage measures, for each setting and implementation,
// the client-visible outage when the link of the director holding the VIP
// is cut, and prints one table comparing the medians. Rounds of the two
// implementations alternate, so both see the same machine load.
func BenchmarkFailoverOutage(b *testing.B) {
	netns.RequireRoot(b)
	settings, err := ParseSettings(*flagSettings)
	if err != nil {
		b.Fatalf("-outage.settings: %v", err)
	}
	var impls []string
	for _, f := range strings.Split(*flagImpls, ",") {
		switch strings.TrimSpace(f) {
		case "classic":
			if !interop.HaveClassic() {
				netns.Skip(b, "needs heartbeat 3.0.6 (apt-get install heartbeat) for the classic column; or run with -outage.impl heartbeatd")
			}
			impls = append(impls, Classic)
		case "heartbeatd":
			hbnode.Build(b)
			impls = append(impls, Ours)
		default:
			b.Fatalf("-outage.impl: unknown implementation %q (want classic or heartbeatd)", f)
		}
	}
	rows := make([]Row, len(settings))
	for i, s := range settings {
		rows[i] = Row{Setting: s, Outages: map[string][]time.Duration{}}
		for round := 1; round <= *flagRounds; round++ {
			for _, impl := range impls {
				name := fmt.Sprintf("ka%s-dt%s/%s/%d", s.Keepalive, s.Deadtime, implName(impl), round)
				b.Run(name, func(b *testing.B) {
					d := failover(b, impl, s)
					rows[i].Outages[impl] = append(rows[i].Outages[impl], d)
					b.ReportMetric(float64(d.Microseconds())/1000, "outage-ms")
				})
			}
		}
	}
	fmt.Printf("\nClient-visible outage after the active director's link is cut (%s):\n\n%s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), Text(rows))
	if *flagMarkdown != "" {
		if err := os.WriteFile(*flagMarkdown, []byte(Markdown(rows)), 0o644); err != nil {
			b.Errorf("writing the markdown table: %v", err)
		}
	}
	if err := result.Append(*flagJSON, Records(rows)...); err != nil {
		b.Errorf("writing the JSON results: %v", err)
	}
}

// implName is the short name of an implementation in benchmark names.
func implName(impl string) string {
	if impl == Classic {
		return "classic"
	}
	return "heartbeatd"
}

// failover runs one round in a fresh lab: start the pair, wait until the
// VIP answers from nodea, cut nodea's link, wait until nodeb answers, and
// return the longest time the client got no reply since the cut.
func failover(b *testing.B, impl string, s Setting) time.Duration {
	lab := NewLab(b)
	p := lab.Probe

	// auto_failback off: the VIP stays where it failed over to.
	start := time.Now()
	cf := HACF(s, "off", []string{"nodea", "nodeb"}, "")
	na, nb := StartNode(b, impl == Classic, lab.A, "nodea", cf), StartNode(b, impl == Classic, lab.B, "nodeb", cf)
	defer func() { na.Kill(b); nb.Kill(b) }()
	p.WaitServedBy(b, "nodea", startWait)
	// Heartbeats go out every keepalive and death is declared deadtime
	// after the last one heard: cut at a random phase of the keepalive so
	// that phase does not bias the comparison.
	// Under load the VIP may come up late or hiccup at first: wait (up to
	// steadyWait) until it has been served steadily for steadyWindow.
	time.Sleep(max(time.Until(start.Add(settle)), steadyWindow))
	for deadline := time.Now().Add(steadyWait); ; {
		time.Sleep(rand.N(s.Keepalive))
		gap, before, after := p.Outage(time.Now().Add(-steadyWindow))
		if gap <= steadyGap && before == "nodea" && after == "nodea" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("VIP not steady on nodea before the cut: gap %v from %q to %q over the last %v", gap, before, after, steadyWindow)
		}
		time.Sleep(steadyWindow / 4)
	}
	cut := time.Now()
	lab.A.CutLink(b)
	p.WaitServedBy(b, "nodeb", s.Deadtime+takeoverWait)
	gap, before, after := p.Outage(cut)
	if before != "nodea" || after != "nodeb" {
		b.Fatalf("outage of %v from %q to %q, want from nodea to nodeb", gap, before, after)
	}
	b.Logf("%s %s: outage %v", s, impl, gap.Round(time.Millisecond))
	return gap
}
