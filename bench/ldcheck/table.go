// Package ldcheck benchmarks ldirectord's health checking at scale:
// hasuite's daemon (over an in-memory IPVS, see ours/) and Debian's Perl
// ldirectord 4.12 (over an ipvsadm stand-in, see ipvsadm/) side by side,
// against loopback HTTP real servers (ldserver/) in a network namespace.
// It measures (a) CPU, memory and the achieved check interval with many
// reals, and (b) how long one failing real takes to leave the table,
// alone and beside black-holed reals. The benchmark itself (root only) is
// in ldcheck_test.go; this file holds the parsing, statistics and tables.
package ldcheck

// table.go: IPVS op logs, request logs, statistics and the result tables.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hasuite/hasuite/bench/result"
)

// Implementations compared, in table order.
const (
	Perl = "Perl ldirectord 4.12"
	Ours = "hasuite ldirectord"
	// Bare is the floor (-ldcheck.impl bare, (a) only): hasuite's check
	// loop making the same checks with no daemon around it (see bare/).
	Bare = "floor: hasuite's check loop alone"
	// KeepAlive is ours with checkkeepalive = yes (-ldcheck.impl
	// keepalive, (a) only): hasuite's opt-in, one kept connection per real.
	KeepAlive = "hasuite ldirectord, checkkeepalive = yes"
)

// Op is one IPVS call as ours/ and ipvsadm/ record it, a line
// "UNIXNANO OP SERVICE REAL WEIGHT": OP is add, edit, del (reals),
// add-service, edit-service, del-service or list (ipvsadm -L only);
// SERVICE "tcp:VIP:PORT"; REAL "RIP:PORT" or "-"; WEIGHT -1 for service
// ops.
type Op struct {
	At      time.Time
	Op      string
	Service string
	Real    netip.AddrPort // zero for service ops and listings
	Weight  int
}

// ParseOps parses an op log; malformed lines (a partial last line) are
// skipped.
func ParseOps(data []byte) []Op {
	var ops []Op
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 {
			continue
		}
		ns, err1 := strconv.ParseInt(f[0], 10, 64)
		w, err2 := strconv.Atoi(f[4])
		if err1 != nil || err2 != nil {
			continue
		}
		op := Op{At: time.Unix(0, ns), Op: f[1], Service: f[2], Weight: w}
		if f[3] != "-" {
			ap, err := netip.ParseAddrPort(f[3])
			if err != nil {
				continue
			}
			op.Real = ap
		}
		ops = append(ops, op)
	}
	return ops
}

// Removes reports whether op takes real out of service: deleted, or
// quiesced to weight 0.
func (op Op) Removes(real netip.Addr) bool {
	return op.Real.Addr() == real && (op.Op == "del" || op.Op == "edit" && op.Weight == 0)
}

// Adds reports whether op puts real in service with a weight.
func (op Op) Adds(real netip.Addr) bool {
	return op.Real.Addr() == real && (op.Op == "add" || op.Op == "edit") && op.Weight > 0
}

// Live replays ops up to until and returns the reals in service (weight >
// 0) per service and real.
func Live(ops []Op, until time.Time) map[string]bool {
	live := map[string]bool{}
	for _, op := range ops {
		if op.At.After(until) || !op.Real.IsValid() {
			continue
		}
		k := op.Service + " " + op.Real.String()
		switch op.Op {
		case "add", "edit":
			live[k] = op.Weight > 0
		case "del":
			delete(live, k)
		}
		if !live[k] {
			delete(live, k)
		}
	}
	return live
}

// Changes counts the changing ops (not listings) and the listings.
func Changes(ops []Op) (changes, lists int) {
	for _, op := range ops {
		if op.Op == "list" {
			lists++
		} else {
			changes++
		}
	}
	return changes, lists
}

// Touched counts the distinct reals the ops changed.
func Touched(ops []Op) int {
	seen := map[netip.AddrPort]bool{}
	for _, op := range ops {
		if op.Real.IsValid() && op.Op != "list" {
			seen[op.Real] = true
		}
	}
	return len(seen)
}

// Scale is a size of run (a).
type Scale struct{ Reals, Virtuals int }

