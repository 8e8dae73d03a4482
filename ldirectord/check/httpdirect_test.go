// httpdirect_test.go: plain http checks take the direct path, and it ends as the client would.

package check

import (
	"context"
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
