// sniff_test.go: reading the UDP datagrams one host sends off another
// host's interface (AF_PACKET), for media mallory cannot hear (ucast).

package faults

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// udpSniffer yields the payloads of the IPv4 UDP datagrams from src to
// port seen on one interface.
type udpSniffer struct {
	f    *os.File
	src  net.IP
	port uint16
	buf  []byte
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// sniffUDP opens the sniffer in the calling thread's network namespace.
func sniffUDP(iface, src string, port int) (*udpSniffer, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, int(htons(syscall.ETH_P_IP)))
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("binding the packet socket to %s: %w", iface, err)
	}
	return &udpSniffer{f: os.NewFile(uintptr(fd), "packet:"+iface), src: net.ParseIP(src).To4(),
		port: uint16(port), buf: make([]byte, 1<<16)}, nil
}

func (s *udpSniffer) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, err := s.f.Read(s.buf)
		if err != nil {
			return 0, nil, err
		}
		pkt := s.buf[:n]
		if n < 20 || pkt[0]>>4 != 4 || pkt[9] != syscall.IPPROTO_UDP || !bytes.Equal(pkt[12:16], s.src) ||
			binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 { // not a whole datagram from src
			continue
		}
		udp := pkt[int(pkt[0]&0x0f)*4:]
		if len(udp) < 8 || binary.BigEndian.Uint16(udp[2:4]) != s.port {
			continue
		}
		ulen := int(binary.BigEndian.Uint16(udp[4:6]))
		if ulen < 8 || ulen > len(udp) {
			continue
		}
		return copy(p, udp[8:ulen]), &net.UDPAddr{IP: net.IP(pkt[12:16]), Port: int(binary.BigEndian.Uint16(udp[0:2]))}, nil
	}
}

func (s *udpSniffer) SetReadDeadline(t time.Time) error { return s.f.SetReadDeadline(t) }

func (s *udpSniffer) Close() error { return s.f.Close() }