// ParseScales parses "reals/virtuals" pairs, comma-separated, e.g.
// "1000/100,10000/1000"; 1 <= virtuals <= reals <= 60000 (the addresses
// are 127.1.x.y).
func ParseScales(list string) ([]Scale, error) {
	var out []Scale
	for _, f := range strings.Split(list, ",") {
		r, v, ok := strings.Cut(strings.TrimSpace(f), "/")
		nr, err1 := strconv.Atoi(r)
		nv, err2 := strconv.Atoi(v)
		if !ok || err1 != nil || err2 != nil || nv < 1 || nr < nv || nr > 60000 {
			return nil, fmt.Errorf("%q: want reals/virtuals with 1 <= virtuals <= reals <= 60000", f)
		}
		out = append(out, Scale{nr, nv})
	}
	return out, nil
}

// Request is one HTTP request the real servers answered.
type Request struct {
	At   time.Time
	Addr netip.Addr
}

// ParseRequests decodes ldserver's dump: 12 bytes a request, little-endian
// int64 unix nanoseconds then the IPv4 address.
func ParseRequests(data []byte) []Request {
	out := make([]Request, 0, len(data)/12)
	for len(data) >= 12 {
		ns := int64(binary.LittleEndian.Uint64(data))
		out = append(out, Request{time.Unix(0, ns), netip.AddrFrom4([4]byte(data[8:12]))})
		data = data[12:]
	}
	return out
}

// Intervals are the achieved check intervals over a window: the gaps
// between consecutive requests to the same real, both in the window.
type Intervals struct {
	Requests int // requests in the window
	Checked  int // reals requested at least once in it
	Repeated int // reals requested at least twice (their gaps are measured)
	Gaps     []time.Duration
}

// Measure collects the intervals of reqs within [from, to].
func Measure(reqs []Request, from, to time.Time) Intervals {
	by := map[netip.Addr][]time.Time{}
	var iv Intervals
	for _, r := range reqs {
		if r.At.Before(from) || r.At.After(to) {
			continue
		}
		iv.Requests++
		by[r.Addr] = append(by[r.Addr], r.At)
	}
	iv.Checked = len(by)
	for _, ts := range by {
		if len(ts) < 2 {
			continue
		}
		iv.Repeated++
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(ts); i++ {
			iv.Gaps = append(iv.Gaps, ts[i].Sub(ts[i-1]))
		}
	}
	return iv
}

// Quantile returns the q-quantile (0..1, nearest rank) of ds, 0 for none.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Median is Quantile(ds, 0.5).
func Median(ds []time.Duration) time.Duration { return Quantile(ds, 0.5) }

// CPU is the windows' median CPU, in cores (1.0 = one core busy).
func (r ScaleRow) CPU() float64 { return result.Median(r.CPUs) }

// Span is the time all the windows cover.
func (r ScaleRow) Span() time.Duration { return time.Duration(len(r.CPUs)) * r.Window }

// ScaleRow is the result of run (a) for one implementation.
type ScaleRow struct {
	Impl             string
	Reals, Virtuals  int
	Window           time.Duration // each measured window
	WindowAt         time.Duration // the first's start, after the daemon's start
	UpAtWindow       int           // reals in the table at the first window's start
	UpAtEnd          int           // and at the last one's end
	Intervals        Intervals     // over all the windows
	CPUs             []float64     // each window's CPU, in cores: one per window
	ServerCPU        float64       // cores, over all the windows
	RSSKiB, HWMKiB   int64         // VmRSS at the end, VmHWM (peak)
	Changes, Listing int           // IPVS changes and ipvsadm -L runs, whole run
	Touched          int           // distinct reals those changes were about
	Load             string        // /proc/loadavg's three averages at the end
}

// DetectRow is the result of run (b) for one implementation and number of
// black-holed reals.
type DetectRow struct {
	Impl       string
	BlackHoled int
	Target     time.Duration   // checkinterval + timeout
	Latencies  []time.Duration // per round
	Missed     time.Duration   // > 0: a round saw no removal within this long
}

func pct(cores float64) string { return fmt.Sprintf("%.0f %%", 100*cores) }

// pcts renders each of vs as a percentage: "44 / 45 / 47 %".
func pcts(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprintf("%.0f", 100*v)
	}
	return strings.Join(s, " / ") + " %"
}

