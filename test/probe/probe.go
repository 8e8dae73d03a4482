// Package probe measures the service a client sees between the network
// namespaces of a test/netns lab: UDP responders on the servers answer with
// their host's name, and a prober on the client sends a numbered datagram
// every few milliseconds to one address (e.g. a VIP) and records who
// answered and when. From that record it computes the client-visible outage
// of a failover.
package probe

// probe.go: the responder, the prober and the outage computation.

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

	"golang.org/x/net/ipv4"

	"github.com/hasuite/hasuite/test/netns"
)

// DefaultEvery is the probe period when NewProber is given 0: the
// resolution of a measured outage.
const DefaultEvery = 5 * time.Millisecond

// maxDatagram bounds a request or reply.
const maxDatagram = 512

// seqLen is the size of a request: its sequence number, big-endian.
const seqLen = 8

// StartResponder starts a UDP responder in h's namespace on 0.0.0.0:port.
// It answers every datagram with h.Name, a newline and the datagram itself,
// from the address the datagram was sent to (so a reply to a VIP comes from
// the VIP, as a connected client requires). It stops at t.Cleanup.
func StartResponder(t testing.TB, h *netns.Host, port int) {
	t.Helper()
	var conn *net.UDPConn
	h.Do(t, func() error {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err != nil {
			return fmt.Errorf("probe: responder on port %d: %w", port, err)
		}
		conn = c
		return nil
	})
	pc := ipv4.NewPacketConn(conn)
	if err := pc.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		conn.Close()
		t.Fatalf("probe: responder in %s: asking for destination addresses: %v", h.NS, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, maxDatagram)
		for {
			n, cm, src, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			reply := append([]byte(h.Name+"\n"), buf[:n]...)
			var out *ipv4.ControlMessage
			if cm != nil && cm.Dst != nil && !cm.Dst.IsMulticast() && !cm.Dst.Equal(net.IPv4bcast) {
				out = &ipv4.ControlMessage{Src: cm.Dst}
			}
			// A failed reply is a lost reply: the prober sees it.
			_, _ = pc.WriteTo(reply, out, src)
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
}

// Reply is one answered probe.
type Reply struct {
	// Seq is the probe's sequence number (0 is the first probe).
	Seq uint64
	// Sent and Received are when the probe was sent and its reply read.
	Sent, Received time.Time
	// From is the name of the responder's host.
	From string
}

// Prober sends probes from a client namespace and records the replies.
type Prober struct {
	target netip.AddrPort
	every  time.Duration
	conn   *net.UDPConn

	mu       sync.Mutex
	sent     []time.Time // by sequence number
	replies  []Reply     // in the order received
	ignored  int         // replies from another address, malformed or unknown
	sendErrs int
	lastErr  error

	stopOnce sync.Once
	stop     chan struct{}
	sendDone chan struct{}
	recvDone chan struct{}
}

// NewProber starts sending a numbered datagram to target every every
// (DefaultEvery if 0) from a UDP socket in client's namespace. Only replies
// whose source is target count. Stop, also called at t.Cleanup, ends it.
func NewProber(t testing.TB, client *netns.Host, target netip.AddrPort, every time.Duration) *Prober {
	t.Helper()
	if every <= 0 {
		every = DefaultEvery
	}
	p := &Prober{
		target:   target,
		every:    every,
		stop:     make(chan struct{}),
		sendDone: make(chan struct{}),
		recvDone: make(chan struct{}),
	}
	client.Do(t, func() error {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			return fmt.Errorf("probe: prober socket: %w", err)
		}
		p.conn = c
		return nil
	})
	go p.receive()
	go p.send()
	t.Cleanup(p.Stop)
	return p
}

// send sends one probe per period until Stop.
func (p *Prober) send() {
	defer close(p.sendDone)
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	dst := net.UDPAddrFromAddrPort(p.target)
	var buf [seqLen]byte
	for {
		p.mu.Lock()
		seq := uint64(len(p.sent))
		p.sent = append(p.sent, time.Now())
		p.mu.Unlock()
		binary.BigEndian.PutUint64(buf[:], seq)
		if _, err := p.conn.WriteToUDP(buf[:], dst); err != nil {
			p.mu.Lock()
			p.sendErrs++
			p.lastErr = err
			p.mu.Unlock()
		}
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
	}
}

