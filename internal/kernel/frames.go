// frames.go: the bytes of a gratuitous ARP frame and of an unsolicited NA.

package kernel

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// Ethernet and ARP constants of send_arp's frames.
const (
	etherTypeARP = 0x0806
	arpHWEther   = 1      // ARP hardware type: Ethernet
	arpProtoIPv4 = 0x0800 // ARP protocol type: IPv4
	arpRequest   = 1
	arpReply     = 2
	arpFrameLen  = 14 + 28 // Ethernet header + ARP for Ethernet/IPv4
)

// ICMPv6 neighbour advertisement constants (RFC 4861 §4.4).
const (
	icmpv6NA        = 136
	naFlagRouter    = 0x80
	naFlagSolicited = 0x40
	naFlagOverride  = 0x20
	ndOptTargetLL   = 2      // target link-layer address option
	naLen           = 24 + 8 // header and target, one 8-byte option
)

// arpFrame returns a gratuitous ARP frame for ip from mac: a request
// (target MAC zero) or a reply (target MAC = mac), sender IP = target IP = ip,
// sent to the Ethernet broadcast address.
func arpFrame(mac net.HardwareAddr, ip netip.Addr, reply bool) []byte {
	b := make([]byte, arpFrameLen)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], etherTypeARP)
	a := b[14:]
	binary.BigEndian.PutUint16(a[0:2], arpHWEther)
	binary.BigEndian.PutUint16(a[2:4], arpProtoIPv4)
	a[4], a[5] = 6, 4
	op := uint16(arpRequest)
	if reply {
		op = arpReply
	}
	binary.BigEndian.PutUint16(a[6:8], op)
	ip4 := ip.As4()
	copy(a[8:14], mac)     // sender MAC
	copy(a[14:18], ip4[:]) // sender IP
	if reply {
		copy(a[18:24], mac) // target MAC; zero in a request
	}
	copy(a[24:28], ip4[:]) // target IP
	return b
}

// naMessage returns an unsolicited neighbour advertisement for ip from mac,
// as an ICMPv6 message whose checksum the kernel fills in: override set,
// router and solicited clear, with a target link-layer address option.
func naMessage(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, naLen)
	b[0] = icmpv6NA
	// b[1] code 0, b[2:4] checksum (the kernel's, for raw ICMPv6 sockets)
	b[4] = naFlagOverride
	t := ip.As16()
	copy(b[8:24], t[:])
	b[24] = ndOptTargetLL
	b[25] = 1 // option length in units of 8 bytes
	copy(b[26:32], mac)
	return b
}
