// ping.go: checktype ping (and connect on UDP): ICMP echo until a reply or the deadline.

package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// pingInterval is the time between echo requests within one check: classic
// made checkcount tries of checktimeout each; here the runner's deadline
// bounds the whole check and a request goes out every second until then.
const pingInterval = time.Second

// Ping passes on any ICMP echo reply from the real's address. It uses an
// unprivileged ICMP socket where net.ipv4.ping_group_range allows, else a
// raw socket (root).
type Ping struct{}

// Check pings the real.
func (Ping) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error { return ping(ctx, t.Real.Addr()) })
}

func ping(ctx context.Context, addr netip.Addr) error {
	addr = addr.Unmap()
	c, dst, proto, err := listenICMP(addr)
	if err != nil {
		return err
	}
	defer bind(ctx, c)()
	token := make([]byte, 16)
	rand.Read(token)
	id := os.Getpid() & 0xffff
	var req icmp.Type = ipv4.ICMPTypeEcho
	if proto == 58 {
		req = ipv6.ICMPTypeEchoRequest
	}
	buf := make([]byte, 1500)
	for seq := 1; ; seq++ {
		msg := icmp.Message{Type: req, Body: &icmp.Echo{ID: id, Seq: seq & 0xffff, Data: token}}
		b, err := msg.Marshal(nil)
		if err != nil {
			return fmt.Errorf("building echo request: %w", err)
		}
		if _, err := c.WriteTo(b, dst); err != nil {
			return fmt.Errorf("pinging %s: %w", addr, err)
		}
		next := time.Now().Add(pingInterval)
		if dl, ok := ctx.Deadline(); ok && dl.Before(next) {
			next = dl
		}
		c.SetReadDeadline(next)
		if ctx.Err() != nil { // bind's AfterFunc may have run before SetReadDeadline
			return fmt.Errorf("no echo reply from %s: %w", addr, ctx.Err())
		}
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil && time.Now().Before(deadline(ctx)) {
					break // this try timed out: send another
				}
				return fmt.Errorf("no echo reply from %s: %w", addr, err)
			}
			if fromAddr(from) != addr.WithZone("") {
				continue
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || (m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply) {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && bytes.Equal(e.Data, token) {
				return nil
			}
		}
	}
}

// deadline is ctx's deadline, else far in the future.
func deadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(24 * time.Hour)
}

// listenICMP opens an unprivileged ICMP socket, else a raw one, for addr's
// family, with the destination address and the ICMP protocol number.
func listenICMP(addr netip.Addr) (*icmp.PacketConn, net.Addr, int, error) {
	udpNet, rawNet, any, proto := "udp4", "ip4:icmp", "0.0.0.0", 1
	if addr.Is6() {
		udpNet, rawNet, any, proto = "udp6", "ip6:ipv6-icmp", "::", 58
	}
	ip := net.IP(addr.AsSlice())
	if c, err := icmp.ListenPacket(udpNet, any); err == nil {
		return c, &net.UDPAddr{IP: ip, Zone: addr.Zone()}, proto, nil
	}
	c, err := icmp.ListenPacket(rawNet, any)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("opening ICMP socket: %w", err)
	}
	return c, &net.IPAddr{IP: ip, Zone: addr.Zone()}, proto, nil
}

func fromAddr(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	na, _ := netip.AddrFromSlice(ip)
	return na.Unmap()
}
