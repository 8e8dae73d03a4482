// Table tests for the per-key limiter with an injected clock.

package ratelimit

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type step struct {
	advance time.Duration
	key     string
	ok      bool
	supp    uint64
}

func TestAllow(t *testing.T) {
	tests := []struct {
		name  string
		every time.Duration
		burst int
		steps []step
	}{
		{"burst then one per interval", time.Second, 2, []step{
			{0, "a", true, 0},
			{0, "a", true, 0},
			{0, "a", false, 0},
			{0, "a", false, 0},
			{999 * time.Millisecond, "a", false, 0},
			{time.Millisecond, "a", true, 3},
			{0, "a", false, 0},
			{time.Second, "a", true, 1},
		}},
		{"keys are independent", time.Minute, 1, []step{
			{0, "a", true, 0},
			{0, "a", false, 0},
			{0, "b", true, 0},
			{0, "b", false, 0},
			{0, "b", false, 0},
			{time.Minute, "b", true, 2},
			{0, "a", true, 1},
		}},
		{"tokens cap at burst", time.Second, 2, []step{
			{0, "a", true, 0},
			{0, "a", true, 0},
			{time.Hour, "a", true, 0},
			{0, "a", true, 0},
			{0, "a", false, 0},
		}},
		{"burst below 1 is 1", time.Second, 0, []step{
			{0, "a", true, 0},
			{0, "a", false, 0},
			{time.Second, "a", true, 1},
		}},
		{"zero interval never limits", 0, 1, []step{
			{0, "a", true, 0},
			{0, "a", true, 0},
		}},
		{"clock going back does not add tokens", time.Second, 1, []step{
			{0, "a", true, 0},
			{-time.Hour, "a", false, 0},
			{time.Hour + time.Second, "a", true, 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1000, 0)}
			l := New(tc.every, tc.burst, c.now)
			var got, want []string
			for i, s := range tc.steps {
				c.t = c.t.Add(s.advance)
				ok, n := l.Allow(s.key)
				got = append(got, fmt.Sprintf("%d %s: %v %d", i, s.key, ok, n))
				want = append(want, fmt.Sprintf("%d %s: %v %d", i, s.key, s.ok, s.supp))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Allow sequence (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeysBounded(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(time.Second, 1, c.now)
	// MaxKeys busy keys (each has a suppressed event, so none is idle).
	for i := range MaxKeys {
		k := fmt.Sprint(i)
		l.Allow(k)
		l.Allow(k)
	}
	// New keys now share the overflow bucket.
	if ok, _ := l.Allow("new1"); !ok {
		t.Fatal("first overflow key refused")
	}
	if ok, _ := l.Allow("new2"); ok {
		t.Error("second overflow key allowed: keys are not sharing the overflow bucket")
	}
	if n := len(l.buckets); n > MaxKeys+1 {
		t.Errorf("%d buckets, want at most %d", n, MaxKeys+1)
	}
	// Once old keys have recovered and reported their counts, they are swept.
	c.t = c.t.Add(time.Second)
	for i := range MaxKeys {
		if ok, n := l.Allow(fmt.Sprint(i)); !ok || n != 1 {
			t.Fatalf("key %d: ok %v suppressed %d, want true 1", i, ok, n)
		}
	}
	c.t = c.t.Add(time.Second)
	if ok, n := l.Allow("fresh"); !ok || n != 0 {
		t.Errorf("fresh key after sweep: ok %v suppressed %d", ok, n)
	}
	if _, ok := l.buckets["fresh"]; !ok {
		t.Error("fresh key not tracked on its own after sweep")
	}
}
