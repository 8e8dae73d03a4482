package main

// benches.go: each benchmark's command, its full and quick flags, running
// it with its output in a log.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hasuite/hasuite/bench/result"
)

// benchNames are the benchmarks in the order they run.
var benchNames = []string{"outage", "startup", "idle", "ldcheck", "ipvs"}

// bench is one benchmark run: go test with args, env added.
type bench struct {
	name, what string
	args       []string // after "go"
	markdown   string   // the flag that writes its own markdown table, if any
	env        []string
	// parse, when set, reads the records from the log (for a benchmark
	// that writes no JSON of its own); else the benchmark appends them.
	parse func(log string) ([]result.Record, error)
}

// benches build each benchmark's command for the options; the JSON and
// markdown paths are added by run (goBench).
var benches = map[string]func(o options) bench{
	"outage": func(o options) bench {
		b := goBench("outage", "failover outage, heartbeatd vs heartbeat 3.0.6", "FailoverOutage", "./bench/outage", "outage")
		if o.quick {
			b.args = append(b.args, "-outage.rounds", "1", "-outage.settings", "100ms/500ms,20ms/100ms")
		} else {
			b.args = append(b.args, "-outage.rounds", strconv.Itoa(o.rounds))
		}
		return b
	},
	"startup": func(o options) bench {
		b := goBench("startup", "start to VIP up, heartbeatd vs heartbeat 3.0.6", "Startup", "./bench/daemons", "daemons")
		b.args = append(b.args, "-daemons.rounds", rounds(o, 1))
		return b
	},
	"idle": func(o options) bench {
		b := goBench("idle", "idle memory of each daemon vs its classic program", "Idle", "./bench/daemons", "daemons")
		b.args = append(b.args, "-daemons.rounds", rounds(o, 1))
		if o.quick {
			b.args = append(b.args, "-daemons.settle", "5s")
		}
		return b
	},
	"ldcheck": func(o options) bench {
		b := goBench("ldcheck", "health checking at scale and detection, ldirectord vs Perl ldirectord 4.12", "Ldcheck", "./bench/ldcheck", "ldcheck")
		// bare: the floor under ours; keepalive: ours with checkkeepalive
		// = yes; (a) only.
		b.args = append(b.args, "-ldcheck.impl", "perl,ours,bare,keepalive")
		if o.quick {
			b.args = append(b.args, "-ldcheck.scale", "1000/100", "-ldcheck.window", "10s", "-ldcheck.cap", "40s",
				"-ldcheck.rounds", "2", "-ldcheck.blackholed", "0,50", "-ldcheck.detectcap", "30s")
		}
		return b
	},
	"ipvs": func(o options) bench {
		b := bench{name: "ipvs", what: "cold IPVS apply in the VM, ldirectord vs ipvsadm",
			args:  []string{"test", "-count=1", "-timeout", "20m", "-run", "^TestLVSVM$", "-v", "./ldirectord/lvs"},
			parse: ParseIPVS}
		if !o.quick { // quick: the small table of the ordinary test, 20 × 10
			b.env = append(b.env, "HASUITE_IPVS_BENCH=1")
		}
		if o.ipvsCPUs != "" {
			b.env = append(b.env, "HASUITE_IPVS_BENCH_CPUS="+o.ipvsCPUs)
		}
		return b
	},
}

// goBench is a `go test -bench` benchmark whose flags start with prefix
// (-PREFIX.json, -PREFIX.markdown).
func goBench(name, what, pattern, pkg, prefix string) bench {
	b := bench{name: name, what: what, args: []string{"test", "-run", "^$", "-bench", "^Benchmark" + pattern + "$",
		"-benchtime", "1x", "-timeout", "60m", pkg, "-args", "-" + prefix + ".json", "RESULTS"}}
	if prefix != "daemons" { // bench/daemons prints its table, writes no markdown
		b.markdown = "-" + prefix + ".markdown"
	}
	return b
}

// rounds is -rounds, or quick in quick mode.
func rounds(o options, quick int) string {
	if o.quick {
		return strconv.Itoa(quick)
	}
	return strconv.Itoa(o.rounds)
}

// run runs the benchmark from the module's root with its output in
// DIR/NAME.log, and the records it produced appended to results.
func (b bench) run(o options, results string) error {
	logPath := filepath.Join(o.dir, b.name+".log")
	args := make([]string, len(b.args))
	for i, a := range b.args {
		args[i] = strings.ReplaceAll(a, "RESULTS", results)
	}
	if b.markdown != "" {
		args = append(args, b.markdown, filepath.Join(o.dir, b.name+".md"))
	}
	cmdline := strings.TrimSpace(strings.Join(b.env, " ") + " " + o.goCmd + " " + strings.Join(args, " "))
	fmt.Printf("== %s: %s\n   %s\n   log %s\n", b.name, b.what, cmdline, logPath)
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	before, _ := result.Read(results)
	start := time.Now()
	cmd := exec.Command(o.goCmd, args...)
	cmd.Dir = moduleRoot()
	cmd.Env = append(os.Environ(), b.env...)
	cmd.Stdout, cmd.Stderr = log, log
	runErr := cmd.Run()
	fmt.Printf("   took %s\n", time.Since(start).Round(time.Second))
	out, _ := os.ReadFile(logPath)
	if b.parse != nil && runErr == nil {
		recs, err := b.parse(string(out))
		if err != nil {
			return err
		}
		if err := result.Append(results, recs...); err != nil {
			return err
		}
	}
	after, _ := result.Read(results)
	if runErr != nil {
		return fmt.Errorf("%v; the log ends:\n%s", runErr, tail(string(out), 1500))
	}
	if len(after) == len(before) {
		return fmt.Errorf("no results (skipped?); the log ends:\n%s", tail(string(out), 1500))
	}
	return nil
}

// moduleRoot is the directory of go.mod, found from the working directory.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func tail(s string, n int) string {
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return "      " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n      ")
}
