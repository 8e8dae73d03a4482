// Server: the listening socket, one goroutine per client connection, counters.
package api

import (
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

	"github.com/hasuite/hasuite/heartbeatd/config"
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
	// SocketMode is the permission of the API socket. As in classic (0777),
	// anyone who can reach it may connect: signon checks the peer's
	// credentials against apiauth, and the directory's permissions
	// (/run/heartbeat, 0750 hacluster:haclient) keep other users out.
	SocketMode = 0o666
)

// Counter names reported by Server.Counters and hasuite-counters.
const (
	CounterConns            = "api_connections"
	CounterConnsRejected    = "api_connections_rejected"
	CounterRequests         = "api_requests"
	CounterBadReq           = "api_badreq"
	CounterBadFrames        = "api_bad_frames"
	CounterWriteTimeouts    = "api_write_timeouts"
	CounterSignons          = "api_signons"
	CounterSignonsRefused   = "api_signons_refused"
	CounterClients          = "api_clients" // signed on now
	CounterDelivered        = "api_delivered"
	CounterDeliveryDropped  = "api_delivery_dropped"
	CounterClusterMessages  = "api_cluster_messages"
	CounterClusterSendError = "api_cluster_send_errors"
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

	auth   atomic.Pointer[Auth]
	signon atomic.Pointer[signonInfo]

	mu      sync.Mutex
	conns   map[*conn]struct{}
	clients map[string]*conn // signed-on clients by client id
	gen     int              // classic client_generation: one per signon attempt
	closed  bool
	wg      sync.WaitGroup

	nConns, nRejected, nRequests, nBadReq, nBadFrames, nWriteTimeouts   atomic.Uint64
	nSignons, nRefused, nDelivered, nDropped, nClusterMsgs, nSendErrors atomic.Uint64
}

// signonInfo is what a signon reply tells the client about the cluster.
type signonInfo struct {
	keepalive, deadtime time.Duration
	facility            int
}

// NewServer creates the socket at path (mode 0666, parent directory created
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
	srv := &Server{
		WriteTimeout: DefaultWriteTimeout,
		FrameTimeout: DefaultFrameTimeout,
		MaxConns:     DefaultMaxConns,
		path:         path,
		st:           st,
		log:          log.WithField("socket", path),
		ln:           ln,
		file:         fi,
		conns:        make(map[*conn]struct{}),
		clients:      make(map[string]*conn),
	}
	auth, _ := NewAuth(classicAuth) // unknown users only narrow the table
	srv.auth.Store(auth)
	srv.signon.Store(&signonInfo{keepalive: 2 * time.Second, deadtime: 30 * time.Second, facility: -1})
	return srv, nil
}

// SetAuth replaces the apiauth table (ha.cf apiauth lines; config.HACF.APIAuth
// already holds classic's defaults for unconfigured clients). It affects
// later signons only. Entries naming unknown users or groups are left out
// and reported in the error; the rest of the table is used regardless.
func (s *Server) SetAuth(entries []config.APIAuth) error {
	a, err := NewAuth(entries)
	s.auth.Store(a)
	if err != nil {
		return fmt.Errorf("API authorisation: %w", err)
	}
	return nil
}

// SetConfig applies ha.cf to the server: the apiauth table (see SetAuth)
// and the keepalive, deadtime and logfacility a signon reply reports. The
// daemon calls it at start and on every reload.
func (s *Server) SetConfig(c *config.HACF) error {
	s.signon.Store(&signonInfo{keepalive: c.Keepalive, deadtime: c.Deadtime, facility: facilityNumber(c.LogFacility)})
	return s.SetAuth(c.APIAuth)
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
		uc, err := s.ln.AcceptUnix()
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
		c := s.newConn(uc)
		if !s.track(c) {
			uc.Close()
			continue
		}
		s.nConns.Add(1)
		go c.writeLoop()
		go c.serve()
	}
}

// track registers c; it refuses when closed or at MaxConns.
func (s *Server) track(c *conn) bool {
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
	s.wg.Add(2) // reader and writer
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, closes every client connection and removes the
// socket file if it is still the one this server created. It is idempotent.
// Clients cut off by Close get no leave message: the daemon is stopping.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.uc.Close()
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
	s.mu.Lock()
	clients := len(s.clients)
	s.mu.Unlock()
	return map[string]uint64{
		CounterConns:            s.nConns.Load(),
		CounterConnsRejected:    s.nRejected.Load(),
		CounterRequests:         s.nRequests.Load(),
		CounterBadReq:           s.nBadReq.Load(),
		CounterBadFrames:        s.nBadFrames.Load(),
		CounterWriteTimeouts:    s.nWriteTimeouts.Load(),
		CounterSignons:          s.nSignons.Load(),
		CounterSignonsRefused:   s.nRefused.Load(),
		CounterClients:          uint64(clients),
		CounterDelivered:        s.nDelivered.Load(),
		CounterDeliveryDropped:  s.nDropped.Load(),
		CounterClusterMessages:  s.nClusterMsgs.Load(),
		CounterClusterSendError: s.nSendErrors.Load(),
	}
}
