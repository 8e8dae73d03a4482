// ipaddr.go: the built-in IPaddr and IPaddr2 agents: a netlink address plus gratuitous ARP.

package resources

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
)

// maxIfName is the longest interface name or address label (IFNAMSIZ-1).
const maxIfName = 15

// IPaddr is the built-in agent for "IPaddr::ip[/nn[/if[/bcast]]]" and
// "IPaddr2::…" (spec §7), a virtual IP address on an interface.
//
//   - nn is the prefix length or an IPv4 netmask; if is an interface,
//     optionally with an alias label ("eth0:web"); bcast is the IPv4
//     broadcast. A third field that starts with a digit is the broadcast,
//     not an interface. Missing values come from findif (kernel.Net
//     RoutesTo): the best route covering the address, on the interface when
//     one is given, of a prefix no longer than nn when nn is given; the
//     broadcast defaults to the highest address of the subnet.
//   - Start adds the address (IPaddr with the first free "<if>:<n>" alias
//     label, IPaddr2 with none), brings the link up and announces the
//     address: 2×Repeats gratuitous ARP frames (request, reply, request…),
//     or unsolicited neighbour advertisements for IPv6, Interval/2 apart.
//     The first two go out before Start returns, the rest in the
//     background. An address already present is left alone and not
//     announced, as the classic agents skip a running resource.
//   - Stop ends the announcements and removes the address if it is on the
//     interface with the prefix length Start adds: never the same address
//     on another interface or lo, never with another length.
//   - Running is whether that address is on that interface.
//
// IPv6 addresses are added without duplicate address detection, so they
// are usable at once. Since haresources splits resources at "::", an IPv6
// address written with "::" arrives in pieces; NewIPaddr joins them again.
type IPaddr struct {
	name string
	kind string // "IPaddr" or "IPaddr2"
	v2   bool
	spec ipSpec
	arp  ARP
	net  kernel.Net
	log  logrus.FieldLogger
	inet string // "inet" or "inet6", as ip(8) and the classic logs say

	mu sync.Mutex
	// added is the address Start added or found, which Stop removes.
	added *kernel.Addr
	// stopARP ends the background announcements and waits for them.
	stopARP func()
}

// ipSpec is a parsed "ip[/nn[/if[/bcast]]]".
type ipSpec struct {
	ip    netip.Addr
	bits  int    // -1: from the route
	iface string // "": from the route
	label string // explicit "<if>:<label>"; "": none given
	bcast netip.Addr
}

// NewIPaddr returns the IPaddr (v2 false) or IPaddr2 agent for the
// arguments after the agent name: one "ip[/nn[/if[/bcast]]]", or the pieces
// of one that held "::". Announcements follow env.IPaddrARP or
// env.IPaddr2ARP (the classic defaults when zero).
func NewIPaddr(args []string, env Env, v2 bool) (Agent, error) {
	kind, arp := "IPaddr", env.IPaddrARP
	if v2 {
		kind, arp = "IPaddr2", env.IPaddr2ARP
	}
	if arp == (ARP{}) {
		arp = map[bool]ARP{false: DefaultIPaddrARP, true: DefaultIPaddr2ARP}[v2]
	}
	var spec ipSpec
	var err error
	switch {
	case len(args) == 0:
		return nil, fmt.Errorf("%s needs an address: %s::ip[/nn[/if[/bcast]]]", kind, kind)
	case len(args) == 1:
		spec, err = parseIPSpec(args[0])
	default:
		spec, err = parseIPSpec(strings.Join(args, "::"))
		if err != nil || !spec.ip.Is6() {
			return nil, fmt.Errorf("%s takes one argument, ip[/nn[/if[/bcast]]], not %d", kind, len(args))
		}
	}
	if err != nil {
		return nil, err
	}
	a := &IPaddr{
		name: kind + "::" + strings.Join(args, "::"),
		kind: kind,
		v2:   v2,
		spec: spec,
		arp:  arp,
		net:  env.Net,
		log:  env.Log,
		inet: "inet",
	}
	if spec.ip.Is6() {
		a.inet = "inet6"
	}
	if a.net == nil {
		a.net = kernel.New()
	}
	if a.log == nil {
		a.log = logrus.StandardLogger()
	}
	a.log = a.log.WithField("vip", spec.ip.String())
	return a, nil
}

