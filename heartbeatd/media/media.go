// Package media implements heartbeat's communication media: the UDP ones,
// bcast, mcast, ucast and their IPv6 forms mcast6 and ucast6, and the ICMP
// echo medium of ping nodes (ping.go).
//
// Each medium has two sockets, as in heartbeat 3.0.6: a send socket bound to
// an ephemeral port, and a receive socket bound to the heartbeat port with
// SO_REUSEADDR and SO_BINDTODEVICE to the medium's interface, so a packet is
// counted for the link it really arrived on. A medium moves opaque packets;
// encoding and authentication belong to package wire.
package media

// media.go: Spec, the Medium interface, Open and the shared UDP read loop.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxMessage is the largest packet heartbeat sends (MAXMSG, 256 KiB, as
// wire.MaxMessage); the read buffer has slack beyond it so an oversized
// packet still arrives whole and is rejected by the decoder, not cut here.
const maxMessage = 256 * 1024

// readBuffer is the receive buffer size: maxMessage plus slack.
const readBuffer = maxMessage + 4096

// Medium kinds, as written in ha.cf.
const (
	KindBcast  = "bcast"
	KindMcast  = "mcast"
	KindUcast  = "ucast"
	KindMcast6 = "mcast6"
	KindUcast6 = "ucast6"
)

// Spec describes one medium, as one ha.cf media directive.
type Spec struct {
	Kind  string // bcast, mcast, ucast, mcast6 or ucast6
	Iface string // interface name
	Addr  string // mcast group or ucast peer (address or host name)
	Port  int    // UDP port: udpport for bcast/ucast, the line's port for mcast
	TTL   int    // mcast TTL, mcast6 hop limit
	Loop  bool   // mcast/mcast6: deliver our own packets to us

	// OnError, if set, is called with receive errors that Run survives
	// (for logging). It is called from Run's goroutine.
	OnError func(error)
}

// Medium is one open communication medium.
type Medium interface {
	// Name identifies the medium in logs: "bcast hb0", "ucast hb0".
	Name() string
	// Link is the link name for per-node link status: the interface name.
	Link() string
	// Send transmits one packet. It never waits for socket buffer space:
	// when the buffer is full the packet is dropped and an error returned.
	Send(pkt []byte) error
	// Run reads packets until ctx is done or Close is called (then it
	// returns nil), calling deliver with a fresh copy of each packet.
	// Call it once per medium, from one goroutine.
	Run(ctx context.Context, deliver func(pkt []byte, from netip.AddrPort)) error
	// Close closes both sockets; Run returns.
	Close() error
}

// Validate checks s without touching the system (host names in Addr are
// resolved by Open, not here).
func (s Spec) Validate() error {
	if s.Iface == "" {
		return fmt.Errorf("%s: no interface", s.Kind)
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("%s %s: port %d out of range 1..65535", s.Kind, s.Iface, s.Port)
	}
	switch s.Kind {
	case KindBcast:
		return nil
	case KindMcast, KindMcast6:
		a, err := netip.ParseAddr(s.Addr)
		if err != nil {
			return fmt.Errorf("%s %s: bad multicast group %q", s.Kind, s.Iface, s.Addr)
		}
		if s.Kind == KindMcast && !a.Is4() || s.Kind == KindMcast6 && (!a.Is6() || a.Is4In6()) {
			return fmt.Errorf("%s %s: %s is not an IPv%s address", s.Kind, s.Iface, s.Addr, family(s.Kind))
		}
		if !a.IsMulticast() {
			return fmt.Errorf("%s %s: %s is not a multicast address", s.Kind, s.Iface, s.Addr)
		}
		if s.TTL < 0 || s.TTL > 255 {
			return fmt.Errorf("%s %s: ttl %d out of range 0..255", s.Kind, s.Iface, s.TTL)
		}
		return nil
	case KindUcast, KindUcast6:
		if s.Addr == "" {
			return fmt.Errorf("%s %s: no peer address", s.Kind, s.Iface)
		}
		a, err := netip.ParseAddr(s.Addr)
		if err != nil {
			return nil // a host name, resolved by Open
		}
		if s.Kind == KindUcast && !a.Is4() || s.Kind == KindUcast6 && (!a.Is6() || a.Is4In6()) {
			return fmt.Errorf("%s %s: %s is not an IPv%s address", s.Kind, s.Iface, s.Addr, family(s.Kind))
		}
		if a.IsMulticast() || a.IsUnspecified() {
			return fmt.Errorf("%s %s: %s is not a unicast address", s.Kind, s.Iface, s.Addr)
		}
		return nil
	}
	return fmt.Errorf("unknown medium kind %q", s.Kind)
}

// family returns "4" or "6" for a medium kind.
func family(kind string) string {
	if kind == KindMcast6 || kind == KindUcast6 {
		return "6"
	}
	return "4"
}

// Open validates s and opens its sockets.
func Open(s Spec) (Medium, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var m *udpMedium
	var err error
	switch s.Kind {
	case KindBcast:
		m, err = openBcast(s)
	case KindMcast:
		m, err = openMcast(s)
	case KindMcast6:
		m, err = openMcast6(s)
	case KindUcast, KindUcast6:
		m, err = openUcast(s)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", s.Kind, s.Iface, err)
	}
	return m, nil
}

// udpMedium is a medium over a pair of UDP sockets; the kinds differ only
// in how the sockets are set up and where packets go.
type udpMedium struct {
	name, link string
	send, recv *net.UDPConn
	dst        netip.AddrPort
	sa         unix.Sockaddr // dst, zone resolved at Open in the right namespace
	onError    func(error)

	closeOnce sync.Once
	closeErr  error
}

