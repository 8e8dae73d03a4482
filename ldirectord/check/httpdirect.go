// httpdirect.go: a plain-http check's request without net/http's client: one connection, one request.

package check

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// direct sends req (an http:// URL) over a connection of its own and reads
// the response head. It returns nil and no error when the answer is 1xx or
// a redirect, which the full client then repeats and follows. Without the
// client's transport (its connection goroutines, pool and per-check setup)
// a check costs about half the CPU, which counts at thousands of reals a
// second.
func direct(ctx context.Context, req *http.Request) (*http.Response, error) {
	c, err := dialDirect(ctx, req)
	if err != nil {
		return nil, err
	}
	stop := bind(ctx, c)
	req.Close = true
	if err := writeRequest(c, req); err != nil {
		stop()
		return nil, err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(c)
	done := func() {
		stop()
		br.Reset(nil)
		readers.Put(br)
	}
	resp, err := readResponse(br, req.Method)
	if err != nil {
		done()
		return nil, err
	}
	if forClient(resp) {
		done()
		return nil, nil
	}
	resp.Body = &closeBoth{ReadCloser: resp.Body, stop: func() {
		// The real has answered and closed its side: drop the connection
		// with a reset rather than a FIN, so neither end keeps it (no
		// TIME_WAIT on the real). The real's program has closed its
		// socket and sees nothing; a real that has not closed yet gets
		// the usual FIN.
		switch c := c.(type) {
		case *rawConn:
			c.resetIfPeerClosed()
		case *net.TCPConn:
			if peerClosed(c) {
				c.SetLinger(0)
			}
		}
		done()
	}}
	return resp, nil
}

// dialDirect opens the connection of req, an http:// URL.
func dialDirect(ctx context.Context, req *http.Request) (conn, error) {
	addr, ap, ok := requestAddr(req)
	if ok {
		// An address, as the real's own is: no resolver, no address list,
		// and the lean connection of rawdial.go.
		return dialRaw(ap)
	}
	// No TCP keepalive: a check's connection lives for one request
	// (with checkkeepalive, for at most a minute).
	d := net.Dialer{KeepAlive: -1}
	return d.DialContext(ctx, "tcp", addr)
}

// requestAddr is where req (an http:// URL) connects: host:port, port 80
// if none, and that as an address without a zone if it is one (ok).
func requestAddr(req *http.Request) (addr string, ap netip.AddrPort, ok bool) {
	addr = req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	ap, err := netip.ParseAddrPort(addr)
	return addr, ap, err == nil && ap.Addr().Zone() == ""
}

// conn is a check's connection: a *rawConn or a net.Conn.
type conn interface {
	io.ReadWriter
	SetDeadline(time.Time) error
	Close() error
}

// peerClosed reports whether the peer has closed its side of c and no
// data is left unread.
func peerClosed(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	rc.Control(func(fd uintptr) { closed = peerClosedFD(int(fd)) })
	return closed
}

// peerClosedFD is peerClosed of a socket: a non-blocking peek reads end
// of file.
func peerClosedFD(fd int) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n == 0 && err == nil
}

// readers are the response readers of finished checks, for reuse: a 4 KiB
// buffer per check is most of a check's garbage.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// writeRequest writes req as req.Write would, in one write (so Nagle's
// algorithm, on for the lean connection, never holds part of it back).
// The common check request (GET or HEAD, no body, only User-Agent set, a
// plain Host) is built directly; anything else through req.Write.
func writeRequest(w io.Writer, req *http.Request) error {
	b, ok := simpleRequest(req)
	if !ok {
		var buf bytes.Buffer
		if err := req.Write(&buf); err != nil {
			return err
		}
		b = buf.Bytes()
	}
	_, err := w.Write(b)
	return err
}