// cpuCell is the median CPU, and every window's when there are several.
func cpuCell(r ScaleRow) string {
	if len(r.CPUs) < 2 {
		return pct(r.CPU())
	}
	return fmt.Sprintf("%s (%s)", pct(r.CPU()), pcts(r.CPUs))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// scaleCells renders one row of table (a).
func (r ScaleRow) scaleCells() []string {
	iv := r.Intervals
	med, p95 := "-", "-"
	if len(iv.Gaps) > 0 {
		med, p95 = secs(Median(iv.Gaps)), secs(Quantile(iv.Gaps, 0.95))
	}
	return []string{
		r.Impl,
		fmt.Sprintf("%d / %d", r.Reals, r.Virtuals),
		fmt.Sprintf("%d → %d", r.UpAtWindow, r.UpAtEnd),
		fmt.Sprintf("%d × %.0f s from %.0f s", len(r.CPUs), r.Window.Seconds(), r.WindowAt.Seconds()),
		fmt.Sprintf("%.0f", float64(iv.Requests)/r.Span().Seconds()),
		fmt.Sprintf("%d / %d", iv.Checked, iv.Repeated),
		med, p95,
		cpuCell(r), pct(r.ServerCPU),
		mib(r.RSSKiB) + " / " + mib(r.HWMKiB),
		fmt.Sprintf("%d / %d", r.Changes, r.Listing),
	}
}

var scaleHeader = []string{"implementation", "reals / virtuals", "reals in table (first window's start → last's end)",
	"windows", "checks/s", "reals checked once / twice+ in the windows", "interval median", "interval p95",
	"daemon CPU (of one core; median of the windows)", "real servers' CPU", "RSS / peak", "IPVS changes / ipvsadm -L runs"}

// detectCells renders one row of table (b).
func (r DetectRow) detectCells() []string {
	med, worst, met := "-", "-", "no"
	if len(r.Latencies) > 0 {
		med, worst = secs(Median(r.Latencies)), secs(slices.Max(r.Latencies))
	}
	if r.Missed > 0 {
		worst = fmt.Sprintf("not detected in %.0f s", r.Missed.Seconds())
		if len(r.Latencies) == 0 {
			med = worst
		}
	} else if len(r.Latencies) > 0 && Median(r.Latencies) <= r.Target {
		met = "yes"
	}
	return []string{r.Impl, strconv.Itoa(r.BlackHoled), strconv.Itoa(len(r.Latencies)), med, worst, secs(r.Target), met}
}

var detectHeader = []string{"implementation", "black-holed reals", "rounds", "detection median", "worst", "target (interval + timeout)", "median met?"}

// markdownTable writes header and a line of cells per row.
func markdownTable[R any](b *strings.Builder, header []string, rows []R, cells func(R) []string) {
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
	for _, r := range rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells(r), " | "))
	}
}

// Markdown renders both tables, and every detection latency, as markdown.
func Markdown(scale []ScaleRow, detect []DetectRow) string {
	var b strings.Builder
	if len(scale) > 0 {
		b.WriteString("(a) Checking many reals, HTTP negotiate, checkinterval 1 s:\n\n")
		markdownTable(&b, scaleHeader, scale, ScaleRow.scaleCells)
		b.WriteString("\n")
		for _, r := range scale {
			fmt.Fprintf(&b, "- %s, %d reals: by the last window's end its IPVS changes had touched %d of them; machine load average %s.\n",
				r.Impl, r.Reals, r.Touched, r.Load)
		}
		b.WriteString("\n")
	}
	if len(detect) > 0 {
		b.WriteString("(b) Time from a real's failure to its removal from the IPVS table:\n\n")
		markdownTable(&b, detectHeader, detect, DetectRow.detectCells)
		b.WriteString("\nEvery detection (seconds, in order):\n\n")
		for _, r := range detect {
			s := make([]string, len(r.Latencies))
			for i, d := range r.Latencies {
				s[i] = fmt.Sprintf("%.3f", d.Seconds())
			}
			if r.Missed > 0 {
				s = append(s, fmt.Sprintf("none within %.0f", r.Missed.Seconds()))
			}
			fmt.Fprintf(&b, "- %s, %d black-holed: %s\n", r.Impl, r.BlackHoled, strings.Join(s, ", "))
		}
	}
	return b.String()
}
