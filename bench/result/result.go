// Package result is the machine-readable output of the end-to-end
// benchmarks: one JSON object a line, appended to a file each benchmark
// is given (-outage.json, -ldcheck.json, ...), read back by bench/report
// to print the one table of `make bench`.
package result

// result.go: Record, appending and reading JSON lines, the median of
// values, tables in text and markdown.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Implementations, as records name them.
const (
	Ours    = "ours"    // hasuite's program
	Classic = "classic" // the classic program it replaces, in the same run
)

// Record is one measured quantity of one implementation in one case: every
// run's value, in the order measured. Bench is the benchmark ("outage",
// "startup", "idle", "ldcheck-scale", "ldcheck-detect", "ipvs"), Case its
// setting ("100ms/500ms", "solo", "10000/1000", ...), Metric what was
// measured ("outage", "cpu", "rss", ...), Unit "s", "cores" or "KiB".
type Record struct {
	Bench   string    `json:"bench"`
	Case    string    `json:"case"`
	Impl    string    `json:"impl"`
	Program string    `json:"program"` // e.g. "heartbeat 3.0.6", "heartbeatd"
	Metric  string    `json:"metric"`
	Unit    string    `json:"unit"`
	Values  []float64 `json:"values"`
	// Runs, when set, is how many runs Values summarise (a benchmark
	// that reports only its median gives one value of Runs runs).
	Runs int `json:"runs,omitempty"`
	// Target, when set, is the most hasuite's value may be (issue 8), in
	// Unit.
	Target float64 `json:"target,omitempty"`
	// Missed is set when a run produced no value (e.g. no detection within
	// the cap); Note says why.
	Missed bool      `json:"missed,omitempty"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// Seconds converts durations to the values of a Record in seconds.
func Seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// Median is the median of vs (the mean of the middle two for an even
// count), 0 for none.
func Median[T ~float64 | ~int64](vs []T) T {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Text renders a table of rows under header with aligned columns.
func Text(header []string, rows [][]string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
	return b.String()
}

// Markdown renders a table of rows under header as a markdown table.
func Markdown(header []string, rows [][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
	}
	return b.String()
}

// Append writes recs to path, one JSON line each, creating the file if
// needed; an empty path writes nothing.
func Append(path string, recs ...Record) error {
	if path == "" || len(recs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	now := time.Now().UTC()
	for _, r := range recs {
		if r.At.IsZero() {
			r.At = now
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Read parses the records of path; a missing file has none.
func Read(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse parses JSON lines; blank lines are skipped.
func Parse(data []byte) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
