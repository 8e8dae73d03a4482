// loop_test.go: the Loop's checks end as the checkers' own Check ends them, and its sockets are reused safely.

package check

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/test/tcptest"
)

// newLoop is a Loop closed when the test ends.
func newLoop(t *testing.T) *Loop {
	t.Helper()
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// runAll starts jobs and steps the loop every 2 ms until all have
// finished; it returns their results by ID.
func runAll(t *testing.T, l *Loop, jobs ...LoopJob) map[uint64]LoopResult {
	t.Helper()
	for _, j := range jobs {
		l.Start(j, time.Now())
	}
	got := map[uint64]LoopResult{}
	limit := time.Now().Add(20 * time.Second)
	for len(got) < len(jobs) {
		if time.Now().After(limit) {
			t.Fatalf("%d of %d results after 20 s", len(got), len(jobs))
		}
		if !l.Busy() {
			t.Fatalf("%d of %d results, and the loop is idle", len(got), len(jobs))
		}
		time.Sleep(2 * time.Millisecond)
		for _, r := range l.Step(time.Now()) {
			if _, dup := got[r.ID]; dup {
				t.Fatalf("job %d reported twice", r.ID)
			}
			got[r.ID] = r
		}
	}
	if l.Busy() {
		t.Fatal("the loop is busy with every job done")
	}
	return got
}

// scripted serves each connection on ln: it reads the request head, then
// lets the next behaviour answer (and closes the connection after it).
func scripted(t *testing.T, ln net.Listener) chan<- func(*net.TCPConn) {
	next := make(chan func(*net.TCPConn), 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b := <-next
			go func() {
				defer c.Close()
				readHead(c)
				b(c.(*net.TCPConn))
			}()
		}
	}()
	return next
}

// readHead reads a request head, up to its empty line.
func readHead(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "\r\n" {
			return
		}
	}
}

func writes(s string) func(*net.TCPConn) {
	return func(c *net.TCPConn) { c.Write([]byte(s)) }
}

