package ldcheck

// records.go: the results as bench/result records, for bench/report.

import (
	"fmt"
	"slices"

	"github.com/hasuite/hasuite/bench/result"
)

// kind maps an implementation to its bench/result name.
func kind(impl string) string {
	if impl == Perl {
		return result.Classic
	}
	return result.Ours
}

// Records are the rows of (a) and (b) as bench/result records. (a): per
// implementation and scale ("10000/1000"), cpu (cores, one value per
// window; for the floor, as ours' floor-cpu; with keep-alive, as ours'
// keepalive-cpu, with keepalive-interval its interval), one value each of
// server-cpu (cores), rss and hwm (KiB), checks (per second), interval
// and interval-p95 (s, no value when no real was checked twice) and up (reals
// in the table at the window's end). (b): per implementation and number of
// black-holed reals ("500 black-holed"), every detection latency (s),
// Missed when a round saw none within the cap.
func Records(scale []ScaleRow, detect []DetectRow) []result.Record {
	var out []result.Record
	for _, r := range scale {
		c := fmt.Sprintf("%d/%d", r.Reals, r.Virtuals)
		add := func(metric, unit string, v ...float64) {
			out = append(out, result.Record{Bench: "ldcheck-scale", Case: c, Impl: kind(r.Impl), Program: r.Impl,
				Metric: metric, Unit: unit, Values: v,
				Note: fmt.Sprintf("%d × %.0f s windows from %.0f s, load %s", len(r.CPUs), r.Window.Seconds(), r.WindowAt.Seconds(), r.Load)})
		}
		switch r.Impl { // no classic counterparts
		case Bare:
			add("floor-cpu", "cores", r.CPUs...)
			continue
		case KeepAlive:
			add("keepalive-cpu", "cores", r.CPUs...)
			if gaps := r.Intervals.Gaps; len(gaps) > 0 {
				add("keepalive-interval", "s", Median(gaps).Seconds())
			}
			continue
		}
		add("cpu", "cores", r.CPUs...)
		add("server-cpu", "cores", r.ServerCPU)
		add("rss", "KiB", float64(r.RSSKiB))
		add("hwm", "KiB", float64(r.HWMKiB))
		add("checks", "1/s", float64(r.Intervals.Requests)/r.Span().Seconds())
		add("up", "reals", float64(r.UpAtEnd))
		if gaps := r.Intervals.Gaps; len(gaps) > 0 {
			add("interval", "s", Median(gaps).Seconds())
			add("interval-p95", "s", Quantile(gaps, 0.95).Seconds())
		} else {
			add("interval", "s")
		}
	}
	for _, r := range detect {
		rec := result.Record{Bench: "ldcheck-detect", Case: fmt.Sprintf("%d black-holed", r.BlackHoled),
			Impl: kind(r.Impl), Program: r.Impl, Metric: "detect", Unit: "s", Values: result.Seconds(r.Latencies),
			Target: r.Target.Seconds()}
		if r.Missed > 0 {
			rec.Missed = true
			rec.Note = fmt.Sprintf("a round saw no removal within %.0f s", r.Missed.Seconds())
		}
		if len(r.Latencies) > 0 {
			rec.Note = fmt.Sprintf("worst %.3f s. %s", slices.Max(r.Latencies).Seconds(), rec.Note)
		}
		out = append(out, rec)
	}
	return out
}