// parseIPSpec parses "ip[/nn[/if[/bcast]]]" as the classic wrappers split
// it; empty fields count as not given.
func parseIPSpec(s string) (ipSpec, error) {
	sp := ipSpec{bits: -1}
	f := strings.Split(s, "/")
	if len(f) > 4 {
		return sp, fmt.Errorf("%q: too many fields, want ip[/nn[/if[/bcast]]]", s)
	}
	ip, err := netip.ParseAddr(f[0])
	if err != nil || ip.Zone() != "" || ip.Is4In6() {
		return sp, fmt.Errorf("%q: %q is not an IP address", s, f[0])
	}
	if ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() {
		return sp, fmt.Errorf("%q: %s cannot be a virtual address", s, ip)
	}
	sp.ip = ip
	if len(f) > 1 && f[1] != "" {
		if sp.bits, err = parseNetmask(f[1], ip); err != nil {
			return sp, fmt.Errorf("%q: %w", s, err)
		}
	}
	rest := f[min(2, len(f)):]
	if len(rest) > 0 && rest[0] != "" && rest[0][0] >= '0' && rest[0][0] <= '9' {
		// A third field starting with a digit is the broadcast (spec §7).
		if len(rest) > 1 {
			return sp, fmt.Errorf("%q: a broadcast %q in place of the interface, then %q", s, rest[0], rest[1])
		}
		rest = []string{"", rest[0]}
	}
	if len(rest) > 0 && rest[0] != "" {
		iface, label, hasLabel := strings.Cut(rest[0], ":")
		if err := checkIfName(iface); err != nil {
			return sp, fmt.Errorf("%q: %w", s, err)
		}
		sp.iface = iface
		if hasLabel {
			if label == "" || len(rest[0]) > maxIfName || strings.ContainsAny(label, " \t\n/") {
				return sp, fmt.Errorf("%q: bad label %q (at most %d characters in all)", s, rest[0], maxIfName)
			}
			if ip.Is6() {
				return sp, fmt.Errorf("%q: IPv6 addresses have no labels", s)
			}
			sp.label = rest[0]
		}
	}
	if len(rest) > 1 && rest[1] != "" {
		b, err := netip.ParseAddr(rest[1])
		if err != nil || !b.Is4() {
			return sp, fmt.Errorf("%q: broadcast %q is not an IPv4 address", s, rest[1])
		}
		if !ip.Is4() {
			return sp, fmt.Errorf("%q: IPv6 addresses have no broadcast", s)
		}
		sp.bcast = b
	}
	return sp, nil
}

// parseNetmask parses a prefix length or an IPv4 dotted netmask.
func parseNetmask(s string, ip netip.Addr) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && strings.TrimLeft(s, "0123456789") == "" {
		if n < 1 || n > ip.BitLen() {
			return 0, fmt.Errorf("netmask /%s out of range 1-%d", s, ip.BitLen())
		}
		return n, nil
	}
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() || !ip.Is4() {
		return 0, fmt.Errorf("bad netmask %q", s)
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		v <<= 1
		n++
	}
	if v != 0 || n == 0 {
		return 0, fmt.Errorf("bad netmask %q: not contiguous", s)
	}
	return n, nil
}

// checkIfName rejects what cannot be a Linux interface name.
func checkIfName(s string) error {
	if s == "" || len(s) > maxIfName || s == "." || s == ".." || strings.ContainsAny(s, " \t\n/:") {
		return fmt.Errorf("bad interface name %q", s)
	}
	return nil
}

// Name implements Agent.
func (a *IPaddr) Name() string { return a.name }

