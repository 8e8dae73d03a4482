// loop.go: plain TCP and plain-HTTP checks, thousands at once, on one goroutine over raw sockets.

package check

import (
	"container/heap"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Exchange is a check the Loop can run: connect to Addr, send Request,
// and read the answer until Answer has what it needs.
type Exchange struct {
	Addr netip.AddrPort
	// Request is written once connected; nil for a connect check, which
	// Answer judges as soon as the connection is up.
	Request []byte
	// Answer judges answer, all that was read so far: eof when the real
	// has closed its side, err when the connection failed or the
	// deadline passed. done false asks for more (only without eof and
	// err); full true hands the check to the checker's own Check (a
	// redirect, which the full client follows); verdict nil is a pass.
	Answer func(answer []byte, eof bool, err error) (done, full bool, verdict error)
	// Keep, for a keep-alive check (checkkeepalive), keeps the real's
	// connection between checks; Whole then says whether an answer is
	// one whole response after which the connection may carry another.
	Keep  *Keep
	Whole func(answer []byte) bool
}

// Leaner is a checker some of whose checks the Loop can run.
type Leaner interface {
	// Lean returns t's check as an Exchange, or false when only Check can
	// run it (TLS, a proxy, a name to resolve, an unusual request).
	Lean(t Target) (Exchange, bool)
}

// LoopJob is one check handed to a Loop.
type LoopJob struct {
	ID       uint64
	Exchange Exchange
	Timeout  time.Duration
	// Ref is the submitter's, handed back with the result.
	Ref any
}

// LoopResult is a finished LoopJob. Full: the Loop could not finish it
// (a redirect, or no socket to be had); run the checker's Check instead.
type LoopResult struct {
	ID     uint64
	Ref    any
	Result Result
	Full   bool
}

// Loop runs Exchanges without a goroutine, timer or context per check:
// non-blocking sockets in one epoll set, which its owner steps, at most
// every quantum, when a socket has something to report (Ready) or a
// deadline comes (NextStep). At 10,000 checks a second a
// goroutine per check (Go's poller, channels, a context each) costs more
// CPU than the kernel's TCP work. Stepping every quantum, rather than
// waking for every packet, handles about quantum × rate sockets a step, and
// no answer wakes the daemon; a check ends at most a quantum late.
//
// A socket whose exchange ended with the real closing first is reset with
// connect(AF_UNSPEC) (the same RST a close with SO_LINGER 0 sends) and
// kept for the next check: each check still makes a new connection, from
// a new port, but the kernel does not build and tear down a socket and
// its epoll entry every time. A keep-alive check (an Exchange with a
// Keep) reuses its real's connection instead (loopkeep.go).
//
// A Loop is not safe for concurrent use: one goroutine owns it.
type Loop struct {
	ep    int
	watch chan struct{} // Watch's requests to the watcher
	ready chan struct{}
	// The watcher's wait, for Close to end it.
	mu       sync.Mutex
	watching *os.File
	closed   bool

	flights  []*flight // by descriptor
	kept     []*Keep   // idle kept connections, by descriptor
	expiries expiryHeap
	spare    map[int][]int // reset sockets by address family, their ACKs deferred
	unused   []*flight
	events   []unix.EpollEvent
	read     []byte
	finished []LoopResult // since the last Step
	returned []LoopResult // by the last Step
}

// flight is a check under way.
type flight struct {
	fd        int
	family    int // the socket's address family
	id        uint64
	ref       any
	ex        Exchange
	start     time.Time
	deadline  time.Time
	sent      int // bytes of the request written
	connected bool
	keep      *Keep // the check's Keep, if it holds the connection
	answer    []byte
	index     int // in expiries
}

// ending is what finish does with a check's socket.
type ending int

const (
	closeSocket ending = iota // closed as a net.Conn is: a FIN, or a reset if an answer is left unread
	resetSocket               // the real closed first: reset and kept as a spare
	keepSocket                // a whole answer over a Keep's connection: kept for the real's next check
)

// maxSpare bounds the reset sockets kept per address family.
const maxSpare = 1024

// maxAnswer bounds an answer read: the head and maxBody of body.
const maxAnswer = maxBody + 1<<20

// NewLoop returns a loop, or an error when epoll is not to be had.
func NewLoop() (*Loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// The watcher puts the epoll set on Go's poller (it is readable while
	// a socket is ready), which wants it non-blocking.
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, os.NewSyscallError("fcntl", err)
	}
	l := &Loop{
		ep:     ep,
		watch:  make(chan struct{}, 1),
		ready:  make(chan struct{}, 1),
		spare:  map[int][]int{},
		events: make([]unix.EpollEvent, 256),
		read:   make([]byte, 64<<10),
	}
	go l.watcher()
	return l, nil
}

