// bcast.go: the bcast medium and the interface broadcast address.

package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// openBcast opens "bcast <if>": packets go to the interface's IPv4
// broadcast address at s.Port.
func openBcast(s Spec) (*udpMedium, error) {
	if _, err := lookupIface(s.Iface); err != nil {
		return nil, err
	}
	bc, err := ifaceBroadcast(s.Iface)
	if err != nil {
		return nil, err
	}
	send, recv, err := openPair(s, "udp4", ":"+strconv.Itoa(s.Port),
		[]sockopt{broadcast, bindToDevice(s.Iface)})
	if err != nil {
		return nil, err
	}
	return newUDPMedium(s, send, recv, netip.AddrPortFrom(bc, uint16(s.Port)))
}

// ifaceBroadcast returns the broadcast address of the interface's primary
// IPv4 address, as heartbeat reads it (SIOCGIFBRDADDR), computed from the
// netmask when none is set.
func ifaceBroadcast(iface string) (netip.Addr, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading broadcast address: %w", err)
	}
	defer unix.Close(fd)
	get := func(req uint) (netip.Addr, error) {
		ifr, err := unix.NewIfreq(iface)
		if err != nil {
			return netip.Addr{}, err
		}
		if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
			return netip.Addr{}, err
		}
		b, err := ifr.Inet4Addr()
		if err != nil {
			return netip.Addr{}, err
		}
		return netip.AddrFrom4([4]byte(b)), nil
	}
	addr, err := get(unix.SIOCGIFADDR)
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return netip.Addr{}, errors.New("no IPv4 address")
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading IPv4 address: %w", err)
	}
	mask, err := get(unix.SIOCGIFNETMASK)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading netmask: %w", err)
	}
	brd, err := get(unix.SIOCGIFBRDADDR)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading broadcast address: %w", err)
	}
	return broadcastAddr(addr, mask, brd)
}

// broadcastAddr picks the broadcast address for IPv4 addr/mask: brd when it
// is set (not 0.0.0.0), else the address with all host bits set. /31 and
// /32 networks have no computed broadcast address.
func broadcastAddr(addr, mask, brd netip.Addr) (netip.Addr, error) {
	if !addr.Is4() || !mask.Is4() {
		return netip.Addr{}, fmt.Errorf("not an IPv4 address and mask: %v/%v", addr, mask)
	}
	if brd.IsValid() && !brd.IsUnspecified() {
		if !brd.Is4() {
			return netip.Addr{}, fmt.Errorf("broadcast address %v is not IPv4", brd)
		}
		return brd, nil
	}
	a, m := addr.As4(), mask.As4()
	ones := bits.OnesCount32(binary.BigEndian.Uint32(m[:]))
	if ones >= 31 {
		return netip.Addr{}, fmt.Errorf("%v/%d has no broadcast address", addr, ones)
	}
	var out [4]byte
	for i := range a {
		out[i] = a[i] | ^m[i]
	}
	return netip.AddrFrom4(out), nil
}