func (m *udpMedium) Name() string { return m.name }
func (m *udpMedium) Link() string { return m.link }

// Send writes pkt to the medium's destination without waiting.
func (m *udpMedium) Send(pkt []byte) error {
	rc, err := m.send.SyscallConn()
	if err != nil {
		return fmt.Errorf("%s: sending: %w", m.name, err)
	}
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), pkt, unix.MSG_DONTWAIT, m.sa)
		return true // never wait for buffer space
	})
	if werr != nil {
		serr = werr
	}
	if serr != nil {
		return fmt.Errorf("%s: sending to %s: %w", m.name, m.dst, serr)
	}
	return nil
}

// Run is the read loop. Read errors other than closure are reported to
// OnError and the loop goes on; a persistent error is retried at most every
// errorPause so it cannot spin.
func (m *udpMedium) Run(ctx context.Context, deliver func(pkt []byte, from netip.AddrPort)) error {
	stop := context.AfterFunc(ctx, func() {
		// Unblock the read; the deadline is never cleared, Run is done.
		_ = m.recv.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()
	buf := make([]byte, readBuffer)
	var lastErr time.Time
	for {
		n, _, flags, from, err := m.recv.ReadMsgUDPAddrPort(buf, nil)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			m.report(fmt.Errorf("%s: receiving: %w", m.name, err))
			if time.Since(lastErr) < errorPause {
				time.Sleep(errorPause)
			}
			lastErr = time.Now()
			continue
		}
		if flags&unix.MSG_TRUNC != 0 {
			m.report(fmt.Errorf("%s: dropped packet from %s longer than %d bytes", m.name, from, len(buf)))
			continue
		}
		pkt := make([]byte, n)
		copy(pkt, buf[:n])
		deliver(pkt, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
}

// errorPause spaces out retries after back-to-back receive errors.
const errorPause = 10 * time.Millisecond

func (m *udpMedium) report(err error) {
	if m.onError != nil {
		m.onError(err)
	}
}

// Close closes both sockets; later calls return the first result.
func (m *udpMedium) Close() error {
	m.closeOnce.Do(func() {
		err1 := m.recv.Close()
		err2 := m.send.Close()
		if err := errors.Join(err1, err2); err != nil {
			m.closeErr = fmt.Errorf("%s: closing: %w", m.name, err)
		}
	})
	return m.closeErr
}

// sockaddr converts a destination for unix.Sendto; a zone is an interface
// name (IPv6 link-local peers and groups).
func sockaddr(ap netip.AddrPort) (unix.Sockaddr, error) {
	a := ap.Addr()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		ifi, err := lookupIface(z)
		if err != nil {
			return nil, err
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, nil
}

// sockopt sets one socket option on a raw socket before bind.
type sockopt func(fd int) error

// listen opens a UDP socket on network ("udp4" or "udp6") bound to addr
// with opts applied before bind.
func listen(network, addr string, opts ...sockopt) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var oerr error
		if err := c.Control(func(fd uintptr) {
			for _, o := range opts {
				if oerr = o(int(fd)); oerr != nil {
					return
				}
			}
		}); err != nil {
			return err
		}
		return oerr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func reuseAddr(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("setting SO_REUSEADDR: %w", err)
	}
	return nil
}

func broadcast(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		return fmt.Errorf("setting SO_BROADCAST: %w", err)
	}
	return nil
}

func bindToDevice(iface string) sockopt {
	return func(fd int) error {
		if err := unix.BindToDevice(fd, iface); err != nil {
			return fmt.Errorf("binding to device: %w", err)
		}
		return nil
	}
}

// tosLowDelay is IPTOS_LOWDELAY, the type of service heartbeat's ucast sets.
const tosLowDelay = 0x10

// lowDelay sets IP_TOS LOWDELAY (IPv4) or the same traffic class (IPv6).
func lowDelay(v6 bool) sockopt {
	return func(fd int) error {
		var err error
		if v6 {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tosLowDelay)
		} else {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tosLowDelay)
		}
		if err != nil {
			return fmt.Errorf("setting TOS lowdelay: %w", err)
		}
		return nil
	}
}

// openPair opens the send socket (ephemeral port) and the receive socket
// (recvAddr, bound to the device, SO_REUSEADDR) of a medium.
func openPair(s Spec, network, recvAddr string, sendOpts []sockopt) (send, recv *net.UDPConn, err error) {
	send, err = listen(network, ":0", sendOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("opening send socket: %w", err)
	}
	recv, err = listen(network, recvAddr, reuseAddr, bindToDevice(s.Iface))
	if err != nil {
		send.Close()
		return nil, nil, fmt.Errorf("opening receive socket: %w", err)
	}
	return send, recv, nil
}

// lookupIface returns the interface, with an error naming it.
func lookupIface(name string) (*net.Interface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface not found: %w", err)
	}
	return ifi, nil
}

// newUDPMedium assembles a medium from its sockets; on error it closes them.
func newUDPMedium(s Spec, send, recv *net.UDPConn, dst netip.AddrPort) (*udpMedium, error) {
	sa, err := sockaddr(dst)
	if err != nil {
		send.Close()
		recv.Close()
		return nil, err
	}
	return &udpMedium{
		name:    s.Kind + " " + s.Iface,
		link:    s.Iface,
		send:    send,
		recv:    recv,
		dst:     dst,
		sa:      sa,
		onError: s.OnError,
	}, nil
}
