// linux.go: Net on a real kernel, over netlink and raw sockets.

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Linux is Net on the running kernel.
type Linux struct {
	h *netlink.Handle
	// nsPath is the network namespace raw sockets are opened in; "" is the
	// caller's.
	nsPath string
}

// New returns Net on the network namespace of the calling thread: every
// request opens its own socket there, so the daemon's namespace.
func New() Net {
	return &Linux{h: &netlink.Handle{}}
}

// NewAt returns Net on the network namespace at nsPath (e.g.
// "/run/netns/lab-a"), whatever the namespace of the calling goroutine.
// Close releases its netlink socket.
func NewAt(nsPath string) (*Linux, error) {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("opening network namespace %s: %w", nsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("opening netlink in %s: %w", nsPath, err)
	}
	return &Linux{h: h, nsPath: nsPath}, nil
}

// Close releases the netlink socket of NewAt; it does nothing for New.
func (k *Linux) Close() error {
	k.h.Close()
	return nil
}

// dumpTries bounds the retries of a netlink dump the kernel interrupted
// because the table changed meanwhile.
const dumpTries = 5

// retryDump runs a netlink dump until it is not interrupted.
func retryDump[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	for range dumpTries {
		if v, err = f(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return v, err
}

// link looks a link up by name.
func (k *Linux) link(name string) (netlink.Link, error) {
	l, err := k.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%w: %s", ErrNoLink, name)
		}
		return nil, fmt.Errorf("looking up interface %s: %w", name, err)
	}
	return l, nil
}

