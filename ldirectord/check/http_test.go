// http_test.go: the http, https and http_proxy checks against loopback httptest servers.

package check

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type seen struct {
	Method, Host, Path, URL string
}

func TestHTTP(t *testing.T) {
	var mu sync.Mutex
	var last seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seen{r.Method, r.Host, r.URL.Path, ""}
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("hello world\n"))
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/error":
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("hello world\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	real := addrPort(t, srv.Listener.Addr())
	for _, tt := range []struct {
		name   string
		t      Target
		ok     bool
		errHas string
		want   seen
	}{
		{"empty receive", Target{Request: "/ok"}, true, "", seen{"GET", "127.0.0.1", "/ok", ""}},
		{"receive matches", Target{Request: "/ok", Receive: "wor.d"}, true, "", seen{"GET", "127.0.0.1", "/ok", ""}},
		{"receive does not match", Target{Request: "/ok", Receive: "^world"}, false, `body does not match "^world": "hello world\n"`, seen{"GET", "127.0.0.1", "/ok", ""}},
		{"bad regexp", Target{Request: "/ok", Receive: "(?<=a)b"}, false, `receive "(?<=a)b": error parsing regexp`, seen{}},
		{"virtualhost", Target{Request: "/ok", VirtualHost: "www.example.com"}, true, "", seen{"GET", "www.example.com", "/ok", ""}},
		{"head", Target{Request: "/ok", HTTPMethod: "HEAD"}, true, "", seen{"HEAD", "127.0.0.1", "/ok", ""}},
		{"404", Target{Request: "/missing"}, false, "status 404 Not Found", seen{"GET", "127.0.0.1", "/missing", ""}},
		{"500 even if body matches", Target{Request: "/error", Receive: "hello"}, false, "status 500 Internal Server Error", seen{"GET", "127.0.0.1", "/error", ""}},
		{"redirect followed", Target{Request: "/moved", Receive: "hello"}, true, "", seen{"GET", "127.0.0.1", "/ok", ""}},
		{"redirect loop", Target{Request: "/loop"}, false, "stopped after 7 redirects", seen{"GET", "127.0.0.1", "/loop", ""}},
		{"full URL", Target{Request: "/" + srv.URL + "/ok", Receive: "hello"}, true, "", seen{"GET", "127.0.0.1", "/ok", ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			last = seen{}
			mu.Unlock()
			tt.t.Real = real
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := HTTP{Service: "http"}.Check(ctx, tt.t)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.want, last); diff != "" {
				t.Errorf("server saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPConnectionRefused(t *testing.T) {
	ln := listen(t)
	real := addrPort(t, ln.Addr())
	ln.Close()
	r := HTTP{Service: "http"}.Check(context.Background(), Target{Real: real, Request: "/"})
	if r.OK || !strings.Contains(errString(r.Err), "connection refused") {
		t.Errorf("Check = %+v, want connection refused", r)
	}
}

func TestHTTPProxy(t *testing.T) {
	got := make(chan seen, 1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Method, r.Host, r.URL.Path, r.URL.String()}
		w.Write([]byte("proxied"))
	}))
	defer proxy.Close()
	tgt := Target{Real: addrPort(t, proxy.Listener.Addr()), Request: "/http://backend.example/index.html", Receive: "proxied", VirtualHost: "ignored"}
	r := HTTP{Service: "http_proxy"}.Check(context.Background(), tgt)
	if !r.OK {
		t.Fatalf("Check = %+v, want OK", r)
	}
	want := seen{"GET", "backend.example", "/index.html", "http://backend.example/index.html"}
	if diff := cmp.Diff(want, <-got); diff != "" {
		t.Errorf("proxy saw (-want +got):\n%s", diff)
	}
	tgt.Request = "/index.html"
	if r := (HTTP{Service: "http_proxy"}).Check(context.Background(), tgt); r.OK || errString(r.Err) != `http_proxy request "/index.html" is not a full URL` {
		t.Errorf("Check with a path = %+v, want a not-a-full-URL error", r)
	}
}

func TestHTTPS(t *testing.T) {
	sni := make(chan string, 10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("secure " + r.Host))
	}))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni <- h.ServerName
		return nil, nil
	}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes that fail on purpose
	srv.StartTLS()
	defer srv.Close()
	caFile := writeCA(t, srv.Certificate().Raw)
	// httptest's certificate names example.com and 127.0.0.1.
	for _, tt := range []struct {
		name    string
		t       Target
		ok      bool
		errHas  string
		wantSNI string
	}{
		{"no verify", Target{Receive: "secure 127.0.0.1"}, true, "", ""},
		{"no verify, virtualhost is SNI", Target{VirtualHost: "www.example.org", Receive: "secure www.example.org"}, true, "", "www.example.org"},
		{"verify, system roots", Target{TLS: TLSOptions{Verify: true}}, false, "certificate signed by unknown authority", ""},
		{"verify, CA, IP", Target{TLS: TLSOptions{Verify: true, CAFile: caFile}}, true, "", ""},
		{"verify, CA, good name", Target{VirtualHost: "example.com", TLS: TLSOptions{Verify: true, CAFile: caFile}}, true, "", "example.com"},
		{"verify, CA, wrong name", Target{VirtualHost: "www.example.org", TLS: TLSOptions{Verify: true, CAFile: caFile}}, false, "not www.example.org", "www.example.org"},
		{"server name beats virtualhost", Target{VirtualHost: "www.example.org", Receive: "secure www.example.org", TLS: TLSOptions{Verify: true, CAFile: caFile, ServerName: "example.com"}}, true, "", "example.com"},
		{"missing CA file", Target{TLS: TLSOptions{Verify: true, CAFile: caFile + ".none"}}, false, "reading CA file", "-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.t.Real = addrPort(t, srv.Listener.Addr())
			tt.t.Request = "/"
			r := HTTP{Service: "https"}.Check(context.Background(), tt.t)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
			select {
			case got := <-sni:
				if got != tt.wantSNI {
					t.Errorf("server saw SNI %q, want %q", got, tt.wantSNI)
				}
			default:
				if tt.wantSNI != "-" {
					t.Errorf("no TLS handshake seen")
				}
			}
		})
	}
}

// IPv6 reals: the URL and the default Host header carry the address in brackets.
func TestHTTPIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	host := make(chan string, 1)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host <- r.Host
	})}}
	srv.Start()
	defer srv.Close()
	r := HTTP{Service: "http"}.Check(context.Background(), Target{Real: addrPort(t, ln.Addr()), Request: "/"})
	if !r.OK {
		t.Fatalf("Check = %+v, want OK", r)
	}
	if got := <-host; got != "[::1]" {
		t.Errorf("Host %q, want [::1]", got)
	}
}
