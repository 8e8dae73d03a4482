// httpkeepalive.go: checkkeepalive: a plain-http check that reuses one connection per real.

package check

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"os"
	"sync"
	"time"
)

// A kept connection serves at most keepAliveMaxUses checks and is at most
// keepAliveMaxAge old when a check takes it; then a check opens a fresh
// one. So a real that keeps its old connections but accepts no new ones
// is found within a minute (plus the failure count). Each connection's
// age limit is keepAliveMaxAge less up to a third (keepAliveAgeJitter):
// reals first checked together (at start) would otherwise all reconnect
// in the same second, every minute.
const (
	keepAliveMaxUses = 100
	keepAliveMaxAge  = 60 * time.Second
	// keepAliveMaxDrain is how much of a body the check did not read is
	// read to reuse the connection; a longer one closes it.
	keepAliveMaxDrain = 256 << 10
)

// keepAliveNow is the clock of the age rule and keepAliveAgeJitter how
// much younger than keepAliveMaxAge a new connection is retired (tests
// replace them).
var (
	keepAliveNow       = time.Now
	keepAliveAgeJitter = func() time.Duration { return rand.N(keepAliveMaxAge / 3) }
)

// KeepAlive is the http check of one real with checkkeepalive=yes: the
// check of HTTP, but its plain-http request (the direct path) goes over a
// connection kept from the previous check when one is idle. See WithKeepAlive.
type KeepAlive struct {
	h      HTTP
	mu     sync.Mutex
	idle   *kept // the connection between checks, nil when none
	closed bool
	lean   Keep // the connection of the Lean exchange's checks, the Loop's
}

// kept is a persistent check connection.
type kept struct {
	c    conn
	br   *bufio.Reader // while a check uses it; idle, it holds nothing and goes back to readers
	born time.Time
	ttl  time.Duration // its age limit
	uses int           // checks that sent a request over it
}

// WithKeepAlive returns the checker of one check with checkkeepalive=yes:
// for negotiate http a *KeepAlive, which holds that check's connection
// (build one per real, and Close it when the check goes); any other
// checker unchanged.
func WithKeepAlive(c Checker) Checker {
	if h, ok := c.(HTTP); ok && h.Service == "http" {
		return &KeepAlive{h: h}
	}
	return c
}

// Check makes the request as HTTP does.
func (k *KeepAlive) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error { return k.h.check(ctx, t, k.do) })
}

// Lean is the check as a Loop exchange, as HTTP's, whose connection the
// Loop keeps between checks by the rules Check's follows.
func (k *KeepAlive) Lean(t Target) (Exchange, bool) {
	ex, ok := k.h.lean(t, true)
	if !ok {
		return Exchange{}, false
	}
	ex.Keep = &k.lean
	return ex, true
}

// Close closes the idle connections (Check's, and the Lean exchange's,
// so call it from the goroutine that steps the Loop); one in use is
// closed when its check ends. Checks after Close open a connection each,
// as classic.
func (k *KeepAlive) Close() error {
	k.mu.Lock()
	idle := k.idle
	k.idle, k.closed = nil, true
	k.mu.Unlock()
	if idle != nil {
		idle.c.Close()
	}
	k.lean.Close()
	return nil
}

// take returns the idle connection if it may serve another check, else nil
// (closing one that is too old or used up).
func (k *KeepAlive) take() *kept {
	k.mu.Lock()
	kc := k.idle
	k.idle = nil
	k.mu.Unlock()
	if kc != nil && (kc.uses >= keepAliveMaxUses || keepAliveNow().Sub(kc.born) >= kc.ttl) {
		kc.c.Close()
		kc = nil
	}
	return kc
}

// put keeps kc for the next check, or closes it when the checker is closed
// or (checks of one real overlapping) already holds one.
func (k *KeepAlive) put(kc *kept) {
	k.mu.Lock()
	if k.closed || k.idle != nil {
		k.mu.Unlock()
		kc.c.Close()
		return
	}
	k.idle = kc
	k.mu.Unlock()
}

// release returns kc's reader, empty, to the pool (4 KiB per real less
// while idle).
func (kc *kept) release() {
	kc.br.Reset(nil)
	readers.Put(kc.br)
	kc.br = nil
}

// do is direct over the kept connection: the request with Connection:
// keep-alive, and the connection kept when the response was read whole and
// its framing and headers allow another. A kept connection that fails
// before any byte of the response (the real closed it while idle, or
// reset it) is replaced once by a fresh one within the same deadline; any
// other failure fails the check as classic's would.
func (k *KeepAlive) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	req.Close = false
	req.Header.Set("Connection", "keep-alive")
	resp, err := k.send(ctx, req)
	if resp == nil && err == nil { // the client repeats it on a connection of its own
		req.Close = true
		req.Header.Del("Connection")
	}
	return resp, err
}

