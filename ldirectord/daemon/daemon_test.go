package daemon

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/config"
)

// backend is a loopback HTTP real server whose health a test switches.
type backend struct {
	srv  *httptest.Server
	sick atomic.Bool
	port uint16
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.sick.Load() {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(b.srv.Close)
	b.port = netip.MustParseAddrPort(b.srv.Listener.Addr().String()).Port()
	return b
}

func (b *backend) dest(w int) kernel.Dest {
	return kernel.Dest{Addr: netip.MustParseAddr("127.0.0.1"), Port: b.port, Forward: kernel.ForwardMasq, Weight: w}
}

var vip = kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.255.0.1"), Port: 80}

// syncBuf is a log sink safe for the daemon's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a daemon over a FakeIPVS.
type harness struct {
	t       *testing.T
	dir     string
	cfgPath string
	ipvs    *kernel.FakeIPVS
	log     *syncBuf
	reloads chan struct{}
	cancel  context.CancelFunc
	done    chan error
	d       *Daemon
}

func writeConfig(t *testing.T, path, text string) *config.Config {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func start(t *testing.T, ipvs *kernel.FakeIPVS, cfgText string) *harness {
	t.Helper()
	return startIn(t, t.TempDir(), ipvs, cfgText)
}

// stop ends the daemon as SIGTERM does and waits for it.
func (h *harness) stop() {
	h.t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatal("daemon did not stop")
	}
}

// waitReals waits until the fake table's reals of vip are want.
func (h *harness) waitReals(want []kernel.Dest) {
	h.t.Helper()
	kernel.SortDests(want)
	var got []kernel.Dest
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got, _ = h.ipvs.Dests(vip)
		if slices.Equal(got, want) {
			return
		}
	}
	h.t.Fatalf("reals of %s: got %v, want %v\nlog:\n%s", vip, got, want, h.log)
}

const baseCfg = `checktimeout=1
checkinterval=0.03
quiescent=%s
cleanstop=%s
virtual=10.255.0.1:80
    real=127.0.0.1:%d masq 2
    real=127.0.0.1:%d masq 1
    fallback=127.0.0.9:80 masq
    service=http
    request="/"
    receive="ok"
    fallbackcommand=DIR/fallback.sh
    monitorfile=DIR/monitor.log
`

