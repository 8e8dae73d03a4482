package nftlb

// traffic_test.go: one director running ldirectord with backend = nftables,
// real HTTP requests through its NAT: the weighted split, a quiesced real,
// the fallback server, and cleanstop.

import (
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/test/webserver"
)

// Weights of the three reals: 8 slots in the verdict map.
var trafficWeights = []int{1, 3, 4}

// TestTraffic drives one ldirectord (NAT, wrr 1:3:4, negotiate HTTP checks,
// quiescent = yes, a fallback) with HTTP requests from the client, each on
// a new TCP connection unless said otherwise. Each step starts from the
// table the one before left.
func TestTraffic(t *testing.T) {
	ldirectord(t) // built before the clock starts
	l := newLab(t, 1, trafficWeights...)
	d := l.directors[0]
	l.addFloating(d)
	rs1, rs2, fb := l.reals[0], l.reals[1], l.fallback
	start := time.Now()
	ld := startLD(t, d, l.config())
	waitTable(t, d, "start", l.weights(map[string]int{"rs1": 1, "rs2": 3, "rs3": 4}))
	t.Logf("ldirectord started and its table settled in %.2fs", time.Since(start).Seconds())

	// Tolerance: none. wrr with the nftables backend is numgen inc (a
	// counter, modulo the number of slots) into a verdict map holding each
	// real as many times as its weight (1+3+4 = 8 slots); the counter only
	// moves for a new connection to the VIP (the checks go to the reals
	// directly), so any 1,000 consecutive connections cover the slots
	// exactly 125 times: 125, 375 and 500. A table rewrite in between
	// would restart the counter and show here as an inexact split.
	if !t.Run("weights", func(t *testing.T) {
		l.expectSplit(t, 1000, map[string]int{"rs1": 125, "rs2": 375, "rs3": 500})
	}) {
		return
	}

	if !t.Run("quiesce", func(t *testing.T) {
		// A keep-alive connection that wrr gave to rs2 (3 of every 8).
		var kept *webserver.Conn
		for i := 0; i < 8 && kept == nil; i++ {
			c := l.mustDial(t)
			if c.MustGet(t, true) == rs2.Name {
				kept = c
			} else {
				c.Close()
			}
		}
		if kept == nil {
			t.Fatalf("no connection out of 8 landed on %s", rs2.Name)
		}
		defer kept.Close()

		rs2.Healthy.Store(false)
		took := waitTable(t, d, "rs2 fails its check", l.weights(map[string]int{"rs1": 1, "rs2": 0, "rs3": 4}))
		t.Logf("rs2 quiesced (weight 0, still in the table) %.2fs after its check started failing", took.Seconds())
		// Weights 1:0:4, 5 slots: 40 connections go exactly 8 and 32.
		l.expectSplit(t, 40, map[string]int{"rs1": 8, "rs3": 32})
		if name := kept.MustGet(t, true); name != rs2.Name {
			t.Fatalf("the connection opened to rs2 before it was quiesced was answered by %q", name)
		}
		t.Logf("the keep-alive connection opened before the quiesce is still served by %s", rs2.Name)

		rs2.Healthy.Store(true)
		waitTable(t, d, "rs2 passes again", l.weights(map[string]int{"rs1": 1, "rs2": 3, "rs3": 4}))
		l.expectSplit(t, 16, map[string]int{"rs1": 2, "rs2": 6, "rs3": 8})
		if name := kept.MustGet(t, false); name != rs2.Name {
			t.Fatalf("the kept connection was answered by %q after the restore", name)
		}
	}) {
		return
	}

	if !t.Run("fallback", func(t *testing.T) {
		for _, r := range l.reals {
			r.Healthy.Store(false)
		}
		took := waitTable(t, d, "every real fails", l.weights(map[string]int{"rs1": 0, "rs2": 0, "rs3": 0, "fallback": 1}))
		t.Logf("fallback in the table %.2fs after every check started failing", took.Seconds())
		l.expectSplit(t, 10, map[string]int{"fallback": 10})

		rs1.Healthy.Store(true)
		took = waitTable(t, d, "rs1 passes again", l.weights(map[string]int{"rs1": 1, "rs2": 0, "rs3": 0}))
		t.Logf("rs1 back and the fallback released %.2fs after rs1's check passed", took.Seconds())
		if out := nftList(d); strings.Contains(out, fb.addr) {
			t.Errorf("the fallback %s is still in the nftables table:\n%s", fb.addr, out)
		}
		l.expectSplit(t, 10, map[string]int{"rs1": 10})
	}) {
		return
	}

	t.Run("cleanstop", func(t *testing.T) {
		if out := d.Run(t, "nft", "list", "tables"); !strings.Contains(out, "inet "+kernel.NFTTable) {
			t.Fatalf("before the stop, nft list tables lacks inet %s:\n%s", kernel.NFTTable, out)
		}
		ld.stop(t)
		if out := d.Run(t, "nft", "list", "tables"); strings.Contains(out, kernel.NFTTable) {
			t.Errorf("after ldirectord stop with cleanstop = yes, nft list tables still has:\n%s", out)
		}
		if c, err := l.dial(300 * time.Millisecond); err == nil {
			name, gerr := c.Get(false, time.Second)
			c.Close()
			t.Errorf("after the stop a connection to %s still reached %q (%v)", vipPort, name, gerr)
		}
	})
}