func (k *KeepAlive) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	if kc := k.take(); kc != nil {
		resp, err, stale := k.exchange(ctx, req, kc)
		if !stale || ctx.Err() != nil {
			return resp, err
		}
	}
	c, err := dialDirect(ctx, req)
	if err != nil {
		return nil, err
	}
	resp, err, _ := k.exchange(ctx, req, &kept{c: c, born: keepAliveNow(), ttl: keepAliveMaxAge - keepAliveAgeJitter()})
	return resp, err
}

// exchange sends req over kc and reads the response head. stale reports a
// failure of a reused connection before any response byte, which a fresh
// connection may retry; kc is closed on every failure.
func (k *KeepAlive) exchange(ctx context.Context, req *http.Request, kc *kept) (resp *http.Response, err error, stale bool) {
	reused := kc.uses > 0
	kc.uses++
	kc.br = readers.Get().(*bufio.Reader)
	kc.br.Reset(kc.c)
	dl, _ := ctx.Deadline() // none: zero, which clears the previous check's
	kc.c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { kc.c.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error, beforeResponse bool) (*http.Response, error, bool) {
		stop()
		kc.c.Close()
		kc.release()
		return nil, err, reused && beforeResponse && !errors.Is(err, os.ErrDeadlineExceeded)
	}
	if err := writeRequest(kc.c, req); err != nil {
		return fail(err, true)
	}
	if _, err := kc.br.Peek(1); err != nil {
		return fail(err, true)
	}
	resp, err = readResponse(kc.br, req.Method)
	if err != nil {
		return fail(err, false)
	}
	if forClient(resp) {
		return fail(nil, false) // as direct: nil, nil makes the client repeat it
	}
	chunked := len(resp.TransferEncoding) > 0
	reusable := keepsConnection(resp)
	body := resp.Body
	resp.Body = &closeBoth{ReadCloser: body, stop: func() {
		// The rest of the body (and a chunked body's trailer), so the next
		// response starts at the connection's next byte; then nothing
		// more may be buffered.
		if reusable {
			n, err := io.Copy(io.Discard, io.LimitReader(body, keepAliveMaxDrain+1))
			reusable = err == nil && n <= keepAliveMaxDrain
			if chunked && reusable { // the trailer, whole in what was read, as on the loop
				rest, _ := kc.br.Peek(kc.br.Buffered())
				reusable = onlyTrailer(rest)
				kc.br.Discard(len(rest))
			}
			reusable = reusable && kc.br.Buffered() == 0
		}
		kc.release()
		if !stop() || !reusable { // stop false: ctx ended, the deadline is spent
			kc.c.Close()
			return
		}
		k.put(kc)
	}}
	return resp, nil, false
}

// wholeResponse reports whether answer is exactly one response to a
// method request, framed by its length, its chunks or having no body, after
// which its connection may carry another: neither side asked to close.
func wholeResponse(answer []byte, method string) bool {
	rd := bytes.NewReader(answer)
	br := readers.Get().(*bufio.Reader)
	br.Reset(rd)
	defer func() { br.Reset(nil); readers.Put(br) }()
	resp, err := readResponse(br, method)
	if err != nil || !keepsConnection(resp) {
		return false
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return false
	}
	rest := answer[len(answer)-rd.Len()-br.Buffered():]
	if resp.TransferEncoding != nil {
		return onlyTrailer(rest)
	}
	return len(rest) == 0
}

// keepsConnection reports whether resp's connection may carry another
// request after it: its end is known (a length, chunks or no body, whose
// length readResponse sets to 0) and neither side asked to close.
func keepsConnection(resp *http.Response) bool {
	return !resp.Close && (resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0)
}

// onlyTrailer reports whether rest, what follows a chunked body's last
// chunk, is its trailer section and nothing more, read as net/http reads
// it: CR LF alone, or at most 4 KiB of header lines up to the first
// blank line, CR LF CR LF, which ends rest.
func onlyTrailer(rest []byte) bool {
	if string(rest) == "\r\n" {
		return true
	}
	if len(rest) < 4 || len(rest) > 4096 || bytes.Index(rest, []byte("\r\n\r\n")) != len(rest)-4 {
		return false
	}
	tr := bufio.NewReader(bytes.NewReader(rest))
	_, err := textproto.NewReader(tr).ReadMIMEHeader()
	return err == nil && tr.Buffered() == 0
}
