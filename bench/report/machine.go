package main

// machine.go: when and where the benchmarks ran.

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// machine describes the run for the table's heading.
type machine struct {
	Start, End    time.Time
	CPU           string
	Cores         int
	Kernel        string
	Go            string
	Commit        string
	Packages      string
	LoadAtStart   string
	LoadAtEnd     string
	Mode          string
	ranBenchmarks bool
}

func describeMachine() *machine {
	m := &machine{Start: time.Now().UTC(), Cores: runtime.NumCPU(), Go: runtime.Version(), LoadAtStart: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	m.Kernel = output("uname", "-r")
	m.Commit = output("git", "describe", "--always", "--dirty", "--abbrev=7")
	m.Packages = strings.ReplaceAll(output("dpkg-query", "-W", "-f", "${Package} ${Version}, ",
		"heartbeat", "ldirectord", "ipvsadm", "cluster-glue", "resource-agents", "qemu-system-x86"), "\n", "")
	m.Packages = strings.TrimSuffix(strings.TrimSpace(m.Packages), ",")
	return m
}

// finish records the end of a run of benchmarks.
func (m *machine) finish(started time.Time) {
	m.Start, m.End, m.LoadAtEnd, m.ranBenchmarks = started.UTC(), time.Now().UTC(), loadavg(), true
}

func output(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil && len(out) == 0 {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// loadavg is /proc/loadavg's three averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// lines are the heading's facts, one a line.
func (m *machine) lines() []string {
	when := "rendered " + time.Now().UTC().Format("2006-01-02 15:04 UTC") + " from earlier results"
	if m.ranBenchmarks {
		when = fmt.Sprintf("measured %s–%s UTC (%s)", m.Start.Format("2006-01-02 15:04"), m.End.Format("15:04"), m.End.Sub(m.Start).Round(time.Second))
	}
	load := fmt.Sprintf("; load average %s at the start, %s at the end", m.LoadAtStart, m.LoadAtEnd)
	if !m.ranBenchmarks {
		load = ""
	}
	l := []string{
		when,
		fmt.Sprintf("machine: %s, %d cores, kernel %s%s", m.CPU, m.Cores, m.Kernel, load),
		fmt.Sprintf("hasuite %s, %s; %s", m.Commit, m.Go, m.Packages),
	}
	if m.Mode != "" {
		l = append(l, m.Mode)
	}
	return l
}

func (m *machine) text() string {
	return "hasuite vs the classic programs, one run\n  " + strings.Join(m.lines(), "\n  ") + "\n\n"
}

func (m *machine) markdown() string {
	var b strings.Builder
	for _, l := range m.lines() {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	return b.String()
}
