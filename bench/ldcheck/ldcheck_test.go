// ldcheck_test.go: BenchmarkLdcheck, hasuite's ldirectord and Perl
// ldirectord 4.12 side by side (root only).

package ldcheck

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/bench/result"
	"github.com/hasuite/hasuite/test/netns"
)

var (
	flagImpls      = flag.String("ldcheck.impl", "perl,ours", "implementations, comma-separated: perl, ours, bare (the floor: our check loop alone, (a) only), keepalive (ours with checkkeepalive = yes, (a) only)")
	flagRuns       = flag.String("ldcheck.runs", "scale,detect", "runs: scale (a), detect (b) or both")
	flagScales     = flag.String("ldcheck.scale", "10000/1000", "(a): reals/virtuals pairs, comma-separated")
	flagWindow     = flag.Duration("ldcheck.window", 30*time.Second, "(a): the measured window")
	flagWindows    = flag.Int("ldcheck.windows", 3, "(a): windows measured back to back; the CPU is their median")
	flagSettle     = flag.Duration("ldcheck.settle", 5*time.Second, "(a): wait after every real is in the table, before the window")
	flagCap        = flag.Duration("ldcheck.cap", 210*time.Second, "(a): longest run; the windows start by cap - windows × window even if not every real is in the table")
	flagBlackHoled = flag.String("ldcheck.blackholed", "0,500", "(b): black-holed reals beside the failing one, comma-separated")
	flagRounds     = flag.Int("ldcheck.rounds", 5, "(b): failures per setting and implementation")
	flagDetectCap  = flag.Duration("ldcheck.detectcap", 90*time.Second, "(b): longest wait for one detection")
	flagMarkdown   = flag.String("ldcheck.markdown", "", "also write the tables as markdown to this file")
	flagJSON       = flag.String("ldcheck.json", "", "also append the results as JSON lines (bench/result) to this file")
)

// Timing of the runs (seconds; Perl's timeouts are whole seconds).
const (
	scaleTimeout   = 2 // (a): checktimeout and negotiatetimeout
	detectTimeout  = 1 // (b): checktimeout and negotiatetimeout
	detectInterval = 1 // (b) and (a): checkinterval
)

// failingReal is the real of (b) that fails; it is the first real of the
// config (Perl checks in config order).
var failingReal = netip.MustParseAddr("127.3.0.1")

// nthAddr is the n-th (0-based) address of base/16 that does not end in 0
// or 255, e.g. nthAddr("127.1", 0) = 127.1.0.1.
func nthAddr(base string, n int) string {
	return fmt.Sprintf("%s.%d.%d", base, n/250, n%250+1)
}

