// rawdial.go: a check's TCP connection from socket and connect alone, waited on by Go's poller.

package check

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawConn is a TCP connection opened with socket(2) and a non-blocking
// connect(2) alone, then read and written as an *os.File on Go's poller
// (deadlines and cancellation work as on a net.Conn). net.Dialer spends
// five more system calls on every connection (bind to the wildcard
// address, TCP_NODELAY, SO_ERROR, getsockname, getpeername) and, while
// connecting, a write deadline, a context.AfterFunc and a park of the
// goroutine even when the handshake is already done (on loopback it is,
// when connect returns); at thousands of checks a second that is a good
// part of a check's CPU. On the wire nothing changes: the same SYN, and
// the request in one write (writeRequest), which Nagle's algorithm does
// not hold back (nothing is unacknowledged before it).
//
// The connect completes in the first Write, which waits for it: errors of
// the handshake (refused, unreachable, the deadline) read as net.Dialer's,
// "dial tcp ADDR: connect: ...".
type rawConn struct {
	f         *os.File
	raddr     *net.TCPAddr
	connected bool // a write went through: errors are no longer the dial's
}

// dialRaw starts connecting to ap, which has no zone. The handshake ends
// in the first Write.
func dialRaw(ap netip.AddrPort) (*rawConn, error) {
	raddr := net.TCPAddrFromAddrPort(ap)
	a := ap.Addr().Unmap()
	var sa unix.Sockaddr
	family := unix.AF_INET
	if a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, dialError(raddr, os.NewSyscallError("socket", err))
	}
	switch err := unix.Connect(fd, sa); err {
	case nil, unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
	default:
		unix.Close(fd)
		return nil, dialError(raddr, os.NewSyscallError("connect", err))
	}
	// A non-blocking descriptor: os.NewFile puts it on the poller.
	return &rawConn{f: os.NewFile(uintptr(fd), "tcp"), raddr: raddr}, nil
}

func dialError(raddr *net.TCPAddr, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
}

// Write writes b, the first time once the connection is up.
func (c *rawConn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	if err == nil {
		c.connected = true
		return n, nil
	}
	err = unwrapPath(err)
	var errno syscall.Errno
	if !c.connected && (!errors.As(err, &errno) || errno != syscall.EPIPE && errno != syscall.ECONNRESET) {
		// Still connecting: the deadline, or the handshake's error
		// (refused, unreachable) which the first write reports. A reset
		// or broken pipe means the connection was up and then dropped.
		if errno != 0 {
			err = os.NewSyscallError("connect", errno)
		}
		return n, dialError(c.raddr, err)
	}
	return n, &net.OpError{Op: "write", Net: "tcp", Addr: c.raddr, Err: err}
}

// Read reads as a net.Conn: io.EOF at the end, net.OpError else.
func (c *rawConn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	if err != nil && err != io.EOF {
		err = &net.OpError{Op: "read", Net: "tcp", Addr: c.raddr, Err: unwrapPath(err)}
	}
	return n, err
}

func (c *rawConn) SetDeadline(t time.Time) error { return c.f.SetDeadline(t) }

func (c *rawConn) Close() error { return c.f.Close() }

// resetIfPeerClosed sets SO_LINGER 0, so the close sends a reset rather
// than a FIN, when the peer has closed its side with nothing left unread
// (see direct).
func (c *rawConn) resetIfPeerClosed() {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if peerClosedFD(int(fd)) {
			unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		}
	})
}

// unwrapPath drops the *os.PathError an *os.File wraps its errors in
// (its "name" is no address), keeping the cause.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errno, ok := pe.Err.(*os.SyscallError); ok {
			return errno.Err
		}
		return pe.Err
	}
	return err
}
