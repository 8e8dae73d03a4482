// httpkeepalive_test.go: checkkeepalive: reuse, the server's closes, framing, the fresh-connection rule, timeouts.

package check

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// kaServer is a loopback HTTP server that counts the connections it
// accepts and answers every request with answer(connection number,
// request number on it, request head): the response bytes, and whether
// to close the connection after them.
type kaServer struct {
	ln      net.Listener
	accepts atomic.Int32
	ended   atomic.Int32 // connections the client closed or the server ended
	mu      sync.Mutex
	heads   []string
	conns   []net.Conn
	answer  func(conn, req int, head string) (resp string, close bool)
}

func newKAServer(t *testing.T, answer func(conn, req int, head string) (string, bool)) *kaServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &kaServer{ln: ln, answer: answer}
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.accepts.Add(1))
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go s.serve(c, n)
		}
	}()
	return s
}

func (s *kaServer) serve(c net.Conn, n int) {
	defer s.ended.Add(1)
	defer c.Close()
	br := bufio.NewReader(c)
	for req := 1; ; req++ {
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		s.mu.Lock()
		s.heads = append(s.heads, head.String())
		s.mu.Unlock()
		resp, closeIt := s.answer(n, req, head.String())
		if resp == "" { // no answer: hang until the client goes
			io.Copy(io.Discard, br)
			return
		}
		c.Write([]byte(resp))
		if closeIt {
			return
		}
	}
}

func (s *kaServer) target(t *testing.T) Target {
	return Target{Protocol: "tcp", Real: addrPort(t, s.ln.Addr()), Request: "/", Receive: "ok"}
}

const (
	okLength  = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
	okChunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\nX-Trailer: 1\r\n\r\n"
)

// fakeClock replaces the age rule's clock for one test, and its jitter
// by jitter.
func fakeClock(t *testing.T, jitter time.Duration) *atomic.Int64 {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	keepAliveNow = func() time.Time { return time.Unix(0, now.Load()) }
	j := keepAliveAgeJitter
	keepAliveAgeJitter = func() time.Duration { return jitter }
	t.Cleanup(func() { keepAliveNow, keepAliveAgeJitter = time.Now, j })
	return &now
}

func kaCheck(t *testing.T, k Checker, tg Target, timeout time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return k.Check(ctx, tg)
}

// kaRun makes one check of k.
type kaRun func(t *testing.T, k *KeepAlive, tg Target, timeout time.Duration) Result

// onBothPaths runs test with its checks made by KeepAlive.Check (as a
// worker makes them) and on a Loop (its Lean exchange, the loop stepped
// on the test's goroutine, a redirect handed to Check as the daemon does).
func onBothPaths(t *testing.T, test func(t *testing.T, run kaRun)) {
	t.Run("check", func(t *testing.T) {
		test(t, func(t *testing.T, k *KeepAlive, tg Target, timeout time.Duration) Result {
			t.Helper()
			return kaCheck(t, k, tg, timeout)
		})
	})
	t.Run("loop", func(t *testing.T) {
		l := newLoop(t)
		var id uint64
		test(t, func(t *testing.T, k *KeepAlive, tg Target, timeout time.Duration) Result {
			t.Helper()
			ex, ok := k.Lean(tg)
			if !ok {
				t.Fatalf("no Lean exchange for %+v", tg)
			}
			id++
			r := runAll(t, l, LoopJob{ID: id, Exchange: ex, Timeout: timeout})[id]
			if r.Full {
				return kaCheck(t, k, tg, timeout)
			}
			return r.Result
		})
	})
}

// Checks reuse one connection; Content-Length and chunked bodies (with a
// trailer) are read whole, whether receive reads them or not.
func TestKeepAliveReuse(t *testing.T) { onBothPaths(t, testKeepAliveReuse) }

func testKeepAliveReuse(t *testing.T, run kaRun) {
	s := newKAServer(t, func(_, req int, _ string) (string, bool) {
		if req%2 == 0 {
			return okChunked, false
		}
		return okLength, false
	})
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	tg := s.target(t)
	for i := range 6 {
		if i == 3 {
			tg.Receive = "" // the body is not read by the check: drained
		}
		if r := run(t, k, tg, 5*time.Second); !r.OK {
			t.Fatalf("check %d: %v", i, r.Err)
		}
	}
	if n := s.accepts.Load(); n != 1 {
		t.Errorf("%d connections for 6 checks, want 1", n)
	}
	s.mu.Lock()
	head := s.heads[0]
	s.mu.Unlock()
	if !strings.Contains(head, "\r\nConnection: keep-alive\r\n") || strings.Contains(head, "close") {
		t.Errorf("request head %q: want Connection: keep-alive", head)
	}
}