// watcher signals Ready once a socket is ready after each Watch, until
// Close. The epoll set is on Go's poller (through a duplicate descriptor)
// only while it waits: registered there, every socket event would also
// wake Go's own poller, a cost at thousands of checks a second.
func (l *Loop) watcher() {
	for range l.watch {
		if !l.wait() {
			return
		}
		select {
		case l.ready <- struct{}{}:
		default:
		}
	}
}

// wait blocks until the epoll set is readable, or reports false once the
// loop is closed.
func (l *Loop) wait() bool {
	fd, err := unix.FcntlInt(uintptr(l.ep), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return true // the owner steps early, as on a spurious Ready
	}
	f := os.NewFile(uintptr(fd), "epoll")
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		f.Close()
		return false
	}
	l.watching = f
	l.mu.Unlock()
	waited := false
	if rc, err := f.SyscallConn(); err == nil {
		rc.Read(func(uintptr) bool { // first call: wait; second: ready (or closed)
			done := waited
			waited = true
			return done
		})
	}
	l.mu.Lock()
	l.watching = nil
	closed := l.closed
	l.mu.Unlock()
	f.Close()
	return !closed
}

// Watch asks for a signal on Ready when a socket of the loop has
// something to report (it may come early: then a Step finds nothing).
func (l *Loop) Watch() {
	select {
	case l.watch <- struct{}{}:
	default:
	}
}

// Ready receives after Watch when a socket is ready.
func (l *Loop) Ready() <-chan struct{} { return l.ready }

// Busy reports whether checks are under way (or finished and not yet
// returned by Step).
func (l *Loop) Busy() bool { return len(l.expiries) > 0 || len(l.finished) > 0 }

// NextStep is when the loop must be stepped even without Ready: the
// zero time when results wait for Step, else the earliest deadline; false
// when no check is under way.
func (l *Loop) NextStep() (time.Time, bool) {
	switch {
	case len(l.finished) > 0:
		return time.Time{}, true
	case len(l.expiries) > 0:
		return l.expiries[0].deadline, true
	}
	return time.Time{}, false
}

// Step moves the checks on by what their sockets report, ends those past
// their deadline at now, and returns the checks finished since the last
// Step. The slice is the loop's, valid until the next Step.
func (l *Loop) Step(now time.Time) []LoopResult {
	l.poll()
	for len(l.expiries) > 0 && !l.expiries[0].deadline.After(now) {
		f := l.expiries[0]
		op := "read"
		if !f.connected {
			op = "dial"
		}
		_, full, verdict := f.ex.Answer(f.answer, false, f.opError(op, os.ErrDeadlineExceeded))
		if verdict != nil {
			verdict = fmt.Errorf("%w: %w", context.DeadlineExceeded, verdict)
		}
		l.finish(f, full, verdict, closeSocket)
	}
	clear(l.returned)
	l.returned, l.finished = l.finished, l.returned[:0]
	return l.returned
}

// Close closes every socket; the checks under way report nothing. Once:
// later calls do nothing.
func (l *Loop) Close() {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return
	}
	for _, f := range l.flights {
		if f != nil {
			unix.Close(f.fd)
		}
	}
	for _, fds := range l.spare {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	for _, k := range l.kept {
		if k != nil {
			unix.Close(k.fd)
			k.idle = false
		}
	}
	l.mu.Lock()
	l.closed = true
	if l.watching != nil {
		l.watching.Close() // the watcher's wait ends
	}
	l.mu.Unlock()
	close(l.watch)
	unix.Close(l.ep)
}

// Start opens job's connection, its deadline counted from now. What
// happens next, Step reports.
func (l *Loop) Start(job LoopJob, now time.Time) {
	f := l.flight()
	f.id, f.ref, f.ex, f.start, f.deadline = job.ID, job.Ref, job.Exchange, now, now.Add(job.Timeout)
	heap.Push(&l.expiries, f)
	if k := f.ex.Keep; k != nil && !k.busy && !k.closed {
		f.keep, k.busy = k, true
		if l.reuse(f) {
			l.connected(f)
			return
		}
	}
	l.dial(f)
}

