// Command ipvsadm is the benchmark's stand-in for ipvsadm(8) under Perl
// ldirectord 4.12, for machines without IPVS. It keeps the table in the
// file named by $LDCHECK_IPVSADM_STATE, answers "-L -n" and
// "-L -n --thresholds" as ipvsadm prints them, applies -A -E -D -a -e -d,
// and appends every call to $LDCHECK_OPS in the format of bench/ldcheck's
// ParseOps ("UNIXNANO OP SERVICE REAL WEIGHT"; listings as "list").
package main

// main.go: argument parsing, the table file, the listing.

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type real struct {
	addr, fwd string
	weight    int
	u, l      int
}

type service struct {
	proto, addr, sched string
	reals              []*real
}

type table struct{ svcs []*service }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ipvsadm (ldcheck stand-in):", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	statePath := os.Getenv("LDCHECK_IPVSADM_STATE")
	if statePath == "" {
		return fmt.Errorf("LDCHECK_IPVSADM_STATE not set")
	}
	f, err := os.OpenFile(statePath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	t, err := load(f)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("no command")
	}
	cmd, opts := args[0], parseOpts(args[1:])
	var proto, vaddr string
	for _, p := range [][2]string{{"-t", "tcp"}, {"-u", "udp"}, {"-f", "fwm"}} {
		if v, ok := opts[p[0]]; ok {
			proto, vaddr = p[1], v
		}
	}
	svc := t.find(proto, vaddr)
	key := proto + ":" + vaddr
	switch cmd {
	case "-L", "-l":
		record("list", "-", "-", -1)
		_, thr := opts["--thresholds"]
		t.list(os.Stdout, thr)
		return nil
	case "-A":
		if svc != nil {
			return fmt.Errorf("service %s exists", key)
		}
		t.svcs = append(t.svcs, &service{proto: proto, addr: vaddr, sched: opts["-s"]})
		record("add-service", key, "-", -1)
	case "-E":
		if svc == nil {
			return fmt.Errorf("no service %s", key)
		}
		svc.sched = opts["-s"]
		record("edit-service", key, "-", -1)
	case "-D":
		if svc == nil {
			return fmt.Errorf("no service %s", key)
		}
		t.svcs = slices.DeleteFunc(t.svcs, func(s *service) bool { return s == svc })
		record("del-service", key, "-", -1)
	case "-a", "-e", "-d":
		if svc == nil {
			return fmt.Errorf("no service %s", key)
		}
		raddr := opts["-r"]
		i := slices.IndexFunc(svc.reals, func(r *real) bool { return r.addr == raddr })
		if cmd == "-d" {
			if i < 0 {
				return fmt.Errorf("no real %s in %s", raddr, key)
			}
			svc.reals = slices.Delete(svc.reals, i, i+1)
			record("del", key, raddr, 0)
			break
		}
		r := &real{addr: raddr, fwd: "Route", weight: atoi(opts["-w"], 1), u: atoi(opts["-x"], 0), l: atoi(opts["-y"], 0)}
		if _, ok := opts["-m"]; ok {
			r.fwd = "Masq"
		} else if _, ok := opts["-i"]; ok {
			r.fwd = "Tunnel"
		}
		switch {
		case cmd == "-a" && i >= 0:
			return fmt.Errorf("real %s exists in %s", raddr, key)
		case cmd == "-a":
			svc.reals = append(svc.reals, r)
			record("add", key, raddr, r.weight)
		case i < 0:
			return fmt.Errorf("no real %s in %s", raddr, key)
		default:
			svc.reals[i] = r
			record("edit", key, raddr, r.weight)
		}
	default:
		return fmt.Errorf("unsupported command %q", strings.Join(args, " "))
	}
	return t.save(f)
}

// parseOpts maps each option to its value ("" for flags).
func parseOpts(args []string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-t", "-u", "-f", "-s", "-r", "-w", "-x", "-y", "-p", "-M":
			if i+1 < len(args) {
				m[a] = args[i+1]
				i++
			}
		default:
			m[a] = ""
		}
	}
	return m
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func (t *table) find(proto, addr string) *service {
	for _, s := range t.svcs {
		if s.proto == proto && s.addr == addr {
			return s
		}
	}
	return nil
}

// load reads lines "S proto addr sched" and "R raddr fwd weight u l".
func load(f *os.File) (*table, error) {
	t := &table{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) == 4 && fs[0] == "S":
			t.svcs = append(t.svcs, &service{proto: fs[1], addr: fs[2], sched: fs[3]})
		case len(fs) == 6 && fs[0] == "R" && len(t.svcs) > 0:
			s := t.svcs[len(t.svcs)-1]
			s.reals = append(s.reals, &real{addr: fs[1], fwd: fs[2], weight: atoi(fs[3], 0), u: atoi(fs[4], 0), l: atoi(fs[5], 0)})
		}
	}
	return t, sc.Err()
}

func (t *table) save(f *os.File) error {
	var b strings.Builder
	for _, s := range t.svcs {
		fmt.Fprintf(&b, "S %s %s %s\n", s.proto, s.addr, s.sched)
		for _, r := range s.reals {
			fmt.Fprintf(&b, "R %s %s %d %d %d\n", r.addr, r.fwd, r.weight, r.u, r.l)
		}
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(b.String()), 0)
	return err
}

// list prints the table as ipvsadm -L -n [--thresholds] does.
func (t *table) list(out *os.File, thresholds bool) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	fmt.Fprintln(w, "IP Virtual Server version 1.2.1 (size=4096)")
	fmt.Fprintln(w, "Prot LocalAddress:Port Scheduler Flags")
	if thresholds {
		fmt.Fprintln(w, "  -> RemoteAddress:Port           Uthreshold Lthreshold ActiveConn InActConn")
	} else {
		fmt.Fprintln(w, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn")
	}
	for _, s := range t.svcs {
		fmt.Fprintf(w, "%-4s %s %s\n", strings.ToUpper(s.proto), s.addr, s.sched)
		for _, r := range s.reals {
			if thresholds {
				fmt.Fprintf(w, "  -> %-28s %-10d %-10d %-10d %d\n", r.addr, r.u, r.l, 0, 0)
			} else {
				fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %d\n", r.addr, r.fwd, r.weight, 0, 0)
			}
		}
	}
}

// record appends one call to $LDCHECK_OPS.
func record(op, svc, real string, weight int) {
	path := os.Getenv("LDCHECK_OPS")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%d %s %s %s %d\n", time.Now().UnixNano(), op, svc, real, weight)
	f.Close()
}
