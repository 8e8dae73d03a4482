// result_test.go: the median, of seconds and of durations.

package result

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{ms(7)}, ms(7)},
		{[]time.Duration{ms(900), ms(100), ms(500)}, ms(500)},
		{[]time.Duration{ms(400), ms(100), ms(300), ms(200)}, ms(250)},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if m := Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("Median(4 1 3 2) = %v, want 2.5", m)
	}
}
