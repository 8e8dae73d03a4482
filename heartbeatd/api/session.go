// Session: a signed-on API client that receives cluster messages and status changes (ipfail).
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

// ErrSessionClosed is returned by requests on a session whose connection
// has ended; Session.Err tells why.
var ErrSessionClosed = errors.New("API session closed")

// Session is a named client signed on to the daemon, as classic client_lib
// keeps one for ipfail: one connection carries the requests' replies and
// the messages the daemon delivers. One reader goroutine sorts them: a
// reply (t=hbapi-resp) goes to the request waiting for it, everything else
// is queued, in arrival order and without limit, for Messages, so that a
// request never waits behind an unread delivery (classic read_api_msg
// queues them the same way). Requests are serialized; a session is safe
// for concurrent use.
type Session struct {
	conn      net.Conn
	pid       string
	id        string
	node      string
	keepalive time.Duration
	deadtime  time.Duration

	reqMu sync.Mutex // one request at a time

	mu     sync.Mutex
	queue  []*wire.Message // deliveries not yet handed to out
	wake   chan struct{}   // signalled when queue grows or the reader ends
	rq     []*wire.Message // replies not yet taken by a request
	rwake  chan struct{}   // signalled when rq grows or the reader ends
	ended  bool            // the reader has stopped
	err    error           // why it stopped
	out    chan *wire.Message
	closed chan struct{} // closed when the reader has stopped
	stop   chan struct{} // closed by Close
	once   sync.Once
}

// Signon connects to the API socket and signs on as clientName with the
// process's pid, effective uid and gid (classic hb_api_signon). A refused
// signon returns a *ResultError carrying the daemon's reason. ctx bounds
// the connection and the signon only.
func Signon(ctx context.Context, socket, clientName string) (*Session, error) {
	if clientName == "" {
		return nil, errors.New("API signon: a session needs a client name")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("connecting to API socket: %w", err)
	}
	s := &Session{
		conn:   c,
		pid:    strconv.Itoa(os.Getpid()),
		id:     clientName,
		wake:   make(chan struct{}, 1),
		rwake:  make(chan struct{}, 1),
		out:    make(chan *wire.Message),
		closed: make(chan struct{}),
		stop:   make(chan struct{}),
	}
	go s.read()
	go s.pump()
	req := wire.New(TypeRequest).Add(FieldReqType, ReqSignon).Add(FieldPID, s.pid).Add(FieldFromID, clientName).
		Add(FieldUID, strconv.Itoa(os.Geteuid())).Add(FieldGID, strconv.Itoa(os.Getegid()))
	replies, err := s.roundTrip(ctx, ReqSignon, req, false)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("API signon as %s: %w", clientName, err)
	}
	r := replies[0]
	s.node = r.Get(FieldNode)
	if v, ok := parseHex(r.Get(FieldKeepalive)); ok {
		s.keepalive = time.Duration(v) * time.Millisecond
	}
	if v, ok := parseHex(r.Get(FieldDeadtime)); ok {
		s.deadtime = time.Duration(v) * time.Millisecond
	}
	return s, nil
}

// LocalNode is the local node's name from the signon reply.
func (s *Session) LocalNode() string { return s.node }

// Keepalive is the daemon's keepalive from the signon reply.
func (s *Session) Keepalive() time.Duration { return s.keepalive }

// Deadtime is the daemon's deadtime from the signon reply.
func (s *Session) Deadtime() time.Duration { return s.deadtime }

// ClientID is the name the session signed on with.
func (s *Session) ClientID() string { return s.id }

// Messages delivers, in arrival order, every message the daemon sends that
// is not a reply: cluster messages (to_id or not), t=status and t=NS_st
// node status changes, t=ifstat link changes, hbapi-clstat. The channel is
// closed when the connection ends; Err then tells why.
func (s *Session) Messages() <-chan *wire.Message { return s.out }

// Done is closed when the connection has ended.
func (s *Session) Done() <-chan struct{} { return s.closed }

// Err is why the connection ended (io.EOF when the daemon closed it), or
// nil while it lasts.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close closes the connection without signing off.
func (s *Session) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		err = s.conn.Close()
	})
	<-s.closed
	return err
}

// Signoff signs off (the daemon then closes the connection) and waits, within
// ctx, until the connection has ended; then it closes it.
func (s *Session) Signoff(ctx context.Context) error {
	req := wire.New(TypeRequest).Add(FieldReqType, ReqSignoff).Add(FieldPID, s.pid).Add(FieldFromID, s.id)
	if err := s.write(ctx, req); err != nil {
		s.Close()
		return fmt.Errorf("API request %s: %w", ReqSignoff, err)
	}
	select {
	case <-s.closed:
	case <-ctx.Done():
		s.Close()
		return fmt.Errorf("API request %s: %w", ReqSignoff, ctx.Err())
	}
	return s.Close()
}

