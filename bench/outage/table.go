// Package outage benchmarks the client-visible outage of a failover: a VIP
// held by one director of a pair, the director's link cut, the time until a
// client is served from the other director. It compares hasuite's
// heartbeatd with Debian's heartbeat 3.0.6 at several keepalive/deadtime
// settings. The benchmark itself (root only) is in outage_test.go, its lab
// (shared with bench/daemons) in lab.go; this file holds the settings and
// the result table.
package outage

// table.go: settings and the result table (text and markdown).

import (
	"fmt"
	"strings"
	"time"

	"github.com/hasuite/hasuite/bench/result"
	"github.com/hasuite/hasuite/internal/hbtime"
)

// Implementations compared, in table order.
const (
	Classic = "heartbeat 3.0.6"
	Ours    = "heartbeatd"
)

// TargetSlack is how much longer than deadtime heartbeatd's outage may be:
// the target is deadtime + 30 ms.
const TargetSlack = 30 * time.Millisecond

// Setting is one keepalive/deadtime pair.
type Setting struct {
	Keepalive, Deadtime time.Duration
}

// DefaultSettings are the settings of the acceptance test.
var DefaultSettings = []Setting{
	{2 * time.Second, 10 * time.Second},
	{100 * time.Millisecond, 500 * time.Millisecond},
	{20 * time.Millisecond, 100 * time.Millisecond},
}

// String is "keepalive/deadtime", e.g. "2s/10s" or "100ms/500ms".
func (s Setting) String() string {
	return hbtime.Format(s.Keepalive) + "/" + hbtime.Format(s.Deadtime)
}

// Target is the outage heartbeatd must not exceed at this setting.
func (s Setting) Target() time.Duration { return s.Deadtime + TargetSlack }

// ParseSettings parses a comma-separated list of keepalive/deadtime pairs
// in Go duration syntax, e.g. "2s/10s,100ms/500ms".
func ParseSettings(list string) ([]Setting, error) {
	var out []Setting
	for _, f := range strings.Split(list, ",") {
		ka, dt, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok {
			return nil, fmt.Errorf("setting %q: want keepalive/deadtime", f)
		}
		k, err := time.ParseDuration(ka)
		if err != nil {
			return nil, fmt.Errorf("setting %q: keepalive: %w", f, err)
		}
		d, err := time.ParseDuration(dt)
		if err != nil {
			return nil, fmt.Errorf("setting %q: deadtime: %w", f, err)
		}
		if k <= 0 || d <= 2*k {
			return nil, fmt.Errorf("setting %q: deadtime must be greater than twice keepalive", f)
		}
		out = append(out, Setting{k, d})
	}
	return out, nil
}

// Row is the measured outages of one setting, by implementation.
type Row struct {
	Setting Setting
	Outages map[string][]time.Duration
}

// cells returns the formatted cells of a row: setting, classic median,
// heartbeatd median, ratio, target, met.
func (r Row) cells() []string {
	cl, ours := r.Outages[Classic], r.Outages[Ours]
	ratio, met := "-", "pending"
	if len(ours) > 0 {
		met = "no"
		if result.Median(ours) <= r.Setting.Target() {
			met = "yes"
		}
		if len(cl) > 0 && result.Median(cl) > 0 {
			ratio = fmt.Sprintf("%.2f", float64(result.Median(ours))/float64(result.Median(cl)))
		}
	}
	return []string{r.Setting.String(), medianCell(cl), medianCell(ours), ratio, seconds(r.Setting.Target()), met}
}

func cells(rows []Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.cells()
	}
	return out
}

var header = []string{"keepalive/deadtime", Classic + " median (runs)", Ours + " median (runs)", "ratio (heartbeatd/3.0.6)", "target (deadtime+30ms)", "met?"}

// medianCell is "0.962 s (3)", or "-" for no runs.
func medianCell(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", seconds(result.Median(ds)), len(ds))
}

// seconds formats d in seconds with millisecond precision.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f s", d.Seconds())
}

// Text renders rows as an aligned plain-text table followed by every
// measured outage.
func Text(rows []Row) string {
	return result.Text(header, cells(rows)) + "\n" + runs(rows)
}

// Markdown renders rows as a markdown table followed by every measured
// outage, for docs/performance.md.
func Markdown(rows []Row) string {
	return result.Markdown(header, cells(rows)) + "\n" + runs(rows)
}

// runs lists every measured outage, one line per setting and
// implementation, in the order measured.
func runs(rows []Row) string {
	var b strings.Builder
	b.WriteString("Every run (seconds, in order):\n\n")
	for _, r := range rows {
		for _, impl := range []string{Classic, Ours} {
			ds := r.Outages[impl]
			if len(ds) == 0 {
				continue
			}
			s := make([]string, len(ds))
			for i, d := range ds {
				s[i] = fmt.Sprintf("%.3f", d.Seconds())
			}
			fmt.Fprintf(&b, "- %s, %s: %s\n", r.Setting, impl, strings.Join(s, ", "))
		}
	}
	return b.String()
}

// Records are the rows as bench/result records: one per setting and
// implementation measured, every outage in seconds.
func Records(rows []Row) []result.Record {
	var out []result.Record
	for _, r := range rows {
		for _, impl := range []string{Classic, Ours} {
			ds := r.Outages[impl]
			if len(ds) == 0 {
				continue
			}
			kind := result.Ours
			if impl == Classic {
				kind = result.Classic
			}
			out = append(out, result.Record{Bench: "outage", Case: r.Setting.String(), Impl: kind, Program: impl,
				Metric: "outage", Unit: "s", Values: result.Seconds(ds), Target: r.Setting.Target().Seconds()})
		}
	}
	return out
}
