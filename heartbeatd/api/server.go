// Server: the listening socket, one goroutine per client connection, counters.
package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// DefaultSocket is the classic API socket path.
const DefaultSocket = "/run/heartbeat/register"

// Defaults for the Server's tunables.
const (
	// DefaultWriteTimeout bounds one reply write: a client that stops reading
	// is dropped instead of pinning a goroutine and its buffers forever.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultFrameTimeout bounds the time from a frame's first byte to its
	// last; clients may idle between frames as long as they like (ipfail does).
	DefaultFrameTimeout = 10 * time.Second
	// DefaultMaxConns bounds concurrent client connections.
	DefaultMaxConns = 128
	// SocketMode is the permission of the API socket.
	SocketMode = 0o660
)

// Counter names reported by Server.Counters and hasuite-counters.
const (
	CounterConns         = "api_connections"
	CounterConnsRejected = "api_connections_rejected"
	CounterRequests      = "api_requests"
	CounterBadReq        = "api_badreq"
	CounterBadFrames     = "api_bad_frames"
	CounterWriteTimeouts = "api_write_timeouts"
)

// Server serves the client API on a unix stream socket.
type Server struct {
	// WriteTimeout, FrameTimeout and MaxConns may be changed before Serve.
	WriteTimeout time.Duration
	FrameTimeout time.Duration
	MaxConns     int

	path string
	st   State
	log  logrus.FieldLogger
	ln   *net.UnixListener
	file os.FileInfo // the socket file this server created

	mu     sync.Mutex
	conns  map[*net.UnixConn]struct{}
	closed bool
	wg     sync.WaitGroup

	nConns, nRejected, nRequests, nBadReq, nBadFrames, nWriteTimeouts atomic.Uint64
}

// NewServer creates the socket at path (mode 0660, parent directory created
// if missing). A stale socket is removed; if a process still accepts
// connections on it, or path is not a socket, NewServer fails.
func NewServer(path string, st State, log logrus.FieldLogger) (*Server, error) {
	if st == nil {
		return nil, errors.New("api: nil State")
	}
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating API socket directory: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on API socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // Close removes it only if it is still ours
	if err := os.Chmod(path, SocketMode); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("setting mode of API socket %s: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("API socket %s: %w", path, err)
	}
	return &Server{
		WriteTimeout: DefaultWriteTimeout,
		FrameTimeout: DefaultFrameTimeout,
		MaxConns:     DefaultMaxConns,
		path:         path,
		st:           st,
		log:          log.WithField("socket", path),
		ln:           ln,
		file:         fi,
		conns:        make(map[*net.UnixConn]struct{}),
	}, nil
}

// removeStale deletes a socket at path that nobody answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("API socket %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("API socket %s: exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("API socket %s: another daemon is listening on it", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing stale API socket: %w", err)
	}
	return nil
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// Serve accepts and serves clients until ctx is done or Close is called;
// then it returns nil after every connection has been closed.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	var backoff time.Duration
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if s.isClosed() {
				s.wg.Wait()
				return nil
			}
			// Out of file descriptors and the like: keep the API alive and
			// retry, backing off up to a second, like net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.WithError(err).WithField("retry", backoff).Error("accepting API client failed")
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			continue
		}
		backoff = 0
		if !s.track(c) {
			c.Close()
			continue
		}
		s.nConns.Add(1)
		go s.serveConn(c)
	}
}

// track registers c; it refuses when closed or at MaxConns.
func (s *Server) track(c *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.MaxConns > 0 && len(s.conns) >= s.MaxConns {
		s.nRejected.Add(1)
		s.log.WithField("limit", s.MaxConns).Warn("too many API clients: connection refused")
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *net.UnixConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
	s.wg.Done()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, closes every client connection and removes the
// socket file if it is still the one this server created. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	if fi, serr := os.Lstat(s.path); serr == nil && os.SameFile(fi, s.file) {
		if rerr := os.Remove(s.path); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("closing API socket %s: %w", s.path, err)
	}
	return nil
}

// Counters returns the server's own counters.
func (s *Server) Counters() map[string]uint64 {
	return map[string]uint64{
		CounterConns:         s.nConns.Load(),
		CounterConnsRejected: s.nRejected.Load(),
		CounterRequests:      s.nRequests.Load(),
		CounterBadReq:        s.nBadReq.Load(),
		CounterBadFrames:     s.nBadFrames.Load(),
		CounterWriteTimeouts: s.nWriteTimeouts.Load(),
	}
}

// serveConn answers one client's requests in order until it leaves, sends
// a bad frame, or stops reading its replies.
func (s *Server) serveConn(c *net.UnixConn) {
	defer s.untrack(c)
	log := s.log
	if pid, uid, ok := peerCred(c); ok {
		log = log.WithFields(logrus.Fields{"pid": pid, "uid": uid})
	}
	br := bufio.NewReader(c)
	var out []byte
	for {
		req, err := s.readRequest(c, br)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF), s.isClosed(), errors.Is(err, net.ErrClosed):
			case errors.Is(err, ErrBadMagic), errors.Is(err, ErrBadLength), errors.Is(err, ErrBadBody),
				errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrDeadlineExceeded):
				s.nBadFrames.Add(1)
				log.WithError(err).Warn("bad frame from API client: connection closed")
			default:
				log.WithError(err).Debug("API client read failed")
			}
			return
		}
		s.nRequests.Add(1)
		replies, bad := dispatch(s.st, req, s.Counters)
		if bad {
			s.nBadReq.Add(1)
			log.WithFields(logrus.Fields{"reqtype": req.Get(FieldReqType), "info": replies[0].Get(FieldInfo)}).
				Debug("bad API request")
		}
		out = out[:0]
		for _, r := range replies {
			if out, err = AppendFrame(out, r); err != nil {
				log.WithError(err).Error("API reply too large: connection closed")
				return
			}
		}
		c.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
		if _, err := c.Write(out); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				s.nWriteTimeouts.Add(1)
				log.WithField("timeout", s.WriteTimeout).Warn("API client does not read its replies: connection closed")
			} else if !s.isClosed() {
				log.WithError(err).Debug("API client write failed")
			}
			return
		}
	}
}

// readRequest waits without a deadline for the first byte of a frame, then
// gives the whole frame FrameTimeout to arrive.
func (s *Server) readRequest(c *net.UnixConn, br *bufio.Reader) (*wire.Message, error) {
	if _, err := br.Peek(1); err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(s.FrameTimeout))
	defer c.SetReadDeadline(time.Time{})
	return ReadMessage(br)
}