// resolve returns the address Start would add: the spec completed by
// findif. verbose logs the calculated values at Info, as the classic agents
// do on start.
func (a *IPaddr) resolve(verbose bool) (kernel.Addr, error) {
	sp := a.spec
	if sp.iface == "" || sp.bits < 0 {
		routes, err := a.net.RoutesTo(sp.ip)
		if err != nil {
			return kernel.Addr{}, fmt.Errorf("%s: finding the interface: %w", a.name, err)
		}
		var r *kernel.Route
		for i := range routes {
			c := &routes[i]
			if c.Iface == "lo" && sp.iface == "" || sp.iface != "" && c.Iface != sp.iface ||
				sp.bits >= 0 && c.Prefix.Bits() > sp.bits {
				continue
			}
			r = c
			break
		}
		if r == nil {
			if sp.iface != "" {
				return kernel.Addr{}, fmt.Errorf("%s: cannot find the netmask for %s: no route through %s (findif: %w); give it, e.g. %s::%s/%d/%s",
					a.name, sp.ip, sp.iface, kernel.ErrNoRoute, a.kind, sp.ip, defaultBits(sp.ip), sp.iface)
			}
			return kernel.Addr{}, fmt.Errorf("%s: cannot find the interface for %s (findif: %w); give it, e.g. %s::%s/%d/eth0",
				a.name, sp.ip, kernel.ErrNoRoute, a.kind, sp.ip, defaultBits(sp.ip))
		}
		log := a.log.Debugf
		if verbose {
			log = a.log.Infof
		}
		if sp.iface == "" {
			sp.iface = r.Iface
			log("Using calculated nic for %s: %s", sp.ip, sp.iface)
		}
		if sp.bits < 0 {
			sp.bits = r.Prefix.Bits()
			log("Using calculated netmask for %s: %s", sp.ip, netmaskString(sp.ip, sp.bits))
		}
	}
	ad := kernel.Addr{Iface: sp.iface, Prefix: netip.PrefixFrom(sp.ip, sp.bits), Label: sp.label}
	if sp.ip.Is4() {
		ad.Broadcast = sp.bcast
		if !ad.Broadcast.IsValid() {
			ad.Broadcast = kernel.Broadcast(ad.Prefix)
		}
	}
	return ad, nil
}

// defaultBits is the prefix length suggested in error messages.
func defaultBits(ip netip.Addr) int {
	if ip.Is4() {
		return 24
	}
	return 64
}

