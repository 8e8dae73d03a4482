package kernel

// ipvs.go: IPVS virtual services and real servers over generic netlink (github.com/cloudflare/ipvs).

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/cloudflare/ipvs"
	"github.com/cloudflare/ipvs/netmask"
	"golang.org/x/sys/unix"
)

// The IPVS errors callers match with errors.Is. Each wraps the kernel's
// errno as well (ESRCH, ENOENT, EEXIST).
var (
	// ErrNoService: the virtual service does not exist.
	ErrNoService = errors.New("no such virtual service")
	// ErrNoDest: the real server does not exist in that virtual service.
	ErrNoDest = errors.New("no such real server")
	// ErrExists: the virtual service or real server already exists.
	ErrExists = errors.New("already exists")
	// ErrNoScheduler: the kernel has no scheduler of that name.
	ErrNoScheduler = errors.New("unknown scheduler")
)

// Proto is the transport protocol of an address virtual service.
type Proto uint16

// The protocols IPVS balances.
const (
	TCP  Proto = unix.IPPROTO_TCP
	UDP  Proto = unix.IPPROTO_UDP
	SCTP Proto = unix.IPPROTO_SCTP
)

// String returns "tcp", "udp" or "sctp".
func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// Forward is a real server's forwarding method.
type Forward uint8

// The forwarding methods of include/uapi/linux/ip_vs.h, named as
// ldirectord names them (gate = direct routing, ipip = tunnel). Old kernels
// (before 2.6.37) turned any method into ForwardLocal for a real server
// whose address is local to the director; 6.1 keeps the method given.
const (
	ForwardMasq   Forward = Forward(ipvs.Masquerade)
	ForwardLocal  Forward = Forward(ipvs.Local)
	ForwardTunnel Forward = Forward(ipvs.Tunnel)
	ForwardGate   Forward = Forward(ipvs.DirectRoute)
)

// String returns ldirectord's name: "masq", "gate", "ipip" or "local".
func (f Forward) String() string {
	switch f {
	case ForwardMasq:
		return "masq"
	case ForwardLocal:
		return "local"
	case ForwardTunnel:
		return "ipip"
	case ForwardGate:
		return "gate"
	}
	return "forward(" + strconv.Itoa(int(f)) + ")"
}

// ServiceFlags are the IP_VS_SVC_F_* flags a caller sets (persistence is
// set through Service.Persistent, the kernel's hashed flag is never shown).
type ServiceFlags uint32

// The settable service flags: ipvsadm -o and -b sh-fallback,sh-port
// (flag-1, flag-2) and flag-3.
const (
	OnePacket  ServiceFlags = ServiceFlags(ipvs.ServiceOnePacket)
	SchedFlag1 ServiceFlags = ServiceFlags(ipvs.ServiceSchedulerOpt1)
	SchedFlag2 ServiceFlags = ServiceFlags(ipvs.ServiceSchedulerOpt2)
	SchedFlag3 ServiceFlags = ServiceFlags(ipvs.ServiceSchedulerOpt3)

	settableFlags = OnePacket | SchedFlag1 | SchedFlag2 | SchedFlag3
)

// ServiceKey identifies a virtual service: a fwmark, or a protocol, address
// and port. It is comparable.
type ServiceKey struct {
	FWMark uint32     // non-zero: a fwmark service (Proto, Addr and Port unset)
	IPv6   bool       // the family of a fwmark service; ignored otherwise
	Proto  Proto      // address services
	Addr   netip.Addr // address services (unmapped)
	Port   uint16     // address services
}

// Is6 reports whether the service is IPv6.
func (k ServiceKey) Is6() bool {
	if k.FWMark != 0 {
		return k.IPv6
	}
	return k.Addr.Unmap().Is6()
}

// String returns ldirectord's form: "tcp:10.0.0.1:80", "udp:[2001:db8::1]:53",
// "fwm:5", "fwm6:5".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		if k.IPv6 {
			return "fwm6:" + strconv.FormatUint(uint64(k.FWMark), 10)
		}
		return "fwm:" + strconv.FormatUint(uint64(k.FWMark), 10)
	}
	return k.Proto.String() + ":" + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// Canon returns k as the kernel reports it: unset fields cleared, the
// address unmapped.
func (k ServiceKey) Canon() ServiceKey {
	if k.FWMark != 0 {
		return ServiceKey{FWMark: k.FWMark, IPv6: k.IPv6}
	}
	return ServiceKey{Proto: k.Proto, Addr: k.Addr.Unmap(), Port: k.Port}
}

