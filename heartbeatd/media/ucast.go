// ucast.go: the ucast and ucast6 media.

package media

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// resolveTimeout bounds the host name lookup of a ucast peer at Open.
const resolveTimeout = 5 * time.Second

// openUcast opens "ucast <if> <peer>" or "ucast6 <if> <peer>": packets go to
// peer at s.Port with TOS LOWDELAY; the receive socket takes the port on
// the interface.
func openUcast(s Spec) (*udpMedium, error) {
	v6 := s.Kind == KindUcast6
	if _, err := lookupIface(s.Iface); err != nil {
		return nil, err
	}
	peer, err := resolvePeer(s.Addr, v6)
	if err != nil {
		return nil, err
	}
	if v6 && peer.IsLinkLocalUnicast() && peer.Zone() == "" {
		peer = peer.WithZone(s.Iface)
	}
	network, wildcard := "udp4", "0.0.0.0"
	if v6 {
		network, wildcard = "udp6", "::"
	}
	send, recv, err := openPair(s, network, net.JoinHostPort(wildcard, strconv.Itoa(s.Port)),
		[]sockopt{lowDelay(v6)})
	if err != nil {
		return nil, err
	}
	return newUDPMedium(s, send, recv, netip.AddrPortFrom(peer, uint16(s.Port)))
}

// resolvePeer parses addr, or looks it up as a host name (heartbeat accepts
// names on ucast lines), taking the first address of the wanted family.
func resolvePeer(addr string, v6 bool) (netip.Addr, error) {
	if a, err := netip.ParseAddr(addr); err == nil {
		return a, nil
	}
	network := "ip4"
	if v6 {
		network = "ip6"
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, addr)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolving peer: %w", err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolving peer %s: no %s address", addr, network)
	}
	return addrs[0].Unmap(), nil
}
