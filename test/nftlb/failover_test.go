package nftlb

// failover_test.go: two directors, each running heartbeatd and ldirectord
// with backend = nftables; the active one dies and new connections go on
// through the other.

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

// heartbeatd's timers: fast, so that a failover is quick to see.
const (
	hbKeepalive = 100 * time.Millisecond
	hbDeadtime  = 500 * time.Millisecond
	// startupWindow: a node advertises deadtime + 2 s for its first 5 s
	// (as heartbeat 3.0.6 does); the failure is injected after it.
	startupWindow = 5500 * time.Millisecond
	// attemptTimeout bounds one client connection attempt: a SYN sent
	// to the dead director is lost, and the next attempt starts at once.
	attemptTimeout = 100 * time.Millisecond
	// failoverMargin is what the client may wait beyond deadtime for its
	// first answer through the survivor: up to one keepalive of detection
	// jitter is already inside deadtime; then the takeover (two IPaddr2
	// addresses and their gratuitous ARPs, milliseconds), one attempt
	// lost to the dead director (attemptTimeout) and scheduling on a
	// loaded 2-core machine.
	failoverMargin = 400 * time.Millisecond
)

// attempt is one new connection of the client's loop: one GET.
type attempt struct {
	start, end time.Time
	name       string // the real that answered; "" on failure
	err        error
}

// loop is a client opening a new connection to the VIP after another,
// with one request each, until stopped.
type loop struct {
	mu   sync.Mutex
	log  []attempt
	stop chan struct{}
	done chan struct{}
}

