package ldcheck

// records_test.go: the JSON records of both runs.

import (
	"testing"
	"time"
)

func TestRecords(t *testing.T) {
	s := time.Second
	scale := []ScaleRow{{Impl: Ours, Reals: 10, Virtuals: 2, Window: 10 * s, CPUs: []float64{0.25, 0.3},
		RSSKiB: 2048, HWMKiB: 4096, UpAtEnd: 10, Intervals: Intervals{Requests: 100, Gaps: []time.Duration{s, s, 2 * s}}},
		{Impl: Bare, Reals: 10, Virtuals: 2, Window: 10 * s, CPUs: []float64{0.2, 0.21}},
		{Impl: KeepAlive, Reals: 10, Virtuals: 2, Window: 10 * s, CPUs: []float64{0.1, 0.12},
			Intervals: Intervals{Requests: 100, Gaps: []time.Duration{s, 3 * s, 3 * s}}}}
	detect := []DetectRow{
		{Impl: Perl, BlackHoled: 500, Missed: 90 * s},
		{Impl: Ours, BlackHoled: 0, Latencies: []time.Duration{s / 2, s / 4}},
	}
	got := map[string][]float64{}
	missed := map[string]bool{}
	for _, r := range Records(scale, detect) {
		k := r.Bench + " " + r.Case + " " + r.Impl + " " + r.Metric
		got[k] = r.Values
		missed[k] = r.Missed
	}
	for k, want := range map[string][]float64{
		"ldcheck-scale 10/2 ours cpu":                   {0.25, 0.3},
		"ldcheck-scale 10/2 ours floor-cpu":             {0.2, 0.21},
		"ldcheck-scale 10/2 ours keepalive-cpu":         {0.1, 0.12},
		"ldcheck-scale 10/2 ours keepalive-interval":    {3},
		"ldcheck-scale 10/2 ours rss":                   {2048},
		"ldcheck-scale 10/2 ours checks":                {5},
		"ldcheck-scale 10/2 ours interval":              {1},
		"ldcheck-scale 10/2 ours interval-p95":          {2},
		"ldcheck-detect 0 black-holed ours detect":      {0.5, 0.25},
		"ldcheck-detect 500 black-holed classic detect": {},
	} {
		g, ok := got[k]
		if !ok || len(g) != len(want) {
			t.Errorf("%s: got %v, want %v", k, g, want)
			continue
		}
		for i := range g {
			if g[i] != want[i] {
				t.Errorf("%s: got %v, want %v", k, g, want)
			}
		}
	}
	if !missed["ldcheck-detect 500 black-holed classic detect"] || missed["ldcheck-detect 0 black-holed ours detect"] {
		t.Errorf("missed flags: %v", missed)
	}
}
