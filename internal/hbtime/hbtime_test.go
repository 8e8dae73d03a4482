// Tests for the heartbeat time syntax.
package hbtime

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		// The examples in cl_get_msec's comment (exact here, see RoundMS).
		{"1", time.Second},
		{"1000ms", time.Second},
		{"1000000us", time.Second},
		{"0.1", 100 * time.Millisecond},
		{"100ms", 100 * time.Millisecond},
		{"100000us", 100 * time.Millisecond},
		{"0.001", time.Millisecond},
		{"1ms", time.Millisecond},
		{"1000us", time.Millisecond},
		{"499us", 499 * time.Microsecond},
		{"501us", 501 * time.Microsecond},
		// Units are prefixes, case-insensitive.
		{"2MS", 2 * time.Millisecond},
		{"2msec", 2 * time.Millisecond},
		{"2Usec", 2 * time.Microsecond},
		{"2s", 2 * time.Second},
		{"2S", 2 * time.Second},
		// Fractions.
		{".5", 500 * time.Millisecond},
		{"5.", 5 * time.Second},
		{"1.5ms", 1500 * time.Microsecond},
		{"0.0000000005", time.Nanosecond}, // half a ns rounds up
		{"0.0000000004", 0},
		{"0", 0},
		{"00030", 30 * time.Second},
		{"9223372036.854775807", math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `invalid time value: "": expected a decimal number`},
		{".", `invalid time value: ".": expected a decimal number`},
		{"ms", `invalid time value: "ms": expected a decimal number`},
		{"1.2.3", `invalid time value: "1.2.3": expected a decimal number`},
		{"-1", `invalid time value: "-1": expected a decimal number`},
		{"2000 ms", `invalid time value: "2000 ms": bad unit " ms"`},
		{" 1", `invalid time value: " 1": expected a decimal number`},
		{"1 ", `invalid time value: "1 ": bad unit " "`},
		{"1sec", `invalid time value: "1sec": unknown unit "sec" (want none, ms or us)`},
		{"1m", `invalid time value: "1m": unknown unit "m" (want none, ms or us)`},
		{"1h", `invalid time value: "1h": unknown unit "h" (want none, ms or us)`},
		{"1ms!", `invalid time value: "1ms!": bad unit "ms!"`},
		{"1e3", `invalid time value: "1e3": bad unit "e3"`},
		{"9223372036.854775808", `invalid time value: "9223372036.854775808": out of range`},
		{"99999999999999999999", `invalid time value: "99999999999999999999": out of range`},
		{"1" + string(make([]byte, 64)), `invalid time value: too long`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error", tt.in)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v is not ErrSyntax", tt.in, err)
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestRoundMS(t *testing.T) {
	// cl_get_msec: 499us = 0 ms, 501us = 1 ms, halves round up.
	tests := []struct{ in, want time.Duration }{
		{499 * time.Microsecond, 0},
		{500 * time.Microsecond, time.Millisecond},
		{501 * time.Microsecond, time.Millisecond},
		{1500 * time.Microsecond, 2 * time.Millisecond},
		{2 * time.Second, 2 * time.Second},
		{math.MaxInt64, time.Duration(math.MaxInt64).Truncate(time.Millisecond)},
	}
	for _, tt := range tests {
		if got := RoundMS(tt.in); got != tt.want {
			t.Errorf("RoundMS(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{2 * time.Second, "2s"},
		{30 * time.Second, "30s"},
		{1500 * time.Millisecond, "1.5s"},
		{1234 * time.Millisecond, "1234ms"}, // tie with "1.234s": integer wins
		{500 * time.Millisecond, "500ms"},
		{100 * time.Millisecond, "100ms"},
		{1500 * time.Microsecond, "1.5ms"},
		{250 * time.Microsecond, "250us"},
		{1500 * time.Nanosecond, "1.5us"},
		{time.Nanosecond, "0.001us"},
		{-2 * time.Second, "-2s"},
		{math.MinInt64, "-9223372036.854775808s"},
		{math.MaxInt64, "9223372036.854775807s"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{1, 999, 1000, 1001, 123456789, 5 * time.Second, 86400 * time.Second, math.MaxInt64} {
		s := Format(d)
		got, err := Parse(s)
		if err != nil || got != d {
			t.Errorf("Parse(Format(%d) = %q) = %v, %v", d, s, got, err)
		}
	}
}

func FuzzHbtimeParse(f *testing.F) {
	for _, s := range []string{"1", "1000ms", "1000000us", "0.1", ".5", "5.", "2s", "2000 ms", "1.2.3", "", "ms", "9223372036.854775807", "1Msec", "0.0000000005"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("Parse(%q) = %v, negative", s, d)
		}
		back, err := Parse(Format(d))
		if err != nil || back != d {
			t.Fatalf("Parse(Format(%v) = %q) = %v, %v", d, Format(d), back, err)
		}
		if r := RoundMS(d); r < 0 || r%time.Millisecond != 0 {
			t.Fatalf("RoundMS(%v) = %v", d, r)
		}
	})
}