// A server that closes or resets the connection between checks (an idle
// timeout) causes no failure: the check retries once on a fresh one.
func TestKeepAliveServerClosesIdle(t *testing.T) { onBothPaths(t, testKeepAliveServerClosesIdle) }

func testKeepAliveServerClosesIdle(t *testing.T, run kaRun) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprintf("reset=%v", reset), func(t *testing.T) {
			s := newKAServer(t, func(_, _ int, _ string) (string, bool) { return okLength, true })
			k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
			defer k.Close()
			tg := s.target(t)
			if reset { // the server resets the connection it kept, no FIN
				s.answer = func(_, _ int, _ string) (string, bool) { return okLength, false }
			}
			for i := range 4 {
				if r := run(t, k, tg, 5*time.Second); !r.OK {
					t.Fatalf("check %d: %v", i, r.Err)
				}
				if reset {
					s.mu.Lock()
					last := s.conns[len(s.conns)-1].(*net.TCPConn)
					s.mu.Unlock()
					last.SetLinger(0)
					last.Close()
				}
				time.Sleep(20 * time.Millisecond) // the FIN or reset arrives
			}
			if n := s.accepts.Load(); n != 4 {
				t.Errorf("%d connections for 4 checks, want 4", n)
			}
		})
	}
}

// The response's headers and framing decide whether the connection is
// kept: Connection: close, HTTP/1.0 without keep-alive, and a body up to
// the connection's end close it; HTTP/1.0 with keep-alive keeps it.
func TestKeepAliveResponseDecides(t *testing.T) { onBothPaths(t, testKeepAliveResponseDecides) }

func testKeepAliveResponseDecides(t *testing.T, run kaRun) {
	for _, tc := range []struct {
		name, resp string
		conns      int32
	}{
		{"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nok\n", 3},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n", 3},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nok\n", 1},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nok\n", 3},
		{"chunked", okChunked, 1},
		{"chunked, trailer ending in a bare LF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n0\r\n\n", 3},
		{"extra bytes", okLength + "junk", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLength := !strings.Contains(tc.resp, "Length") && !strings.Contains(tc.resp, "chunked")
			s := newKAServer(t, func(_, _ int, _ string) (string, bool) { return tc.resp, noLength })
			k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
			defer k.Close()
			for i := range 3 {
				if r := run(t, k, s.target(t), 5*time.Second); !r.OK {
					t.Fatalf("check %d: %v", i, r.Err)
				}
			}
			if n := s.accepts.Load(); n != tc.conns {
				t.Errorf("%d connections for 3 checks, want %d", n, tc.conns)
			}
		})
	}
}

// A connection serves at most keepAliveMaxUses checks and is not taken
// once keepAliveMaxAge old.
func TestKeepAliveFreshConnectionRule(t *testing.T) { onBothPaths(t, testKeepAliveFreshConnectionRule) }

func testKeepAliveFreshConnectionRule(t *testing.T, run kaRun) {
	now := fakeClock(t, 0)
	s := newKAServer(t, func(_, _ int, _ string) (string, bool) { return okLength, false })
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	tg := s.target(t)
	for i := range keepAliveMaxUses + 1 {
		if r := run(t, k, tg, 5*time.Second); !r.OK {
			t.Fatalf("check %d: %v", i, r.Err)
		}
		if want := int32(1 + i/keepAliveMaxUses); s.accepts.Load() != want {
			t.Fatalf("after check %d: %d connections, want %d", i+1, s.accepts.Load(), want)
		}
	}
	now.Add(int64(keepAliveMaxAge - time.Second))
	run(t, k, tg, 5*time.Second)
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("59 s old: %d connections, want still 2", n)
	}
	now.Add(int64(time.Second))
	run(t, k, tg, 5*time.Second)
	if n := s.accepts.Load(); n != 3 {
		t.Errorf("60 s old: %d connections, want a fresh one (3)", n)
	}

	// With the jitter, the limit is that much shorter.
	now = fakeClock(t, 15*time.Second)
	k.Close()
	k = WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	run(t, k, tg, 5*time.Second) // connection 4
	now.Add(int64(44 * time.Second))
	run(t, k, tg, 5*time.Second)
	now.Add(int64(time.Second))
	run(t, k, tg, 5*time.Second) // 45 s old: connection 5
	if n := s.accepts.Load(); n != 5 {
		t.Errorf("limit 45 s: %d connections, want 5", n)
	}
}