// netmaskString renders a prefix length as the classic logs do: a dotted
// netmask for IPv4, the length for IPv6.
func netmaskString(ip netip.Addr, bits int) string {
	if !ip.Is4() {
		return strconv.Itoa(bits)
	}
	v := ^uint32(0) << (32 - bits)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// lookup reports whether want's address is on want's interface with
// want's prefix length (present), or with another one (other).
func (a *IPaddr) lookup(want kernel.Addr) (present bool, other netip.Prefix, err error) {
	addrs, err := a.net.Addrs(want.Iface)
	if errors.Is(err, kernel.ErrNoLink) {
		return false, netip.Prefix{}, nil
	}
	if err != nil {
		return false, netip.Prefix{}, fmt.Errorf("%s: %w", a.name, err)
	}
	for _, ad := range addrs {
		if ad.Iface != want.Iface || ad.Prefix.Addr() != want.Prefix.Addr() {
			continue
		}
		if ad.Prefix.Bits() == want.Prefix.Bits() {
			return true, netip.Prefix{}, nil
		}
		other = ad.Prefix
	}
	return false, other, nil
}

// Start implements Agent.
func (a *IPaddr) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	want, err := a.resolve(true)
	if err != nil {
		return err
	}
	log := a.log.WithField("iface", want.Iface)
	present, other, err := a.lookup(want)
	if err != nil {
		return err
	}
	if present {
		log.Infof("%s %s is already configured on %s", a.inet, want.Prefix, want.Iface)
		a.added = &want
		return nil
	}
	if other.IsValid() && want.Prefix.Addr().Is6() {
		return fmt.Errorf("%s: %s is on %s already with another prefix length (%s)", a.name, want.Prefix.Addr(), want.Iface, other)
	}
	if !a.v2 && want.Label == "" && want.Prefix.Addr().Is4() {
		if want.Label, err = a.freeLabel(want.Iface); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("Adding %s address %s", a.inet, want.Prefix)
	if want.Broadcast.IsValid() {
		msg += " with broadcast address " + want.Broadcast.String()
	}
	msg += " to device " + want.Iface
	if want.Label != "" {
		msg += " (label " + want.Label + ")"
	}
	log.Info(msg)
	if err := a.net.AddAddr(want); err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	a.added = &want
	if err := a.net.LinkUp(want.Iface); err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	return a.announce(want, log)
}

// freeLabel returns the first "<iface>:<n>" no address of iface uses, or ""
// (no label) when that would be longer than an interface name.
func (a *IPaddr) freeLabel(iface string) (string, error) {
	addrs, err := a.net.Addrs(iface)
	if err != nil {
		return "", fmt.Errorf("%s: %w", a.name, err)
	}
	used := map[string]bool{}
	for _, ad := range addrs {
		used[ad.Label] = true
	}
	for n := 0; ; n++ {
		l := iface + ":" + strconv.Itoa(n)
		if len(l) > maxIfName {
			a.log.WithField("iface", iface).Warnf("no alias label fits %s: adding the address without one", iface)
			return "", nil
		}
		if !used[l] {
			return l, nil
		}
	}
}

// announce sends the gratuitous ARP frames (IPv4) or neighbour
// advertisements (IPv6) for want: 2×Repeats frames, Interval/2 apart, on a
// fixed schedule from the first. It returns after the first; the rest go
// out in the background until they are done or Stop ends them.
// Failures to send are logged, not returned: the address is up.
func (a *IPaddr) announce(want kernel.Addr, log logrus.FieldLogger) error {
	frames := 2 * a.arp.Repeats
	if frames <= 0 {
		return nil
	}
	half := a.arp.Interval / 2
	ip := want.Prefix.Addr()
	what := "gratuitous ARP frames"
	if ip.Is6() {
		what = "unsolicited neighbour advertisements"
	}
	log.Infof("Sending %d %s for %s on %s, %v apart", frames, what, ip, want.Iface, half)
	failed := false
	send := func(i int) {
		var err error
		if ip.Is6() {
			err = a.net.SendNA(want.Iface, ip)
		} else {
			err = a.net.SendARP(want.Iface, ip, i%2 == 1)
		}
		switch {
		case err != nil && !failed:
			failed = true
			log.WithError(err).Error("announcing the address failed")
		case err != nil:
			log.WithError(err).Debug("announcing the address failed again")
		}
	}
	// wait sleeps until slot i of the schedule; false if ctx ended first.
	t0 := time.Now()
	wait := func(ctx context.Context, i int) bool {
		t := time.NewTimer(time.Until(t0.Add(time.Duration(i) * half)))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}

	// The first frame goes out before Start returns: clients move on it.
	send(0)
	if frames == 1 {
		return nil
	}
	bg, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.stopARP = func() {
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		for i := 1; i < frames; i++ {
			if !wait(bg, i) {
				log.Debugf("%s for %s ended early", what, ip)
				return
			}
			send(i)
		}
	}()
	return nil
}

// Announce re-sends the address's gratuitous ARP (or neighbour
// advertisement) schedule, e.g. after a partition healed; a no-op when the
// address is not ours.
func (a *IPaddr) Announce(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.added == nil {
		return nil
	}
	if a.stopARP != nil {
		a.stopARP()
		a.stopARP = nil
	}
	return a.announce(*a.added, a.log.WithField("iface", a.added.Iface))
}

// Stop implements Agent.
func (a *IPaddr) Stop(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopARP != nil {
		a.stopARP()
		a.stopARP = nil
	}
	var want kernel.Addr
	if a.added != nil {
		want = *a.added
	} else {
		var err error
		if want, err = a.resolve(false); err != nil {
			if errors.Is(err, kernel.ErrNoRoute) {
				// Without a route there is no interface it can be ours on.
				a.log.WithError(err).Warn("not removing the address: no interface for it")
				return nil
			}
			return err
		}
	}
	log := a.log.WithField("iface", want.Iface)
	present, _, err := a.lookup(want)
	if err != nil {
		return err
	}
	if !present {
		log.Infof("%s %s is not configured on %s: nothing to remove", a.inet, want.Prefix, want.Iface)
		a.added = nil
		return nil
	}
	log.Infof("Removing %s address %s from device %s", a.inet, want.Prefix, want.Iface)
	if err := a.net.DelAddr(want); err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	a.added = nil
	return nil
}

// Running implements Agent.
func (a *IPaddr) Running(ctx context.Context) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var want kernel.Addr
	if a.added != nil {
		want = *a.added
	} else {
		var err error
		if want, err = a.resolve(false); errors.Is(err, kernel.ErrNoRoute) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	present, _, err := a.lookup(want)
	return present, err
}
