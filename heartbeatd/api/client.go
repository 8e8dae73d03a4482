// Client: a minimal synchronous API client (cl_status, tests).
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// ResultError is returned when a reply's result is not OK (or ok/more).
type ResultError struct {
	ReqType string
	Result  string // fail, badreq, or whatever the server sent
	Info    string // the server's reason, may be empty
}

func (e *ResultError) Error() string {
	if e.Info == "" {
		return fmt.Sprintf("API request %s: result %s", e.ReqType, e.Result)
	}
	return fmt.Sprintf("API request %s: result %s (%s)", e.ReqType, e.Result, e.Info)
}

// ErrNoTimelyResponse is returned by ClientStatus when no answer came in
// time; the text is classic's.
var ErrNoTimelyResponse = errors.New("No timely response.")

// Client is one connection to the API socket. Requests are serialized.
type Client struct {
	mu      sync.Mutex
	conn    net.Conn
	timeout time.Duration
	pid     string
	id      string // from_id: the pid until a named signon
}

// Dial connects to the API socket at path. timeout bounds the dial and,
// unless zero, each later request.
func Dial(path string, timeout time.Duration) (*Client, error) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return DialContext(ctx, path, timeout)
}

// DialContext is Dial bounded by ctx.
func DialContext(ctx context.Context, path string, timeout time.Duration) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connecting to API socket: %w", err)
	}
	pid := strconv.Itoa(os.Getpid())
	return &Client{conn: c, timeout: timeout, pid: pid, id: pid}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Request sends `t=hbapi-req reqtype=<reqtype> pid= from_id= <fields>` and
// returns the single reply. fields are name, value pairs. A reply whose
// result is not OK is returned together with a *ResultError.
func (c *Client) Request(reqtype string, fields ...string) (*wire.Message, error) {
	return c.RequestContext(context.Background(), reqtype, fields...)
}

// RequestContext is Request bounded by ctx as well as the client's timeout.
func (c *Client) RequestContext(ctx context.Context, reqtype string, fields ...string) (*wire.Message, error) {
	replies, err := c.exchange(ctx, reqtype, false, fields)
	if len(replies) == 0 {
		return nil, err
	}
	return replies[0], err
}

// RequestAll is Request for list requests (nodelist, iflist): it collects
// replies until one whose result is not ok/more.
func (c *Client) RequestAll(reqtype string, fields ...string) ([]*wire.Message, error) {
	return c.RequestAllContext(context.Background(), reqtype, fields...)
}

// RequestAllContext is RequestAll bounded by ctx as well as the client's timeout.
func (c *Client) RequestAllContext(ctx context.Context, reqtype string, fields ...string) ([]*wire.Message, error) {
	return c.exchange(ctx, reqtype, true, fields)
}

// Signon signs on as clientID, or as a casual client when clientID is "",
// sending the process's pid, effective uid and gid like classic
// hb_api_signon. The reply is returned even when the signon is refused
// (then with a *ResultError): its deadtime field tells a refusing daemon
// from one that does not know signon.
func (c *Client) Signon(ctx context.Context, clientID string) (*wire.Message, error) {
	id := clientID
	if id == "" {
		id = c.pid
	}
	req := wire.New(TypeRequest).Add(FieldReqType, ReqSignon).Add(FieldPID, c.pid).Add(FieldFromID, id).
		Add(FieldUID, strconv.Itoa(os.Geteuid())).Add(FieldGID, strconv.Itoa(os.Getegid()))
	replies, err := c.roundTrip(ctx, ReqSignon, req, false)
	if err == nil {
		c.mu.Lock()
		c.id = id
		c.mu.Unlock()
	}
	if len(replies) == 0 {
		return nil, err
	}
	return replies[0], err
}

// Signoff tells the daemon the client leaves and waits, within ctx and the
// client's timeout, until the daemon has closed the connection: by then the
// client's name is free again. Messages still arriving are discarded.
func (c *Client) Signoff(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := wire.New(TypeRequest).Add(FieldReqType, ReqSignoff).Add(FieldPID, c.pid).Add(FieldFromID, c.id)
	stop := c.deadlines(ctx)
	defer stop()
	if err := WriteMessage(c.conn, req); err != nil {
		return wrapErr(ctx, ReqSignoff, err)
	}
	for {
		if _, err := ReadFrame(c.conn); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return wrapErr(ctx, ReqSignoff, err)
		}
	}
}

// Send writes one message (a cluster message, signoff) without waiting for
// anything back.
func (c *Client) Send(ctx context.Context, m *wire.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.deadlines(ctx)
	defer stop()
	if err := WriteMessage(c.conn, m); err != nil {
		return fmt.Errorf("sending %s message: %w", m.Type(), err)
	}
	return nil
}

