// fake.go: an in-memory Net for unit tests of other packages.

package kernel

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Fake is an in-memory Net: links, addresses and routes set up by the test,
// and a record of every ARP and NA frame sent. It follows the kernel's
// rules where callers can tell: adding an existing address and removing a
// missing one succeed, IPv4 addresses are keyed by address and prefix
// length, frames need an Ethernet link that is up. The zero value is not
// usable: call NewFake. It is safe for concurrent use.
type Fake struct {
	// Now stamps frames; time.Now unless set before use.
	Now func() time.Time

	mu     sync.Mutex
	links  []FakeLink
	addrs  []Addr
	routes []Route
	frames []Frame
	errs   map[string]error
}

// FakeLink is a link of a Fake.
type FakeLink struct {
	Name string
	MAC  net.HardwareAddr
	Up   bool
}

// Frame is one ARP or NA frame a Fake "sent".
type Frame struct {
	Iface string
	IP    netip.Addr
	// NA is true for a neighbour advertisement, false for ARP.
	NA bool
	// Reply is true for an ARP reply, false for a request (and for NAs).
	Reply bool
	Time  time.Time
}

var _ Net = (*Fake)(nil)

// NewFake returns a Fake with no links.
func NewFake() *Fake {
	return &Fake{Now: time.Now, errs: map[string]error{}}
}

// AddLink adds a link (replacing one of the same name).
func (f *Fake) AddLink(name string, mac net.HardwareAddr, up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links = slices.DeleteFunc(f.links, func(l FakeLink) bool { return l.Name == name })
	f.links = append(f.links, FakeLink{Name: name, MAC: mac, Up: up})
}

// Link returns the link called name.
func (f *Fake) Link(name string) (FakeLink, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.link(name)
	if l == nil {
		return FakeLink{}, false
	}
	return *l, true
}

// AddRoute adds a route for FindIf and RoutesTo; its Prefix is masked and
// its Broadcast computed.
func (f *Fake) AddRoute(iface, prefix string, metric int) {
	p := netip.MustParsePrefix(prefix).Masked()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, Route{Iface: iface, Prefix: p, Broadcast: Broadcast(p), Metric: metric})
}

// SetErr makes every later call of method ("AddAddr", "SendARP"…) fail
// with err; a nil err clears it.
func (f *Fake) SetErr(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, method)
		return
	}
	f.errs[method] = err
}

// Frames returns the frames sent so far, oldest first.
func (f *Fake) Frames() []Frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.frames)
}

func (f *Fake) link(name string) *FakeLink {
	for i := range f.links {
		if f.links[i].Name == name {
			return &f.links[i]
		}
	}
	return nil
}

// check returns the injected error of method, or ErrNoLink when iface is
// not "" and missing; f.mu is held.
func (f *Fake) check(method, iface string) error {
	if err := f.errs[method]; err != nil {
		return err
	}
	if iface != "" && f.link(iface) == nil {
		return fmt.Errorf("%w: %s", ErrNoLink, iface)
	}
	return nil
}

// FindIf implements Net.
func (f *Fake) FindIf(ip netip.Addr) (Route, error) {
	rs, err := f.RoutesTo(ip)
	return findIf(rs, err, ip)
}

// RoutesTo implements Net.
func (f *Fake) RoutesTo(ip netip.Addr) ([]Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("RoutesTo", ""); err != nil {
		return nil, err
	}
	return bestRoutes(f.routes, ip), nil
}

// AddAddr implements Net.
func (f *Fake) AddAddr(a Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("AddAddr", a.Iface); err != nil {
		return fmt.Errorf("adding %s to %s: %w", a.Prefix, a.Iface, err)
	}
	if slices.ContainsFunc(f.addrs, func(b Addr) bool { return sameAddr(a, b) }) {
		return nil
	}
	if !a.Prefix.Addr().Is4() {
		a.Broadcast, a.Label = netip.Addr{}, ""
	}
	f.addrs = append(f.addrs, a)
	return nil
}

// DelAddr implements Net.
func (f *Fake) DelAddr(a Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("DelAddr", a.Iface); err != nil {
		return fmt.Errorf("removing %s from %s: %w", a.Prefix, a.Iface, err)
	}
	f.addrs = slices.DeleteFunc(f.addrs, func(b Addr) bool {
		return b.Iface == a.Iface && b.Prefix == a.Prefix
	})
	return nil
}

// Addrs implements Net.
func (f *Fake) Addrs(iface string) ([]Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("Addrs", iface); err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	var out []Addr
	for _, a := range f.addrs {
		if iface == "" || a.Iface == iface {
			out = append(out, a)
		}
	}
	return out, nil
}

// LinkUp implements Net.
func (f *Fake) LinkUp(iface string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check("LinkUp", iface); err != nil {
		return fmt.Errorf("bringing up: %w", err)
	}
	f.link(iface).Up = true
	return nil
}

// SendARP implements Net.
func (f *Fake) SendARP(iface string, ip netip.Addr, reply bool) error {
	return f.send("SendARP", Frame{Iface: iface, IP: ip.Unmap(), Reply: reply})
}

// SendNA implements Net.
func (f *Fake) SendNA(iface string, ip netip.Addr) error {
	return f.send("SendNA", Frame{Iface: iface, IP: ip, NA: true})
}

func (f *Fake) send(method string, fr Frame) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(method, fr.Iface); err != nil {
		return fmt.Errorf("%s for %s on %s: %w", method, fr.IP, fr.Iface, err)
	}
	l := f.link(fr.Iface)
	if len(l.MAC) != 6 {
		return fmt.Errorf("%s on %s: interface has no Ethernet address", method, fr.Iface)
	}
	if !l.Up {
		return fmt.Errorf("%s for %s on %s: %w", method, fr.IP, fr.Iface, unix.ENETDOWN)
	}
	if fr.NA != fr.IP.Is6() {
		return fmt.Errorf("%s for %s on %s: wrong address family", method, fr.IP, fr.Iface)
	}
	fr.Time = f.Now()
	f.frames = append(f.frames, fr)
	return nil
}