// simpleRequest is req's bytes as req.Write puts them when req is the
// common check request, else false.
func simpleRequest(req *http.Request) ([]byte, bool) {
	connection := "close" // else keep-alive, which checkkeepalive sets as a header
	if !req.Close {
		if v := req.Header["Connection"]; len(v) != 1 || v[0] != "keep-alive" || len(req.Header) != 2 {
			return nil, false
		}
		connection = "keep-alive"
	} else if len(req.Header) != 1 {
		return nil, false
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead || req.Body != nil ||
		len(req.Header["User-Agent"]) != 1 || req.URL.Opaque != "" {
		return nil, false
	}
	host, ua, uri := req.Host, req.Header["User-Agent"][0], req.URL.RequestURI()
	if host == "" {
		host = req.URL.Host
	}
	if !plain(host) || strings.ContainsRune(host, '%') || !plain(ua) || !plain(uri) || host == "" || ua == "" {
		return nil, false
	}
	b := make([]byte, 0, 72+len(host)+len(ua)+len(uri))
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, ua...)
	b = append(b, "\r\nConnection: "...)
	b = append(b, connection...)
	b = append(b, "\r\n\r\n"...)
	return b, true
}

// plain reports whether s is printable ASCII without spaces, which
// req.Write sends as it is (a host with a zone, '%', it would change).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// closeBoth closes a response body and then its connection, once.
type closeBoth struct {
	io.ReadCloser
	stop   func()
	closed bool
}

func (c *closeBoth) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.ReadCloser.Close()
	c.stop()
	return err
}

// forClient reports whether resp is one the lean paths leave to the full
// HTTP client: an informational answer, or a redirect to follow.
func forClient(resp *http.Response) bool {
	return resp.StatusCode < 200 || resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != ""
}

// Lean is the check as a Loop exchange when it is plain http to the
// real's address with the common request (see simpleRequest): the same
// bytes as direct sends, judged as check judges direct's response.
func (h HTTP) Lean(t Target) (Exchange, bool) { return h.lean(t, false) }

// lean is Lean's exchange, its request with Connection: keep-alive rather
// than close when keepAlive.
func (h HTTP) lean(t Target, keepAlive bool) (Exchange, bool) {
	if h.Service != "http" {
		return Exchange{}, false
	}
	c, err := h.prepare(context.Background(), t)
	if err != nil || c.req.URL.Scheme != "http" {
		return Exchange{}, false // Check says what is wrong
	}
	_, ap, ok := requestAddr(c.req)
	if !ok {
		return Exchange{}, false
	}
	c.req.Close = !keepAlive
	if keepAlive {
		c.req.Header.Set("Connection", "keep-alive")
	}
	b, ok := simpleRequest(c.req)
	if !ok {
		return Exchange{}, false
	}
	c.req = nil // answer needs only the rest: a kept exchange is smaller
	ex := Exchange{Addr: ap, Request: b, Answer: c.answer}
	if keepAlive {
		method := c.method
		ex.Whole = func(answer []byte) bool { return wholeResponse(answer, method) }
	}
	return ex, true
}

// answer judges a Loop exchange's answer as check judges direct's
// response, asking for more while the response is incomplete.
func (c *httpCheck) answer(answer []byte, eof bool, ioErr error) (done, full bool, verdict error) {
	if ioErr != nil {
		return true, false, c.failed(ioErr)
	}
	rd := bytes.NewReader(answer)
	br := readers.Get().(*bufio.Reader)
	br.Reset(rd)
	defer func() { br.Reset(nil); readers.Put(br) }()
	incomplete := func(err error) bool {
		return !eof && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
	}
	resp, err := readResponse(br, c.method)
	switch {
	case incomplete(err):
		return false, false, nil
	case err != nil:
		return true, false, c.failed(err)
	case forClient(resp):
		return true, true, nil
	case !eof && resp.ContentLength < 0 && resp.TransferEncoding == nil && resp.Body != http.NoBody:
		return false, false, nil // the body ends with the connection
	}
	if err := c.status(resp); err != nil || c.re == nil {
		return true, false, err
	}
	if resp.Body == http.NoBody {
		return true, false, c.match(nil)
	}
	if resp.TransferEncoding == nil {
		// Content-Length, or up to the close (eof by now): the body is the
		// rest of answer, matched where it lies.
		body := answer[len(answer)-rd.Len()-br.Buffered():]
		if need := min(resp.ContentLength, maxBody); need >= 0 {
			if int64(len(body)) < need {
				if !eof {
					return false, false, nil
				}
				return true, false, c.failed(fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF))
			}
			body = body[:need]
		}
		return true, false, c.match(body[:min(len(body), maxBody)])
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	switch {
	case incomplete(err):
		return false, false, nil
	case err != nil:
		return true, false, c.failed(fmt.Errorf("reading body: %w", err))
	}
	return true, false, c.match(body)
}
