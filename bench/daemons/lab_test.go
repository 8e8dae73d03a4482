// lab_test.go: flags, the ha.cf, starting either heartbeat in a lab, the
// binaries, writing the results.

package daemons

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/bench/outage"
	"github.com/hasuite/hasuite/bench/result"
	"github.com/hasuite/hasuite/test/gobuild"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/probe"
)

var (
	flagRounds  = flag.Int("daemons.rounds", 3, "runs per case and implementation")
	flagImpls   = flag.String("daemons.impl", "classic,ours", "implementations: classic, ours or both")
	flagSetting = flag.String("daemons.setting", "100ms/500ms", "keepalive/deadtime of the ha.cf (initdead max(2 × deadtime, 10 s))")
	flagStartup = flag.String("daemons.startup", "pair,join", "startup cases: pair (both nodes started at once), join (the peer already up)")
	flagIdle    = flag.String("daemons.idle", "heartbeat,ldirectord", "idle memory of: heartbeat (with ipfail), ldirectord")
	flagSettle  = flag.Duration("daemons.settle", 10*time.Second, "idle: wait after start-up before reading memory")
	flagJSON    = flag.String("daemons.json", "", "also append the results as JSON lines (bench/result) to this file")
)

// The router of the lab (outage.Lab), holding the ping node address.
const (
	addrRouter = "10.77.0.254/24"
	pingNode   = "10.77.0.254"
)

// Program names in the results.
const (
	classicHeartbeat  = "heartbeat 3.0.6"
	oursHeartbeat     = "heartbeatd"
	classicIpfail     = "ipfail (heartbeat 3.0.6)"
	oursIpfail        = "ipfail (hasuite)"
	classicLdirectord = "Perl ldirectord 4.12"
	oursLdirectord    = "hasuite ldirectord"
)

// The respawn paths of ipfail: 3.0.6's package installs it under
// /usr/libexec; heartbeatd maps the classic documented path to hasuite's
// ipfail next to its own binary.
const (
	classicIpfailPath = "/usr/libexec/heartbeat/ipfail"
	oursIpfailPath    = "/usr/lib/heartbeat/ipfail"
)

var binaries gobuild.Once

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	binaries.Remove()
	os.Exit(code)
}

// impls returns the implementations to measure (result.Classic,
// result.Ours), skipping when the classic one is asked for and missing.
func impls(b *testing.B, need func() bool, missing string) []string {
	var out []string
	for _, f := range strings.Split(*flagImpls, ",") {
		switch strings.TrimSpace(f) {
		case "classic":
			if !need() {
				netns.Skip(b, missing+"; or run with -daemons.impl ours")
			}
			out = append(out, result.Classic)
		case "ours":
			hbnode.Build(b) // now, not in the first timed start
			out = append(out, result.Ours)
		default:
			b.Fatalf("-daemons.impl: unknown implementation %q (want classic or ours)", f)
		}
	}
	return out
}

// setting parses -daemons.setting.
func setting(b *testing.B) outage.Setting {
	s, err := outage.ParseSettings(*flagSetting)
	if err != nil || len(s) != 1 {
		b.Fatalf("-daemons.setting %q: want one keepalive/deadtime pair (%v)", *flagSetting, err)
	}
	return s[0]
}

// haCF is the outage benchmark's ha.cf with auto_failback on (the VIP's
// home node takes it back when it joins), the given nodes and extra lines.
func haCF(s outage.Setting, nodes []string, extra string) string {
	return outage.HACF(s, "on", nodes, extra)
}

// startNode starts impl on h as name with hacf and the VIP's haresources.
func startNode(b *testing.B, impl string, h *netns.Host, name, hacf string) *outage.Node {
	return outage.StartNode(b, impl == result.Classic, h, name, hacf)
}

// procsOf returns the node's processes: heartbeatd and its descendants, or
// everything in 3.0.6's PID namespace.
func procsOf(b *testing.B, n *outage.Node) []int {
	if n.Ours != nil {
		return Tree(n.Ours.Pid())
	}
	pids, err := InPIDNamespace(n.Classic.Pid())
	if err != nil {
		b.Fatalf("processes of heartbeat 3.0.6: %v", err)
	}
	return pids
}

// lab is outage's lab and a router holding the ping node address.
type lab struct {
	*outage.Lab
	router *netns.Host
}

func newLab(b *testing.B) *lab {
	l := outage.NewLab(b)
	return &lab{Lab: l, router: l.AddHost("router", addrRouter)}
}

// firstReply waits up to within for a reply from host name received after
// since and returns that reply's time.
func (x *lab) firstReply(b *testing.B, name string, since time.Time, within time.Duration) time.Time {
	deadline := since.Add(within)
	for time.Now().Before(deadline) {
		for _, r := range x.Probe.Replies() {
			if r.From == name && r.Received.After(since) {
				return r.Received
			}
		}
		time.Sleep(probe.DefaultEvery)
	}
	b.Fatalf("the VIP was not answered by %s within %v of %s", name, within, since.Format("15:04:05.000"))
	return time.Time{}
}

// watchVIP polls h's interface every 5 ms from now on, for up to within,
// and returns a function giving when the VIP first appeared on it (zero
// if it did not), waiting for the poll to end.
func watchVIP(b *testing.B, h *netns.Host, within time.Duration) func() time.Time {
	done := make(chan time.Time, 1)
	go h.Do(b, func() error {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			if ifi, err := net.InterfaceByName(h.Iface); err == nil {
				as, _ := ifi.Addrs()
				for _, a := range as {
					if n, ok := a.(*net.IPNet); ok && n.IP.String() == outage.VIP {
						done <- time.Now()
						return nil
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		done <- time.Time{}
		return nil
	})
	return func() time.Time { return <-done }
}

// programOf names impl's program in the results.
func programOf(impl, classic, ours string) string {
	if impl == result.Classic {
		return classic
	}
	return ours
}

// finish prints recs and appends them to -daemons.json.
func finish(b *testing.B, title string, recs []result.Record) {
	fmt.Printf("\n%s (%s):\n\n%s\n", title, time.Now().UTC().Format("2006-01-02 15:04 MST"), Text(recs))
	if err := result.Append(*flagJSON, recs...); err != nil {
		b.Errorf("writing the JSON results: %v", err)
	}
}
