package ldcheck

// proc.go: a process's CPU time and memory from /proc.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTick = 100

// CPUTime is pid's utime+stime plus the cutime+cstime of its waited-for
// children (Perl ldirectord runs ipvsadm as children).
func CPUTime(pid int) (time.Duration, error) {
	user, sys, err := CPUSplit(pid)
	return user + sys, err
}

// CPUSplit is CPUTime apart: user (utime+cutime) and system
// (stime+cstime) time. System time holds the kernel's TCP work in the
// process's system calls, and on loopback and veth without threaded NAPI
// also the receiving side's, which runs in the sender's context.
func CPUSplit(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatSplit(string(b))
}

// parseStatCPU sums fields 14-17 (utime stime cutime cstime) of a
// /proc/PID/stat line.
func parseStatCPU(stat string) (time.Duration, error) {
	user, sys, err := parseStatSplit(stat)
	return user + sys, err
}

// parseStatSplit returns fields 14+16 (utime cutime) and 15+17 (stime
// cstime) of a /proc/PID/stat line; the command name (field 2) may hold
// spaces.
func parseStatSplit(stat string) (user, sys time.Duration, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed stat %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("short stat %q", stat)
	}
	var ticks [4]int64
	for k, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("stat field %q: %w", s, err)
		}
		ticks[k] = n
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / clockTick }
	return tick(ticks[0] + ticks[2]), tick(ticks[1] + ticks[3]), nil
}

// Memory returns pid's VmRSS and VmHWM in KiB.
func Memory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatusMem(string(b))
}

func parseStatusMem(status string) (rss, hwm int64, err error) {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM in status")
	}
	return rss, hwm, nil
}
