// Package daemons benchmarks each hasuite daemon against the classic
// program it replaces, in the same run: how long heartbeatd and heartbeat
// 3.0.6 take from their start until the VIP answers (BenchmarkStartup),
// and how much memory heartbeatd, ipfail and ldirectord hold idle next to
// heartbeat 3.0.6 (all its processes), its ipfail and Perl ldirectord 4.12
// (BenchmarkIdle). The benchmarks (root only) are in the _test files; this
// file holds the memory accounting and the result table.
package daemons

// daemons.go: process memory from /proc, medians, the table.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hasuite/hasuite/bench/result"
)

// Mem is the memory of a set of processes, summed, in KiB: VmRSS counts
// every page each process maps (shared pages once per process), Pss
// divides each shared page among the processes sharing it.
type Mem struct {
	RSS, PSS int64
	Procs    int
}

// MemOf sums the memory of pids; a pid that has exited is skipped.
func MemOf(pids []int) (Mem, error) {
	var m Mem
	for _, pid := range pids {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return Mem{}, err
		}
		rss, err := field(string(status), "VmRSS")
		if err != nil {
			return Mem{}, fmt.Errorf("pid %d: %w", pid, err)
		}
		rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			return Mem{}, fmt.Errorf("pid %d: %w", pid, err)
		}
		pss, err := field(string(rollup), "Pss")
		if err != nil {
			return Mem{}, fmt.Errorf("pid %d: %w", pid, err)
		}
		m.RSS += rss
		m.PSS += pss
		m.Procs++
	}
	return m, nil
}

// field returns the value in kB of the line "name: N kB" of a /proc file.
func field(text, name string) (int64, error) {
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != name {
			continue
		}
		return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	}
	return 0, fmt.Errorf("no %s line", name)
}

// Tree returns pid and its descendants (through every thread's children).
func Tree(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", out[i]))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, s := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(s); err == nil && !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// InPIDNamespace returns every process in the PID namespace of pid.
func InPIDNamespace(pid int) ([]int, error) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p)); err == nil && l == ns {
			out = append(out, p)
		}
	}
	return out, nil
}

// Split divides pids into those whose executable's base name is exe and
// the others.
func Split(pids []int, exe string) (match, rest []int) {
	for _, p := range pids {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p))
		if filepath.Base(l) == exe {
			match = append(match, p)
		} else {
			rest = append(rest, p)
		}
	}
	return match, rest
}

// Text renders records as an aligned table, one line per case and
// metric, classic and ours side by side, every run listed.
func Text(recs []result.Record) string {
	type key struct{ bench, cas, metric string }
	var keys []key
	by := map[key]map[string]result.Record{}
	for _, r := range recs {
		k := key{r.Bench, r.Case, r.Metric}
		if by[k] == nil {
			keys = append(keys, k)
			by[k] = map[string]result.Record{}
		}
		by[k][r.Impl] = r
	}
	var rows [][]string
	for _, k := range keys {
		cl, ours := by[k][result.Classic], by[k][result.Ours]
		ratio := "-"
		if len(cl.Values) > 0 && len(ours.Values) > 0 && result.Median(cl.Values) > 0 {
			ratio = fmt.Sprintf("%.2f", result.Median(ours.Values)/result.Median(cl.Values))
		}
		rows = append(rows, []string{k.bench, k.cas, k.metric, cell(cl), cell(ours), ratio})
	}
	var b strings.Builder
	b.WriteString(result.Text([]string{"bench", "case", "metric", "classic median (runs)", "ours median (runs)", "ratio (ours/classic)"}, rows))
	b.WriteString("\nEvery run, in order:\n")
	for _, r := range recs {
		s := make([]string, len(r.Values))
		for i, v := range r.Values {
			s[i] = strconv.FormatFloat(v, 'f', -1, 64)
		}
		fmt.Fprintf(&b, "- %s %s %s, %s (%s): %s\n", r.Bench, r.Case, r.Metric, r.Program, r.Unit, strings.Join(s, ", "))
	}
	return b.String()
}

// cell is "0.512 s (3)", "12.3 MiB (3)" or "-".
func cell(r result.Record) string {
	if len(r.Values) == 0 {
		return "-"
	}
	m := result.Median(r.Values)
	switch r.Unit {
	case "KiB":
		return fmt.Sprintf("%.1f MiB (%d)", m/1024, len(r.Values))
	case "s":
		return fmt.Sprintf("%.3f s (%d)", m, len(r.Values))
	}
	return fmt.Sprintf("%g %s (%d)", m, r.Unit, len(r.Values))
}
