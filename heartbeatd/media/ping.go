// ping.go: the ping medium (ping, ping6, ping_group): ICMP echo to ping nodes.

package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// PingTarget is one ping node: a ping or ping6 address, or a ping_group.
type PingTarget struct {
	Name  string   // the node name: the address itself, or the group's name
	Addrs []string // addresses or host names; a group is up if any answers
}

// PingSpec describes the ping medium: every ping node of ha.cf.
type PingSpec struct {
	Targets []PingTarget
	// ID is the ICMP echo identifier that tells our replies from those of
	// other pingers on the host; 0 means the process id, as heartbeat 3.0.6
	// uses (getpid() & 0xffff).
	ID int
	// OnError, if set, is called with receive errors that Run survives.
	OnError func(error)
}

// pingWindow is how many probes are remembered for matching replies: a
// reply to an older probe is dropped. (3.0.6's ping_group remembers 128.)
const pingWindow = 1024

// Ping is the open ping medium: one raw ICMP socket per address family in
// use, shared by every ping node. Send puts a payload (the encoded NS_st
// message the node should "send") into an echo request to each address of
// a node; Run matches echo replies by identifier, sequence number and
// source address and hands back the echoed payload.
//
// Raw ICMP sockets need root (or CAP_NET_RAW).
type Ping struct {
	c4, c6  *net.IPConn
	onError func(error)

	mu      sync.Mutex
	targets map[string]*pingTarget
	m       matcher

	closeOnce sync.Once
	closeErr  error
}

type pingTarget struct {
	name  string
	addrs []netip.Addr
}

// OpenPing resolves the targets' addresses and opens the raw sockets.
func OpenPing(s PingSpec) (*Ping, error) {
	id := s.ID
	if id == 0 {
		id = os.Getpid()
	}
	p := &Ping{onError: s.OnError, targets: map[string]*pingTarget{}, m: matcher{id: uint16(id)}}
	var need4, need6 bool
	for _, t := range s.Targets {
		if len(t.Addrs) == 0 {
			return nil, fmt.Errorf("ping node %s: no address", t.Name)
		}
		pt := &pingTarget{name: t.Name}
		for _, a := range t.Addrs {
			ip, err := resolvePing(a)
			if err != nil {
				return nil, fmt.Errorf("ping node %s: %w", t.Name, err)
			}
			pt.addrs = append(pt.addrs, ip)
			need4, need6 = need4 || ip.Is4(), need6 || ip.Is6()
		}
		p.targets[t.Name] = pt
	}
	var err error
	if need4 {
		if p.c4, err = listenICMP("ip4:icmp", "0.0.0.0", false); err != nil {
			return nil, err
		}
	}
	if need6 {
		if p.c6, err = listenICMP("ip6:ipv6-icmp", "::", true); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// resolvePing parses addr, or looks it up as a host name (IPv4 first, as
// 3.0.6's gethostbyname).
func resolvePing(addr string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.Unmap(), nil
	}
	a, err := resolvePeer(addr, false)
	if err != nil {
		if a, err6 := resolvePeer(addr, true); err6 == nil {
			return a, nil
		}
		return netip.Addr{}, err
	}
	return a, nil
}

// listenICMP opens a raw ICMP socket that lets only echo replies through
// (ICMP_FILTER), so the reader is not woken by every other ICMP packet.
func listenICMP(network, addr string, v6 bool) (*net.IPConn, error) {
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("ping: opening a raw ICMP socket needs root (CAP_NET_RAW): %w", err)
		}
		return nil, fmt.Errorf("ping: opening a raw ICMP socket: %w", err)
	}
	c := pc.(*net.IPConn)
	if v6 {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		err = ipv6.NewPacketConn(c).SetICMPFilter(&f)
	} else {
		var f ipv4.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv4.ICMPTypeEchoReply)
		err = ipv4.NewPacketConn(c).SetICMPFilter(&f)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ping: setting the ICMP filter: %w", err)
	}
	return c, nil
}

// Name identifies the medium in logs.
func (p *Ping) Name() string { return "ping" }

