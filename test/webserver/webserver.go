// Package webserver is the HTTP server the load-balancing suites put
// behind a virtual service, and the client that asks through it: "/"
// answers the server's name and the address the request came from, so a
// test can count the split and see that NAT kept the client's address;
// CheckPath answers Alive while the server is healthy, for ldirectord's
// negotiate check.
package webserver

// webserver.go: the server, the client connection and the split count.

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

const (
	// CheckPath is the health check's request (request= without the
	// slash); its receive= is Alive.
	CheckPath = "/check.html"
	Alive     = "alive"
	// PeerHeader carries the source address the server saw.
	PeerHeader = "X-Peer"
)

// Server answers "/" with its name and CheckPath with Alive while Healthy,
// else "sick". Only the check fails: connections keep being served, so a
// quiesced real still answers the ones it has.
type Server struct {
	Name    string
	Healthy atomic.Bool
}

// New returns a healthy server.
func New(name string) *Server {
	s := &Server{Name: name}
	s.Healthy.Store(true)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == CheckPath {
		if s.Healthy.Load() {
			io.WriteString(w, Alive)
		} else {
			io.WriteString(w, "sick")
		}
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	w.Header().Set(PeerHeader, host)
	io.WriteString(w, s.Name)
}

// ServeIn listens on addr ("10.0.0.2:80") in network namespace ns and
// serves there until the test ends.
func (s *Server) ServeIn(t testing.TB, ns, addr string) {
	t.Helper()
	var ln net.Listener
	netns.Do(t, ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// Conn is one client TCP connection to a virtual service.
type Conn struct {
	c  net.Conn
	br *bufio.Reader
}

// NewConn wraps a connection the client opened to the virtual service.
func NewConn(c net.Conn) *Conn { return &Conn{c: c, br: bufio.NewReader(c)} }

// Get sends GET / and returns the name of the server that answered, within
// timeout. keepAlive keeps the connection open for another request. It
// checks that the server saw the client's own address (NAT, not
// masquerade).
func (c *Conn) Get(keepAlive bool, timeout time.Duration) (string, error) {
	hdr := "Connection: close\r\n"
	if keepAlive {
		hdr = "Connection: keep-alive\r\n"
	}
	vip, _, _ := net.SplitHostPort(c.c.RemoteAddr().String())
	client, _, _ := net.SplitHostPort(c.c.LocalAddr().String())
	c.c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c.c, "GET / HTTP/1.1\r\nHost: "+vip+"\r\n"+hdr+"\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	if peer := resp.Header.Get(PeerHeader); peer != client {
		return "", fmt.Errorf("%q saw the request come from %q, not the client %s", body, peer, client)
	}
	return strings.TrimSpace(string(body)), nil
}

// MustGet is Get within 5 s that fails the test.
func (c *Conn) MustGet(t testing.TB, keepAlive bool) string {
	t.Helper()
	name, err := c.Get(keepAlive, 5*time.Second)
	if err != nil {
		t.Fatalf("client: GET / through %s: %v", c.c.RemoteAddr(), err)
	}
	return name
}

// Close closes the connection.
func (c *Conn) Close() { c.c.Close() }

// ExpectSplit sends n requests, each on a new connection from dial, and
// fails the test unless the servers that answered counted exactly want.
func ExpectSplit(t testing.TB, n int, want map[string]int, dial func(testing.TB) *Conn) {
	t.Helper()
	got := map[string]int{}
	start := time.Now()
	for range n {
		c := dial(t)
		got[c.MustGet(t, false)]++
		c.Close()
	}
	t.Logf("%d requests in %.2fs: %s", n, time.Since(start).Seconds(), Counts(got))
	if !maps.Equal(got, want) {
		t.Fatalf("%d requests went %s, want %s", n, Counts(got), Counts(want))
	}
}

// Counts shows a split as "rs1=10 rs2=20", sorted by name.
func Counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