func TestDaemonDownAndUp(t *testing.T) {
	for _, quiescent := range []string{"no", "yes"} {
		t.Run("quiescent="+quiescent, func(t *testing.T) {
			a, b := newBackend(t), newBackend(t)
			h := start(t, &kernel.FakeIPVS{}, fmt.Sprintf(baseCfg, quiescent, "yes", a.port, b.port))
			h.waitReals([]kernel.Dest{a.dest(2), b.dest(1)})

			b.sick.Store(true)
			if quiescent == "yes" {
				h.waitReals([]kernel.Dest{a.dest(2), b.dest(0)})
			} else {
				h.waitReals([]kernel.Dest{a.dest(2)})
			}
			b.sick.Store(false)
			h.waitReals([]kernel.Dest{a.dest(2), b.dest(1)})
			h.stop()

			if svcs, _ := h.ipvs.Services(); len(svcs) != 0 {
				t.Errorf("cleanstop=yes left %v", svcs)
			}
			log := h.log.String()
			real := fmt.Sprintf("127.0.0.1:%d (10.255.0.1:80)", b.port)
			want := []string{"Added virtual server: 10.255.0.1:80"}
			if quiescent == "yes" {
				// unchecked reals wait at weight 0
				want = append(want, "Added quiescent real server: "+real+" (Weight set to 0)", "Restored real server: "+real+" (Weight set to 1)",
					"Quiescent real server: "+real+" (Weight set to 0)")
			} else {
				want = append(want, "Added real server: "+real+" (Weight set to 1)", "Deleted real server: "+real)
			}
			want = append(want, "Purged virtual server (stop): 10.255.0.1:80")
			for _, w := range want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
			mon, err := os.ReadFile(filepath.Join(h.dir, "monitor.log"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(mon), fmt.Sprintf("tcp:10.255.0.1:80 127.0.0.1:%d [down] ", b.port)) ||
				!strings.Contains(string(mon), fmt.Sprintf("tcp:10.255.0.1:80 127.0.0.1:%d [up] -", b.port)) {
				t.Errorf("monitor file:\n%s", mon)
			}
		})
	}
}

func TestDaemonFallback(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	a.sick.Store(true)
	b.sick.Store(true)
	ipvs := &kernel.FakeIPVS{}
	dir := t.TempDir()
	script := filepath.Join(dir, "fallback.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+dir+"/fallback.out\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h2 := startIn(t, dir, ipvs, fmt.Sprintf(baseCfg, "no", "yes", a.port, b.port))
	fb := kernel.Dest{Addr: netip.MustParseAddr("127.0.0.9"), Port: 80, Forward: kernel.ForwardMasq, Weight: 1}
	h2.waitReals([]kernel.Dest{fb})
	a.sick.Store(false)
	h2.waitReals([]kernel.Dest{a.dest(2)})
	h2.stop()
	out, _ := os.ReadFile(filepath.Join(dir, "fallback.out"))
	if got, want := string(out), "start 10.255.0.1:80 tcp\nstop 10.255.0.1:80 tcp\n"; got != want {
		t.Errorf("fallbackcommand ran %q, want %q\nlog:\n%s", got, want, h2.log)
	}
	for _, w := range []string{"Added fallback server: 127.0.0.9:80 (10.255.0.1:80) (Weight set to 1)", "Deleted fallback server: 127.0.0.9:80 (10.255.0.1:80)"} {
		if !strings.Contains(h2.log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, h2.log)
		}
	}
}

// startIn is start with the harness directory given.
func startIn(t *testing.T, dir string, ipvs *kernel.FakeIPVS, cfgText string) *harness {
	t.Helper()
	h := &harness{t: t, dir: dir, ipvs: ipvs, log: &syncBuf{}, reloads: make(chan struct{}, 1), done: make(chan error, 1)}
	h.cfgPath = filepath.Join(dir, "ldirectord.cf")
	cfg := writeConfig(t, h.cfgPath, strings.ReplaceAll(cfgText, "DIR", dir))
	l := logrus.New()
	l.Out = h.log
	l.Formatter = &classicFormatter{}
	l.SetLevel(logrus.DebugLevel)
	d := New(Options{ConfigPath: h.cfgPath, Config: cfg, IPVS: ipvs, Log: l, Hostname: "director"})
	h.d = d
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- d.Run(ctx, h.reloads) }()
	t.Cleanup(func() { h.stop() })
	return h
}

func TestDaemonReloadKeepsState(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	ipvs := &kernel.FakeIPVS{}
	h := start(t, ipvs, fmt.Sprintf(baseCfg, "yes", "no", a.port, b.port))
	h.waitReals([]kernel.Dest{a.dest(2), b.dest(1)})
	b.sick.Store(true)
	h.waitReals([]kernel.Dest{a.dest(2), b.dest(0)})

	// A broken config is refused and the old one keeps running.
	if err := os.WriteFile(h.cfgPath, []byte("bogus=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reloads <- struct{}{}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(h.log.String(), "keeping the running configuration"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload error logged:\n%s", h.log)
		}
	}
	if !strings.Contains(h.log.String(), h.cfgPath+":1: ") {
		t.Errorf("reload error without file:line:\n%s", h.log)
	}

	// a's weight changes; b stays quiesced (down), never re-added at full weight.
	writeConfig(t, h.cfgPath, strings.ReplaceAll(fmt.Sprintf(strings.Replace(baseCfg, "masq 2", "masq 5", 1), "yes", "no", a.port, b.port), "DIR", h.dir))
	mark := len(h.log.String())
	h.reloads <- struct{}{}
	h.waitReals([]kernel.Dest{a.dest(5), b.dest(0)})
	h.stop()
	// cleanstop=no leaves the table as it was.
	got, _ := ipvs.Dests(vip)
	want := []kernel.Dest{a.dest(5), b.dest(0)}
	kernel.SortDests(want)
	if !slices.Equal(got, want) {
		t.Errorf("after cleanstop=no stop: %v, want %v", got, want)
	}
	if strings.Contains(h.log.String()[mark:], fmt.Sprintf("real server: 127.0.0.1:%d", b.port)) {
		t.Errorf("the down real flapped on reload:\n%s", h.log)
	}
}

