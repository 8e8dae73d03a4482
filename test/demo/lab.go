// lab.go: the demo's network namespaces, links and processes, all named with one fixed prefix so "make demo-down" finds them.

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// prefix starts the name of every namespace the demo creates; the hub
// namespace holds the bridges and the hub ends of every veth pair.
// HASUITE_DEMO_PREFIX changes it, so that bench/soak's cluster and a demo
// can run side by side.
var (
	prefix = envOr("HASUITE_DEMO_PREFIX", "hsdemo")
	hubNS  = prefix + "-hub"
)

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// workDir holds the generated configuration trees, logs and pid files.
var workDir = filepath.Join(os.TempDir(), prefix)

// ns returns the namespace name of a host.
func ns(host string) string { return prefix + "-" + host }

// lab tracks what the demo created, for the cleanup.
type lab struct {
	mu    sync.Mutex
	procs []*proc
}

// proc is a process the demo started inside a namespace.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// sh runs a command to completion and returns its output; an error
// carries the output.
func sh(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ip runs the ip command.
func ip(args ...string) error {
	_, err := sh("ip", args...)
	return err
}

// in runs a command inside host's namespace to completion.
func in(host, name string, args ...string) (string, error) {
	return sh("ip", append([]string{"netns", "exec", ns(host), name}, args...)...)
}

// addHost creates the namespace of host with lo up and IPv6 off (the demo
// is IPv4; no router solicitations or DAD in the output of tcpdump).
func addHost(host string) error {
	if err := ip("netns", "add", ns(host)); err != nil {
		return err
	}
	if err := ip("-n", ns(host), "link", "set", "lo", "up"); err != nil {
		return err
	}
	for _, key := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
		if err := sysctl(host, key, "1"); err != nil {
			return err
		}
	}
	return nil
}

// addBridge creates a bridge in the hub namespace.
func addBridge(br string) error {
	if err := ip("-n", hubNS, "link", "add", br, "type", "bridge", "stp_state", "0", "forward_delay", "0"); err != nil {
		return err
	}
	return ip("-n", hubNS, "link", "set", br, "up")
}

// sysctl sets a network sysctl inside host's namespace (through /proc,
// which shows the namespace of the thread that opens it).
func sysctl(host, key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	return inNS(host, func() error { return os.WriteFile(path, []byte(value), 0o644) })
}

// hubPort names the hub end of host's interface iface (at most 15 bytes).
func hubPort(host, iface string) string { return host + "." + iface }

// plug connects host to bridge br (in the hub) through a veth pair whose
// host end is iface, holding cidr, up.
func plug(host, iface, br, cidr string) error {
	port := hubPort(host, iface)
	steps := [][]string{
		{"-n", hubNS, "link", "add", port, "type", "veth", "peer", "name", iface, "netns", ns(host)},
		{"-n", hubNS, "link", "set", port, "master", br, "up"},
		{"-n", ns(host), "addr", "add", cidr, "broadcast", "+", "dev", iface},
		{"-n", ns(host), "link", "set", iface, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// setLink sets the hub end of host's iface up or down, as pulling or
// plugging its cable, and waits until iface sees its carrier change.
func setLink(host, iface string, up bool) error {
	state := map[bool]string{true: "up", false: "down"}[up]
	if err := ip("-n", hubNS, "link", "set", hubPort(host, iface), state); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := sh("ip", "-n", ns(host), "-o", "link", "show", "dev", iface)
		if err != nil {
			return err
		}
		if strings.Contains(out, "LOWER_UP") == up {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s: carrier did not go %s", host, iface, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hasCarrier reports whether host's iface has its carrier (is plugged).
func hasCarrier(host, iface string) bool {
	out, err := sh("ip", "-n", ns(host), "-o", "link", "show", "dev", iface)
	return err == nil && strings.Contains(out, "LOWER_UP")
}

// hasAddr reports whether host holds addr on iface.
func hasAddr(host, iface, addr string) bool {
	out, err := sh("ip", "-n", ns(host), "-4", "-o", "addr", "show", "dev", iface)
	return err == nil && strings.Contains(out, " "+addr+"/")
}

// start runs name with args in host's namespace, its output appended to
// log, in its own process group.
func (l *lab) start(host, log string, env []string, name string, args ...string) (*proc, error) {
	out, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns(host), name}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); out.Close(); close(p.done) }()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p, nil
}

// running reports whether p has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to p's process group.
func (p *proc) signal(sig syscall.Signal) {
	if p.running() {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// stop sends sig and waits up to wait for p to exit, then kills it.
func (p *proc) stop(sig syscall.Signal, wait time.Duration) {
	p.signal(sig)
	select {
	case <-p.done:
	case <-time.After(wait):
		p.signal(syscall.SIGKILL)
		<-p.done
	}
}

// killNS sends SIGKILL to every process in host's namespace (the
// daemons and whatever they started) and waits until none is left.
func killNS(name string) {
	for try := 0; try < 200; try++ {
		out, err := sh("ip", "netns", "pids", name)
		if err != nil || strings.TrimSpace(out) == "" {
			return
		}
		for _, f := range strings.Fields(out) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// demoNamespaces lists the namespaces that carry the prefix.
func demoNamespaces() []string {
	out, _ := sh("ip", "netns", "list")
	var spaces []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			spaces = append(spaces, f[0])
		}
	}
	return spaces
}

// down removes everything a demo created, running or interrupted: every
// process in its namespaces, the namespaces (hub last, veth pairs go with
// them) and the work directory.
func (l *lab) down() error {
	if l != nil {
		l.mu.Lock()
		procs := append([]*proc(nil), l.procs...)
		l.mu.Unlock()
		for _, p := range procs {
			p.signal(syscall.SIGKILL)
		}
	}
	var errs []error
	spaces := demoNamespaces()
	for _, s := range spaces {
		killNS(s)
	}
	for _, s := range spaces {
		if s == hubNS {
			continue
		}
		if err := ip("netns", "delete", s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range spaces {
		if s == hubNS {
			if err := ip("netns", "delete", s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := os.RemoveAll(workDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// inNS runs f on a fresh OS thread inside host's namespace. Sockets f
// opens stay in that namespace and may be used from any goroutine. The
// thread is discarded afterwards.
func inNS(host string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns(host), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("entering %s: %w", ns(host), err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
