package ldvm

// guest_test.go: guest-side helpers: real servers on a dummy link, config
// files, running and killing the ldirectord binary (ours and the classic
// Perl one), reading and waiting for the IPVS table.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/ipvsvm"
	"github.com/hasuite/hasuite/test/tcptest"
)

// perlLdirectord is Debian's classic daemon, visible in the guest through
// the shared host root.
const perlLdirectord = "/usr/sbin/ldirectord"

// ldCmd runs a command in the guest and fails the test on error.
func ldCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	return ldRun(t, "", name, args...)
}

// ldRun runs a command in the guest with stdin and returns its output;
// it fails the test on error or after 30 s.
func ldRun(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = ctx.Err()
		}
		t.Fatalf("%s %s: %v: %s%s", name, strings.Join(args, " "), err, stdin, out)
	}
	return string(out)
}

// guestDummy creates a dummy link holding addrs (IPv6 without duplicate
// address detection, so servers can bind at once) and removes it when the
// test ends. Real servers listen on these addresses in the guest; the
// checks reach them over the local route.
func guestDummy(t *testing.T, name string, addrs ...string) {
	t.Helper()
	ipvsvm.GuestOnly(t)
	ldCmd(t, "ip", "link", "add", name, "type", "dummy")
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	ldCmd(t, "ip", "link", "set", name, "up")
	for _, a := range addrs {
		args := []string{"addr", "add", a, "dev", name}
		if strings.Contains(a, ":") {
			args = append([]string{"-6"}, append(args, "nodad")...)
		}
		ldCmd(t, "ip", args...)
	}
}

// ldReal is a real server listening on one address: an HTTP server
// answering every path with its body, or (body "") a TCP server that
// accepts and closes. Stop makes it refuse connections, Start brings it
// back on the same address.
type ldReal struct {
	t    *testing.T
	addr string
	body atomic.Value // string
	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
}

// ldHTTPReal starts an HTTP real server at addr ("10.0.0.2:80",
// "[fd00::2]:80") answering 200 with body.
func ldHTTPReal(t *testing.T, addr, body string) *ldReal {
	t.Helper()
	r := &ldReal{t: t, addr: addr}
	r.body.Store(body)
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// ldTCPReal starts a TCP real server at addr that accepts and closes.
func ldTCPReal(t *testing.T, addr string) *ldReal { return ldHTTPReal(t, addr, "") }

// SetBody changes what the HTTP server answers.
func (r *ldReal) SetBody(b string) { r.body.Store(b) }

// Start listens again (no-op when listening).
func (r *ldReal) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("real server %s: %v", r.addr, err)
	}
	r.ln = ln
	if r.body.Load().(string) == "" {
		go tcptest.CloseEach(ln)
		return
	}
	r.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, r.body.Load().(string))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go r.srv.Serve(ln)
}

// Stop closes the listener and every open connection: new connections
// are refused from now on.
func (r *ldReal) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln == nil {
		return
	}
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
	r.ln.Close()
	r.ln = nil
}

// ldProc is one ldirectord run on a config file in its own directory.
type ldProc struct {
	t      *testing.T
	bin    string // the ldirectord binary (ours, or the Perl one)
	ns     string // the network namespace it runs in ("" for the guest's)
	dir    string // holds the config, the pid file and the logs
	cf     string // dir/ldirectord.cf
	cmd    *exec.Cmd
	exited chan error
	logf   *os.File
}

// ldConfig writes text as ldirectord.cf into a fresh directory, with
// "@DIR@" replaced by that directory (for logfile and friends), and
// returns the run for our binary. The IPVS table is cleared when the test
// ends and any daemon still running is killed first.
func ldConfig(t *testing.T, text string) *ldProc {
	t.Helper()
	p := &ldProc{t: t, bin: ldirectordBinary(t), dir: t.TempDir()}
	p.cf = filepath.Join(p.dir, "ldirectord.cf")
	p.writeConfig(text)
	t.Cleanup(func() {
		p.kill()
		exec.Command("ipvsadm", "-C").Run()
	})
	return p
}

