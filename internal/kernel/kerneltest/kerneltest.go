// Package kerneltest helps root tests of code that announces addresses: it
// opens kernel.Net in a netns lab host, captures the ARP and neighbour
// advertisement frames another host receives, and reads and seeds
// neighbour entries.
package kerneltest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/netns"
)

// Net returns kernel.Net working in host h's namespace, closed when the test
// ends.
func Net(t testing.TB, h *netns.Host) *kernel.Linux {
	t.Helper()
	k, err := kernel.NewAt("/run/netns/" + h.NS)
	if err != nil {
		t.Fatalf("kerneltest: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// MAC returns the hardware address of iface in host h.
func MAC(t testing.TB, h *netns.Host, iface string) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	h.Do(t, func() error {
		ifc, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		mac = ifc.HardwareAddr
		return nil
	})
	return mac
}

// SetNeigh makes host h's neighbour entry for ip on hb0 point at mac, in
// state STALE: what a host has after talking to the previous owner.
func SetNeigh(t testing.TB, h *netns.Host, ip netip.Addr, mac string) {
	t.Helper()
	h.Run(t, "ip", "neigh", "replace", ip.String(), "lladdr", mac, "nud", "stale", "dev", h.Iface)
}

// Neigh returns the link-layer address of host h's neighbour entry for ip
// on hb0, or "" when it has none.
func Neigh(t testing.TB, h *netns.Host, ip netip.Addr) string {
	t.Helper()
	out := h.Run(t, "ip", "neigh", "show", "to", ip.String(), "dev", h.Iface)
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "lladdr" {
			return f[i+1]
		}
	}
	return ""
}

// Frame is one received ARP frame or ICMPv6 neighbour advertisement.
type Frame struct {
	Time     time.Time // kernel receive time
	EtherDst net.HardwareAddr
	EtherSrc net.HardwareAddr

	// ARP (EtherType 0x0806).
	ARP                  bool
	Op                   uint16 // 1 request, 2 reply
	SenderMAC, TargetMAC net.HardwareAddr
	SenderIP, TargetIP   netip.Addr

	// Neighbour advertisement (IPv6, ICMPv6 type 136).
	NA           bool
	IPSrc, IPDst netip.Addr
	HopLimit     uint8
	Router       bool
	Solicited    bool
	Override     bool
	Target       netip.Addr
	TargetLL     net.HardwareAddr // target link-layer address option
	ChecksumOK   bool             // the ICMPv6 checksum is right
}

// Capture receives the frames arriving at an interface of a host.
type Capture struct {
	fd   int
	done chan struct{}

	mu     sync.Mutex
	frames []Frame
	err    error
}

// Listen starts capturing the ARP frames and neighbour advertisements that
// arrive at host h's hb0 (not those h sends); it stops when the test ends.
func Listen(t testing.TB, h *netns.Host) *Capture {
	t.Helper()
	c := &Capture{fd: -1, done: make(chan struct{})}
	h.Do(t, func() error {
		ifc, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		all := int(htons(unix.ETH_P_ALL))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, all)
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		c.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(all), Ifindex: ifc.Index}); err != nil {
			return fmt.Errorf("binding packet socket: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
		}
		// Wake the reader regularly so it sees the end of the test.
		tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	stopped := make(chan struct{})
	go c.read(stopped)
	t.Cleanup(func() {
		close(c.done)
		<-stopped
		unix.Close(c.fd)
	})
	return c
}

func (c *Capture) read(stopped chan struct{}) {
	defer close(stopped)
	buf := make([]byte, 2048)
	oob := make([]byte, 128)
	for {
		select {
		case <-c.done:
			return
		default:
		}
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		f, ok := Parse(buf[:n])
		if !ok {
			continue
		}
		f.Time = time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
					sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
					nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
					f.Time = time.Unix(sec, nsec)
				}
			}
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
	}
}

// Frames returns the frames captured so far for which match is true.
func (c *Capture) Frames(match func(Frame) bool) []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Frame
	for _, f := range c.frames {
		if match(f) {
			out = append(out, f)
		}
	}
	return out
}

// Wait waits until n matching frames have arrived or timeout has passed,
// and then for quiet more, so frames beyond the n-th are seen too; it
// returns every matching frame.
func (c *Capture) Wait(t testing.TB, match func(Frame) bool, n int, timeout, quiet time.Duration) []Frame {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(c.Frames(match)) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(quiet)
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		t.Fatalf("kerneltest: capture: %v", err)
	}
	return c.Frames(match)
}

// ARPFor matches gratuitous-looking ARP frames whose sender IP is ip.
func ARPFor(ip netip.Addr) func(Frame) bool {
	return func(f Frame) bool { return f.ARP && f.SenderIP == ip }
}

// NAFor matches neighbour advertisements whose target is ip.
func NAFor(ip netip.Addr) func(Frame) bool {
	return func(f Frame) bool { return f.NA && f.Target == ip }
}

// Parse decodes an Ethernet frame holding ARP for IPv4 over Ethernet, or
// an ICMPv6 neighbour advertisement without extension headers; ok is false
// for anything else.
func Parse(b []byte) (f Frame, ok bool) {
	if len(b) < 14 {
		return f, false
	}
	f.EtherDst = net.HardwareAddr(clone(b[0:6]))
	f.EtherSrc = net.HardwareAddr(clone(b[6:12]))
	p := b[14:]
	switch binary.BigEndian.Uint16(b[12:14]) {
	case 0x0806:
		if len(p) < 28 || binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 || p[4] != 6 || p[5] != 4 {
			return f, false
		}
		f.ARP = true
		f.Op = binary.BigEndian.Uint16(p[6:8])
		f.SenderMAC = net.HardwareAddr(clone(p[8:14]))
		f.SenderIP = netip.AddrFrom4([4]byte(p[14:18]))
		f.TargetMAC = net.HardwareAddr(clone(p[18:24]))
		f.TargetIP = netip.AddrFrom4([4]byte(p[24:28]))
		return f, true
	case 0x86dd:
		if len(p) < 40+24 || p[0]>>4 != 6 || p[6] != unix.IPPROTO_ICMPV6 {
			return f, false
		}
		icmp := p[40:]
		if plen := int(binary.BigEndian.Uint16(p[4:6])); plen > len(icmp) || plen < 24 {
			return f, false
		} else {
			icmp = icmp[:plen]
		}
		if icmp[0] != 136 || icmp[1] != 0 {
			return f, false
		}
		f.NA = true
		f.ChecksumOK = icmpv6Sum(p[8:24], p[24:40], icmp) == 0xffff
		f.HopLimit = p[7]
		f.IPSrc = netip.AddrFrom16([16]byte(p[8:24]))
		f.IPDst = netip.AddrFrom16([16]byte(p[24:40]))
		f.Router = icmp[4]&0x80 != 0
		f.Solicited = icmp[4]&0x40 != 0
		f.Override = icmp[4]&0x20 != 0
		f.Target = netip.AddrFrom16([16]byte(icmp[8:24]))
		for o := icmp[24:]; len(o) >= 8 && o[1] != 0 && int(o[1])*8 <= len(o); o = o[int(o[1])*8:] {
			if o[0] == 2 && o[1] == 1 {
				f.TargetLL = net.HardwareAddr(clone(o[2:8]))
			}
		}
		return f, true
	}
	return f, false
}

// icmpv6Sum is the one's complement sum of an ICMPv6 message and its
// pseudo-header; 0xffff when the checksum in msg is right.
func icmpv6Sum(src, dst, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	sum += uint32(len(msg)) + unix.IPPROTO_ICMPV6
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