func TestDaemonAdoptsHealthyReals(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	ipvs := &kernel.FakeIPVS{}
	svc := kernel.Service{ServiceKey: vip, Scheduler: "wrr"}
	if err := ipvs.NewService(svc); err != nil {
		t.Fatal(err)
	}
	for _, d := range []kernel.Dest{a.dest(2), b.dest(1)} {
		if err := ipvs.NewDest(vip, d); err != nil {
			t.Fatal(err)
		}
	}
	before := len(ipvs.Calls)
	h := start(t, ipvs, fmt.Sprintf(baseCfg, "no", "no", a.port, b.port))
	for deadline := time.Now().Add(5 * time.Second); strings.Count(h.log.String(), ") is up") < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no checks:\n%s", h.log)
		}
	}
	h.stop()
	if calls := ipvs.Calls[before:]; len(calls) != 0 {
		t.Errorf("a restart over healthy reals changed IPVS: %v\nlog:\n%s", calls, h.log)
	}
}

func TestDaemonAdoptedDeadRealRemoved(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	b.sick.Store(true)
	ipvs := &kernel.FakeIPVS{}
	if err := ipvs.NewService(kernel.Service{ServiceKey: vip, Scheduler: "wrr"}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []kernel.Dest{a.dest(2), b.dest(1)} {
		if err := ipvs.NewDest(vip, d); err != nil {
			t.Fatal(err)
		}
	}
	before := len(ipvs.Calls)
	h := start(t, ipvs, fmt.Sprintf(baseCfg, "no", "no", a.port, b.port))
	h.waitReals([]kernel.Dest{a.dest(2)})
	h.stop()
	want := []string{fmt.Sprintf("del-dest tcp:10.255.0.1:80 127.0.0.1:%d", b.port)}
	if diff := cmp.Diff(want, ipvs.Calls[before:]); diff != "" {
		t.Errorf("IPVS calls (-want +got):\n%s\nlog:\n%s", diff, h.log)
	}
}

func TestWriteMonitor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m")
	tm := time.Date(2026, 11, 22, 0, 35, 59, 0, time.Local)
	if err := writeMonitor(path, tm, 7, "tcp:10.0.0.1:80", "10.0.0.2:80", "up", nil); err != nil {
		t.Fatal(err)
	}
	if err := writeMonitor(path, tm, 7, "tcp:10.0.0.1:80", "10.0.0.2:80", "down", fmt.Errorf("50%% bad|x\nnext")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "[Sun Nov 22 00:35:59 2026] [7] tcp:10.0.0.1:80 10.0.0.2:80 [up] -\n" +
		"[Sun Nov 22 00:35:59 2026] [7] tcp:10.0.0.1:80 10.0.0.2:80 [down] 50%25 bad%7Cx%0Anext\n"
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("monitor file (-want +got):\n%s", diff)
	}
}