// TestLoopHTTPAsCheck runs each answer through HTTP.Check and through the
// Loop: both must pass or fail alike, with the same message.
func TestLoopHTTPAsCheck(t *testing.T) {
	ln := listenOn(t, "tcp4")
	next := scripted(t, ln)
	l := newLoop(t)
	cases := []struct {
		name    string
		answer  func(*net.TCPConn)
		receive string
		method  string
		full    bool // the loop hands it to Check
		timeout time.Duration
	}{
		{name: "ok", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"), receive: "ok"},
		{name: "no match", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbad\n"), receive: "ok"},
		{name: "503", answer: writes("HTTP/1.0 503 Service Unavailable\r\n\r\nfailing"), receive: "ok"},
		{name: "more than its length", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok, and more"), receive: "^ok$"},
		{name: "no receive", answer: writes("HTTP/1.1 204 No Content\r\n\r\n")},
		{name: "chunked", answer: writes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), receive: "^ok$"},
		{name: "to the close", answer: writes("HTTP/1.0 200 OK\r\n\r\nall ok here"), receive: "ok here$"},
		{name: "head", method: "HEAD", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), receive: "x"},
		{name: "in pieces", answer: func(c *net.TCPConn) {
			for _, s := range []string{"HTTP/1.1 200", " OK\r\nContent-Le", "ngth: 5\r\n\r\n", "o", "k ok"} {
				c.Write([]byte(s))
				time.Sleep(5 * time.Millisecond)
			}
		}, receive: "ok ok"},
		{name: "kept open", answer: func(c *net.TCPConn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
			time.Sleep(time.Second)
		}, receive: "ok", timeout: 500 * time.Millisecond},
		{name: "malformed", answer: writes("HTTP/1.1 abc\r\n\r\n")},
		{name: "closes", answer: func(*net.TCPConn) {}},
		{name: "reset", answer: func(c *net.TCPConn) { c.SetLinger(0) }},
		{name: "cut short", answer: writes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok"), receive: "ok"},
		{name: "too slow", answer: func(c *net.TCPConn) {
			time.Sleep(600 * time.Millisecond)
			c.Write([]byte("HTTP/1.1 200 OK\r\n\r\nok"))
		}, receive: "ok", timeout: 200 * time.Millisecond},
		{name: "redirect", answer: writes("HTTP/1.1 302 Found\r\nLocation: /there\r\nContent-Length: 0\r\n\r\n"), full: true},
		{name: "continue", answer: writes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), full: true},
	}
	for i, c := range cases {
		if c.timeout == 0 {
			c.timeout = 5 * time.Second
		}
		target := Target{Protocol: "tcp", Real: addrPort(t, ln.Addr()), Request: "/", Receive: c.receive, HTTPMethod: c.method}
		h := HTTP{Service: "http"}
		ex, ok := h.Lean(target)
		if !ok {
			t.Fatalf("%s: not lean", c.name)
		}
		next <- c.answer
		got := runAll(t, l, LoopJob{ID: uint64(i), Exchange: ex, Timeout: c.timeout})[uint64(i)]
		if got.Full != c.full {
			t.Errorf("%s: full %v, want %v", c.name, got.Full, c.full)
		}
		if c.full {
			continue // Check would follow it, with a request of its own
		}
		next <- c.answer
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		want := h.Check(ctx, target)
		cancel()
		if got.Result.OK != want.OK || errText(got.Result.Err) != errText(want.Err) {
			t.Errorf("%s: loop %v %q, Check %v %q", c.name, got.Result.OK, errText(got.Result.Err), want.OK, errText(want.Err))
		}
		if got.Result.Latency <= 0 || got.Result.Latency > c.timeout+time.Second {
			t.Errorf("%s: latency %v", c.name, got.Result.Latency)
		}
	}
}

// errText is an error's message without local port numbers, and without
// the deadline's prefix, which Check's dial timeouts lack.
func errText(err error) string {
	if err == nil {
		return ""
	}
	s := strings.TrimPrefix(err.Error(), "context deadline exceeded: ")
	if i := strings.Index(s, "->"); i >= 0 { // "read tcp 127.0.0.1:PORT->": the local end
		j := strings.LastIndex(s[:i], " ")
		s = s[:j+1] + s[i:]
	}
	return s
}

// TestLoopReuse runs many checks against reals that close first, from a
// few sockets, concurrently with refused ones and checks whose real leaves
// the connection open: no verdict may leak from one connection of a
// socket into the next.
func TestLoopReuse(t *testing.T) {
	ok := listenOn(t, "tcp4")
	go serveEach(ok, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0)
	failing := listenOn(t, "tcp4")
	go serveEach(failing, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0)
	open := listenOn(t, "tcp4")
	go serveEach(open, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 50*time.Millisecond)
	refused := listenOn(t, "tcp4")
	refusedAddr := addrPort(t, refused.Addr())
	refused.Close()

	l := newLoop(t)
	h := HTTP{Service: "http"}
	reals := []netip.AddrPort{addrPort(t, ok.Addr()), addrPort(t, failing.Addr()), addrPort(t, open.Addr()), refusedAddr}
	want := []string{"", "status 503", "", "connection refused"}
	for round := 0; round < 20; round++ {
		var jobs []LoopJob
		for i := 0; i < 40; i++ {
			ex, _ := h.Lean(Target{Protocol: "tcp", Real: reals[i%4], Request: "/", Receive: "ok"})
			jobs = append(jobs, LoopJob{ID: uint64(i), Exchange: ex, Timeout: 5 * time.Second})
		}
		for id, r := range runAll(t, l, jobs...) {
			w := want[id%4]
			if w == "" && !r.Result.OK || w != "" && (r.Result.OK || !strings.Contains(r.Result.Err.Error(), w)) {
				t.Fatalf("round %d, real %d: %+v, want %q", round, id%4, r, w)
			}
		}
	}
	// Sockets come back: far fewer than the 800 checks made.
	if n := len(l.spare[unix.AF_INET]) + len(l.spare[unix.AF_INET6]); n == 0 || n > 40 {
		t.Errorf("%d spare sockets after 20 rounds of 40 checks", n)
	}
}

// serveEach answers every request on ln with answer, closing at once or
// after hold (the check, having its answer, closes first).
func serveEach(ln net.Listener, answer string, hold time.Duration) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			readHead(c)
			c.Write([]byte(answer))
			time.Sleep(hold)
		}()
	}
}

// TestLoopConnect checks connect checks as Connect.Check words them:
// passed, refused, and never answered (deadline).
func TestLoopConnect(t *testing.T) {
	ln := listenOn(t, "tcp4")
	go tcptest.CloseEach(ln)
	closed := listenOn(t, "tcp4")
	closedAddr := addrPort(t, closed.Addr())
	closed.Close()
	l := newLoop(t)
	for i, real := range []netip.AddrPort{addrPort(t, ln.Addr()), closedAddr, tcptest.Hanging(t)} {
		target := Target{Protocol: "tcp", Real: real}
		ex, ok := Connect{}.Lean(target)
		if !ok {
			t.Fatal("connect not lean")
		}
		timeout := 300 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		want := Connect{}.Check(ctx, target)
		cancel()
		got := runAll(t, l, LoopJob{ID: uint64(i), Exchange: ex, Timeout: timeout})[uint64(i)]
		if got.Full || got.Result.OK != want.OK || errText(got.Result.Err) != errText(want.Err) {
			t.Errorf("%v: loop %+v, Check %v %q", real, got, want.OK, errText(want.Err))
		}
	}
	if _, ok := (Connect{}).Lean(Target{Protocol: "udp", Real: addrPort(t, ln.Addr())}); ok {
		t.Error("a UDP connect check (a ping) is lean")
	}
}

