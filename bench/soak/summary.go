// summary.go: the soak's arithmetic (median, least-squares slope) and the flat/growing verdict per daemon and measure.

package soak

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/hasuite/hasuite/bench/result"
)

// point is one sample of one measure: t since the soak started.
type point struct {
	t time.Duration
	v float64
}

// Verdict rules. A series is flat when its median over the last window is
// at most its median over the first window plus the allowance; RSS is
// also flat when its least-squares slope stays under rssSlopeMiBPerHour
// (a garbage-collected heap wanders by a few MiB without leaking).
const (
	goroutineAllowance = 5   // goroutines
	fdAllowance        = 3   // open file descriptors
	rssAllowanceMiB    = 2.0 // MiB
	rssSlopeMiBPerHour = 8.0 // MiB per hour
)

// measure names what a series counts.
type measure string

const (
	goroutines measure = "goroutines"
	fds        measure = "fds"
	rssMiB     measure = "rss_MiB"
)

// stats summarises one series.
type stats struct {
	n                   int
	first, last, max    float64 // first and last window medians
	slopePerHour        float64
	flat                bool
	allowance, rssSlope float64
}

// median of vs (NaN when empty).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	return result.Median(vs)
}

// slopePerHour is the least-squares slope of v over t, per hour (0 with
// fewer than two distinct times).
func slopePerHour(ps []point) float64 {
	if len(ps) < 2 {
		return 0
	}
	var st, sv float64
	for _, p := range ps {
		st += p.t.Hours()
		sv += p.v
	}
	n := float64(len(ps))
	mt, mv := st/n, sv/n
	var num, den float64
	for _, p := range ps {
		dt := p.t.Hours() - mt
		num += dt * (p.v - mv)
		den += dt * dt
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// summarize computes a series' stats over the samples from warmup to
// total (those before are the daemons warming up: heaps growing to their
// steady size), the first and last windows each window long.
func summarize(m measure, all []point, warmup, total, window time.Duration) stats {
	var ps []point
	for _, p := range all {
		if p.t >= warmup {
			ps = append(ps, p)
		}
	}
	var first, last []float64
	st := stats{n: len(ps), max: math.NaN()}
	for _, p := range ps {
		if p.t <= warmup+window {
			first = append(first, p.v)
		}
		if p.t >= total-window {
			last = append(last, p.v)
		}
		if math.IsNaN(st.max) || p.v > st.max {
			st.max = p.v
		}
	}
	st.first, st.last = median(first), median(last)
	st.slopePerHour = slopePerHour(ps)
	switch m {
	case goroutines:
		st.allowance = goroutineAllowance
	case fds:
		st.allowance = fdAllowance
	case rssMiB:
		st.allowance = rssAllowanceMiB
	}
	st.flat = st.last <= st.first+st.allowance
	if m == rssMiB && st.slopePerHour < rssSlopeMiBPerHour {
		st.flat = true
	}
	if len(ps) == 0 {
		st.flat = false
	}
	return st
}

// series is one daemon's samples of one measure.
type series struct {
	daemon string // director/daemon
	m      measure
	ps     []point
}

// writeTable prints one line per series and returns whether all are flat.
func writeTable(w io.Writer, ss []series, warmup, total, window time.Duration) bool {
	allFlat := true
	fmt.Fprintf(w, "%-22s %-10s %7s %9s %9s %9s %10s  %s\n", "daemon", "measure", "samples", "first", "last", "max", "slope/h", "verdict")
	for _, s := range ss {
		st := summarize(s.m, s.ps, warmup, total, window)
		verdict := "flat"
		if !st.flat {
			verdict = "GROWING"
			allFlat = false
		}
		fmt.Fprintf(w, "%-22s %-10s %7d %9.1f %9.1f %9.1f %+10.2f  %s\n", s.daemon, s.m, st.n, st.first, st.last, st.max, st.slopePerHour, verdict)
	}
	fmt.Fprintf(w, "samples after a warm-up of %v; first/last: medians over the first and last %v of them;\n"+
		"max: the largest; slope: least squares, per hour.\n", warmup, window)
	fmt.Fprintf(w, "flat: last <= first + %d goroutines, + %d fds, + %.0f MiB RSS; or RSS slope < %.0f MiB/h.\n",
		goroutineAllowance, fdAllowance, rssAllowanceMiB, rssSlopeMiBPerHour)
	return allFlat
}