// config renders an ldirectord.cf both implementations read alike:
// virtuals[i] lists the real addresses of virtual i, all on port 80,
// checked by an HTTP GET of / expecting "ok".
func config(vipBase string, virtuals [][]string, timeout int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# ldcheck benchmark
checkinterval = %d
checktimeout = %d
negotiatetimeout = %d
supervised = yes
quiescent = no
autoreload = no
`, detectInterval, timeout, timeout)
	for i, reals := range virtuals {
		fmt.Fprintf(&b, "\nvirtual = %s:80\n", nthAddr(vipBase, i))
		for _, r := range reals {
			fmt.Fprintf(&b, "\treal = %s:80 gate\n", r)
		}
		b.WriteString("\tservice = http\n\tchecktype = negotiate\n\trequest = \"/\"\n\treceive = \"ok\"\n\tscheduler = wrr\n\tprotocol = tcp\n")
	}
	return b.String()
}

// implConfig is cf as impl reads it: for KeepAlive with checkkeepalive =
// yes (Perl has no such directive).
func implConfig(impl, cf string) string {
	if impl == KeepAlive {
		return strings.Replace(cf, "\nsupervised = yes\n", "\nsupervised = yes\ncheckkeepalive = yes\n", 1)
	}
	return cf
}

// BenchmarkLdcheck runs (a) and (b) for each implementation and prints
// one table of each comparing them.
func BenchmarkLdcheck(b *testing.B) {
	netns.RequireRoot(b)
	var impls []string
	for _, f := range strings.Split(*flagImpls, ",") {
		switch strings.TrimSpace(f) {
		case "perl":
			if _, err := os.Stat(perlLdirectord); err != nil {
				netns.Skip(b, "needs Perl ldirectord 4.12 (apt-get install ldirectord) for its column; or run with -ldcheck.impl ours")
			}
			impls = append(impls, Perl)
		case "ours":
			impls = append(impls, Ours)
		case "bare":
			impls = append(impls, Bare)
		case "keepalive":
			impls = append(impls, KeepAlive)
		default:
			b.Fatalf("-ldcheck.impl: unknown implementation %q (want perl, ours, bare or keepalive)", f)
		}
	}
	if *flagWindows < 1 {
		b.Fatalf("-ldcheck.windows %d: want 1 or more", *flagWindows)
	}
	build(b)
	var scale []ScaleRow
	var detect []DetectRow
	runs := *flagRuns
	if strings.Contains(runs, "scale") {
		scales, err := ParseScales(*flagScales)
		if err != nil {
			b.Fatalf("-ldcheck.scale: %v", err)
		}
		for _, sc := range scales {
			for _, impl := range impls {
				b.Run(fmt.Sprintf("scale-%d/%s", sc.Reals, implName(impl)), func(b *testing.B) {
					r := scaleRun(b, impl, sc)
					scale = append(scale, r)
					b.ReportMetric(100*r.CPU(), "cpu-%")
					b.ReportMetric(Median(r.Intervals.Gaps).Seconds(), "interval-s")
				})
			}
		}
	}
	if strings.Contains(runs, "detect") {
		for _, f := range strings.Split(*flagBlackHoled, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 || n > 60000 {
				b.Fatalf("-ldcheck.blackholed: bad count %q", f)
			}
			for _, impl := range impls {
				if impl == Bare || impl == KeepAlive {
					continue // (a) only: the floor removes no real; keep-alive detects as ours
				}
				b.Run(fmt.Sprintf("detect-bh%d/%s", n, implName(impl)), func(b *testing.B) {
					r := detectRun(b, impl, n)
					detect = append(detect, r)
					b.ReportMetric(Median(r.Latencies).Seconds(), "detect-s")
				})
			}
		}
	}
	md := Markdown(scale, detect)
	fmt.Printf("\nldirectord health checking (%s, %d cores):\n\n%s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), md)
	if *flagMarkdown != "" {
		if err := os.WriteFile(*flagMarkdown, []byte(md), 0o644); err != nil {
			b.Errorf("writing the markdown table: %v", err)
		}
	}
	if err := result.Append(*flagJSON, Records(scale, detect)...); err != nil {
		b.Errorf("writing the JSON results: %v", err)
	}
}

func implName(impl string) string {
	switch impl {
	case Perl:
		return "perl"
	case Bare:
		return "bare"
	case KeepAlive:
		return "keepalive"
	}
	return "ours"
}

// scaleRun is (a): reals spread over virtuals, all healthy; once they are
// all in the table (or by cap - windows × window), measure the windows.
func scaleRun(b *testing.B, impl string, sc Scale) ScaleRow {
	nr, nv := sc.Reals, sc.Virtuals
	lab := newScaleLab(b)
	h, srv := lab.daemon, lab.servers
	virtuals := make([][]string, nv)
	for i := range nr {
		virtuals[i%nv] = append(virtuals[i%nv], nthAddr(lab.realBase, i))
	}
	dir := b.TempDir()
	d := startDaemon(b, h, impl, dir, implConfig(impl, config("10.1", virtuals, scaleTimeout)))

	latest := d.started.Add(*flagCap - time.Duration(*flagWindows)*(*flagWindow))
	for time.Now().Before(latest) {
		d.alive(b, impl, dir)
		if len(Live(d.next(b), time.Now())) >= nr {
			time.Sleep(min(*flagSettle, time.Until(latest)))
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	d.alive(b, impl, dir)
	// Windows back to back; the CPU is their median, the rest is over
	// all of them.
	samples := []cpuSample{takeSample(b, d, srv, lab)}
	for range *flagWindows {
		time.Sleep(*flagWindow)
		samples = append(samples, takeSample(b, d, srv, lab))
	}
	first, last := samples[0], samples[len(samples)-1]
	w0, w1 := first.at, last.at
	rss, hwm, err := Memory(d.pid())
	if err != nil {
		b.Fatalf("reading /proc: %v", err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	d.alive(b, impl, dir)
	ops := d.next(b)
	changes, lists := Changes(ops)
	span := w1.Sub(w0)
	r := ScaleRow{
		Impl: impl, Reals: nr, Virtuals: nv,
		Window: *flagWindow, WindowAt: w0.Sub(d.started),
		UpAtWindow: len(Live(ops, w0)), UpAtEnd: len(Live(ops, w1)),
		Intervals: Measure(srv.requests(b), w0, w1),
		ServerCPU: float64(last.server-first.server) / float64(span),
		RSSKiB:    rss, HWMKiB: hwm, Changes: changes, Listing: lists,
		Touched: Touched(ops), Load: strings.Join(strings.Fields(string(load))[:3], " "),
	}
	for i, s := range samples[1:] {
		r.CPUs = append(r.CPUs, s.cpu(samples[i]))
	}
	b.Logf("%s: %d/%d reals in the table, %d checks in %v, interval median %v p95 %v, CPU %.0f%% (windows: %s), RSS %d KiB",
		impl, r.UpAtEnd, nr, r.Intervals.Requests, span.Round(time.Millisecond),
		Median(r.Intervals.Gaps), Quantile(r.Intervals.Gaps, 0.95), 100*r.CPU(), pcts(r.CPUs), rss)
	share := func(d time.Duration) float64 { return 100 * d.Seconds() / span.Seconds() }
	b.Logf("%s, %s: process user %.0f%% + system %.0f%%, own-side napi threads %.0f%% (counted in CPU), reals' napi threads %.0f%% (not counted); %.1f µs CPU per check",
		impl, *flagNet, share(last.user-first.user), share(last.sys-first.sys), share(last.own-first.own), share(last.real-first.real),
		float64(last.daemon()-first.daemon())/float64(time.Microsecond)/float64(max(r.Intervals.Requests, 1)))
	return r
}

// cpuSample is the CPU time so far of the daemon (user and system), the
// real servers, and in the veth lab each end's napi threads.
type cpuSample struct {
	at                           time.Time
	user, sys, server, own, real time.Duration
}

func takeSample(b *testing.B, d *daemon, srv *realServers, lab *scaleLab) cpuSample {
	s := cpuSample{at: time.Now()}
	var errs [4]error
	s.user, s.sys, errs[0] = CPUSplit(d.pid())
	s.server, errs[1] = CPUTime(srv.pid())
	s.own, errs[2] = threadsCPU(lab.ownNAPI)
	s.real, errs[3] = threadsCPU(lab.realNAPI)
	for _, err := range errs {
		if err != nil {
			b.Fatalf("reading /proc: %v", err)
		}
	}
	return s
}

// daemon is the daemon's CPU time: its process, and in the veth lab its
// end's napi threads, which do its receive work.
func (s cpuSample) daemon() time.Duration { return s.user + s.sys + s.own }

// cpu is the daemon's CPU from earlier to s, in cores.
func (s cpuSample) cpu(earlier cpuSample) float64 {
	return float64(s.daemon()-earlier.daemon()) / float64(s.at.Sub(earlier.at))
}

// detectRun is (b): the failing real (first in the config) and n
// black-holed reals in virtuals of 10; rounds of failing it at a random
// phase and timing its removal.
func detectRun(b *testing.B, impl string, n int) DetectRow {
	virtuals := [][]string{{failingReal.String()}}
	for i := range n {
		if i%10 == 0 {
			virtuals = append(virtuals, nil)
		}
		virtuals[len(virtuals)-1] = append(virtuals[len(virtuals)-1], nthAddr("127.2", i))
	}
	h := newHost(b)
	srv := startServers(b, h)
	dir := b.TempDir()
	d := startDaemon(b, h, impl, dir, implConfig(impl, config("10.2", virtuals, detectTimeout)))
	row := DetectRow{Impl: impl, BlackHoled: n, Target: (detectInterval + detectTimeout) * time.Second}
	limit := *flagDetectCap
	added, ok := d.waitOp(b, d.started, limit, func(op Op) bool { return op.Adds(failingReal) })
	if !ok {
		d.alive(b, impl, dir)
		b.Logf("%s never added %s within %v", impl, failingReal, limit)
		row.Missed = limit
		return row
	}
	for round := 1; round <= *flagRounds; round++ {
		// A random phase of the check interval, after the real is back.
		time.Sleep(time.Until(added.At.Add(time.Second + rand.N(time.Duration(detectInterval)*time.Second))))
		failed := srv.fail(b, failingReal)
		removed, ok := d.waitOp(b, failed, limit, func(op Op) bool { return op.Removes(failingReal) })
		if !ok {
			d.alive(b, impl, dir)
			b.Logf("%s, %d black-holed: round %d: %s not removed within %v", impl, n, round, failingReal, limit)
			row.Missed = limit
			break
		}
		lat := removed.At.Sub(failed)
		row.Latencies = append(row.Latencies, lat)
		b.Logf("%s, %d black-holed: round %d: removed after %v", impl, n, round, lat.Round(time.Millisecond))
		srv.heal(b, failingReal)
		if added, ok = d.waitOp(b, removed.At, limit, func(op Op) bool { return op.Adds(failingReal) }); !ok {
			b.Logf("%s, %d black-holed: %s not re-added within %v", impl, n, failingReal, limit)
			break
		}
	}
	return row
}
