package main

// ipvs.go: the results of make bench-ipvs, read from its test output.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hasuite/hasuite/bench/result"
)

// The table TestGuestLVSBench (ldirectord/lvs) logs from inside the VM.
var (
	ipvsHeader = regexp.MustCompile(`cold apply of (\d+) virtual services × (\d+) real servers = (\d+) entries; (.*); (\d+) runs`)
	// "  WHAT   best median worst  per-entry"
	ipvsRow = regexp.MustCompile(`^\s*(\S.*?)\s{2,}(\S+)\s+(\S+)\s+(\S+)\s+\S+ [µm]?s$`)
	// "  … all N entries, extrapolated   12m30s  (extrapolated ...)"
	ipvsExtrapolated = regexp.MustCompile(`… all (\d+) entries, extrapolated\s+(\S+)\s+\(`)
)

// ParseIPVS turns the cold-apply table into records: ours (Apply over
// batched netlink), classic "ipvsadm -R", and classic "one process per
// entry" (the extrapolation to every entry when only some were timed; the
// note says so). Each record holds the median of Runs runs.
func ParseIPVS(log string) ([]result.Record, error) {
	h := ipvsHeader.FindStringSubmatch(log)
	if h == nil {
		return nil, fmt.Errorf("no cold-apply table in the output")
	}
	entries, runs := h[3], atoi(h[5])
	c := fmt.Sprintf("%s × %s = %s entries", h[1], h[2], entries)
	env := h[4]
	rec := func(impl, program, metric string, v time.Duration, runs int, note string) result.Record {
		return result.Record{Bench: "ipvs", Case: c, Impl: impl, Program: program, Metric: metric, Unit: "s",
			Values: []float64{v.Seconds()}, Runs: runs, Note: strings.TrimSpace(note + "; " + env)}
	}
	var out []result.Record
	for _, line := range strings.Split(log[strings.Index(log, h[0]):], "\n") {
		if m := ipvsExtrapolated.FindStringSubmatch(line); m != nil {
			d, err := time.ParseDuration(m[2])
			if err != nil {
				return nil, fmt.Errorf("extrapolation %q: %w", line, err)
			}
			for i, r := range out {
				if r.Metric == "per-entry" {
					out[i] = rec(result.Classic, r.Program, "per-entry", d, 0, "extrapolated from "+r.Note[:strings.Index(r.Note, ";")]+", not measured")
				}
			}
			continue
		}
		m := ipvsRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		what := m[1]
		med, err := time.ParseDuration(m[3])
		if err != nil {
			continue // the header line ("best median worst")
		}
		note := fmt.Sprintf("best %s, worst %s", m[2], m[4])
		switch {
		case strings.HasPrefix(what, "Apply (reconciler + batched netlink)"):
			out = append(out, rec(result.Ours, "ldirectord", "apply", med, runs, note))
		case strings.HasPrefix(what, "ipvsadm -R"):
			out = append(out, rec(result.Classic, "ipvsadm -R", "restore", med, runs, note))
		case strings.HasPrefix(what, "ipvsadm, one process per entry"):
			n := what[strings.LastIndex(what, "first ")+len("first "):]
			out = append(out, rec(result.Classic, "ipvsadm, one process per entry", "per-entry", med, 1, "the "+n+" timed"))
		}
	}
	if len(out) != 3 {
		return nil, fmt.Errorf("found %d of the 3 rows (Apply, ipvsadm -R, one process per entry) in the table", len(out))
	}
	return out, nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