// writeConfig replaces the config file (a reload picks it up).
func (p *ldProc) writeConfig(text string) {
	p.t.Helper()
	text = strings.ReplaceAll(text, "@DIR@", p.dir)
	if err := os.WriteFile(p.cf+".tmp", []byte(text), 0o644); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Rename(p.cf+".tmp", p.cf); err != nil {
		p.t.Fatal(err)
	}
}

// env is the environment of every ldirectord command: pid files in p.dir,
// and PERLIO set so the Perl daemon does not re-exec itself (its
// start-up costs ~7 s under TCG).
func (p *ldProc) env() []string {
	return append(os.Environ(), "HASUITE_LDIRECTORD_RUNDIR="+p.dir, "PERLIO=perlio")
}

// command is the binary with args, run in p.ns with p.env.
func (p *ldProc) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	if p.ns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", p.ns, p.bin}, args...)...)
	}
	cmd.Env = p.env()
	return cmd
}

// ldForeground starts the binary with -d on p's config: in the
// foreground, logging to debug.log in p.dir. Stop it with p.stop.
func (p *ldProc) ldForeground() {
	p.t.Helper()
	f, err := os.Create(filepath.Join(p.dir, "debug.log"))
	if err != nil {
		p.t.Fatal(err)
	}
	p.logf = f
	cmd := p.command("-d", p.cf, "start")
	cmd.Dir = p.dir // classic -d runs ./ipvsadm if present: there is none here
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("%s -d start: %v", p.bin, err)
	}
	p.cmd = cmd
	p.exited = make(chan error, 1)
	go func() { p.exited <- cmd.Wait() }()
}

// ctl runs "ldirectord CONFIG action" and returns its output and status.
func (p *ldProc) ctl(action string) (string, int) {
	p.t.Helper()
	cmd := p.command(p.cf, action)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	p.t.Fatalf("ldirectord %s: %v", action, err)
	return "", -1
}

// ldDaemon starts our daemon detached ("ldirectord CONFIG start") and
// returns its pid.
func (p *ldProc) ldDaemon() int {
	p.t.Helper()
	if out, rc := p.ctl("start"); rc != 0 {
		p.t.Fatalf("ldirectord start: exit %d\n%s\nlog:\n%s", rc, out, p.log())
	}
	pid := p.pid()
	if pid <= 0 {
		p.t.Fatalf("ldirectord start: no pid file\nlog:\n%s", p.log())
	}
	return pid
}

// pidFile is where our daemon writes its pid for p's config.
func (p *ldProc) pidFile() string { return filepath.Join(p.dir, "ldirectord.ldirectord.cf.pid") }

// pid is the pid in the pid file, 0 if none.
func (p *ldProc) pid() int {
	b, err := os.ReadFile(p.pidFile())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// stop ends the daemon the classic way and waits for it: SIGTERM to the
// foreground process (ip netns exec execs the binary: the pid is the
// daemon's), which must exit 0, or "ldirectord CONFIG stop" (which waits).
func (p *ldProc) stop() {
	p.t.Helper()
	if p.cmd != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.exited:
			if err != nil {
				p.t.Errorf("%s exited after SIGTERM: %v", p.bin, err)
			}
		case <-time.After(20 * time.Second):
			p.t.Fatalf("%s did not stop within 20s of SIGTERM", p.bin)
		}
		p.cmd = nil
		return
	}
	if out, rc := p.ctl("stop"); rc != 0 {
		p.t.Fatalf("ldirectord stop: exit %d\n%s", rc, out)
	}
}

// kill9 kills the daemon with SIGKILL and waits until it is gone.
func (p *ldProc) kill9() {
	p.t.Helper()
	pid := p.pid()
	if p.cmd != nil {
		pid = p.cmd.Process.Pid
	}
	if pid <= 0 {
		p.t.Fatal("kill -9: no daemon pid")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill -9 %d: %v", pid, err)
	}
	if p.cmd != nil {
		<-p.exited
		p.cmd = nil
		return
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil || ldZombie(pid) {
			return
		}
	}
	p.t.Fatalf("pid %d still alive 5s after SIGKILL", pid)
}

func ldZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// kill ends whatever still runs (test cleanup), without cleanstop.
func (p *ldProc) kill() {
	if p.cmd != nil {
		p.cmd.Process.Kill()
		<-p.exited
		p.cmd = nil
	}
	if pid := p.pid(); pid > 0 && !ldZombie(pid) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil && bytes.Contains(b, []byte("ldirectord")) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if p.logf != nil {
		p.logf.Close()
		p.logf = nil
	}
}

// log returns what the daemon logged: the -d output, and the logfile
// "@DIR@/ld.log" configs use.
func (p *ldProc) log() string {
	var b strings.Builder
	for _, name := range []string{"debug.log", "ld.log"} {
		if s, err := os.ReadFile(filepath.Join(p.dir, name)); err == nil {
			b.Write(s)
		}
	}
	return b.String()
}

// ipvsOpWords start the log lines of IPVS changes (spec §6, and our
// "Added quiescent …").
var ipvsOpWords = []string{"Added ", "Changed virtual", "Restored ", "Quiescent ", "Readd Quiescent",
	"Deleted ", "Purged "}

// ldOps returns the log lines reporting an IPVS change, after the first
// from bytes of the log.
func ldOps(log string, from int) []string {
	var ops []string
	sc := bufio.NewScanner(strings.NewReader(log[min(from, len(log)):]))
	for sc.Scan() {
		line := sc.Text()
		msg := line
		if i := strings.Index(line, "] "); strings.HasPrefix(line, "[") && i > 0 {
			msg = line[i+2:] // "[ctime|cfg|pid] msg"
		}
		for _, w := range ipvsOpWords {
			if strings.HasPrefix(msg, w) {
				ops = append(ops, msg)
				break
			}
		}
	}
	return ops
}

// ipvsTable is the IPVS table as ipvsadm shows it, one line per service
// and per real ("-> RIP:RPORT Forward Weight Uthreshold Lthreshold"),
// blanks squeezed, in ipvsadm's order: -Ln joined with -Ln --thresholds,
// without connection counters, so traffic does not change it.
func ipvsTable(t *testing.T) string {
	t.Helper()
	for try := 0; ; try++ {
		plain := ipvsadmLines(t, "-Ln")
		thr := ipvsadmLines(t, "-Ln", "--thresholds")
		var b strings.Builder
		same := len(plain) == len(thr)
		for i := 0; same && i < len(plain); i++ {
			p, q := plain[i], thr[i]
			switch {
			case p[0] != "->":
				same = strings.Join(p, " ") == strings.Join(q, " ")
				b.WriteString(strings.Join(p, " ") + "\n")
			case len(p) < 4 || len(q) < 4 || p[1] != q[1]:
				same = false
			default:
				b.WriteString(strings.Join([]string{"->", p[1], p[2], p[3], q[2], q[3]}, " ") + "\n")
			}
		}
		if same {
			return b.String()
		}
		if try == 10 {
			t.Fatalf("ipvsadm -Ln and -Ln --thresholds disagree ten times:\n%v\n%v", plain, thr)
		}
	}
}

// ipvsadmLines runs ipvsadm with args and returns the fields of each
// line, headers left out.
func ipvsadmLines(t *testing.T, args ...string) [][]string {
	t.Helper()
	return ipvsadmFields(ldCmd(t, "ipvsadm", args...))
}

// ipvsadmFields splits ipvsadm's output into the fields of each line,
// headers left out.
func ipvsadmFields(out string) [][]string {
	var lines [][]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "IP" || f[0] == "Prot" || len(f) > 1 && f[1] == "RemoteAddress:Port" {
			continue
		}
		lines = append(lines, f)
	}
	return lines
}

// ipvsWatch reports the kernel's table cheaply over netlink, so waiting
// spawns ipvsadm (~0.3 s of the guest's one CPU under TCG) only after the
// table changed and then held still for a moment.
type ipvsWatch struct {
	t       *testing.T
	v       *kernel.NetlinkIPVS
	last    string    // netlink view at the last poll
	since   time.Time // when it last changed
	shown   string    // netlink view ipvsadm was last run on
	display string    // what ipvsTable said then
}

func newIPVSWatch(t *testing.T) *ipvsWatch {
	w := &ipvsWatch{t: t, v: kernel.NewIPVS(), since: time.Now()}
	t.Cleanup(func() { w.v.Close() })
	return w
}

