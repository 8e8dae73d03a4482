// sample.go: one sample of every daemon (goroutines from its metrics endpoint, open fds and RSS from /proc) and the CSV they go to.

package soak

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// daemons sampled on each director; metricsAddr "" means no endpoint.
var daemons = []struct{ name, metricsAddr string }{
	{"heartbeatd", hbMetrics}, {"ipfail", ""}, {"ldirectord", ldMetrics},
}

// sample is one daemon's measures at one time; NaN where unknown.
type sample struct {
	t                    time.Duration
	director, daemon     string
	pid                  int
	goroutines, fds, rss float64 // rss in MiB
}

// take samples every daemon on both directors.
func take(t time.Duration) []sample {
	var out []sample
	for _, d := range directors {
		for _, dm := range daemons {
			s := sample{t: t, director: d, daemon: dm.name, goroutines: math.NaN(), fds: math.NaN(), rss: math.NaN()}
			s.pid = daemonPid(d, dm.name)
			if s.pid != 0 {
				if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid)); err == nil {
					s.fds = float64(len(ents))
				}
				s.rss = vmRSS(s.pid)
			}
			if dm.metricsAddr != "" {
				if g, err := goroutineCount(d, dm.metricsAddr); err == nil {
					s.goroutines = g
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// vmRSS is VmRSS of pid in MiB (NaN if unreadable).
func vmRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return math.NaN()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v) // "17908 kB"
			if len(f) > 0 {
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
					return kb / 1024
				}
			}
		}
	}
	return math.NaN()
}

const csvHeader = "seconds,director,daemon,pid,goroutines,fds,rss_mib\n"

// writeCSV appends samples to w ("" for an unknown value).
func writeCSV(w io.Writer, ss []sample) {
	num := func(v float64, prec int) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	for _, s := range ss {
		fmt.Fprintf(w, "%.1f,%s,%s,%d,%s,%s,%s\n", s.t.Seconds(), s.director, s.daemon, s.pid,
			num(s.goroutines, 0), num(s.fds, 0), num(s.rss, 2))
	}
}
