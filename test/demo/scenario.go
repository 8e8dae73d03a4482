// scenario.go: the six narrated steps; each waits for what it announces within a deadline and checks it precisely.

package main

import (
	"fmt"
	"syscall"
	"time"
)

// requests is how many requests the client sends to show a spread.
const requests = 30

// Deadlines. detect bounds ldirectord's reaction to a real server's
// change: one check interval (±10 % jitter) plus the check's timeout,
// with slack for a loaded machine.
const (
	detect = (checkInterval+checkTimeout)*time.Second + checkInterval*time.Second/10 + 2*time.Second
	// takeover bounds the VIP's move after a director dies: deadtime,
	// then IPaddr2 (well under a second).
	takeover = deadtimeS*time.Second + 2*time.Second
	// ipfailMove bounds the move after the uplink is cut: deadping until
	// the loss is seen, ipfail's exchange and its 2 x keepalive giveup
	// delay, the standby hand-over.
	ipfailMove = deadpingS*time.Second + 2*keepaliveMS*time.Millisecond + 2*time.Second
	// handBack bounds a graceful hand-over (auto_failback).
	handBack = 5 * time.Second
	// clientGap bounds what the client may miss in a move beyond the move
	// itself (the router's ARP entry update, a probe interval), and in a
	// graceful hand-over.
	clientGap = time.Second
	// startupWindow: heartbeatd's start-up window (5 s) and a keepalive.
	startupWindow = 5*time.Second + keepaliveMS*time.Millisecond
)