// The jitter spreads the limits over the last third of the minute.
func TestKeepAliveAgeJitter(t *testing.T) {
	lo, hi := keepAliveMaxAge, time.Duration(0)
	for range 1000 {
		ttl := keepAliveMaxAge - keepAliveAgeJitter()
		lo, hi = min(lo, ttl), max(hi, ttl)
	}
	if lo < 40*time.Second || hi > keepAliveMaxAge || hi-lo < 15*time.Second {
		t.Errorf("age limits from %v to %v, want spread over 40..60 s", lo, hi)
	}
}

// A real that keeps serving its old connection but accepts no new one is
// found by the fresh-connection rule, at the latest after 60 s.
func TestKeepAliveStopsAccepting(t *testing.T) { onBothPaths(t, testKeepAliveStopsAccepting) }

func testKeepAliveStopsAccepting(t *testing.T, run kaRun) {
	now := fakeClock(t, 0)
	s := newKAServer(t, func(_, _ int, _ string) (string, bool) { return okLength, false })
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	tg := s.target(t)
	if r := run(t, k, tg, 5*time.Second); !r.OK {
		t.Fatal(r.Err)
	}
	s.ln.Close() // new connections refused; the kept one still answers
	for i := range 3 {
		now.Add(int64(10 * time.Second))
		if r := run(t, k, tg, 5*time.Second); !r.OK {
			t.Fatalf("check %d on the kept connection: %v", i, r.Err)
		}
	}
	now.Add(int64(30 * time.Second)) // 60 s since the connection opened
	r := run(t, k, tg, 5*time.Second)
	if r.OK || !strings.Contains(errString(r.Err), "connection refused") {
		t.Errorf("after 60 s: %v, want connection refused", r.Err)
	}
}

// A timeout on a kept connection fails the check (no retry: the
// deadline is spent) and the next check opens a fresh connection.
func TestKeepAliveTimeout(t *testing.T) { onBothPaths(t, testKeepAliveTimeout) }

func testKeepAliveTimeout(t *testing.T, run kaRun) {
	s := newKAServer(t, func(conn, req int, _ string) (string, bool) {
		if conn == 1 && req == 2 {
			return "", false // the second request is never answered
		}
		return okLength, false
	})
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	tg := s.target(t)
	if r := run(t, k, tg, 5*time.Second); !r.OK {
		t.Fatal(r.Err)
	}
	start := time.Now()
	r := run(t, k, tg, 300*time.Millisecond)
	if r.OK || !strings.Contains(errString(r.Err), "deadline exceeded") {
		t.Fatalf("unanswered request: %v, want the deadline", r.Err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("unanswered request took %v, deadline 300ms", d)
	}
	if n := s.accepts.Load(); n != 1 {
		t.Errorf("%d connections after the timeout, want 1 (no retry)", n)
	}
	if r := run(t, k, tg, 5*time.Second); !r.OK {
		t.Fatalf("check after the timeout: %v", r.Err)
	}
	if n := s.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want a fresh one after the timeout (2)", n)
	}
}

// A failure after response bytes (a status, a body that does not match,
// a body cut short) is the check's failure, not retried, and the next
// check opens a fresh connection only where the old one cannot go on.
func TestKeepAliveFailures(t *testing.T) { onBothPaths(t, testKeepAliveFailures) }

func testKeepAliveFailures(t *testing.T, run kaRun) {
	s := newKAServer(t, func(_, req int, _ string) (string, bool) {
		switch req {
		case 2:
			return "HTTP/1.1 503 Unavailable\r\nContent-Length: 4\r\n\r\nbad\n", false
		case 3:
			return "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok\n", true // cut short
		}
		return okLength, false
	})
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	tg := s.target(t)
	want := []string{"", "status 503", "unexpected EOF", ""}
	for i, w := range want {
		r := run(t, k, tg, 5*time.Second)
		if w == "" && !r.OK || w != "" && (r.OK || !strings.Contains(errString(r.Err), w)) {
			t.Errorf("check %d: %v, want %q", i, r.Err, w)
		}
	}
	if n := s.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the 503 keeps it, the short body does not)", n)
	}
}

// Close closes the idle connection; later checks are classic's, one
// connection each.
func TestKeepAliveClose(t *testing.T) { onBothPaths(t, testKeepAliveClose) }

func testKeepAliveClose(t *testing.T, run kaRun) {
	s := newKAServer(t, func(_, _ int, _ string) (string, bool) { return okLength, false })
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	tg := s.target(t)
	run(t, k, tg, 5*time.Second)
	k.Close()
	for deadline := time.Now().Add(5 * time.Second); s.ended.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the kept connection is still open on the server 5 s after Close")
		}
	}
	for range 2 {
		if r := run(t, k, tg, 5*time.Second); !r.OK {
			t.Fatal(r.Err)
		}
	}
	if n := s.accepts.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (one per check after Close)", n)
	}
}