// linkNames maps link indexes to names.
func (k *Linux) linkNames() (map[int]string, error) {
	links, err := retryDump(k.h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	m := make(map[int]string, len(links))
	for _, l := range links {
		m[l.Attrs().Index] = l.Attrs().Name
	}
	return m, nil
}

// FindIf implements Net.
func (k *Linux) FindIf(ip netip.Addr) (Route, error) {
	rs, err := k.RoutesTo(ip)
	return findIf(rs, err, ip)
}

// RoutesTo implements Net.
func (k *Linux) RoutesTo(ip netip.Addr) ([]Route, error) {
	ip = ip.Unmap()
	family := netlink.FAMILY_V4
	if ip.Is6() {
		family = netlink.FAMILY_V6
	}
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN}
	nlRoutes, err := retryDump(func() ([]netlink.Route, error) {
		return k.h.RouteListFiltered(family, filter, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("listing routes for %s: %w", ip, err)
	}
	names, err := k.linkNames()
	if err != nil {
		return nil, err
	}
	var routes []Route
	for _, r := range nlRoutes {
		if r.Type != unix.RTN_UNICAST || r.LinkIndex == 0 || r.Dst == nil {
			continue
		}
		p, ok := ipNetPrefix(r.Dst)
		if !ok {
			continue
		}
		// findif's IPv4 rules: "scope link" routes with a "/" in ip's
		// output, that is connected subnets, never host routes.
		if ip.Is4() && (r.Scope != netlink.SCOPE_LINK || p.Bits() == 32) {
			continue
		}
		p = p.Masked()
		routes = append(routes, Route{
			Iface:     names[r.LinkIndex],
			Prefix:    p,
			Broadcast: Broadcast(p),
			Metric:    r.Priority,
		})
	}
	return bestRoutes(routes, ip), nil
}

// AddAddr implements Net.
func (k *Linux) AddAddr(a Addr) error {
	l, err := k.link(a.Iface)
	if err != nil {
		return fmt.Errorf("adding %s to %s: %w", a.Prefix, a.Iface, err)
	}
	na := &netlink.Addr{IPNet: prefixIPNet(a.Prefix)}
	if a.Prefix.Addr().Is4() {
		na.Label = a.Label
		na.Broadcast = net.IPv4zero // none unless given, not netlink's guess
		if a.Broadcast.IsValid() {
			na.Broadcast = a.Broadcast.AsSlice()
		}
	} else {
		na.Flags = unix.IFA_F_NODAD
	}
	if err := k.h.AddrAdd(l, na); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("adding %s to %s: %w", a.Prefix, a.Iface, err)
	}
	return nil
}

// DelAddr implements Net.
func (k *Linux) DelAddr(a Addr) error {
	l, err := k.link(a.Iface)
	if err != nil {
		return fmt.Errorf("removing %s from %s: %w", a.Prefix, a.Iface, err)
	}
	if err := k.h.AddrDel(l, &netlink.Addr{IPNet: prefixIPNet(a.Prefix)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("removing %s from %s: %w", a.Prefix, a.Iface, err)
	}
	return nil
}

// Addrs implements Net.
func (k *Linux) Addrs(iface string) ([]Addr, error) {
	var l netlink.Link
	if iface != "" {
		var err error
		if l, err = k.link(iface); err != nil {
			return nil, fmt.Errorf("listing addresses: %w", err)
		}
	}
	nlAddrs, err := retryDump(func() ([]netlink.Addr, error) { return k.h.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("listing addresses of %q: %w", iface, err)
	}
	names, err := k.linkNames()
	if err != nil {
		return nil, err
	}
	var out []Addr
	for _, na := range nlAddrs {
		p, ok := ipNetPrefix(na.IPNet)
		if !ok {
			continue
		}
		a := Addr{Iface: names[na.LinkIndex], Prefix: p}
		if p.Addr().Is4() {
			if b, ok := netip.AddrFromSlice(na.Broadcast); ok {
				a.Broadcast = b.Unmap()
			}
			if na.Label != a.Iface {
				a.Label = na.Label
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// LinkUp implements Net.
func (k *Linux) LinkUp(iface string) error {
	l, err := k.link(iface)
	if err != nil {
		return fmt.Errorf("bringing up: %w", err)
	}
	if err := k.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bringing up %s: %w", iface, err)
	}
	return nil
}

// etherLink returns the index and MAC of an Ethernet link.
func (k *Linux) etherLink(iface string) (int, net.HardwareAddr, error) {
	l, err := k.link(iface)
	if err != nil {
		return 0, nil, err
	}
	mac := l.Attrs().HardwareAddr
	if len(mac) != 6 {
		return 0, nil, fmt.Errorf("interface %s has no Ethernet address", iface)
	}
	return l.Attrs().Index, mac, nil
}

// SendARP implements Net.
func (k *Linux) SendARP(iface string, ip netip.Addr, reply bool) error {
	ip = ip.Unmap()
	kind := "request"
	if reply {
		kind = "reply"
	}
	fail := func(err error) error {
		return fmt.Errorf("sending gratuitous ARP %s for %s on %s: %w", kind, ip, iface, err)
	}
	if !ip.Is4() {
		return fail(errors.New("not an IPv4 address"))
	}
	idx, mac, err := k.etherLink(iface)
	if err != nil {
		return fail(err)
	}
	// Protocol 0: the socket only sends, it receives nothing.
	fd, err := k.socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return fail(fmt.Errorf("opening packet socket: %w", err))
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrLinklayer{
		Protocol: htons(etherTypeARP),
		Ifindex:  idx,
		Halen:    6,
		Addr:     [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	if err := unix.Sendto(fd, arpFrame(mac, ip, reply), 0, sa); err != nil {
		return fail(err)
	}
	return nil
}

// SendNA implements Net.
func (k *Linux) SendNA(iface string, ip netip.Addr) error {
	fail := func(err error) error {
		return fmt.Errorf("sending unsolicited neighbour advertisement for %s on %s: %w", ip, iface, err)
	}
	if !ip.Is6() || ip.Is4In6() {
		return fail(errors.New("not an IPv6 address"))
	}
	idx, mac, err := k.etherLink(iface)
	if err != nil {
		return fail(err)
	}
	fd, err := k.socket(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_ICMPV6)
	if err != nil {
		return fail(fmt.Errorf("opening ICMPv6 socket: %w", err))
	}
	defer unix.Close(fd)
	for _, o := range []struct {
		level, opt, v int
	}{
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255}, // RFC 4861: receivers drop anything else
		{unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255},
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, idx},
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			return fail(fmt.Errorf("setsockopt %d: %w", o.opt, err))
		}
	}
	if err := unix.BindToDevice(fd, iface); err != nil {
		return fail(fmt.Errorf("binding to device: %w", err))
	}
	// Source = the VIP when it is configured (what receivers log); the
	// kernel's choice otherwise.
	src := &unix.SockaddrInet6{Addr: ip.As16()}
	if ip.IsLinkLocalUnicast() {
		src.ZoneId = uint32(idx)
	}
	_ = unix.Bind(fd, src)
	dst := &unix.SockaddrInet6{Addr: netip.MustParseAddr("ff02::1").As16(), ZoneId: uint32(idx)}
	if err := unix.Sendto(fd, naMessage(mac, ip), 0, dst); err != nil {
		return fail(err)
	}
	return nil
}

// socket opens a socket in k's network namespace: for NewAt, on a thread
// that has entered it and is then thrown away.
func (k *Linux) socket(domain, typ, proto int) (int, error) {
	typ |= unix.SOCK_CLOEXEC
	if k.nsPath == "" {
		return unix.Socket(domain, typ, proto)
	}
	type result struct {
		fd  int
		err error
	}
	c := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine, so no other
		// goroutine runs in the namespace.
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(k.nsPath)
		if err != nil {
			c <- result{-1, err}
			return
		}
		err = netns.Set(ns)
		ns.Close()
		if err != nil {
			c <- result{-1, fmt.Errorf("entering %s: %w", k.nsPath, err)}
			return
		}
		fd, err := unix.Socket(domain, typ, proto)
		c <- result{fd, err}
	}()
	r := <-c
	return r.fd, r.err
}

// htons converts a 16-bit value to network byte order.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// ipNetPrefix converts a netlink address or destination to a Prefix.
func ipNetPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if bits != a.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

// prefixIPNet converts a Prefix to the form netlink takes.
func prefixIPNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().Unmap()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}
