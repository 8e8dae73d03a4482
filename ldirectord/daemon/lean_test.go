// lean_test.go: the checks the lean loop runs move reals as the workers' do, and what it cannot finish goes to a worker.

package daemon

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/tcptest"
)

// TestDaemonLeanChecks runs a plain-http real that redirects (the loop
// hands the check to a worker, whose client follows it), one that answers
// directly, and a connect-checked virtual, through down and up. The
// servers count their connections, so the test also sees that the checks
// ran (one connection each).
func TestDaemonLeanChecks(t *testing.T) {
	var redirected, direct atomic.Int64
	var sick atomic.Bool
	serve := func(n *atomic.Int64, redirect bool) uint16 {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if redirect && r.URL.Path == "/" {
				http.Redirect(w, r, "/ok", http.StatusFound)
				return
			}
			if sick.Load() {
				http.Error(w, "sick", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "ok")
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				n.Add(1)
			}
		}
		srv.Start()
		t.Cleanup(srv.Close)
		return netip.MustParseAddrPort(srv.Listener.Addr().String()).Port()
	}
	rp, dp := serve(&redirected, true), serve(&direct, false)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cp := netip.MustParseAddrPort(ln.Addr().String()).Port()
	go tcptest.CloseEach(ln)
	cfg := fmt.Sprintf(`checktimeout=1
checkinterval=0.03
quiescent=no
virtual=10.255.0.1:80
    real=127.0.0.1:%d masq 2
    real=127.0.0.1:%d masq 1
    service=http
    request="/"
    receive="ok"
virtual=10.255.0.2:80
    real=127.0.0.1:%d masq 1
    checktype=connect
`, rp, dp, cp)
	ipvs := &kernel.FakeIPVS{}
	h := start(t, ipvs, cfg)
	dest := func(port uint16, w int) kernel.Dest {
		return kernel.Dest{Addr: netip.MustParseAddr("127.0.0.1"), Port: port, Forward: kernel.ForwardMasq, Weight: w}
	}
	h.waitReals([]kernel.Dest{dest(rp, 2), dest(dp, 1)})
	sick.Store(true)
	h.waitReals(nil)
	sick.Store(false)
	h.waitReals([]kernel.Dest{dest(rp, 2), dest(dp, 1)})
	connectVIP := kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.255.0.2"), Port: 80}
	if got, _ := ipvs.Dests(connectVIP); len(got) != 1 || got[0] != dest(cp, 1) {
		t.Errorf("connect-checked virtual: %v", got)
	}
	ln.Close()
	h.stop()
	// The redirecting real: a connection by the loop, then the worker's
	// client (request and redirect) for each check; the direct one: one.
	if r, d := redirected.Load(), direct.Load(); r < 4 || d < 2 {
		t.Errorf("connections: %d to the redirecting real, %d to the direct one", r, d)
	}
}

// TestDaemonLeanIdle checks that a check that hangs (a black-holed real)
// does not make the daemon step the lean loop every quantum while it
// waits: only when a socket is ready, a deadline comes or checks are due.
func TestDaemonLeanIdle(t *testing.T) {
	dead := tcptest.Hanging(t)
	h := start(t, &kernel.FakeIPVS{}, fmt.Sprintf(`checktimeout=5
negotiatetimeout=5
checkinterval=1
virtual=10.255.0.1:80
    real=127.0.0.1:%d masq 1
    service=http
    request="/"
    receive="ok"
`, dead.Port()))
	time.Sleep(200 * time.Millisecond) // the first check starts
	before := h.d.leanSteps.Load()
	if before == 0 {
		t.Fatal("the lean loop never ran the check")
	}
	time.Sleep(time.Second)
	// Stepped every 5 ms that would be about 200.
	if n := h.d.leanSteps.Load() - before; n > 20 {
		t.Errorf("%d steps of the lean loop in 1 s with one check hanging", n)
	}
}

// TestDaemonLeanKeepAlive runs a checkkeepalive real on the lean loop
// through up, down and up again: every check goes over one connection,
// which the daemon's stop closes.
func TestDaemonLeanKeepAlive(t *testing.T) {
	var sick atomic.Bool
	var requests, opened, closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if sick.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	port := netip.MustParseAddrPort(srv.Listener.Addr().String()).Port()
	h := start(t, &kernel.FakeIPVS{}, fmt.Sprintf(`checktimeout=1
checkinterval=0.03
quiescent=no
checkkeepalive=yes
virtual=10.255.0.1:80
    real=127.0.0.1:%d masq 1
    service=http
    request="/"
    receive="ok"
`, port))
	up := []kernel.Dest{{Addr: netip.MustParseAddr("127.0.0.1"), Port: port, Forward: kernel.ForwardMasq, Weight: 1}}
	h.waitReals(up)
	sick.Store(true)
	h.waitReals(nil)
	sick.Store(false)
	h.waitReals(up)
	if h.d.leanSteps.Load() == 0 {
		t.Error("the lean loop never ran the check")
	}
	h.stop()
	if n := opened.Load(); n != 1 || requests.Load() < 3 {
		t.Errorf("%d connections for %d checks, want 1", n, requests.Load())
	}
	for deadline := time.Now().Add(5 * time.Second); closed.Load() < opened.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the kept connection is still open 5 s after the daemon stopped")
		}
	}
}