// Request sends `t=hbapi-req reqtype=<reqtype> pid= from_id= <fields>` and
// returns its reply; fields are name, value pairs. A reply whose result is
// not OK comes with a *ResultError.
func (s *Session) Request(ctx context.Context, reqtype string, fields ...string) (*wire.Message, error) {
	replies, err := s.exchange(ctx, reqtype, false, fields)
	if len(replies) == 0 {
		return nil, err
	}
	return replies[len(replies)-1], err
}

// RequestAll is Request for list requests (nodelist, iflist): every reply
// up to the first whose result is not ok/more.
func (s *Session) RequestAll(ctx context.Context, reqtype string, fields ...string) ([]*wire.Message, error) {
	return s.exchange(ctx, reqtype, true, fields)
}

// Nodes returns every node with its type and status (nodelist).
func (s *Session) Nodes(ctx context.Context) ([]NodeInfo, error) {
	replies, err := s.RequestAll(ctx, ReqNodeList)
	if err != nil {
		return nil, err
	}
	var nodes []NodeInfo
	for _, r := range replies {
		if name, ok := r.Lookup(FieldNode); ok {
			nodes = append(nodes, NodeInfo{Name: name, Type: r.Get(FieldNodeType), Status: r.Get(FieldStatus)})
		}
	}
	return nodes, nil
}

// NodeStatus returns a node's status (nodestatus).
func (s *Session) NodeStatus(ctx context.Context, node string) (string, error) {
	r, err := s.Request(ctx, ReqNodeStatus, FieldNode, node)
	if err != nil {
		return "", err
	}
	return r.Get(FieldStatus), nil
}

// NodeType returns a node's type (nodetype).
func (s *Session) NodeType(ctx context.Context, node string) (string, error) {
	r, err := s.Request(ctx, ReqNodeType, FieldNode, node)
	if err != nil {
		return "", err
	}
	return r.Get(FieldNodeType), nil
}

// Param returns a parameter's value (getparm); ok is false when it is unset.
func (s *Session) Param(ctx context.Context, name string) (value string, ok bool, err error) {
	r, err := s.Request(ctx, ReqGetParm, FieldPName, name)
	if err != nil {
		return "", false, err
	}
	value, ok = r.Lookup(FieldPValue)
	return value, ok, nil
}

// Resources returns the local resource state (getrsc): none, local,
// foreign, all or transition. A daemon that does not manage resources
// answers with a *ResultError.
func (s *Session) Resources(ctx context.Context) (string, error) {
	r, err := s.Request(ctx, ReqGetRsc)
	if err != nil {
		return "", err
	}
	v, ok := r.Lookup(FieldResources)
	if !ok {
		return "", &ResultError{ReqType: ReqGetRsc, Result: r.Get(FieldResult), Info: "no " + FieldResources + " in reply"}
	}
	return v, nil
}

// SetFilter sets which treatments of messages the session receives.
func (s *Session) SetFilter(ctx context.Context, mask Treatment) error {
	_, err := s.Request(ctx, ReqSetFilter, FieldFilterMask, strconv.FormatUint(uint64(mask), 16))
	return err
}

// SetSignal sets the signal the daemon sends after each delivery (0: none).
func (s *Session) SetSignal(ctx context.Context, sig int) error {
	_, err := s.Request(ctx, ReqSetSignal, FieldSignal, strconv.Itoa(sig))
	return err
}

// SendClusterMessage sends msg to the cluster; the daemon adds from_id,
// to_id (this client's name) and client_gen, so it reaches the clients of
// the same name (classic sendclustermsg). No reply comes back.
func (s *Session) SendClusterMessage(ctx context.Context, msg *wire.Message) error {
	if err := s.write(ctx, msg); err != nil {
		return fmt.Errorf("sending %s message: %w", msg.Type(), err)
	}
	return nil
}

// SendNodeMessage is SendClusterMessage to one node: it sets dest=node
// (classic sendnodemsg) on a copy of msg.
func (s *Session) SendNodeMessage(ctx context.Context, msg *wire.Message, node string) error {
	if node == "" {
		return fmt.Errorf("sending %s message: no destination node", msg.Type())
	}
	return s.SendClusterMessage(ctx, msg.Clone().Set(FieldDest, node))
}