// dial opens a new connection for f.
func (l *Loop) dial(f *flight) {
	a := f.ex.Addr.Addr().Unmap()
	family, sa, salen := sockaddr(a, f.ex.Addr.Port())
	fd, err := l.socket(family, f.ex.Request != nil)
	f.fd, f.family = fd, family
	if err != nil {
		// Out of descriptors or memory: the checker's own Check, which
		// waits for a worker, rather than a real marked down.
		l.finish(f, true, nil, closeSocket)
		return
	}
	for fd >= len(l.flights) {
		l.flights = append(l.flights, nil)
	}
	l.flights[fd] = f
	if k := f.keep; k != nil {
		k.born, k.ttl, k.uses = keepAliveNow(), keepAliveMaxAge-keepAliveAgeJitter(), 1
	}
	_, _, errno := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(salen))
	switch errno {
	case 0:
		l.connected(f)
	case unix.EINPROGRESS, unix.EINTR:
		// The writable edge says when.
	default:
		l.fail(f, f.opError("dial", os.NewSyscallError("connect", errno)))
	}
}

// socket is a non-blocking TCP socket of family in the epoll set; for a
// check that sends a request (deferAck), a spare one if there is one.
// Such a socket has TCP_DEFER_ACCEPT, set once when it is made: on a
// connecting socket Linux then holds the handshake's last ACK for the
// first data, as TCP_QUICKACK 0 would, and unlike that the option
// outlives the reset that lets the socket be reused (so every spare
// socket has it). A connect check's socket is always a new one without
// it: that check ends with a close.
func (l *Loop) socket(family int, deferAck bool) (int, error) {
	if s := l.spare[family]; deferAck && len(s) > 0 {
		l.spare[family] = s[:len(s)-1]
		return s[len(s)-1], nil
	}
	r, _, errno := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	fd := int(r)
	if deferAck {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// sockaddr is a's raw sockaddr with port, for connect(2).
func sockaddr(a netip.Addr, port uint16) (family int, sa [28]byte, n int) {
	p := [2]byte{byte(port >> 8), byte(port)}
	if a.Is4() {
		*(*uint16)(unsafe.Pointer(&sa[0])) = unix.AF_INET
		copy(sa[2:], p[:])
		b := a.As4()
		copy(sa[4:], b[:])
		return unix.AF_INET, sa, unix.SizeofSockaddrInet4
	}
	*(*uint16)(unsafe.Pointer(&sa[0])) = unix.AF_INET6
	copy(sa[2:], p[:])
	b := a.As16()
	copy(sa[8:], b[:])
	return unix.AF_INET6, sa, unix.SizeofSockaddrInet6
}

// delayAcks turns off TCP's quick acknowledgements once the request is
// out (TCP_QUICKACK 0; the handshake turned them on): acknowledgements
// then wait for data to ride on, or for the delayed-ACK timer (40 ms at
// least), which the check's next step beats. So the answer and the
// real's FIN need none, the reset that ends the exchange acknowledging
// them; with the handshake's last ACK riding on the request (socket),
// 7 packets a check rather than 9. The real sees a valid exchange either
// way.
func delayAcks(fd int) {
	off := int32(0)
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, uintptr(unsafe.Pointer(&off)), 4, 0)
}

// poll handles every socket that is ready.
func (l *Loop) poll() {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.ep), uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		if errno != 0 {
			return // EINTR: the next step polls again
		}
		for _, ev := range l.events[:n] {
			switch fd := int(ev.Fd); {
			case fd < len(l.flights) && l.flights[fd] != nil:
				l.event(l.flights[fd], ev.Events)
			case fd < len(l.kept) && l.kept[fd] != nil:
				l.idleEvent(l.kept[fd])
			}
		}
		if int(n) < len(l.events) {
			return
		}
	}
}

// event moves f on by what its socket reports; stale reports (of an
// earlier connection of a reused socket) find nothing to do.
func (l *Loop) event(f *flight, ev uint32) {
	if !f.connected {
		if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			errno, err := unix.GetsockoptInt(f.fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err == nil && errno != 0 {
				l.fail(f, f.opError("dial", os.NewSyscallError("connect", syscall.Errno(errno))))
				return
			}
		}
		if ev&unix.EPOLLOUT == 0 {
			return
		}
		l.connected(f)
		return
	}
	if f.sent < len(f.ex.Request) {
		l.send(f)
		return
	}
	l.receive(f, ev&unix.EPOLLRDHUP != 0)
}

