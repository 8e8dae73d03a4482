// Command report runs hasuite's end-to-end benchmarks one after another
// and prints one table comparing each hasuite program with the classic
// program it replaces, measured in the same run: failover outage and
// start-up (heartbeatd vs heartbeat 3.0.6), health checking at scale and
// failure detection (ldirectord vs Perl ldirectord 4.12), cold IPVS apply
// (vs ipvsadm) and idle memory of every daemon. It is `make bench`.
//
// Each benchmark appends JSON lines (bench/result) to DIR/results.jsonl
// and keeps its own log and markdown in DIR; the table is printed and
// written as markdown (for docs/performance.md) to DIR/bench.md. With
// -render it only renders the table of an earlier run's results.
package main

// main.go: flags, the sequence of benchmarks.

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hasuite/hasuite/bench/result"
)

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "small, fast runs (about 8 minutes) to try the pipeline; the numbers are not the benchmark's")
	flag.IntVar(&o.rounds, "rounds", 3, "runs per case of the outage, start-up and idle-memory benchmarks (ldcheck and ipvs keep their own)")
	flag.StringVar(&o.only, "only", strings.Join(benchNames, ","), "benchmarks to run, comma-separated: "+strings.Join(benchNames, ", "))
	flag.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "hasuite-bench"), "directory for results.jsonl, logs and markdown")
	flag.StringVar(&o.md, "md", "", "markdown of the table (default DIR/bench.md)")
	flag.BoolVar(&o.render, "render", false, "run nothing: render the table from DIR/results.jsonl")
	flag.StringVar(&o.ipvsCPUs, "ipvs-cpus", "", "vCPUs of the IPVS VM (default 1)")
	flag.StringVar(&o.goCmd, "go", envOr("GO", "go"), "the go command")
	for _, b := range benchNames {
		o.extra = append(o.extra, flag.String(b+"-args", "", "extra flags for the "+b+" benchmark, space-separated (after the defaults, so they override them)"))
	}
	flag.Parse()
	if o.md == "" {
		o.md = filepath.Join(o.dir, "bench.md")
	}
	os.Exit(run(o))
}

type options struct {
	quick, render bool
	rounds        int
	only, dir, md string
	ipvsCPUs      string
	goCmd         string
	extra         []*string // by benchNames index
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(o options) int {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	results := filepath.Join(o.dir, "results.jsonl")
	started := time.Now()
	m := describeMachine()
	failed := 0
	if !o.render {
		if os.Geteuid() != 0 {
			fmt.Fprintln(os.Stderr, "make bench needs root (network namespaces, the IPVS VM): every benchmark would skip")
			return 1
		}
		selected := map[string]bool{}
		for _, b := range strings.Split(o.only, ",") {
			selected[strings.TrimSpace(b)] = true
		}
		if err := dropResults(results, selected); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		mode := fmt.Sprintf("%d rounds", o.rounds)
		if o.quick {
			mode = "QUICK mode (small runs: not the benchmark's numbers)"
		}
		fmt.Printf("hasuite benchmarks, %s; results, logs and markdown in %s\n", mode, o.dir)
		for i, name := range benchNames {
			if !selected[name] {
				continue
			}
			b := benches[name](o)
			b.args = append(b.args, strings.Fields(*o.extra[i])...)
			if err := b.run(o, results); err != nil {
				fmt.Printf("   %s FAILED: %v\n", name, err)
				failed++
			}
		}
		m.finish(started)
	}
	recs, err := result.Read(results)
	if err != nil {
		fmt.Fprintf(os.Stderr, "reading %s: %v\n", results, err)
		return 1
	}
	rows := Rows(recs)
	if o.quick {
		m.Mode = "quick mode: small runs to test the pipeline, NOT the benchmark's numbers"
	}
	fmt.Printf("\n%s\n%s", m.text(), Text(rows))
	md := m.markdown() + "\n" + Markdown(rows) + "\nEvery run, in order (medians above are of these):\n\n" + Runs(recs)
	if err := os.WriteFile(o.md, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("\nmarkdown: %s\n", o.md)
	if failed > 0 {
		fmt.Printf("%d benchmark(s) failed: see their logs in %s\n", failed, o.dir)
		return 1
	}
	return 0
}

// recordBenches are the Bench values of each benchmark's records.
var recordBenches = map[string][]string{
	"outage": {"outage"}, "startup": {"startup"}, "idle": {"idle"},
	"ldcheck": {"ldcheck-scale", "ldcheck-detect"}, "ipvs": {"ipvs"},
}

// dropResults removes from results the records of the benchmarks about
// to run, keeping the others' (so -only reruns some and keeps the rest).
func dropResults(results string, selected map[string]bool) error {
	recs, err := result.Read(results)
	if err != nil {
		return fmt.Errorf("%s: %w (remove it)", results, err)
	}
	drop := map[string]bool{}
	for name := range selected {
		if _, ok := recordBenches[name]; !ok {
			return fmt.Errorf("-only: unknown benchmark %q (want %s)", name, strings.Join(benchNames, ", "))
		}
		for _, b := range recordBenches[name] {
			drop[b] = true
		}
	}
	var keep []result.Record
	for _, r := range recs {
		if !drop[r.Bench] {
			keep = append(keep, r)
		}
	}
	if err := os.Remove(results); err != nil && !os.IsNotExist(err) {
		return err
	}
	return result.Append(results, keep...)
}
