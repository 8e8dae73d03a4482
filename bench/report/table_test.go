package main

// table_test.go: the rows built from records.

import (
	"strings"
	"testing"

	"github.com/hasuite/hasuite/bench/result"
)

func TestRows(t *testing.T) {
	rec := func(bench, c, impl, program, metric, unit string, target float64, vs ...float64) result.Record {
		return result.Record{Bench: bench, Case: c, Impl: impl, Program: program, Metric: metric, Unit: unit, Values: vs, Target: target}
	}
	missed := rec("ldcheck-detect", "500 black-holed", result.Classic, "Perl ldirectord 4.12", "detect", "s", 2)
	missed.Missed, missed.Note = true, "a round saw no removal within 90 s"
	recs := []result.Record{
		rec("outage", "100ms/500ms", result.Classic, "heartbeat 3.0.6", "outage", "s", 0.53, 0.9, 1.0, 0.95),
		rec("outage", "100ms/500ms", result.Ours, "heartbeatd", "outage", "s", 0.53, 0.5, 0.4, 0.6),
		rec("outage", "20ms/100ms", result.Ours, "heartbeatd", "outage", "s", 0.13, 0.2),
		rec("startup", "pair", result.Ours, "heartbeatd", "vip-up", "s", 0, 0.25),
		rec("ldcheck-scale", "10000/1000", result.Ours, "hasuite ldirectord", "cpu", "cores", 0, 1.1),
		rec("ldcheck-scale", "10000/1000", result.Ours, "floor: hasuite's check loop alone", "floor-cpu", "cores", 0, 0.4, 0.5, 0.45),
		rec("ldcheck-scale", "10000/1000", result.Ours, "hasuite ldirectord", "interval", "s", 0, 1.01),
		rec("ldcheck-scale", "10000/1000", result.Ours, "hasuite ldirectord, checkkeepalive = yes", "keepalive-cpu", "cores", 0, 0.23, 0.24, 0.22),
		rec("ldcheck-scale", "10000/1000", result.Ours, "hasuite ldirectord, checkkeepalive = yes", "keepalive-interval", "s", 0, 1.007),
		rec("ldcheck-scale", "10000/1000", result.Classic, "Perl ldirectord 4.12", "cpu", "cores", 0, 0.96),
		rec("ldcheck-scale", "10000/1000", result.Classic, "Perl ldirectord 4.12", "interval", "s", 0),
		rec("ldcheck-scale", "10000/1000", result.Classic, "Perl ldirectord 4.12", "up", "reals", 0, 1),
		rec("ldcheck-detect", "500 black-holed", result.Ours, "hasuite ldirectord", "detect", "s", 2, 0.4, 0.9),
		missed,
		{Bench: "ipvs", Case: "1000 × 10 = 11000 entries", Impl: result.Ours, Program: "ldirectord", Metric: "apply", Unit: "s", Values: []float64{0.3}, Runs: 5},
		{Bench: "ipvs", Case: "1000 × 10 = 11000 entries", Impl: result.Classic, Program: "ipvsadm -R", Metric: "restore", Unit: "s", Values: []float64{3}, Runs: 5},
		{Bench: "ipvs", Case: "1000 × 10 = 11000 entries", Impl: result.Classic, Program: "ipvsadm, one process per entry", Metric: "per-entry", Unit: "s", Values: []float64{750}, Note: "extrapolated from the 1100 entries timed, not measured"},
		{Bench: "idle", Case: "ipfail", Impl: result.Ours, Program: "ipfail (hasuite)", Metric: "rss", Unit: "KiB", Values: []float64{6144, 5120, 7168}, Note: "2 processes"},
		rec("idle", "ipfail", result.Ours, "ipfail (hasuite)", "pss", "KiB", 0, 3072),
	}
	got := map[string]Row{}
	for _, r := range Rows(recs) {
		got[r.Measure+" | "+r.Programs+" | "+r.Case] = r
	}
	for key, want := range map[string]Row{
		"failover outage | heartbeatd vs heartbeat 3.0.6 | keepalive/deadtime 100ms/500ms":  {Ours: "0.500 s (3)", Classic: "0.950 s (3)", Ratio: "0.53", Target: "≤ 0.530 s (deadtime + 30 ms)", Met: "yes"},
		"failover outage | heartbeatd vs classic | keepalive/deadtime 20ms/100ms":           {Ours: "0.200 s (1)", Classic: "not run", Ratio: "-", Met: "no"},
		"start to VIP answering | heartbeatd vs classic | pair: both nodes started at once": {Ours: "0.250 s (1)", Met: "-"},
		"checks at scale: CPU (of one core) | hasuite ldirectord vs Perl ldirectord 4.12 | 10000 reals in 1000 virtuals, checkinterval 1 s": {
			Ours: "110 % (1)", Classic: "96 % (1)", Ratio: "1.15", Met: "no"},
		"checks at scale: CPU of the check loop alone (the floor) | bench/ldcheck/bare | 10000 reals in 1000 virtuals, checkinterval 1 s": {
			Ours: "45 % (3)", Classic: "-", Ratio: "-", Met: "-"},
		"checks at scale: CPU with checkkeepalive = yes (opt-in, a kept connection per real) | hasuite ldirectord, checkkeepalive = yes | 10000 reals in 1000 virtuals, checkinterval 1 s": {
			Ours: "23 % (3)", Classic: "-", Ratio: "-", Target: "< 50 % at a 1 s interval", Met: "yes"},
		"checks at scale: achieved interval | hasuite ldirectord vs Perl ldirectord 4.12 | 10000 reals in 1000 virtuals, checkinterval 1 s": {
			Ours: "1.010 s (1)", Classic: "- (none checked twice; 1 of 10000 reals in the table)", Met: "yes"},
		"dead real out of the table | hasuite ldirectord vs Perl ldirectord 4.12 | 500 black-holed reals beside it": {
			Ours: "0.650 s (2)", Classic: "none: a round saw no removal within 90 s", Ratio: "-", Met: "yes"},
		"cold IPVS apply in the VM | ldirectord vs ipvsadm -R | 1000 × 10 = 11000 entries":                     {Ours: "0.300 s (5)", Classic: "3.000 s (5)", Ratio: "0.1", Target: "< 1 s", Met: "yes"},
		"cold IPVS apply in the VM | ldirectord vs ipvsadm, one process per entry | 1000 × 10 = 11000 entries": {Classic: "≈ 750 s (12.5 min), extrapolated", Ratio: "0.0004"},
		"idle memory: RSS (PSS) | ipfail (hasuite) vs classic | ipfail (2 processes)":                          {Ours: "6.0 MiB (PSS 3.0 MiB; 3)", Classic: "not run"},
	} {
		g, ok := got[key]
		if !ok {
			t.Errorf("no row %q", key)
			continue
		}
		check := func(field, got, want string) {
			if want != "" && got != want {
				t.Errorf("%s: %s = %q, want %q", key, field, got, want)
			}
		}
		check("Ours", g.Ours, want.Ours)
		check("Classic", g.Classic, want.Classic)
		check("Ratio", g.Ratio, want.Ratio)
		check("Target", g.Target, want.Target)
		check("Met", g.Met, want.Met)
	}
	md := Markdown(Rows(recs))
	if n := strings.Count(md, "\n"); n != len(Rows(recs))+2 {
		t.Errorf("markdown has %d lines for %d rows:\n%s", n, len(Rows(recs)), md)
	}
}