// receive records replies until the socket is closed.
func (p *Prober) receive() {
	defer close(p.recvDone)
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := p.conn.ReadFromUDPAddrPort(buf)
		now := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		name, seq, ok := parseReply(buf[:n])
		p.mu.Lock()
		if !ok || src.Addr().Unmap() != p.target.Addr() || src.Port() != p.target.Port() || seq >= uint64(len(p.sent)) {
			p.ignored++
		} else {
			p.replies = append(p.replies, Reply{Seq: seq, Sent: p.sent[seq], Received: now, From: name})
		}
		p.mu.Unlock()
	}
}

// parseReply splits a responder's reply into the responder name and the
// echoed sequence number.
func parseReply(b []byte) (name string, seq uint64, ok bool) {
	i := strings.IndexByte(string(b), '\n')
	if i <= 0 || len(b)-i-1 != seqLen {
		return "", 0, false
	}
	return string(b[:i]), binary.BigEndian.Uint64(b[i+1:]), true
}

// Stop stops sending, waits one period for late replies and closes the
// socket. The record stays readable. It may be called more than once.
func (p *Prober) Stop() {
	p.stopOnce.Do(func() {
		close(p.stop)
		<-p.sendDone
		time.Sleep(p.every)
		p.conn.Close()
		<-p.recvDone
	})
}

// Replies returns a copy of the replies received so far, in order.
func (p *Prober) Replies() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Reply(nil), p.replies...)
}

// Stats returns how many probes were sent, answered and how many replies
// were ignored (wrong source address or malformed), and the number of
// failed sends.
func (p *Prober) Stats() (sent, answered, ignored, sendErrs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent), len(p.replies), p.ignored, p.sendErrs
}

// WaitServedBy waits until a reply from the host named name arrives after
// the call and returns how long that took; it fails the test if none
// arrives within the given time.
func (p *Prober) WaitServedBy(t testing.TB, name string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for {
		p.mu.Lock()
		for i := len(p.replies) - 1; i >= 0 && !p.replies[i].Received.Before(start); i-- {
			if p.replies[i].From == name {
				d := p.replies[i].Received.Sub(start)
				p.mu.Unlock()
				return d
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("probe: %v not served by %s within %v: %s", p.target, name, within, p.summary(start))
		}
		select {
		case <-time.After(p.every):
		case <-p.sendDone:
			t.Fatalf("probe: %v: prober stopped while waiting for %s: %s", p.target, name, p.summary(start))
		}
	}
}

// summary describes the record since start, for failure messages.
func (p *Prober) summary(start time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d probes sent, %d answered, %d replies ignored, %d send errors", len(p.sent), len(p.replies), p.ignored, p.sendErrs)
	if p.lastErr != nil {
		fmt.Fprintf(&b, " (last: %v)", p.lastErr)
	}
	if n := len(p.replies); n > 0 {
		r := p.replies[n-1]
		fmt.Fprintf(&b, "; last reply from %s %v after the wait began", r.From, r.Received.Sub(start).Round(time.Millisecond))
	}
	return b.String()
}

// Outage returns the longest interval after since during which no reply
// arrived: from the last reply received before since (or since itself if
// there was none), or the last reply of an earlier gap, to the first reply
// received after the gap, with the names of the responders just before and
// just after it. If service has not resumed (no reply for more than two
// periods), the interval runs until now, or until the last probe if the
// prober was stopped, and after is "". Times are reply receive times, so
// the result is exact to within one probe period plus the jitter of one
// round trip.
func (p *Prober) Outage(since time.Time) (gap time.Duration, before, after string) {
	p.mu.Lock()
	end := time.Now()
	select {
	case <-p.sendDone:
		end = p.sent[len(p.sent)-1]
	default:
	}
	replies := append([]Reply(nil), p.replies...)
	p.mu.Unlock()
	return outage(replies, since, end, 2*p.every)
}

// outage is Outage over a record of replies in receive order, probing
// until end; a silence at the end counts only if it is longer than resumed.
func outage(replies []Reply, since, end time.Time, resumed time.Duration) (gap time.Duration, before, after string) {
	prevT, prevFrom := since, ""
	i := 0
	for ; i < len(replies) && !replies[i].Received.After(since); i++ {
		prevT, prevFrom = replies[i].Received, replies[i].From
	}
	for ; i < len(replies); i++ {
		r := replies[i]
		if d := r.Received.Sub(prevT); d > gap {
			gap, before, after = d, prevFrom, r.From
		}
		prevT, prevFrom = r.Received, r.From
	}
	if d := end.Sub(prevT); d > resumed && d > gap {
		gap, before, after = d, prevFrom, ""
	}
	return gap, before, after
}
