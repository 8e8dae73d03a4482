// httpdirect_test.go: plain http checks take the direct path, and it ends as the client would.

package check

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHTTPDirect checks that a plain http check makes one request on its
// own connection (Connection: close, none of the client's Accept-Encoding),
// reads chunked bodies, passes 1xx-free redirects to the client, and keeps
// to its deadline when the server never answers.
func TestHTTPDirect(t *testing.T) {
	var mu sync.Mutex
	var headers []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("part one, "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two\n"))
		case "/moved":
			http.Redirect(w, r, "/chunked", http.StatusMovedPermanently)
		case "/hang":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	real := addrPort(t, srv.Listener.Addr())
	check := func(path, receive string, timeout time.Duration) Result {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return HTTP{Service: "http"}.Check(ctx, Target{Protocol: "tcp", Real: real, Request: path, Receive: receive})
	}

	if r := check("/chunked", "part two", 5*time.Second); !r.OK {
		t.Fatalf("chunked body: %v", r.Err)
	}
	mu.Lock()
	h := headers[0]
	mu.Unlock()
	if h.Get("Connection") != "close" || h.Get("Accept-Encoding") != "" || h.Get("User-Agent") != "hasuite-ldirectord" {
		t.Errorf("request headers %v: want the direct path's (Connection: close, no Accept-Encoding)", h)
	}

	// The redirect is answered to the direct request, then the client
	// repeats it and follows: three requests.
	mu.Lock()
	headers = nil
	mu.Unlock()
	if r := check("/moved", "part one", 5*time.Second); !r.OK {
		t.Fatalf("redirect: %v", r.Err)
	}
	mu.Lock()
	n := len(headers)
	mu.Unlock()
	if n != 3 {
		t.Errorf("redirect: %d requests, want 3 (direct, then the client's request and redirect)", n)
	}

	start := time.Now()
	r := check("/hang", "", 300*time.Millisecond)
	if r.OK || time.Since(start) > 2*time.Second || !strings.Contains(r.Err.Error(), "deadline") {
		t.Errorf("hanging server: %+v after %v, want a deadline error after 300ms", r, time.Since(start))
	}
}

// TestSimpleRequest checks that the directly built request is byte for
// byte what req.Write sends, and that other requests are left to it.
func TestSimpleRequest(t *testing.T) {
	build := func(method, url, host, ua string) *http.Request {
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		}
		req.Host = host
		req.Close = true
		return req
	}
	for _, c := range []struct {
		req    *http.Request
		simple bool
	}{
		{build("GET", "http://10.0.0.2:80/", "10.0.0.2", "hasuite-ldirectord"), true},
		{build("HEAD", "http://10.0.0.2:8080/a/b.html?x=1&y=%20z", "www.example.com:8080", "hasuite-ldirectord"), true},
		{build("GET", "http://[fd00::2]:80/check", "[fd00::2]", "hasuite-ldirectord"), true},
		{build("GET", "http://10.0.0.2/", "", "hasuite-ldirectord"), true},
		{build("GET", "http://10.0.0.2/caf%C3%A9", "10.0.0.2", "hasuite-ldirectord"), true},
		{build("GET", "http://[fe80::1%25eth0]:80/", "[fe80::1%eth0]", "hasuite-ldirectord"), false}, // zone
		{build("GET", "http://10.0.0.2/", "10.0.0.2", ""), false},                                    // default User-Agent
		{build("GET", "http://10.0.0.2/", "10.0.0.2", "agent with spaces"), false},
		{build("POST", "http://10.0.0.2/", "10.0.0.2", "hasuite-ldirectord"), false},
	} {
		var want strings.Builder
		if err := c.req.Write(&want); err != nil {
			t.Fatal(err)
		}
		got, ok := simpleRequest(c.req)
		if ok != c.simple {
			t.Errorf("%s %s: simple %v, want %v", c.req.Method, c.req.URL, ok, c.simple)
		}
		if ok && string(got) != want.String() {
			t.Errorf("%s %s:\n got %q\nwant %q", c.req.Method, c.req.URL, got, want.String())
		}
		var sent strings.Builder
		if err := writeRequest(&sent, c.req); err != nil || sent.String() != want.String() {
			t.Errorf("%s %s: writeRequest sent %q (%v), want %q", c.req.Method, c.req.URL, sent.String(), err, want.String())
		}
	}
}

// TestHTTPDirectReuse runs interleaved checks of different bodies
// (Content-Length, chunked, none, failing) concurrently, so pooled
// response readers handed from one check to the next must not leak one
// response into another.
func TestHTTPDirectReuse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "9")
			w.Write([]byte("length ok"))
		case "/chunked":
			w.Write([]byte("chunk "))
			w.(http.Flusher).Flush()
			w.Write([]byte("ok"))
		case "/fail":
			http.Error(w, "length ok chunk ok", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	real := addrPort(t, srv.Listener.Addr())
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				for _, c := range []struct {
					path, receive string
					ok            bool
				}{{"/length", "^length ok$", true}, {"/chunked", "^chunk ok$", true}, {"/fail", "ok", false}, {"/length", "chunk", false}} {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					r := HTTP{Service: "http"}.Check(ctx, Target{Protocol: "tcp", Real: real, Request: c.path, Receive: c.receive})
					cancel()
					if r.OK != c.ok {
						t.Errorf("%s receive %q: %+v, want OK %v", c.path, c.receive, r, c.ok)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestPeerClosed checks the guard of the reset on close: only a peer that
// has closed its side, with nothing left unread, counts as closed.
func TestPeerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	srv := <-accepted
	if peerClosed(tc) {
		t.Error("open connection: peerClosed true")
	}
	srv.Write([]byte("x"))
	srv.Close()
	time.Sleep(50 * time.Millisecond)
	if peerClosed(tc) {
		t.Error("peer closed with a byte unread: peerClosed true, want false (the byte is data)")
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if !peerClosed(tc) {
		t.Error("peer closed, all read: peerClosed false")
	}
}

// TestHTTPDirectDialError checks that a refused connection reads as it
// did through DialContext: no unset local address in the message.
func TestHTTPDirectDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := HTTP{Service: "http"}.Check(ctx, Target{Protocol: "tcp", Real: addrPort(t, ln.Addr()), Request: "/"})
	want := "dial tcp " + addr + ": connect: connection refused"
	if r.OK || r.Err == nil || !strings.Contains(r.Err.Error(), want) {
		t.Errorf("check of a closed port: %+v, want an error containing %q", r, want)
	}
}
