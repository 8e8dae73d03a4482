// Package ratelimit limits repetitive log lines per key, such as "bad packet
// from X", and counts what it suppressed so callers can say so:
//
//	if ok, n := lim.Allow(src); ok {
//		log.Warnf("bad packet from %s (%d similar suppressed)", src, n)
//	}
package ratelimit

import (
	"sync"
	"time"
)

// MaxKeys bounds the number of keys tracked, so keys taken from network
// input (source addresses) cannot grow memory without limit. Past it, idle
// keys are forgotten and, if none are idle, new keys share one overflow
// bucket.
const MaxKeys = 1024

// overflowKey is the shared bucket used when MaxKeys busy keys exist.
const overflowKey = "\x00overflow"

// Limiter is a token bucket per key: burst events pass at once, then one per
// every. It is safe for concurrent use.
type Limiter struct {
	every time.Duration
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens     float64
	last       time.Time
	suppressed uint64
}

// New returns a limiter allowing burst events per key at once and one more
// per every after that. burst below 1 is taken as 1; now nil means time.Now.
func New(every time.Duration, burst int, now func() time.Time) *Limiter {
	if burst < 1 {
		burst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, burst: float64(burst), now: now, buckets: make(map[string]*bucket)}
}

// Allow reports whether an event for key may be logged now. When ok, it also
// returns how many events for key were refused since the last allowed one.
func (l *Limiter) Allow(key string) (ok bool, suppressed uint64) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= MaxKeys {
			l.sweep(now)
		}
		if len(l.buckets) >= MaxKeys {
			key = overflowKey
			b = l.buckets[key]
		}
		if b == nil {
			b = &bucket{tokens: l.burst, last: now}
			l.buckets[key] = b
		}
	}
	l.refill(b, now)
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}

// refill adds the tokens earned since b.last, up to burst.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if l.every <= 0 {
		b.tokens = l.burst
		b.last = now
		return
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens += float64(el) / float64(l.every)
		if b.tokens > l.burst {
			b.tokens = l.burst
		}
		b.last = now
	}
}

// sweep forgets keys whose bucket is full again and owes no suppressed
// count: they behave exactly like new keys.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst && b.suppressed == 0 {
			delete(l.buckets, k)
		}
	}
}
