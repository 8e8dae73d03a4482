// conn.go: helpers shared by the socket checkers: deadline-bound dialling, results, receive matching.

package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// run times f and turns its error into a Result, naming the deadline when
// ctx ended first.
func run(ctx context.Context, f func() error) Result {
	start := time.Now()
	err := f()
	if err != nil {
		cerr := ctx.Err()
		if _, ok := ctx.Deadline(); ok && cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			cerr = context.DeadlineExceeded // the socket deadline, which is ctx's, came first
		}
		if cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
	}
	return Result{OK: err == nil, Err: err, Latency: time.Since(start)}
}

// hostport is the real's address with the check port, for dialling.
func hostport(t Target) string {
	return net.JoinHostPort(t.Real.Addr().String(), strconv.Itoa(int(t.Port())))
}

// hostName is an address as classic prints it: IPv6 in brackets.
func hostName(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "[" + a.String() + "]"
	}
	return a.Unmap().String()
}

// dial connects to the target over TCP and binds the connection to ctx: its
// deadline becomes the socket deadline and cancelling ctx unblocks any I/O.
// The returned stop must be called (it closes the connection).
func dial(ctx context.Context, t Target) (net.Conn, func(), error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", hostport(t))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", hostport(t), err)
	}
	return c, bind(ctx, c), nil
}

// bind ties c to ctx (see dial) and returns the function closing it.
func bind(ctx context.Context, c interface {
	SetDeadline(time.Time) error
	Close() error
}) func() {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		c.Close()
	}
}

// receiveRE compiles the receive expression; nil for an empty one.
// Compiled expressions are kept: a config has few, and they are used on
// every check.
func receiveRE(receive string) (*regexp.Regexp, error) {
	if receive == "" {
		return nil, nil
	}
	if re, ok := receiveREs.Load(receive); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(receive)
	if err != nil {
		return nil, fmt.Errorf("receive %q: %w", receive, err)
	}
	receiveREs.Store(receive, re)
	return re, nil
}

var receiveREs sync.Map // receive → *regexp.Regexp

// lineConn is a connection read line by line.
type lineConn struct {
	net.Conn
	r *bufio.Reader
}

func newLineConn(c net.Conn) *lineConn { return &lineConn{c, bufio.NewReader(c)} }

// line reads one line without its CR LF.
func (c *lineConn) line() (string, error) {
	s, err := c.r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading from %s: %w", c.RemoteAddr(), err)
	}
	return trimEOL(s), nil
}

// send writes one command line with CR LF.
func (c *lineConn) send(cmd string) error {
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return fmt.Errorf("writing to %s: %w", c.RemoteAddr(), err)
	}
	return nil
}

func trimEOL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
