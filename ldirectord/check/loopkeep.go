// loopkeep.go: checkkeepalive on the Loop: one connection per real, kept between its checks.

package check

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Keep holds one real's connection between its checks on a Loop
// (checkkeepalive). A check whose Exchange has a Keep sends its request
// over the kept connection when one is idle, and leaves its connection
// there after an answer Whole calls whole: most checks then make no
// socket, handshake or reset. The rules are Check's (KeepAlive): a
// connection serves at most keepAliveMaxUses checks and is retired
// keepAliveMaxAge (less a jitter) after it was opened; a kept connection
// that fails before any answer (the real closed or reset it while idle)
// is replaced once, within the check's deadline; anything arriving on an
// idle one (the real's FIN or reset) closes it at once. A Keep is owned
// by the goroutine that steps its Loop, as the Loop is.
type Keep struct {
	loop   *Loop // holding the idle connection
	fd     int
	family int
	idle   bool // fd is idle, in loop.kept
	busy   bool // a check is under way (with fd, or without a kept one)
	closed bool
	born   time.Time
	ttl    time.Duration // the age limit
	uses   int           // checks that sent a request over it
}

// Close lets the kept connection go: reset now if idle, at its check's
// end if in use. Later checks open a connection each, as classic's.
func (k *Keep) Close() {
	k.closed = true
	if k.idle {
		k.loop.drop(k)
	}
}

// reuse puts f on its Keep's idle connection if that may serve another
// check, retiring one too old or used up; it reports whether it did.
func (l *Loop) reuse(f *flight) bool {
	k := f.keep
	if !k.idle {
		return false
	}
	if k.uses >= keepAliveMaxUses || keepAliveNow().Sub(k.born) >= k.ttl {
		l.drop(k)
		return false
	}
	l.kept[k.fd], k.idle = nil, false
	k.uses++
	f.fd, f.family = k.fd, k.family
	l.flights[f.fd] = f
	return true
}

// retry replaces f's reused connection (one its Keep used for an
// earlier check) by a new one when it failed before any answer, which is
// what a connection the real closed or reset while idle does; it reports
// whether it did. Once per check: the new connection is not a reused one.
func (l *Loop) retry(f *flight) bool {
	if f.keep == nil || f.keep.uses < 2 || len(f.answer) > 0 {
		return false
	}
	l.flights[f.fd] = nil
	l.release(f.fd, f.family, true)
	f.connected, f.sent = false, 0
	l.dial(f)
	return true
}

// idle keeps fd, whose check's answer was whole, as k's idle connection.
func (l *Loop) idle(k *Keep, fd, family int) {
	for fd >= len(l.kept) {
		l.kept = append(l.kept, nil)
	}
	l.kept[fd] = k
	k.loop, k.fd, k.family, k.idle = l, fd, family, true
}

// idleEvent: k's idle connection has something to report. Unless a peek
// finds nothing (a late report of the answer already read), the real has
// closed or reset it, or sent what nobody asked for: it goes.
func (l *Loop) idleEvent(k *Keep) {
	var b [1]byte
	_, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(k.fd), uintptr(unsafe.Pointer(&b[0])), 1, unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	if errno != unix.EAGAIN {
		l.drop(k)
	}
}

// drop resets k's idle connection; its socket becomes a spare.
func (l *Loop) drop(k *Keep) {
	l.kept[k.fd], k.idle = nil, false
	l.release(k.fd, k.family, true)
}