// Service is a virtual service's configuration.
type Service struct {
	ServiceKey
	Scheduler string       // rr, wrr, lc, wlc, sh, …
	Flags     ServiceFlags // OnePacket, SchedFlag1-3
	// Persistent is the persistence timeout in seconds; 0 = not persistent.
	Persistent uint32
	// Netmask is the persistence granularity as a prefix length; 0 means a
	// single client address (/32, /128), which the kernel reports as 0 too.
	Netmask int
}

// Canon returns s as the kernel reports it: the key canonical, Netmask 0
// when not persistent or a single address.
func (s Service) Canon() Service {
	s.ServiceKey = s.ServiceKey.Canon()
	if s.Persistent == 0 || s.Netmask == bitLen(s.Is6()) {
		s.Netmask = 0
	}
	return s
}

// Dest is a real server of a virtual service. Addr and Port identify it.
type Dest struct {
	Addr    netip.Addr
	Port    uint16
	Forward Forward
	Weight  int // 0 = quiescent: no new connections
	// UpperThreshold and LowerThreshold limit connections (0 = no limit).
	UpperThreshold int
	LowerThreshold int
}

// String returns "10.0.0.2:80" or "[2001:db8::2]:80".
func (d Dest) String() string { return netip.AddrPortFrom(d.Addr, d.Port).String() }

// IPVS is the kernel's IPVS table of the caller's network namespace.
// Listings are sorted as ipvsadm -Ln sorts them. Implementations are safe for
// concurrent use.
type IPVS interface {
	// Services lists the virtual services.
	Services() ([]Service, error)
	// Dests lists the real servers of a virtual service.
	Dests(svc ServiceKey) ([]Dest, error)
	NewService(svc Service) error
	UpdateService(svc Service) error
	DelService(svc ServiceKey) error
	NewDest(svc ServiceKey, d Dest) error
	UpdateDest(svc ServiceKey, d Dest) error
	// DelDest removes the real server d.Addr, d.Port.
	DelDest(svc ServiceKey, d Dest) error
}

// VirtualService is a virtual service with its real servers.
type VirtualService struct {
	Service
	Dests []Dest
}

// Table lists every virtual service with its real servers.
func Table(v IPVS) ([]VirtualService, error) {
	svcs, err := v.Services()
	if err != nil {
		return nil, err
	}
	out := make([]VirtualService, 0, len(svcs))
	for _, s := range svcs {
		ds, err := v.Dests(s.ServiceKey)
		if err != nil {
			return nil, err
		}
		out = append(out, VirtualService{Service: s, Dests: ds})
	}
	return out, nil
}

// NewIPVS returns the real IPVS: a generic netlink socket (and one more for
// Batch), opened on first use in the network namespace of the calling
// thread and kept until Close. A kernel without IPVS makes every call fail
// with ErrNoIPVS (and the next call tries again).
func NewIPVS() *NetlinkIPVS { return &NetlinkIPVS{} }

// NetlinkIPVS is the IPVS of NewIPVS.
type NetlinkIPVS struct {
	mu    sync.Mutex
	c     ipvs.Client
	batch *batchSocket
}

var (
	_ IPVS    = (*NetlinkIPVS)(nil)
	_ Batcher = (*NetlinkIPVS)(nil)
)

// Close closes the sockets.
func (n *NetlinkIPVS) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var err error
	if n.batch != nil {
		err = n.batch.close()
		n.batch = nil
	}
	if n.c != nil {
		err = errors.Join(err, n.c.(io.Closer).Close())
		n.c = nil
	}
	return err
}

// client returns the open client, opening it if needed. n.mu is held.
func (n *NetlinkIPVS) client() (ipvs.Client, error) {
	if n.c != nil {
		return n.c, nil
	}
	c, err := ipvs.New()
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoIPVS
	}
	if err != nil {
		return nil, fmt.Errorf("opening IPVS generic netlink socket: %w", err)
	}
	n.c = c
	return c, nil
}

// do runs f with the client under the lock.
func (n *NetlinkIPVS) do(f func(c ipvs.Client) error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.client()
	if err != nil {
		return err
	}
	return f(c)
}

// Services lists the virtual services; an empty table is no error.
func (n *NetlinkIPVS) Services() ([]Service, error) {
	var svcs []Service
	err := n.do(func(c ipvs.Client) error {
		list, err := c.Services()
		if errors.Is(err, os.ErrNotExist) { // cloudflare/ipvs: empty dump
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing IPVS services: %w", err)
		}
		svcs = make([]Service, 0, len(list))
		for _, s := range list {
			svcs = append(svcs, fromIPVSService(s.Service))
		}
		return nil
	})
	SortServices(svcs)
	return svcs, err
}

