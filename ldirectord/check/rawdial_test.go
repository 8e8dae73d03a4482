// rawdial_test.go: the lean check connection connects, fails, times out and closes as a net.Conn would.

package check

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/tcptest"
)

// listenOn opens a loopback listener on network ("tcp4" or "tcp6"), or
// skips when the machine has no such loopback.
func listenOn(t *testing.T, network string) net.Listener {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		if network == "tcp6" {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestRawConnExchange checks a request and its answer over v4 and v6, and
// the close: a reset only once the peer has closed its side.
func TestRawConnExchange(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			for _, peerCloses := range []bool{false, true} {
				ln := listenOn(t, network)
				served := make(chan error, 1)
				go func() {
					s, err := ln.Accept()
					if err != nil {
						served <- err
						return
					}
					defer s.Close()
					line, err := bufio.NewReader(s).ReadString('\n')
					if err != nil || line != "ping\n" {
						served <- errors.New("request " + line)
						return
					}
					s.Write([]byte("pong\n"))
					if peerCloses {
						s.(*net.TCPConn).CloseWrite()
					}
					// What the check's close sends: a FIN (EOF) while we
					// have not closed, a reset once we have.
					_, err = s.Read(make([]byte, 1))
					served <- err
				}()
				c, err := dialRaw(addrPort(t, ln.Addr()))
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte("ping\n")); err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(io.LimitReader(c, 5))
				if err != nil || string(got) != "pong\n" {
					t.Fatalf("answer %q, %v", got, err)
				}
				if peerCloses {
					if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
						t.Fatalf("after the peer's close: %d, %v, want end of file", n, err)
					}
				}
				c.resetIfPeerClosed()
				c.Close()
				err = <-served
				if peerCloses && !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("peer closed first: the peer read %v, want a reset", err)
				}
				if !peerCloses && err != io.EOF {
					t.Errorf("peer still open: the peer read %v, want end of file (a FIN)", err)
				}
			}
		})
	}
}

// TestRawConnRefused checks that a refused connection fails on the first
// write as net.Dialer's does.
func TestRawConnRefused(t *testing.T) {
	ln := listenOn(t, "tcp4")
	ap := addrPort(t, ln.Addr())
	ln.Close()
	c, err := dialRaw(ap)
	if err == nil {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write([]byte("x"))
	}
	want := "dial tcp " + ap.String() + ": connect: connection refused"
	if err == nil || err.Error() != want || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("refused: %v, want %q", err, want)
	}
}

// TestRawConnConnectDeadline checks that a connect that is never answered
// ends at the deadline, or at once when the context is cancelled, with
// the dial's error.
func TestRawConnConnectDeadline(t *testing.T) {
	ap := tcptest.Hanging(t)
	for _, cancelled := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		if cancelled {
			time.AfterFunc(50*time.Millisecond, cancel)
		}
		start := time.Now()
		r := HTTP{Service: "http"}.Check(ctx, Target{Protocol: "tcp", Real: ap, Request: "/"})
		took := time.Since(start)
		cancel()
		if r.OK || r.Err == nil {
			t.Fatalf("cancelled %v: check passed against a full accept queue", cancelled)
		}
		msg := r.Err.Error()
		if !strings.Contains(msg, "dial tcp "+ap.String()+": i/o timeout") || !errors.Is(r.Err, os.ErrDeadlineExceeded) {
			t.Errorf("cancelled %v: %v, want the dial's i/o timeout", cancelled, r.Err)
		}
		switch {
		case cancelled && (!errors.Is(r.Err, context.Canceled) || took > 250*time.Millisecond):
			t.Errorf("cancelled after 50ms: %v after %v, want context canceled at once", r.Err, took)
		case !cancelled && (!errors.Is(r.Err, context.DeadlineExceeded) || took < 250*time.Millisecond || took > 3*time.Second):
			t.Errorf("deadline 300ms: %v after %v", r.Err, took)
		}
	}
}

// TestHTTPDirectServerFaults checks the direct path against a real that
// resets after the request, one that closes without answering, and one
// that answers slowly within and beyond the deadline.
func TestHTTPDirectServerFaults(t *testing.T) {
	ln := listenOn(t, "tcp4")
	type behaviour = func(c *net.TCPConn)
	answer := writes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
	next := scripted(t, ln)
	cases := []struct {
		name    string
		b       behaviour
		timeout time.Duration
		want    string // "" for OK
	}{
		{"reset", func(c *net.TCPConn) { c.SetLinger(0) }, 5 * time.Second, "connection reset by peer"},
		{"closes", func(c *net.TCPConn) {}, 5 * time.Second, "EOF"},
		{"slow", func(c *net.TCPConn) { time.Sleep(150 * time.Millisecond); answer(c) }, 5 * time.Second, ""},
		{"too slow", func(c *net.TCPConn) { time.Sleep(1500 * time.Millisecond); answer(c) }, 300 * time.Millisecond, "i/o timeout"},
		{"ok", answer, 5 * time.Second, ""},
	}
	for _, c := range cases {
		next <- c.b
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		start := time.Now()
		r := HTTP{Service: "http"}.Check(ctx, Target{Protocol: "tcp", Real: addrPort(t, ln.Addr()), Request: "/", Receive: "ok"})
		cancel()
		switch {
		case c.want == "" && !r.OK:
			t.Errorf("%s: %v, want OK", c.name, r.Err)
		case c.want != "" && (r.OK || !strings.Contains(r.Err.Error(), c.want)):
			t.Errorf("%s: %+v, want an error containing %q", c.name, r, c.want)
		case time.Since(start) > c.timeout+time.Second:
			t.Errorf("%s: took %v, deadline %v", c.name, time.Since(start), c.timeout)
		}
	}
}