// Checks of one KeepAlive that overlap (the daemon runs them one after
// another, but nothing breaks if not) each get a connection; at most one
// is kept.
func TestKeepAliveConcurrent(t *testing.T) {
	s := newKAServer(t, func(_, _ int, _ string) (string, bool) { return okLength, false })
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	tg := s.target(t)
	var wg sync.WaitGroup
	var fails atomic.Int32
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if r := kaCheck(t, k, tg, 10*time.Second); !r.OK {
					fails.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if fails.Load() != 0 {
		t.Errorf("%d of 160 concurrent checks failed", fails.Load())
	}
	if n := s.accepts.Load(); n > 160 || n < 1 {
		t.Errorf("%d connections", n)
	}
}

// WithKeepAlive wraps negotiate http only; https, http_proxy and other
// checkers stay as they are. A redirect still goes to the client.
func TestWithKeepAliveScope(t *testing.T) {
	for _, c := range []Checker{HTTP{Service: "https"}, HTTP{Service: "http_proxy"}, Connect{}, SMTP{}} {
		if got := WithKeepAlive(c); got != c {
			t.Errorf("WithKeepAlive(%#v) = %#v, want it unchanged", c, got)
		}
	}
	s := newKAServer(t, func(_, req int, head string) (string, bool) {
		if strings.HasPrefix(head, "GET / ") {
			return "HTTP/1.1 302 Found\r\nLocation: /there\r\nContent-Length: 0\r\n\r\n", false
		}
		return okLength, false
	})
	k := WithKeepAlive(HTTP{Service: "http"})
	defer k.(*KeepAlive).Close()
	if r := kaCheck(t, k, s.target(t), 5*time.Second); !r.OK {
		t.Fatalf("redirect: %v", r.Err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.heads) != 3 || !bytes.Contains([]byte(s.heads[1]), []byte("Connection: close")) {
		t.Errorf("requests %q: want the keep-alive one, then the client's two with Connection: close", s.heads)
	}
}

// The keep-alive request is built directly, byte for byte as req.Write
// puts it; with any other extra header it goes through req.Write.
func TestKeepAliveRequestBytes(t *testing.T) {
	for _, c := range []struct {
		extra  string
		simple bool
	}{{"", true}, {"Accept", false}} {
		req, err := http.NewRequest("GET", "http://10.0.0.2:80/check", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", "hasuite-ldirectord")
		req.Header.Set("Connection", "keep-alive")
		if c.extra != "" {
			req.Header.Set(c.extra, "*/*")
		}
		req.Host = "www.example.com"
		var want strings.Builder
		if err := req.Write(&want); err != nil {
			t.Fatal(err)
		}
		got, ok := simpleRequest(req)
		if ok != c.simple || ok && string(got) != want.String() {
			t.Errorf("extra %q: simple %v %q, want %v %q", c.extra, ok, got, c.simple, want.String())
		}
		if !strings.Contains(want.String(), "\r\nConnection: keep-alive\r\n") {
			t.Errorf("request %q lacks Connection: keep-alive", want.String())
		}
	}
}

// On the Loop, an idle kept connection stays through steps that find
// nothing new on it, goes as soon as a step sees the real close it, and
// is reset by Keep.Close and by the Loop's Close.
func TestLoopKeepIdle(t *testing.T) {
	s := newKAServer(t, func(_, _ int, _ string) (string, bool) { return okLength, false })
	l := newLoop(t)
	k := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	defer k.Close()
	ex, _ := k.Lean(s.target(t))
	check := func(id uint64) {
		t.Helper()
		if r := runAll(t, l, LoopJob{ID: id, Exchange: ex, Timeout: 5 * time.Second})[id]; !r.Result.OK {
			t.Fatalf("check %d: %v", id, r.Result.Err)
		}
	}
	check(1)
	for range 10 {
		time.Sleep(5 * time.Millisecond)
		l.Step(time.Now())
	}
	if !k.lean.idle {
		t.Fatal("the kept connection went with nothing on it")
	}
	s.mu.Lock()
	s.conns[0].Close() // the real's idle timeout: a FIN
	s.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); k.lean.idle; l.Step(time.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("the kept connection is still idle 5 s after the real closed it")
		}
		time.Sleep(2 * time.Millisecond)
	}
	check(2) // a fresh connection
	waitEnded := func(n int32, what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); s.ended.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the real still has the connection after 5 s", what)
			}
		}
	}
	k.Close()
	waitEnded(2, "Keep.Close")
	k2 := WithKeepAlive(HTTP{Service: "http"}).(*KeepAlive)
	ex, _ = k2.Lean(s.target(t))
	check(3)
	l.Close()
	waitEnded(3, "Loop.Close")
	if n := s.accepts.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}