func (l *lab) startLoop() *loop {
	lp := &loop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(lp.done)
		for {
			a := attempt{start: time.Now()}
			c, err := l.dial(attemptTimeout)
			if err == nil {
				a.name, err = c.Get(false, 500*time.Millisecond)
				c.Close()
			}
			a.end, a.err = time.Now(), err
			lp.mu.Lock()
			lp.log = append(lp.log, a)
			lp.mu.Unlock()
			select {
			case <-lp.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return lp
}

func (lp *loop) halt() {
	select {
	case <-lp.stop:
	default:
		close(lp.stop)
	}
	<-lp.done
}

func (lp *loop) attempts() []attempt {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return slices.Clone(lp.log)
}

// waitServed waits until n attempts that started after since succeeded.
func (lp *loop) waitServed(t *testing.T, since time.Time, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok := 0
		for _, a := range lp.attempts() {
			if a.start.After(since) && a.err == nil {
				ok++
			}
		}
		if ok >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client had %d answered connections of %d within %v", ok, n, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// vsCounter is the counter of new connections of the VIP's service in d's
// nftables table (the vs_ chain's first rule).
var vsCounterRE = regexp.MustCompile(`counter packets (\d+) bytes \d+ comment "virtual tcp:` + regexp.QuoteMeta(vipPort))

func vsCounter(t *testing.T, d *netns.Host) int {
	t.Helper()
	out := nftList(d)
	m := vsCounterRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no counter for %s in nft list table:\n%s", d.Name, vipPort, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// waitFloating waits until d holds the VIP and the inside gateway.
func waitFloating(t *testing.T, d *netns.Host, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		as := d.IPv4Addrs(t)
		if slices.Contains(as, vip) && slices.Contains(as, insideGW) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %v, not the VIP %s and the gateway %s, after %v", d.Name, as, vip, insideGW, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDirectorFailover: heartbeatd on two directors moves the VIP and the
// reals' gateway (haresources: IPaddr2 of each); ldirectord runs on both,
// both program nftables, only the VIP holder sees traffic. The active
// director dies (its link cut and its heartbeatd killed with SIGKILL at
// once: a SIGKILLed heartbeatd alone leaves its addresses configured and
// forwarding, which would prove nothing), while the client keeps opening
// new connections: they are answered through the survivor within
// deadtime + failoverMargin.
func TestDirectorFailover(t *testing.T) {
	ldirectord(t)
	hbnode.Build(t)
	l := newLab(t, 2, 1, 2, 3)
	d1, d2 := l.directors[0], l.directors[1]
	hacf := hbnode.HACF(fmt.Sprintf("%dms", hbKeepalive.Milliseconds()), fmt.Sprintf("%dms", hbDeadtime.Milliseconds()),
		"4", []string{"bcast " + netns.HostIface}, "nodea", "nodeb")
	hr := fmt.Sprintf("nodea IPaddr2::%s/24/%s IPaddr2::%s/24/%s\n", vip, netns.HostIface, insideGW, netns.HostIface)
	opts := func(node string) hbnode.Options {
		return hbnode.Options{Node: node, HACF: hacf, AuthKeys: hbnode.AuthKeys("sha1", "nftlb-failover"), Haresources: hr}
	}
	n1 := hbnode.Start(t, d1, opts("nodea"))
	hbnode.Start(t, d2, opts("nodeb"))
	started := time.Now()
	want := l.weights(map[string]int{"rs1": 1, "rs2": 2, "rs3": 3})
	for _, d := range l.directors {
		startLD(t, d, l.config())
		waitTable(t, d, "start on "+d.Name, want)
	}
	n1.WaitRsc(t, "local", 8*time.Second)
	waitFloating(t, d1, 3*time.Second)
	if as := d2.IPv4Addrs(t); slices.Contains(as, vip) || slices.Contains(as, insideGW) {
		t.Fatalf("the backup %s holds floating addresses: %v", d2.Name, as)
	}

	lp := l.startLoop()
	defer lp.halt()
	lp.waitServed(t, time.Time{}, 20, 5*time.Second)
	time.Sleep(time.Until(started.Add(startupWindow)))
	if c1, c2 := vsCounter(t, d1), vsCounter(t, d2); c1 == 0 || c2 != 0 {
		t.Fatalf("before the failure: %d new connections counted on %s, %d on %s; want some on the VIP holder %s only",
			c1, d1.Name, c2, d2.Name, d1.Name)
	}

	t0 := time.Now()
	d1.CutLink(t)
	cut := time.Now() // the link is down (it went down after t0)
	n1.Kill(t)
	lp.waitServed(t, cut, 20, hbDeadtime+5*time.Second)
	lp.halt()
	waitFloating(t, d2, time.Second)

	// The measurement: the last answer before the failure, the first
	// to a connection opened after it, and the attempts lost in between.
	var lastBefore, firstAfter *attempt
	var lost int
	as := lp.attempts()
	for i := range as {
		a := &as[i]
		switch {
		case a.start.Before(cut):
			if a.err == nil && a.end.Before(t0) {
				lastBefore = a
			}
		case a.err == nil && firstAfter == nil:
			firstAfter = a
		case a.err != nil && firstAfter == nil:
			lost++
		case isTimeout(a.err):
			// attemptTimeout is short for the measurement's sake: a
			// stall of the loaded machine may exceed it. The strict
			// check of the survivor's service follows.
			t.Logf("after the failover a connection opened at +%v timed out: %v", a.start.Sub(t0), a.err)
		case a.err != nil:
			t.Errorf("after the failover a connection opened at +%v failed: %v", a.start.Sub(t0), a.err)
		}
	}
	if lastBefore == nil || firstAfter == nil {
		t.Fatalf("no answer before or after the failure: %v %v", lastBefore, firstAfter)
	}
	served := firstAfter.end.Sub(t0)
	gap := firstAfter.end.Sub(lastBefore.end)
	t.Logf("director failover: first new connection answered (by %s) %v after the failure; "+
		"gap between answers %v; %d attempts lost; deadtime %v",
		firstAfter.name, served.Round(time.Millisecond), gap.Round(time.Millisecond), lost, hbDeadtime)
	if limit := hbDeadtime + failoverMargin; served > limit {
		t.Errorf("the first new connection after the failure was answered after %v, want at most deadtime + %v = %v",
			served, failoverMargin, limit)
	}
	// The survivor serves every new connection, by the weights.
	before := vsCounter(t, d2)
	l.expectSplit(t, 12, map[string]int{"rs1": 2, "rs2": 4, "rs3": 6})
	if c := vsCounter(t, d2); c != before+12 {
		t.Errorf("the survivor %s counted %d new connections of 12", d2.Name, c-before)
	}
}

// isTimeout: err is a dial or read deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