// ClientStatus asks for the status of client at node (online or offline)
// and waits up to wait for the answer, which may come from the node itself
// (respond-cstatus); a negative wait waits as long as ctx and the client's
// timeout allow. Other messages are skipped. ErrNoTimelyResponse means no
// answer came; a reply other than OK, or an answer without status, gives a
// *ResultError.
func (c *Client) ClientStatus(ctx context.Context, node, client string, wait time.Duration) (string, error) {
	c.mu.Lock()
	req := wire.New(TypeRequest).Add(FieldReqType, ReqClientStatus).Add(FieldPID, c.pid).Add(FieldFromID, c.id).
		Add(FieldNode, node).Add(FieldClientName, client)
	c.mu.Unlock()
	parent := ctx
	var waitEnd time.Time
	if wait >= 0 {
		var cancel context.CancelFunc
		waitEnd = time.Now().Add(wait)
		ctx, cancel = context.WithDeadline(ctx, waitEnd)
		defer cancel()
	}
	m, err := c.await(ctx, ReqClientStatus, req, func(m *wire.Message) bool {
		return m.Type() == TypeRespondCStatus || m.Get(FieldSubType) == TypeRespondCStatus
	})
	if err != nil {
		// Our own wait ran out, not the caller's limit.
		if wait >= 0 && !time.Now().Before(waitEnd) && parent.Err() == nil {
			if pd, ok := parent.Deadline(); !ok || pd.After(waitEnd) {
				return "", ErrNoTimelyResponse
			}
		}
		return "", err
	}
	cs, ok := m.Lookup(FieldClientStatus)
	if res := m.Get(FieldResult); res != ResultOK || !ok {
		return "", &ResultError{ReqType: ReqClientStatus, Result: res, Info: m.Get(FieldInfo)}
	}
	return cs, nil
}

// deadlines applies ctx and the client's timeout to the connection until
// the returned stop is called. c.mu must be held.
func (c *Client) deadlines(ctx context.Context) (stop func() bool) {
	deadline, has := ctx.Deadline()
	if c.timeout > 0 {
		if t := time.Now().Add(c.timeout); !has || t.Before(deadline) {
			deadline, has = t, true
		}
	}
	if has {
		c.conn.SetDeadline(deadline)
	} else {
		c.conn.SetDeadline(time.Time{})
	}
	// stop must also keep a cancellation already under way from cutting
	// into the next request.
	var mu sync.Mutex
	stopped := false
	stopFunc := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			c.conn.SetDeadline(time.Unix(1, 0))
		}
	})
	return func() bool {
		mu.Lock()
		stopped = true
		mu.Unlock()
		return stopFunc()
	}
}

// wrapErr names the request and reports ctx's end when it caused err.
func wrapErr(ctx context.Context, reqtype string, err error) error {
	cerr := ctx.Err()
	ctxDeadline, ctxHas := ctx.Deadline()
	if cerr == nil && ctxHas && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(ctxDeadline) {
		cerr = context.DeadlineExceeded // the conn deadline fired before ctx's timer
	}
	if cerr != nil {
		return fmt.Errorf("API request %s: %w", reqtype, errors.Join(cerr, err))
	}
	return fmt.Errorf("API request %s: %w", reqtype, err)
}

// await sends req and returns the first message match accepts.
func (c *Client) await(ctx context.Context, reqtype string, req *wire.Message, match func(*wire.Message) bool) (*wire.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.deadlines(ctx)
	defer stop()
	if err := WriteMessage(c.conn, req); err != nil {
		return nil, wrapErr(ctx, reqtype, err)
	}
	for {
		m, err := ReadMessage(c.conn)
		if err != nil {
			return nil, wrapErr(ctx, reqtype, err)
		}
		if match(m) {
			return m, nil
		}
	}
}

func (c *Client) exchange(ctx context.Context, reqtype string, list bool, fields []string) ([]*wire.Message, error) {
	if len(fields)%2 != 0 {
		return nil, fmt.Errorf("API request %s: odd number of field arguments", reqtype)
	}
	c.mu.Lock()
	req := wire.New(TypeRequest).Add(FieldReqType, reqtype).Add(FieldPID, c.pid).Add(FieldFromID, c.id)
	c.mu.Unlock()
	for i := 0; i < len(fields); i += 2 {
		req.Add(fields[i], fields[i+1])
	}
	return c.roundTrip(ctx, reqtype, req, list)
}

// roundTrip sends req and collects its replies: one, or for a list request
// every reply up to the first whose result is not ok/more. Messages that
// are not replies (deliveries to a signed-on client) are skipped.
func (c *Client) roundTrip(ctx context.Context, reqtype string, req *wire.Message, list bool) ([]*wire.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.deadlines(ctx)
	defer stop()
	if err := WriteMessage(c.conn, req); err != nil {
		return nil, wrapErr(ctx, reqtype, err)
	}
	var replies []*wire.Message
	for {
		m, err := ReadMessage(c.conn)
		if err != nil {
			return replies, wrapErr(ctx, reqtype, err)
		}
		if m.Type() != TypeResponse {
			continue // not ours (a signed-on client may see cluster messages)
		}
		replies = append(replies, m)
		res := m.Get(FieldResult)
		if list && res == ResultMore {
			continue
		}
		if res != ResultOK && res != ResultMore {
			return replies, &ResultError{ReqType: reqtype, Result: res, Info: m.Get(FieldInfo)}
		}
		return replies, nil
	}
}
