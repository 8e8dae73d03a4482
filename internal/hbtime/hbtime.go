// Package hbtime parses and formats heartbeat's time syntax (cl_get_msec).
//
// A value is a decimal number, fraction allowed, followed by an optional
// unit: none means seconds, a unit starting with "ms" means milliseconds,
// one starting with "us" means microseconds (case-insensitive, so "ms",
// "msec", "USEC" all work). hasuite also accepts "s" for seconds so that
// Format's output ("2s") parses back; classic heartbeat rejects "2s".
//
// Differences from cl_get_msec, on purpose:
//   - the result is exact (nanoseconds) instead of rounded to whole
//     milliseconds; callers that need classic rounding use RoundMS;
//   - whitespace anywhere is an error (classic skips leading blanks and
//     blanks before the unit; ha.cf splits "2000 ms" into two values anyway);
//   - malformed numbers such as "1.2.3" or "." are errors (classic's atof
//     reads as much as it can);
//   - the unit may only contain letters after "ms"/"us" ("1ms!" is an error).
package hbtime

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// maxLen bounds the accepted input so parsing stays cheap.
const maxLen = 64

// ErrSyntax is returned (wrapped) for any malformed time value.
var ErrSyntax = errors.New("invalid time value")

// Parse converts a heartbeat time value to a duration.
func Parse(s string) (time.Duration, error) {
	if len(s) > maxLen {
		return 0, fmt.Errorf("%w: too long", ErrSyntax)
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], s[i:]
	intPart, frac, _ := strings.Cut(num, ".")
	if intPart == "" && frac == "" || strings.Contains(frac, ".") {
		return 0, fmt.Errorf("%w: %q: expected a decimal number", ErrSyntax, s)
	}
	scale, err := unitScale(unit)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrSyntax, s, err)
	}
	// value = digits / 10^len(frac) * scale, rounded half up to 1ns.
	digits, ok := new(big.Int).SetString(intPart+frac+"0", 10) // trailing 0 keeps "" valid
	if !ok {
		return 0, fmt.Errorf("%w: %q: expected a decimal number", ErrSyntax, s)
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac)+1)), nil)
	n := digits.Mul(digits, big.NewInt(int64(scale)))
	n.Mul(n, big.NewInt(2)).Add(n, den)
	n.Quo(n, den.Mul(den, big.NewInt(2)))
	if !n.IsInt64() {
		return 0, fmt.Errorf("%w: %q: out of range", ErrSyntax, s)
	}
	return time.Duration(n.Int64()), nil
}

// unitScale returns the duration of one unit named by u.
func unitScale(u string) (time.Duration, error) {
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return 0, fmt.Errorf("bad unit %q", u)
		}
	}
	l := strings.ToLower(u)
	switch {
	case l == "":
		return time.Second, nil
	case l == "s":
		return time.Second, nil
	case strings.HasPrefix(l, "ms"):
		return time.Millisecond, nil
	case strings.HasPrefix(l, "us"):
		return time.Microsecond, nil
	}
	return 0, fmt.Errorf("unknown unit %q (want none, ms or us)", u)
}

// RoundMS rounds d to whole milliseconds, halves up, as cl_get_msec does.
func RoundMS(d time.Duration) time.Duration {
	if d > math.MaxInt64-time.Millisecond/2 {
		return d.Truncate(time.Millisecond)
	}
	return (d + time.Millisecond/2).Truncate(time.Millisecond)
}

// Format gives the shortest form of d that Parse reads back exactly, never
// with a leading "0." unless d is below one microsecond: "2s", "1.5s",
// "500ms", "1234ms", "1.5ms", "250us", "0.5us". Negative durations get a
// leading "-" (which Parse rejects).
func Format(d time.Duration) string {
	if d < 0 {
		if d == math.MinInt64 {
			return "-" + formatUnsigned(uint64(math.MaxInt64)+1)
		}
		return "-" + formatUnsigned(uint64(-d))
	}
	return formatUnsigned(uint64(d))
}

func formatUnsigned(ns uint64) string {
	if ns == 0 {
		return "0s"
	}
	units := []struct {
		name string
		size uint64
	}{{"s", 1e9}, {"ms", 1e6}, {"us", 1e3}}
	best := ""
	for _, u := range units {
		if ns < u.size && u.name != "us" {
			continue
		}
		cand := decimal(ns, u.size) + u.name
		if best == "" || len(cand) < len(best) ||
			len(cand) == len(best) && strings.Contains(best, ".") && !strings.Contains(cand, ".") {
			best = cand
		}
		if ns%u.size == 0 {
			break // smaller units only get longer
		}
	}
	return best
}

// decimal writes n/size exactly as a decimal number; size is a power of 10.
func decimal(n, size uint64) string {
	q, r := n/size, n%size
	s := strconv.FormatUint(q, 10)
	if r == 0 {
		return s
	}
	width := len(strconv.FormatUint(size, 10)) - 1
	f := fmt.Sprintf("%0*d", width, r)
	return s + "." + strings.TrimRight(f, "0")
}