// Send sends one echo request carrying payload to each address of ping
// node node; a group's members share one sequence number, so only the
// first reply counts. It never waits for socket buffer space. The error
// joins the failures of the addresses that could not be sent to.
func (p *Ping) Send(node string, payload []byte) error {
	p.mu.Lock()
	t := p.targets[node]
	if t == nil {
		p.mu.Unlock()
		return fmt.Errorf("ping: unknown ping node %s", node)
	}
	seq := p.m.register(t)
	id := p.m.id
	p.mu.Unlock()
	var errs []error
	for _, a := range t.addrs {
		if err := p.sendTo(a, id, seq, payload); err != nil {
			errs = append(errs, fmt.Errorf("ping %s: sending to %s: %w", node, a, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Ping) sendTo(a netip.Addr, id, seq uint16, payload []byte) error {
	msg := icmp.Message{Code: 0, Body: &icmp.Echo{ID: int(id), Seq: int(seq), Data: payload}}
	var c *net.IPConn
	var sa unix.Sockaddr
	if a.Is4() {
		msg.Type = ipv4.ICMPTypeEcho
		c, sa = p.c4, &unix.SockaddrInet4{Addr: a.As4()}
	} else {
		// The kernel fills in the ICMPv6 checksum.
		msg.Type = ipv6.ICMPTypeEchoRequest
		c = p.c6
		sa6 := &unix.SockaddrInet6{Addr: a.As16()}
		if z := a.Zone(); z != "" {
			ifi, err := lookupIface(z)
			if err != nil {
				return err
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	}
	if c == nil {
		return errors.New("socket closed")
	}
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if werr := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, unix.MSG_DONTWAIT, sa)
		return true // never wait for buffer space
	}); werr != nil {
		return werr
	}
	return serr
}

// Run reads echo replies from every socket until ctx is done or Close is
// called (then it returns nil), calling deliver from the reading goroutines
// with the ping node and the echoed payload of each matching reply.
func (p *Ping) Run(ctx context.Context, deliver func(node string, payload []byte, from netip.Addr)) error {
	var wg sync.WaitGroup
	for _, c := range []*net.IPConn{p.c4, p.c6} {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.read(ctx, c, deliver)
		}()
	}
	wg.Wait()
	return nil
}

func (p *Ping) read(ctx context.Context, c *net.IPConn, deliver func(string, []byte, netip.Addr)) {
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	proto := 1 // ICMP
	if c == p.c6 {
		proto = 58 // ICMPv6
	}
	buf := make([]byte, readBuffer)
	var lastErr time.Time
	for {
		n, from, err := c.ReadFromIP(buf) // the IPv4 header is stripped
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.report(fmt.Errorf("ping: receiving: %w", err))
			if time.Since(lastErr) < errorPause {
				time.Sleep(errorPause)
			}
			lastErr = time.Now()
			continue
		}
		src, ok := netip.AddrFromSlice(from.IP)
		if !ok {
			continue
		}
		src = src.Unmap()
		msg, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		echo, ok := msg.Body.(*icmp.Echo)
		if !ok || msg.Type != ipv4.ICMPTypeEchoReply && msg.Type != ipv6.ICMPTypeEchoReply {
			continue
		}
		p.mu.Lock()
		t := p.m.match(src, echo.ID, echo.Seq)
		p.mu.Unlock()
		if t == nil {
			continue // another pinger's, a duplicate, or too old
		}
		deliver(t.name, append([]byte(nil), echo.Data...), src)
	}
}

func (p *Ping) report(err error) {
	if p.onError != nil {
		p.onError(err)
	}
}

// Close closes the sockets; Run returns. Later calls return the first result.
func (p *Ping) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		for _, c := range []*net.IPConn{p.c4, p.c6} {
			if c != nil {
				errs = append(errs, c.Close())
			}
		}
		if err := errors.Join(errs...); err != nil {
			p.closeErr = fmt.Errorf("ping: closing: %w", err)
		}
	})
	return p.closeErr
}

// matcher numbers the probes and matches replies to them: the identifier
// must be ours, the sequence number one of the last pingWindow probes not
// answered yet, and the source one of that node's addresses.
type matcher struct {
	id   uint16
	next uint16
	sent [pingWindow]probe
}

type probe struct {
	seq    uint16
	target *pingTarget // nil: free or answered
}

// register records a probe to t and returns its sequence number.
func (m *matcher) register(t *pingTarget) uint16 {
	seq := m.next
	m.next++
	m.sent[int(seq)%pingWindow] = probe{seq: seq, target: t}
	return seq
}

// match returns the ping node a reply answers, or nil; each probe is
// answered once.
func (m *matcher) match(from netip.Addr, id, seq int) *pingTarget {
	if id != int(m.id) || seq < 0 || seq > 0xffff {
		return nil
	}
	pr := &m.sent[seq%pingWindow]
	if pr.target == nil || int(pr.seq) != seq {
		return nil
	}
	for _, a := range pr.target.addrs {
		if a.WithZone("") == from.WithZone("") {
			t := pr.target
			pr.target = nil
			return t
		}
	}
	return nil
}
