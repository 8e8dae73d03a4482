// Package tcptest gives tests loopback TCP endpoints that misbehave as
// real servers do: one whose connects hang (black-holed, without root or a
// firewall rule), one that accepts and closes at once.
package tcptest

// tcptest.go: a listener whose accept queue is full; accept-and-close.

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Hanging returns the address of a listener on 127.0.0.1 whose accept
// queue is full: the kernel drops further SYNs, so a connect to it hangs
// until the caller's deadline. It is closed when the test ends.
func Hanging(t testing.TB) netip.AddrPort {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	// Fill the queue (backlog 0 holds one) with connections never accepted.
	for range 2 {
		c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return ap
}

// CloseEach accepts every connection on ln and closes it at once, until
// ln is closed (run it as a goroutine): a real that passes a connect
// check and answers nothing.
func CloseEach(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}