// poll returns ipvsTable, rerun only when the netlink view has changed
// and held for 200 ms since ipvsadm last ran.
func (w *ipvsWatch) poll() string {
	w.t.Helper()
	tab, err := ipvsRead(w.v)
	if err != nil {
		w.t.Fatal(err)
	}
	cur := ipvsFormat(tab)
	if cur != w.last {
		w.last, w.since = cur, time.Now()
	}
	if w.display == "" || cur != w.shown && time.Since(w.since) >= 200*time.Millisecond {
		w.shown, w.display = cur, ipvsTable(w.t)
	}
	return w.display
}

// waitTable polls the table until ipvsTable equals want and fails with the
// difference (and log(), if given) when it does not within timeout. It
// returns how long that took.
func waitTable(t *testing.T, want string, timeout time.Duration, log func() string) time.Duration {
	t.Helper()
	w := newIPVSWatch(t)
	start := time.Now()
	var got string
	for {
		got = w.poll()
		if got == want {
			if got = ipvsTable(t); got == want { // not stale
				return time.Since(start)
			}
		}
		if time.Since(start) > timeout {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	msg := ""
	if log != nil {
		msg = "\nldirectord log:\n" + log()
	}
	t.Fatalf("IPVS table not as wanted after %s (-want +got):\n%s%s", timeout, cmp.Diff(want, got), msg)
	return 0
}

// stableTable waits until the table stays the same for hold and returns
// ipvsTable; it fails after timeout.
func stableTable(t *testing.T, hold, timeout time.Duration) string {
	t.Helper()
	w := newIPVSWatch(t)
	start := time.Now()
	for time.Since(start) < timeout {
		w.poll()
		if time.Since(w.since) >= hold {
			return ipvsTable(t)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("IPVS table never held still for %s within %s; last:\n%s", hold, timeout, ipvsTable(t))
	return ""
}

// ipvsSampler reads the kernel's table over netlink in a tight loop and
// keeps every distinct state it saw, to catch flaps ipvsadm polling would
// miss.
type ipvsSampler struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	seen  []string
	reads int
	err   error
}

// ipvsSample starts a sampler; Stop ends it.
func ipvsSample() *ipvsSampler {
	s := &ipvsSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		v := kernel.NewIPVS()
		defer v.Close()
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			tab, err := ipvsRead(v)
			s.mu.Lock()
			s.reads++
			if err != nil {
				s.err = err
			} else if cur := ipvsFormat(tab); len(s.seen) == 0 || s.seen[len(s.seen)-1] != cur {
				s.seen = append(s.seen, cur)
			}
			s.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return s
}

// Stop ends the sampler and returns the distinct consecutive states seen
// and the number of reads.
func (s *ipvsSampler) Stop(t *testing.T) ([]string, int) {
	t.Helper()
	close(s.stop)
	<-s.done
	if s.err != nil {
		t.Fatalf("sampling IPVS: %v", s.err)
	}
	return s.seen, s.reads
}

// ipvsRead lists the table over netlink. A service deleted between the
// listing of services and of its reals fails a read; it is retried.
func ipvsRead(v *kernel.NetlinkIPVS) ([]kernel.VirtualService, error) {
	var err error
	for range 20 {
		var tab []kernel.VirtualService
		if tab, err = kernel.Table(v); err == nil {
			return tab, nil
		}
	}
	return nil, fmt.Errorf("reading IPVS: %w", err)
}

// ipvsFormat is a compact one-line-per-real form of a table:
// "tcp:10.0.0.1:80 10.0.0.2:80 masq w3 u0 l0".
func ipvsFormat(tab []kernel.VirtualService) string {
	var b strings.Builder
	for _, vs := range tab {
		fmt.Fprintf(&b, "%s %s p%d/%d f%#x\n", vs.ServiceKey, vs.Scheduler, vs.Persistent, vs.Netmask, uint32(vs.Flags))
		for _, d := range vs.Dests {
			fmt.Fprintf(&b, "%s %s %s w%d u%d l%d\n", vs.ServiceKey, d, d.Forward, d.Weight, d.UpperThreshold, d.LowerThreshold)
		}
	}
	return b.String()
}
