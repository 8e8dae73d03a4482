// Package kernel is the one package that talks to the Linux kernel about
// addresses, routes, links, neighbour announcements, IPVS and its
// connection-sync daemons. Everything else uses its small interfaces (Net,
// IPVS, Sync), backed by netlink and raw sockets, with in-memory fakes for
// unit tests.
//
// What each call does on a real kernel:
//
//   - FindIf is heartbeat's findif: among the main table's unicast routes
//     through an interface that cover the address (IPv4: scope link and
//     shorter than /32; never a default route), the longest prefix wins,
//     then the lowest metric. The Route gives the interface, the prefix and,
//     for IPv4, the subnet broadcast (its highest address).
//   - RoutesTo lists every such route, best first.
//   - AddAddr is RTM_NEWADDR with NLM_F_EXCL: an IPv4 address gets its
//     broadcast and alias label, an IPv6 one IFA_F_NODAD (no duplicate
//     address detection, so it is usable, and can be a source, at once). An
//     address that already exists is success.
//   - DelAddr is RTM_DELADDR for that address and prefix length on that
//     link only; an address that is not there is success.
//   - Addrs dumps the addresses of one link, or of all links.
//   - LinkUp sets IFF_UP on a link (a no-op when it is up).
//   - SendARP writes one gratuitous ARP frame on an AF_PACKET socket bound
//     to the link, exactly as heartbeat's send_arp: Ethernet broadcast from
//     the link's MAC, ethertype 0x0806, sender IP = target IP = ip, sender
//     MAC = the link's MAC; a request has target MAC 00:00:00:00:00:00, a
//     reply the link's MAC.
//   - SendNA sends one unsolicited neighbour advertisement (ICMPv6 type
//     136) to ff02::1 out of the link with hop limit 255: override flag set,
//     solicited and router flags clear, target ip, target link-layer
//     address option = the link's MAC. Its source is ip when ip is
//     configured (else the kernel's choice, a link-local address).
//   - IPVS (NewIPVS, FakeIPVS) programs virtual services and real servers
//     over generic netlink through cloudflare/ipvs on one kept-open
//     socket: services always carry a netmask, an empty dump is an empty
//     list, ESRCH/EEXIST/ENOENT come back as ErrNoService, ErrExists,
//     ErrNoDest or ErrNoScheduler (wrapping the errno), and real ports are
//     sent as given (ipvsadm's gate/ipip port mapping is the caller's).
//   - The IPVS connection-sync daemons (StartSyncDaemon, StopSyncDaemon,
//     SyncDaemons) over generic netlink.
//
// Kernel errors stay matchable with errors.Is (unix.EPERM, unix.ENETDOWN…);
// ErrNoLink and ErrNoRoute name the two lookups that can come up empty.
package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Net is the kernel as the rest of hasuite sees it. Implementations are safe
// for concurrent use.
type Net interface {
	// FindIf returns the best route covering ip (see the package doc), or
	// an error wrapping ErrNoRoute.
	FindIf(ip netip.Addr) (Route, error)
	// RoutesTo returns every route FindIf considers for ip, best first.
	RoutesTo(ip netip.Addr) ([]Route, error)
	// AddAddr adds an address to a link; an existing one is success.
	AddAddr(a Addr) error
	// DelAddr removes an address (matched by link, address and prefix
	// length); a missing one is success.
	DelAddr(a Addr) error
	// Addrs lists the addresses of iface, or of every link when iface is "".
	Addrs(iface string) ([]Addr, error)
	// LinkUp brings a link up.
	LinkUp(iface string) error
	// SendARP sends one gratuitous ARP request, or reply, for ip on iface.
	SendARP(iface string, ip netip.Addr, reply bool) error
	// SendNA sends one unsolicited neighbour advertisement for ip on iface.
	SendNA(iface string, ip netip.Addr) error
}

// Addr is an address on a link.
type Addr struct {
	Iface string
	// Prefix is the address with its prefix length, e.g. 10.0.0.100/24
	// (not masked).
	Prefix netip.Prefix
	// Broadcast is the IPv4 broadcast address; the zero Addr means none.
	Broadcast netip.Addr
	// Label is the IPv4 alias label ("hb0:0"); "" means none (the kernel
	// then labels the address with the link name).
	Label string
}

// Route is a route through a link, as FindIf sees it.
type Route struct {
	Iface string
	// Prefix is the destination, masked, e.g. 10.0.0.0/24.
	Prefix netip.Prefix
	// Broadcast is the highest address of Prefix for IPv4 prefixes shorter
	// than /31; the zero Addr otherwise.
	Broadcast netip.Addr
	Metric    int
}

// Errors a lookup wraps when it finds nothing.
var (
	ErrNoLink  = errors.New("no such interface")
	ErrNoRoute = errors.New("no route covers the address")
)

// Broadcast returns the highest address of p's subnet, or the zero Addr for
// IPv6 and for IPv4 prefixes of /31 and /32, which have no broadcast.
func Broadcast(p netip.Prefix) netip.Addr {
	if !p.Addr().Is4() || p.Bits() < 0 || p.Bits() >= 31 {
		return netip.Addr{}
	}
	b := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b)
}

// bestRoutes returns the routes covering ip, longest prefix first, then
// lowest metric; the sort is stable, so kernel order breaks ties.
func bestRoutes(routes []Route, ip netip.Addr) []Route {
	ip = ip.Unmap()
	var out []Route
	for _, r := range routes {
		if r.Prefix.Addr().Is4() != ip.Is4() || r.Prefix.Bits() == 0 || !r.Prefix.Contains(ip) {
			continue
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Route) int {
		if a.Prefix.Bits() != b.Prefix.Bits() {
			return b.Prefix.Bits() - a.Prefix.Bits()
		}
		return a.Metric - b.Metric
	})
	return out
}

// findIf is FindIf over the candidate routes of RoutesTo.
func findIf(routes []Route, err error, ip netip.Addr) (Route, error) {
	if err != nil {
		return Route{}, err
	}
	if len(routes) == 0 {
		return Route{}, fmt.Errorf("finding interface for %s: %w", ip, ErrNoRoute)
	}
	return routes[0], nil
}

// sameAddr reports whether a and b are the same kernel address: the same
// link and address, and for IPv4 the same prefix length (IPv4 keys
// addresses by address and prefix length, IPv6 by address).
func sameAddr(a, b Addr) bool {
	if a.Iface != b.Iface || a.Prefix.Addr().Unmap() != b.Prefix.Addr().Unmap() {
		return false
	}
	return !a.Prefix.Addr().Is4() || a.Prefix.Bits() == b.Prefix.Bits()
}