func (d *demo) run() error {
	for _, s := range []func() error{d.up, d.spread, d.quiesce, d.fallback, d.crash, d.uplink, d.restore} {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// expectCounts sends requests and checks the answers are exactly want
// (round robin over whole rounds is exact).
func (d *demo) expectCounts(n int, want map[string]int) error {
	d.n.say("the client sends %d requests to %s, one connection each:", n, url)
	got := d.c.count(n)
	d.n.counts(got)
	if len(got) != len(want) {
		return fmt.Errorf("the client's %d requests were answered %v, want %v", n, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			return fmt.Errorf("the client's %d requests were answered %v, want %v", n, got, want)
		}
	}
	return nil
}

// spread is step 1.
func (d *demo) spread() error {
	d.n.heading("1. The client's requests spread over the three web servers")
	w, err := readTable(director1)
	if err != nil {
		return err
	}
	d.n.say("director1 holds the VIP; its ldirectord table (weights): %s", w)
	return d.expectCounts(requests, map[string]int{"web1": requests / 3, "web2": requests / 3, "web3": requests / 3})
}

// quiesce is step 2: web2's health page breaks; it is quiesced.
func (d *demo) quiesce() error {
	d.n.heading("2. web2's application breaks: ldirectord quiesces it")
	// A connection to web2 opened before, kept open.
	var ka *keepAlive
	for try := 0; try < 6 && ka == nil; try++ {
		k := d.c.openKeepAlive()
		if who, err := k.get(); err == nil && who == "web2" {
			ka = k
		} else {
			k.close()
		}
	}
	if ka == nil {
		return fmt.Errorf("no connection to web2 in 6 tries")
	}
	defer ka.close()
	d.n.say("the client opens a keep-alive connection; web2 answers on it")
	m := mark(d.tree(director1).ldLog())
	d.web["web2"].signal(syscall.SIGUSR1)
	d.n.say("web2's /%s now answers 500 (its pages still load)", healthPage)
	took, err := waitFor("web2 quiesced on director1", detect, func() (bool, string) {
		w, err := readTable(director1)
		if err != nil {
			return false, err.Error()
		}
		x, in := w["10.10.0.12"]
		return in && x == 0, w.String()
	})
	if err != nil {
		return err
	}
	w, _ := readTable(director1)
	d.n.say("%s later director1's table: %s", ms(took), w)
	d.n.quote("ldirectord on director1 logged:", m.lines("web2", "10.10.0.12"), 3)
	if err := d.expectCounts(requests, map[string]int{"web1": requests / 2, "web3": requests / 2}); err != nil {
		return err
	}
	who, err := ka.get()
	if err != nil || who != "web2" {
		return fmt.Errorf("the keep-alive connection opened before web2 was quiesced: %q, %v; want web2", who, err)
	}
	d.n.say("the keep-alive connection still gets web2: weight 0 stops new connections only")
	return nil
}

// fallback is step 3: every web server stops; the sorry server answers;
// web1 returns and takes over; web2 and web3 return.
func (d *demo) fallback() error {
	d.n.heading("3. All web servers stop: the fallback answers, until one returns")
	m := mark(d.tree(director1).ldLog())
	for _, w := range webs {
		d.stopWeb(w.name)
	}
	d.n.say("web1, web2 and web3 stopped")
	took, err := waitTable(director1, map[string]int{"sorry": 1}, detect)
	if err != nil {
		return err
	}
	w, _ := readTable(director1)
	d.n.say("%s later director1's table: %s", ms(took), w)
	d.n.quote("ldirectord on director1 logged:", m.lines("fallback", "Quiescent"), 4)
	if err := d.expectCounts(requests/3, map[string]int{"sorry": requests / 3}); err != nil {
		return err
	}

	m = mark(d.tree(director1).ldLog())
	if err := d.startWeb("web1"); err != nil {
		return err
	}
	d.n.say("web1 starts again")
	if took, err = waitTable(director1, map[string]int{"web1": 1}, detect); err != nil {
		return err
	}
	w, _ = readTable(director1)
	d.n.say("%s later director1's table: %s", ms(took), w)
	d.n.quote("ldirectord on director1 logged:", m.lines("web1", "fallback"), 3)
	if err := d.expectCounts(requests/3, map[string]int{"web1": requests / 3}); err != nil {
		return err
	}

	for _, h := range []string{"web2", "web3"} {
		if err := d.startWeb(h); err != nil {
			return err
		}
	}
	d.n.say("web2 and web3 start again")
	all := map[string]int{"web1": 1, "web2": 1, "web3": 1}
	for _, dr := range directors {
		if took, err = waitTable(dr.name, all, detect); err != nil {
			return err
		}
		d.n.say("%s's table %s later: %s", dr.name, ms(took), all2(dr.name))
	}
	return nil
}

// all2 prints a director's table (for the lines after a successful wait).
func all2(director string) string {
	w, err := readTable(director)
	if err != nil {
		return err.Error()
	}
	return w.String()
}

// move waits until to holds the VIP and the gateway and the client is
// answered again, and reports the move and the client's outage since t0.
func (d *demo) move(p *prober, t0 time.Time, to string, within time.Duration) (time.Duration, outage, error) {
	if _, err := waitFor("the VIP and gateway on "+to, within, func() (bool, string) {
		h, ok := holder()
		return ok && h == to, h
	}); err != nil {
		return 0, outage{}, err
	}
	moved := time.Since(t0)
	if _, err := waitFor("the client answered again", 3*time.Second, func() (bool, string) {
		return p.answeredSince(t0.Add(moved)), "no answer yet"
	}); err != nil {
		return 0, outage{}, err
	}
	time.Sleep(200 * time.Millisecond) // a few answers after the gap
	return moved, p.since(t0), nil
}

// sayOutage narrates the client's view and checks the gap against bound.
func (d *demo) sayOutage(o outage, t0 time.Time, bound time.Duration) error {
	if o.failed == 0 {
		d.n.say("the client saw no failure: all %d requests (one every %s) answered", o.total, ms(probeEvery))
		return nil
	}
	d.n.say("the client (a request every %s, %s timeout):", ms(probeEvery), ms(probeTimeout))
	d.n.say("  last answer before: request sent at %+d ms; first after: at %+d ms",
		o.lastBefore.Sub(t0).Milliseconds(), o.firstAfter.Sub(t0).Milliseconds())
	d.n.say("  outage %s, %d of %d requests unanswered", ms(o.gap), o.failed, o.total)
	if o.gap > bound {
		return fmt.Errorf("the client's outage was %v, want at most %v", o.gap, bound)
	}
	return nil
}

// crash is step 4: director1 dies; director2 takes over; director1
// returns and takes the VIP back (auto_failback on).
func (d *demo) crash() error {
	d.n.heading("4. director1 crashes: director2 takes the VIP over")
	// heartbeatd, as heartbeat 3.0.6, announces deadtime + 2 s in its
	// first 5 s: crash director1 after that, so deadtime applies.
	time.Sleep(time.Until(d.hbStart[director1].Add(startupWindow)))
	p := startProber()
	defer p.close()
	time.Sleep(300 * time.Millisecond)
	m := mark(d.tree(director2).haLog())
	t0 := time.Now()
	killNS(ns(director1))
	for _, i := range []string{pubIface, intIface} {
		if err := setLink(director1, i, false); err != nil {
			return err
		}
	}
	d.n.say("director1: heartbeatd, ipfail and ldirectord killed (-9), its links dark")
	moved, o, err := d.move(p, t0, director2, takeover)
	if err != nil {
		return err
	}
	// The last heartbeat came up to a keepalive before the crash: a
	// quicker move was not the deadtime's.
	if moved < deadtimeS*time.Second-keepaliveMS*time.Millisecond {
		return fmt.Errorf("the VIP moved %v after the crash, before the deadtime could pass", moved)
	}
	d.n.say("director2 holds the VIP and the gateway %s after the crash", ms(moved))
	d.n.say("(deadtime %d s after director1's last heartbeat; director2's ldirectord", deadtimeS)
	d.n.say(" has been checking the web servers all along: its table is ready)")
	d.n.quote("heartbeatd on director2 logged:", m.lines("is dead", "Taking over", "Adding inet", "takeover complete for"), 5)
	if err := d.sayOutage(o, t0, moved+clientGap); err != nil {
		return err
	}
	p.close()
	if err := d.expectCounts(requests, map[string]int{"web1": requests / 3, "web2": requests / 3, "web3": requests / 3}); err != nil {
		return err
	}

	d.n.heading("4b. director1 reboots and takes the VIP back (auto_failback on)")
	if err := d.reboot(director1); err != nil {
		return err
	}
	took, err := waitTable(director1, map[string]int{"web1": 1, "web2": 1, "web3": 1}, detect)
	if err != nil {
		return err
	}
	d.n.say("director1 is up: ldirectord first, its table ready %s later", ms(took))
	p = startProber()
	defer p.close()
	time.Sleep(300 * time.Millisecond)
	t1 := time.Now()
	if err := d.startHeartbeatd(director1); err != nil {
		return err
	}
	d.n.say("then heartbeatd: it joins, director2 hands the VIP back")
	moved, o, err = d.move(p, t1, director1, handBack+takeover)
	if err != nil {
		return err
	}
	d.n.say("director1 holds the VIP again %s after heartbeatd started", ms(moved))
	return d.sayOutage(o, t1, clientGap)
}

// uplink is step 5: director1 loses the router; ipfail moves the VIP.
func (d *demo) uplink() error {
	d.n.heading("5. director1's uplink is cut: ipfail moves the VIP")
	// Both ipfails signed on again after director1's reboot, and past
	// the quiet after their first count (2 x keepalive).
	if err := d.waitIpfail(); err != nil {
		return err
	}
	time.Sleep(2*keepaliveMS*time.Millisecond + 500*time.Millisecond)
	p := startProber()
	defer p.close()
	time.Sleep(300 * time.Millisecond)
	m := mark(d.tree(director1).haLog())
	t0 := time.Now()
	if err := setLink(director1, pubIface, false); err != nil {
		return err
	}
	d.n.say("director1's eth0 (public LAN) is unplugged; eth1 still carries heartbeats")
	moved, o, err := d.move(p, t0, director2, ipfailMove)
	if err != nil {
		return err
	}
	if moved < deadpingS*time.Second-keepaliveMS*time.Millisecond {
		return fmt.Errorf("the VIP moved %v after the cut, before deadping could pass", moved)
	}
	d.n.say("director2 holds the VIP %s after the cut (deadping %d s)", ms(moved), deadpingS)
	if s := nodeStatus(director1, routerPub); s != "dead" {
		return fmt.Errorf("director1 sees the router %q, want dead", s)
	}
	if s := nodeStatus(director2, director1); s != "active" {
		return fmt.Errorf("director2 sees director1 %q, want active: the VIP moved for the wrong reason", s)
	}
	d.n.say("director1 sees the router dead, director2 sees director1 still active")
	d.n.quote("heartbeatd on director1 logged:", m.lines("node "+routerPub+": is dead", "Giving up because", "Removing inet address "+vip), 4)
	return d.sayOutage(o, t0, moved+clientGap)
}

// restore is step 6: the uplink returns; the VIP goes back to director1
// (auto_failback on) and everything is as at the start.
func (d *demo) restore() error {
	d.n.heading("6. The uplink returns: everything as at the start")
	p := startProber()
	defer p.close()
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	if err := setLink(director1, pubIface, true); err != nil {
		return err
	}
	d.n.say("director1's eth0 is plugged back")
	moved, o, err := d.move(p, t0, director1, ipfailMove+handBack)
	if err != nil {
		return err
	}
	d.n.say("director1 holds the VIP again %s later (ping node back, auto_failback on)", ms(moved))
	if err := d.sayOutage(o, t0, clientGap); err != nil {
		return err
	}
	p.close()
	for _, dr := range directors {
		d.n.say("%s's table: %s", dr.name, all2(dr.name))
	}
	return d.expectCounts(requests, map[string]int{"web1": requests / 3, "web2": requests / 3, "web3": requests / 3})
}

// waitIpfail waits until both directors see the router and each other's
// ipfail signed on.
func (d *demo) waitIpfail() error {
	_, err := waitFor("both ipfails online", 10*time.Second, func() (bool, string) {
		for _, pair := range [][2]string{{director1, director2}, {director2, director1}} {
			if s := nodeStatus(pair[0], routerPub); s != "ping" {
				return false, pair[0] + " sees the router " + s
			}
			if !d.ipfailOnline(pair[0], pair[1]) {
				return false, pair[0] + " does not see " + pair[1] + "'s ipfail online"
			}
		}
		return true, ""
	})
	return err
}