func TestEmailAlert(t *testing.T) {
	a := newBackend(t)
	type mail struct {
		addr, from string
		to         []string
		body       string
	}
	mails := make(chan mail, 10)
	dir := t.TempDir()
	path := filepath.Join(dir, "ldirectord.cf")
	cfg := writeConfig(t, path, fmt.Sprintf(`checktimeout=1
checkinterval=0.03
emailalertfrom=lb@example.org
virtual=10.255.0.1:80
    real=127.0.0.1:%d masq
    service=http
    emailalert="ops@example.org, oncall@example.org"
    smtp=mail.example.org
    servicename=web
`, a.port))
	ipvs := &kernel.FakeIPVS{}
	d := New(Options{ConfigPath: path, Config: cfg, IPVS: ipvs, Hostname: "director",
		SendMail: func(addr, from string, to []string, msg []byte) error {
			mails <- mail{addr, from, to, string(msg)}
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	var m mail
	select {
	case m = <-mails:
	case <-time.After(5 * time.Second):
		t.Fatal("no mail")
	}
	cancel()
	<-done
	if m.addr != net.JoinHostPort("mail.example.org", "25") || m.from != "lb@example.org" ||
		!cmp.Equal(m.to, []string{"ops@example.org", "oncall@example.org"}) {
		t.Errorf("mail envelope %+v", m)
	}
	for _, w := range []string{"Subject: [web] Added real server: 127.0.0.1:", "ldirectord host: director", "Daemon-Status: running", "Service name: web"} {
		if !strings.Contains(m.body, w) {
			t.Errorf("mail lacks %q:\n%s", w, m.body)
		}
	}
}

func TestDaemonAutoreloadAndCallback(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	dir := t.TempDir()
	cb := filepath.Join(dir, "callback.sh")
	if err := os.WriteFile(cb, []byte("#!/bin/sh\necho \"$@\" >> "+dir+"/callback.out\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := "autoreload=yes\ncallback=\"" + cb + "\"\n" + fmt.Sprintf(baseCfg, "no", "yes", a.port, b.port)
	h := startIn(t, dir, &kernel.FakeIPVS{}, text)
	h.waitReals([]kernel.Dest{a.dest(2), b.dest(1)})
	// Touching the file without changing it reloads nothing.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(h.cfgPath, future, future); err != nil {
		t.Fatal(err)
	}
	// Dropping b from the config is picked up without a signal.
	changed := strings.Replace(text, fmt.Sprintf("    real=127.0.0.1:%d masq 1\n", b.port), "", 1)
	if err := os.WriteFile(h.cfgPath, []byte(strings.ReplaceAll(changed, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitReals([]kernel.Dest{a.dest(2)})
	h.stop()
	if n := strings.Count(h.log.String(), "has changed on disk - reread new configuration"); n != 1 {
		t.Errorf("%d change messages, want 1:\n%s", n, h.log)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "callback.out"))
	if got, want := string(out), h.cfgPath+"\n"; got != want {
		t.Errorf("callback ran with %q, want %q", got, want)
	}
}

func TestRemind(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, filepath.Join(dir, "l.cf"), `virtual=10.255.0.1:80
    real=127.0.0.1:1 masq
    emailalert="ops@example.org"
    emailalertfreq=60
    smtp=mail.example.org
`)
	var (
		mu       sync.Mutex
		subjects []string
	)
	d := New(Options{Config: cfg, IPVS: &kernel.FakeIPVS{}, Hostname: "director",
		SendMail: func(addr, from string, to []string, msg []byte) error {
			s, _, _ := strings.Cut(string(msg[strings.Index(string(msg), "Subject: ")+9:]), "\r\n")
			mu.Lock()
			subjects = append(subjects, addr+" "+s)
			mu.Unlock()
			return nil
		}})
	d.status = config.Running
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d.downAt["tcp:10.255.0.1:80|127.0.0.1:1"] = t0
	for _, s := range []int{30, 61, 90, 122} {
		d.remind(t0.Add(time.Duration(s) * time.Second))
	}
	d.hooks.Wait()
	want := []string{"mail.example.org:25 Inaccessible real server: 127.0.0.1:1 (10.255.0.1:80)", "mail.example.org:25 Inaccessible real server: 127.0.0.1:1 (10.255.0.1:80)"}
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
}