// Dests lists the real servers of svc.
func (n *NetlinkIPVS) Dests(svc ServiceKey) ([]Dest, error) {
	var ds []Dest
	err := n.do(func(c ipvs.Client) error {
		list, err := c.Destinations(toIPVSService(Service{ServiceKey: svc}))
		if errors.Is(err, os.ErrNotExist) { // cloudflare/ipvs: empty dump
			// An unknown service dumps nothing too: tell them apart.
			if _, err := c.Service(toIPVSService(Service{ServiceKey: svc})); err != nil {
				return ipvsErr("listing real servers of "+svc.String(), err, ErrNoService)
			}
			return nil
		}
		if err != nil {
			return ipvsErr("listing real servers of "+svc.String(), err, ErrNoService)
		}
		ds = make([]Dest, 0, len(list))
		for _, d := range list {
			ds = append(ds, fromIPVSDest(d.Destination))
		}
		return nil
	})
	SortDests(ds)
	return ds, err
}

// NewService adds a virtual service (ipvsadm -A).
func (n *NetlinkIPVS) NewService(svc Service) error {
	if err := checkService(svc); err != nil {
		return err
	}
	return n.do(func(c ipvs.Client) error {
		return ipvsErr("adding virtual service "+svc.String(), c.CreateService(toIPVSService(svc)), ErrNoScheduler)
	})
}

// UpdateService changes a virtual service's scheduler, flags and
// persistence (ipvsadm -E).
func (n *NetlinkIPVS) UpdateService(svc Service) error {
	if err := checkService(svc); err != nil {
		return err
	}
	return n.do(func(c ipvs.Client) error {
		return ipvsErr("changing virtual service "+svc.String(), c.UpdateService(toIPVSService(svc)), ErrNoScheduler)
	})
}

// DelService removes a virtual service and its real servers (ipvsadm -D).
func (n *NetlinkIPVS) DelService(svc ServiceKey) error {
	return n.do(func(c ipvs.Client) error {
		return ipvsErr("deleting virtual service "+svc.String(), c.RemoveService(toIPVSService(Service{ServiceKey: svc})), nil)
	})
}

// NewDest adds a real server (ipvsadm -a). The port is sent as given:
// ipvsadm's forcing of gate and ipip ports to the virtual port is the
// caller's business.
func (n *NetlinkIPVS) NewDest(svc ServiceKey, d Dest) error {
	if err := checkDest(d); err != nil {
		return err
	}
	return n.do(func(c ipvs.Client) error {
		return ipvsErr(fmt.Sprintf("adding real server %s to %s", d, svc),
			c.CreateDestination(toIPVSService(Service{ServiceKey: svc}), toIPVSDest(d)), ErrNoDest)
	})
}

// UpdateDest changes a real server's method, weight and thresholds
// (ipvsadm -e).
func (n *NetlinkIPVS) UpdateDest(svc ServiceKey, d Dest) error {
	if err := checkDest(d); err != nil {
		return err
	}
	return n.do(func(c ipvs.Client) error {
		return ipvsErr(fmt.Sprintf("changing real server %s of %s", d, svc),
			c.UpdateDestination(toIPVSService(Service{ServiceKey: svc}), toIPVSDest(d)), ErrNoDest)
	})
}

// DelDest removes a real server (ipvsadm -d).
func (n *NetlinkIPVS) DelDest(svc ServiceKey, d Dest) error {
	return n.do(func(c ipvs.Client) error {
		return ipvsErr(fmt.Sprintf("deleting real server %s from %s", d, svc),
			c.RemoveDestination(toIPVSService(Service{ServiceKey: svc}), toIPVSDest(d)), ErrNoDest)
	})
}

// ipvsError is a kernel error with the IPVS sentinel it means.
type ipvsError struct {
	sentinel error
	errno    error
}

func (e *ipvsError) Error() string   { return e.sentinel.Error() + " (" + e.errno.Error() + ")" }
func (e *ipvsError) Unwrap() []error { return []error{e.sentinel, e.errno} }

