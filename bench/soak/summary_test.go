// summary_test.go: the soak's arithmetic and verdicts on made-up series (no root, runs in CI).

package soak

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

// line is v = a + b·hours sampled every 10 s for d.
func line(a, b float64, d time.Duration) []point {
	var ps []point
	for t := time.Duration(0); t <= d; t += 10 * time.Second {
		ps = append(ps, point{t, a + b*t.Hours()})
	}
	return ps
}

func TestSlopePerHour(t *testing.T) {
	if got := slopePerHour(line(20, 6, time.Hour)); math.Abs(got-6) > 1e-9 {
		t.Errorf("slope of 20 + 6/h = %v, want 6", got)
	}
	if got := slopePerHour(line(20, -3, 10*time.Minute)); math.Abs(got+3) > 1e-9 {
		t.Errorf("slope of 20 - 3/h = %v, want -3", got)
	}
	if got := slopePerHour([]point{{time.Second, 5}}); got != 0 {
		t.Errorf("slope of one point = %v, want 0", got)
	}
	// Noise around a constant: a slope near 0.
	var ps []point
	for i := 0; i < 360; i++ {
		ps = append(ps, point{time.Duration(i) * 10 * time.Second, 10 + float64(i%2)})
	}
	if got := slopePerHour(ps); math.Abs(got) > 0.1 {
		t.Errorf("slope of alternating 10/11 = %v, want about 0", got)
	}
}

func TestVerdict(t *testing.T) {
	h, w := time.Hour, 10*time.Minute
	for _, c := range []struct {
		name string
		m    measure
		ps   []point
		flat bool
	}{
		{"constant goroutines", goroutines, line(20, 0, h), true},
		{"goroutines +4 in an hour", goroutines, line(20, 4, h), true},
		{"goroutine leak +60/h", goroutines, line(20, 60, h), false},
		{"fd leak +10/h", fds, line(12, 10, h), false},
		{"constant fds", fds, line(12, 0, h), true},
		{"RSS +1 MiB/h", rssMiB, line(18, 1, h), true},
		{"RSS +30 MiB/h", rssMiB, line(18, 30, h), false},
		// Start-up growth then flat: the last median exceeds the first
		// by more than the allowance, but the slope is small.
		{"RSS warm-up", rssMiB, append(line(15, 0, 5*time.Minute), shift(line(19, 0, 55*time.Minute), 5*time.Minute+10*time.Second)...), true},
		{"no samples", fds, nil, false},
	} {
		st := summarize(c.m, c.ps, 0, h, w)
		if st.flat != c.flat {
			t.Errorf("%s: flat = %v, want %v (%+v)", c.name, st.flat, c.flat, st)
		}
	}
}

// shift moves every point later by d.
func shift(ps []point, d time.Duration) []point {
	for i := range ps {
		ps[i].t += d
	}
	return ps
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	ok := writeTable(&b, []series{
		{"director1/heartbeatd", goroutines, line(20, 0, time.Hour)},
		{"director1/ldirectord", fds, line(10, 50, time.Hour)},
	}, 0, time.Hour, 10*time.Minute)
	if ok {
		t.Error("a table with an fd leak is all flat")
	}
	out := b.String()
	if !strings.Contains(out, "director1/heartbeatd") || !strings.Contains(out, "GROWING") || !strings.Contains(out, "+50.00") {
		t.Errorf("table:\n%s", out)
	}
}

// A warm-up excluded from the verdict: growth in it does not count, growth
// after it does.
func TestWarmup(t *testing.T) {
	h, w := time.Hour, 10*time.Minute
	warm := append(line(10, 0, 6*time.Minute), shift(line(20, 0, 54*time.Minute), 6*time.Minute+10*time.Second)...)
	if st := summarize(goroutines, warm, 7*time.Minute, h, w); !st.flat || st.first != 20 {
		t.Errorf("growth only in the warm-up: %+v, want flat from 20", st)
	}
	if st := summarize(goroutines, warm, 0, h, w); st.flat {
		t.Errorf("the same series without a warm-up: %+v, want growing", st)
	}
	if st := summarize(goroutines, line(20, 30, h), 5*time.Minute, h, w); st.flat {
		t.Errorf("a leak after the warm-up: %+v, want growing", st)
	}
}