// connected sends f's request, or judges a connect check.
func (l *Loop) connected(f *flight) {
	f.connected = true
	if f.ex.Request == nil {
		_, full, verdict := f.ex.Answer(nil, false, nil)
		l.finish(f, full, verdict, closeSocket)
		return
	}
	l.send(f)
}

// send writes what is left of f's request. The answer is read when its
// socket reports it: a read now would find nothing yet.
func (l *Loop) send(f *flight) {
	for f.sent < len(f.ex.Request) {
		b := f.ex.Request[f.sent:]
		n, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(f.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch errno {
		case 0:
			f.sent += int(n)
		case unix.EAGAIN:
			return
		default:
			l.fail(f, f.opError("write", errno))
			return
		}
	}
	if f.keep == nil {
		delayAcks(f.fd) // the answer's and its FIN's ACKs wait; the reset goes first
	}
}

// receive reads what f's socket has and lets Answer judge it.
func (l *Loop) receive(f *flight, rdhup bool) {
	eof, got := false, false
	for !eof {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(f.fd), uintptr(unsafe.Pointer(&l.read[0])), uintptr(len(l.read)))
		if errno == unix.EAGAIN {
			break
		}
		if errno != 0 {
			l.fail(f, f.opError("read", errno))
			return
		}
		f.answer = append(f.answer, l.read[:n]...)
		got = true
		// A short read has taken all there is. After the real's FIN
		// (rdhup) that is the end, without a read to return it; else
		// what comes next is reported (edge-triggered) when it comes.
		short := int(n) < len(l.read)
		eof = n == 0 || len(f.answer) >= maxAnswer || rdhup && short
		if short {
			break
		}
	}
	if !got || eof && len(f.answer) == 0 && l.retry(f) {
		return
	}
	done, full, verdict := f.ex.Answer(f.answer, eof, nil)
	switch {
	case eof:
		l.finish(f, full, verdict, resetSocket)
	case done && f.keep != nil && !full && f.ex.Whole(f.answer):
		l.finish(f, full, verdict, keepSocket)
	case done:
		l.finish(f, full, verdict, closeSocket)
	}
}

// opError is err of op on f's connection, worded as a net.Conn's.
func (f *flight) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: net.TCPAddrFromAddrPort(f.ex.Addr), Err: err}
}

// fail ends f with err, as Answer words it, unless a retry takes it.
func (l *Loop) fail(f *flight, err error) {
	if l.retry(f) {
		return
	}
	_, full, verdict := f.ex.Answer(f.answer, false, err)
	l.finish(f, full, verdict, closeSocket)
}

// finish reports f and lets go of its socket as end says (a socket that
// was never had, fd -1, has nothing to let go of).
func (l *Loop) finish(f *flight, full bool, verdict error, end ending) {
	l.finished = append(l.finished, LoopResult{ID: f.id, Ref: f.ref, Full: full,
		Result: Result{OK: verdict == nil && !full, Err: verdict, Latency: time.Since(f.start)}})
	heap.Remove(&l.expiries, f.index)
	if k := f.keep; k != nil {
		k.busy = false
	}
	switch {
	case f.fd < 0:
	case end == keepSocket && !f.keep.closed:
		l.flights[f.fd] = nil
		l.idle(f.keep, f.fd, f.family)
	default:
		l.flights[f.fd] = nil
		l.release(f.fd, f.family, end == resetSocket)
	}
	*f = flight{answer: f.answer[:0]}
	if cap(f.answer) > 64<<10 {
		f.answer = nil
	}
	l.unused = append(l.unused, f)
}

// release resets a socket for reuse or closes it.
func (l *Loop) release(fd, family int, reset bool) {
	if reset && len(l.spare[family]) < maxSpare {
		var unspec [unix.SizeofSockaddrInet6]byte // sa_family AF_UNSPEC: disconnect
		_, _, errno := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&unspec[0])), uintptr(len(unspec)))
		if errno == 0 {
			l.spare[family] = append(l.spare[family], fd)
			return
		}
	}
	if reset {
		unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// flight is a flight record to fill in.
func (l *Loop) flight() *flight {
	if n := len(l.unused); n > 0 {
		f := l.unused[n-1]
		l.unused = l.unused[:n-1]
		return f
	}
	return &flight{}
}

// expiryHeap orders the flights by deadline.
type expiryHeap []*flight

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	f := x.(*flight)
	f.index = len(*h)
	*h = append(*h, f)
}
func (h *expiryHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return f
}