// write sends one frame within ctx.
func (s *Session) write(ctx context.Context, m *wire.Message) error {
	select {
	case <-s.closed:
		return s.closedErr()
	default:
	}
	b, err := AppendFrame(nil, m)
	if err != nil {
		return err
	}
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		s.conn.SetWriteDeadline(d)
	} else {
		s.conn.SetWriteDeadline(time.Time{})
	}
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("writing %d-byte frame: %w", len(b), err)
	}
	return nil
}

func (s *Session) closedErr() error {
	if err := s.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", ErrSessionClosed, err)
	}
	return ErrSessionClosed
}

func (s *Session) exchange(ctx context.Context, reqtype string, list bool, fields []string) ([]*wire.Message, error) {
	if len(fields)%2 != 0 {
		return nil, fmt.Errorf("API request %s: odd number of field arguments", reqtype)
	}
	req := wire.New(TypeRequest).Add(FieldReqType, reqtype).Add(FieldPID, s.pid).Add(FieldFromID, s.id)
	for i := 0; i < len(fields); i += 2 {
		req.Add(fields[i], fields[i+1])
	}
	return s.roundTrip(ctx, reqtype, req, list)
}

// roundTrip sends req and collects its replies. Replies to another request
// type (left over from a request abandoned by its context) are skipped.
func (s *Session) roundTrip(ctx context.Context, reqtype string, req *wire.Message, list bool) ([]*wire.Message, error) {
	b, err := AppendFrame(nil, req)
	if err != nil {
		return nil, fmt.Errorf("API request %s: %w", reqtype, err)
	}
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	select {
	case <-s.closed:
		return nil, fmt.Errorf("API request %s: %w", reqtype, s.closedErr())
	default:
	}
	s.mu.Lock()
	s.rq = nil // stale replies of abandoned requests
	s.mu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		s.conn.SetWriteDeadline(d)
	} else {
		s.conn.SetWriteDeadline(time.Time{})
	}
	if _, err := s.conn.Write(b); err != nil {
		return nil, fmt.Errorf("API request %s: writing: %w", reqtype, err)
	}
	var replies []*wire.Message
	// take handles one reply; done reports the end of the exchange.
	take := func(m *wire.Message) (done bool, err error) {
		if rt, ok := m.Lookup(FieldReqType); ok && rt != reqtype {
			return false, nil
		}
		replies = append(replies, m)
		res := m.Get(FieldResult)
		if list && res == ResultMore {
			return false, nil
		}
		if res != ResultOK && res != ResultMore {
			return true, &ResultError{ReqType: reqtype, Result: res, Info: m.Get(FieldInfo)}
		}
		return true, nil
	}
	for {
		s.mu.Lock()
		var m *wire.Message
		if len(s.rq) > 0 {
			m = s.rq[0]
			s.rq = s.rq[1:]
		}
		ended := s.ended
		s.mu.Unlock()
		if m != nil {
			if done, err := take(m); done {
				return replies, err
			}
			continue
		}
		if ended {
			return replies, fmt.Errorf("API request %s: %w", reqtype, s.closedErr())
		}
		select {
		case <-ctx.Done():
			return replies, fmt.Errorf("API request %s: %w", reqtype, ctx.Err())
		case <-s.rwake:
		}
	}
}

// read sorts incoming frames until the connection ends.
func (s *Session) read() {
	var err error
	for {
		var m *wire.Message
		m, err = ReadMessage(s.conn)
		if err != nil {
			break
		}
		if m.Type() == TypeResponse {
			s.mu.Lock()
			s.rq = append(s.rq, m)
			s.mu.Unlock()
			notify(s.rwake)
			continue
		}
		s.mu.Lock()
		s.queue = append(s.queue, m)
		s.mu.Unlock()
		notify(s.wake)
	}
	select {
	case <-s.stop:
		err = ErrSessionClosed
	default:
	}
	s.mu.Lock()
	s.ended, s.err = true, err
	s.mu.Unlock()
	close(s.closed)
	notify(s.wake)
	notify(s.rwake)
}

// notify wakes whoever waits on c without ever blocking.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// pump hands queued deliveries to Messages, then closes it once the reader
// has ended and the queue is empty, or at once after Close.
func (s *Session) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		var m *wire.Message
		if len(s.queue) > 0 {
			m = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
		}
		ended := s.ended
		s.mu.Unlock()
		if m == nil {
			if ended {
				return
			}
			select {
			case <-s.wake:
			case <-s.stop:
				return
			}
			continue
		}
		select {
		case s.out <- m:
		case <-s.stop:
			return
		}
	}
}