// TestLoopIPv6 checks an exchange over the v6 loopback.
func TestLoopIPv6(t *testing.T) {
	ln := listenOn(t, "tcp6")
	go serveEach(ln, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0)
	l := newLoop(t)
	ex, ok := HTTP{Service: "http"}.Lean(Target{Protocol: "tcp", Real: addrPort(t, ln.Addr()), Request: "/", Receive: "ok"})
	if !ok {
		t.Fatal("not lean")
	}
	for i := range 3 {
		if r := runAll(t, l, LoopJob{ID: 1, Exchange: ex, Timeout: 5 * time.Second})[1]; !r.Result.OK {
			t.Fatalf("check %d: %+v", i, r)
		}
	}
}

// TestLeanOnlyPlainHTTP checks which checks the Loop takes.
func TestLeanOnlyPlainHTTP(t *testing.T) {
	real := netip.MustParseAddrPort("192.0.2.1:80")
	for _, c := range []struct {
		h    HTTP
		t    Target
		lean bool
	}{
		{HTTP{Service: "http"}, Target{Real: real, Request: "/"}, true},
		{HTTP{Service: "http"}, Target{Real: real, Request: "/", VirtualHost: "www.example.org"}, true},
		{HTTP{Service: "https"}, Target{Real: real, Request: "/"}, false},
		{HTTP{Service: "http_proxy"}, Target{Real: real, Request: "http://www.example.org/"}, false},
		{HTTP{Service: "http"}, Target{Real: real, Request: "http://192.0.2.2:8080/x"}, true},
		{HTTP{Service: "http"}, Target{Real: real, Request: "http://www.example.org/"}, false},
		{HTTP{Service: "http"}, Target{Real: real, Request: "/", HTTPMethod: "POST"}, false},
		{HTTP{Service: "http"}, Target{Real: real, Request: "/", Receive: "("}, false},
	} {
		if _, lean := c.h.Lean(c.t); lean != c.lean {
			t.Errorf("%s %+v: lean %v, want %v", c.h.Service, c.t, lean, c.lean)
		}
	}
}

// TestLoopWakes checks what the owner steps by: Ready when a socket has
// something to report, NextStep for deadlines and waiting results. A
// black-holed real gives no Ready until its deadline; a slow one gives a
// few (the handshake, acknowledgements, the answer), not one a quantum.
func TestLoopWakes(t *testing.T) {
	l := newLoop(t)
	if _, ok := l.NextStep(); ok {
		t.Fatal("an idle loop asks for a step")
	}
	ready := func(within time.Duration) bool {
		select {
		case <-l.Ready():
			return true
		case <-time.After(within):
			return false
		}
	}

	// Never answered: no Ready; NextStep is the deadline.
	start := time.Now()
	ex, _ := Connect{}.Lean(Target{Protocol: "tcp", Real: tcptest.Hanging(t)})
	l.Start(LoopJob{ID: 1, Exchange: ex, Timeout: 400 * time.Millisecond}, start)
	if r := l.Step(time.Now()); len(r) != 0 {
		t.Fatalf("black-holed: %+v", r)
	}
	l.Watch()
	if ready(250 * time.Millisecond) {
		t.Error("Ready for a real that never answers")
	}
	if at, ok := l.NextStep(); !ok || !at.Equal(start.Add(400*time.Millisecond)) {
		t.Errorf("NextStep %v %v, want the deadline", at, ok)
	}
	time.Sleep(time.Until(start.Add(400 * time.Millisecond)))
	if r := l.Step(time.Now()); len(r) != 1 || r[0].Result.OK {
		t.Fatalf("at the deadline: %+v", r)
	}

	// Answered after 150 ms: stepped on Ready only, a few times.
	ln := listenOn(t, "tcp4")
	next := scripted(t, ln)
	next <- func(c *net.TCPConn) {
		time.Sleep(150 * time.Millisecond)
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	}
	ex, _ = HTTP{Service: "http"}.Lean(Target{Protocol: "tcp", Real: addrPort(t, ln.Addr()), Request: "/", Receive: "ok"})
	start = time.Now()
	l.Start(LoopJob{ID: 2, Exchange: ex, Timeout: 5 * time.Second}, start)
	for steps := 1; ; steps++ {
		l.Watch()
		if !ready(2 * time.Second) {
			t.Fatal("no Ready for the answer")
		}
		if r := l.Step(time.Now()); len(r) > 0 {
			if !r[0].Result.OK || time.Since(start) < 140*time.Millisecond {
				t.Fatalf("after %v: %+v", time.Since(start), r)
			}
			if steps > 10 {
				t.Errorf("%d steps for one check", steps)
			}
			break
		}
	}
	if _, ok := l.NextStep(); ok || l.Busy() {
		t.Error("busy after the last check")
	}
}