// ipvsErr wraps err from operation op. The kernel answers ESRCH for a
// missing service and EEXIST for a duplicate; ENOENT means what enoent says
// (an unknown scheduler for service calls, a missing real server for
// destination calls).
func ipvsErr(op string, err error, enoent error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch {
	case errors.Is(err, unix.ESRCH):
		sentinel, err = ErrNoService, unix.ESRCH
	case errors.Is(err, unix.EEXIST):
		sentinel, err = ErrExists, unix.EEXIST
	case errors.Is(err, unix.ENOENT) && enoent != nil:
		sentinel, err = enoent, unix.ENOENT
	}
	if sentinel != nil {
		err = &ipvsError{sentinel: sentinel, errno: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// checkService rejects what the kernel would reject less clearly.
func checkService(s Service) error {
	switch {
	case s.FWMark == 0 && !s.Addr.IsValid():
		return fmt.Errorf("virtual service %s: no address and no fwmark", s)
	case s.FWMark == 0 && s.Proto != TCP && s.Proto != UDP && s.Proto != SCTP:
		return fmt.Errorf("virtual service %s: protocol %d not tcp, udp or sctp", s, s.Proto)
	case s.Scheduler == "":
		return fmt.Errorf("virtual service %s: no scheduler", s)
	case s.Flags&^settableFlags != 0:
		return fmt.Errorf("virtual service %s: flags %#x not settable", s, uint32(s.Flags))
	case s.Netmask < 0 || s.Netmask > bitLen(s.Is6()):
		return fmt.Errorf("virtual service %s: netmask /%d out of range", s, s.Netmask)
	}
	return nil
}

// checkDest rejects what the kernel would reject less clearly.
func checkDest(d Dest) error {
	switch {
	case !d.Addr.IsValid():
		return fmt.Errorf("real server %s: no address", d)
	case d.Weight < 0 || d.UpperThreshold < 0 || d.LowerThreshold < 0:
		return fmt.Errorf("real server %s: negative weight or threshold", d)
	case d.Forward > ForwardGate:
		return fmt.Errorf("real server %s: unknown forwarding method %d", d, d.Forward)
	}
	return nil
}

func bitLen(v6 bool) int {
	if v6 {
		return 128
	}
	return 32
}

func family(v6 bool) ipvs.AddressFamily {
	if v6 {
		return ipvs.INET6
	}
	return ipvs.INET
}

// toIPVSService converts to cloudflare/ipvs, always with a netmask: the
// kernel rejects an IPv4 service without one (EINVAL).
func toIPVSService(s Service) ipvs.Service {
	s.ServiceKey = s.ServiceKey.Canon()
	bits := bitLen(s.Is6())
	ones := s.Netmask
	if ones == 0 || s.Persistent == 0 {
		ones = bits
	}
	out := ipvs.Service{
		Netmask:   netmask.MaskFrom(ones, bits),
		Scheduler: s.Scheduler,
		Timeout:   s.Persistent,
		Flags:     ipvs.Flags(s.Flags),
		Family:    family(s.Is6()),
	}
	if s.Persistent > 0 {
		out.Flags |= ipvs.ServicePersistent
	}
	if s.FWMark != 0 {
		out.FWMark = s.FWMark
	} else {
		out.Address = s.Addr.Unmap()
		out.Port = s.Port
		out.Protocol = ipvs.Protocol(s.Proto)
	}
	return out
}

// fromIPVSService converts a service read back from the kernel.
func fromIPVSService(s ipvs.Service) Service {
	out := Service{Scheduler: s.Scheduler, Flags: ServiceFlags(s.Flags) & settableFlags}
	if s.FWMark != 0 {
		out.FWMark = s.FWMark
		out.IPv6 = s.Family == ipvs.INET6
	} else {
		out.Proto = Proto(s.Protocol)
		out.Addr = s.Address.Unmap()
		out.Port = s.Port
	}
	if s.Flags&ipvs.ServicePersistent != 0 {
		out.Persistent = s.Timeout
		if ones := s.Netmask.Bits(); ones > 0 && ones < bitLen(out.Is6()) {
			out.Netmask = ones
		}
	}
	return out
}

func toIPVSDest(d Dest) ipvs.Destination {
	return ipvs.Destination{
		Address:        d.Addr.Unmap(),
		Port:           d.Port,
		Family:         family(d.Addr.Unmap().Is6()),
		FwdMethod:      ipvs.ForwardType(d.Forward),
		Weight:         uint32(d.Weight),
		UpperThreshold: uint32(d.UpperThreshold),
		LowerThreshold: uint32(d.LowerThreshold),
	}
}

func fromIPVSDest(d ipvs.Destination) Dest {
	return Dest{
		Addr:           d.Address.Unmap(),
		Port:           d.Port,
		Forward:        Forward(d.FwdMethod & 7), // IP_VS_CONN_F_FWD_MASK
		Weight:         int(d.Weight),
		UpperThreshold: int(d.UpperThreshold),
		LowerThreshold: int(d.LowerThreshold),
	}
}

// SortServices sorts as ipvsadm -Ln: address services before fwmark ones,
// then by family, protocol, address and port (fwmarks by mark, then family).
func SortServices(s []Service) {
	slices.SortFunc(s, func(a, b Service) int {
		return cmp.Or(
			cmp.Compare(a.FWMark, b.FWMark),
			cmpBool(a.Is6(), b.Is6()),
			cmp.Compare(a.Proto, b.Proto),
			a.Addr.Compare(b.Addr),
			cmp.Compare(a.Port, b.Port))
	})
}

// SortDests sorts real servers by address, then port, as ipvsadm -Ln.
func SortDests(d []Dest) {
	slices.SortFunc(d, func(a, b Dest) int {
		return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Port, b.Port))
	})
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
