// mcast.go: the mcast and mcast6 media.

package media

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// openMcast opens "mcast <if> <group> <port> <ttl> <loop>": the receive
// socket, bound to group:port, joins the group on the interface; the send
// socket sends through the interface with the given TTL and loopback.
func openMcast(s Spec) (*udpMedium, error) {
	ifi, err := lookupIface(s.Iface)
	if err != nil {
		return nil, err
	}
	group := netip.MustParseAddr(s.Addr) // checked by Validate
	send, recv, err := openPair(s, "udp4", net.JoinHostPort(group.String(), strconv.Itoa(s.Port)), nil)
	if err != nil {
		return nil, err
	}
	if err := setupMcast4(ifi, group, s, send, recv); err != nil {
		send.Close()
		recv.Close()
		return nil, err
	}
	return newUDPMedium(s, send, recv, netip.AddrPortFrom(group, uint16(s.Port)))
}

func setupMcast4(ifi *net.Interface, group netip.Addr, s Spec, send, recv *net.UDPConn) error {
	if err := ipv4.NewPacketConn(recv).JoinGroup(ifi, &net.UDPAddr{IP: group.AsSlice()}); err != nil {
		return fmt.Errorf("joining group %s: %w", group, err)
	}
	p := ipv4.NewPacketConn(send)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("setting IP_MULTICAST_IF: %w", err)
	}
	if err := p.SetMulticastTTL(s.TTL); err != nil {
		return fmt.Errorf("setting IP_MULTICAST_TTL %d: %w", s.TTL, err)
	}
	if err := p.SetMulticastLoopback(s.Loop); err != nil {
		return fmt.Errorf("setting IP_MULTICAST_LOOP: %w", err)
	}
	return nil
}

// openMcast6 opens "mcast6 <if> <group> <port> <hops> <loop>", the IPv6
// form of mcast (TTL is the hop limit).
func openMcast6(s Spec) (*udpMedium, error) {
	ifi, err := lookupIface(s.Iface)
	if err != nil {
		return nil, err
	}
	group := netip.MustParseAddr(s.Addr).WithZone(s.Iface) // checked by Validate
	send, recv, err := openPair(s, "udp6", netip.AddrPortFrom(group, uint16(s.Port)).String(), nil)
	if err != nil {
		return nil, err
	}
	if err := setupMcast6(ifi, group, s, send, recv); err != nil {
		send.Close()
		recv.Close()
		return nil, err
	}
	return newUDPMedium(s, send, recv, netip.AddrPortFrom(group, uint16(s.Port)))
}

func setupMcast6(ifi *net.Interface, group netip.Addr, s Spec, send, recv *net.UDPConn) error {
	if err := ipv6.NewPacketConn(recv).JoinGroup(ifi, &net.UDPAddr{IP: group.AsSlice()}); err != nil {
		return fmt.Errorf("joining group %s: %w", group.WithZone(""), err)
	}
	p := ipv6.NewPacketConn(send)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("setting IPV6_MULTICAST_IF: %w", err)
	}
	if err := p.SetMulticastHopLimit(s.TTL); err != nil {
		return fmt.Errorf("setting IPV6_MULTICAST_HOPS %d: %w", s.TTL, err)
	}
	if err := p.SetMulticastLoopback(s.Loop); err != nil {
		return fmt.Errorf("setting IPV6_MULTICAST_LOOP: %w", err)
	}
	return nil
}
