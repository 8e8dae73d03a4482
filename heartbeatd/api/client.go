// Client: a minimal synchronous API client (cl_status, tests).
package api

import (
	"context"
	"errors"
	"fmt"
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

// Client is one connection to the API socket. Requests are serialized.
type Client struct {
	mu      sync.Mutex
	conn    net.Conn
	timeout time.Duration
	pid     string
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
	return &Client{conn: c, timeout: timeout, pid: strconv.Itoa(os.Getpid())}, nil
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

func (c *Client) exchange(ctx context.Context, reqtype string, list bool, fields []string) ([]*wire.Message, error) {
	if len(fields)%2 != 0 {
		return nil, fmt.Errorf("API request %s: odd number of field arguments", reqtype)
	}
	req := wire.New(TypeRequest).Add(FieldReqType, reqtype).Add(FieldPID, c.pid).Add(FieldFromID, c.pid)
	for i := 0; i < len(fields); i += 2 {
		req.Add(fields[i], fields[i+1])
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	ctxDeadline, ctxHas := ctx.Deadline()
	deadline, has := ctxDeadline, ctxHas
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
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	wrap := func(err error) error {
		cerr := ctx.Err()
		if cerr == nil && ctxHas && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(ctxDeadline) {
			cerr = context.DeadlineExceeded // the conn deadline fired before ctx's timer
		}
		if cerr != nil {
			return fmt.Errorf("API request %s: %w", reqtype, errors.Join(cerr, err))
		}
		return fmt.Errorf("API request %s: %w", reqtype, err)
	}
	if err := WriteMessage(c.conn, req); err != nil {
		return nil, wrap(err)
	}
	var replies []*wire.Message
	for {
		m, err := ReadMessage(c.conn)
		if err != nil {
			return replies, wrap(err)
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
