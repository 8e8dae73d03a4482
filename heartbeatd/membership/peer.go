// Per-peer tracking: liveness deadlines, seq/generation replay rules, ACK and
// retransmit requests (3.0.6's should_drop_message and rexmit logic).

package membership

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

type peer struct {
	name   string
	status Status
	uuid   []byte
	links  map[string]*link

	everHeard  bool          // a status has been accepted in this generation
	shutdone   bool          // it said shutdone in this generation
	lastHeard  time.Time     // last accepted (fresh) message
	lastStatus time.Time     // last accepted status, for warntime
	advertised time.Duration // the peer's dt; zero until its first status
	protocol   bool          // its status carries protocol: it acks

	tracking     bool
	gen          uint64
	last         uint64               // highest seq seen in this generation
	lastAccepted time.Time            // when last was accepted
	missing      map[uint64]time.Time // seq -> when to (re)request it
	ackTrigger   int                  // ack when seq%10 == ackTrigger
	acked        uint64               // highest of our seqs it acknowledged
}

type link struct {
	up   bool
	last time.Time
}

type verdict int

const (
	accepted verdict = iota
	dropped
)

// deadAfter is how long the peer may stay silent: its advertised dt.
func (p *peer) deadAfter(m *Membership) time.Duration {
	if p.advertised > 0 {
		return p.advertised
	}
	return m.cfg.Deadtime
}

// deadline is when the peer is declared dead unless heard from; zero if it
// is dead already.
func (p *peer) deadline(m *Membership) time.Time {
	switch {
	case p.status == StatusDead:
		return time.Time{}
	case p.lastHeard.IsZero():
		return m.start.Add(m.cfg.Initdead)
	default:
		return p.lastHeard.Add(p.deadAfter(m))
	}
}

// track applies the seq and generation rules to a non-NS_ message.
func (m *Membership) track(now time.Time, p *peer, msg *wire.Message, linkName string, out *actions) verdict {
	seq, err1 := strconv.ParseUint(msg.Get("seq"), 16, 64)
	hg, err2 := strconv.ParseUint(msg.Get("hg"), 16, 64)
	if err1 != nil || err2 != nil {
		m.Counters.Malformed++
		out.log(Debug, "message without valid seq or hg dropped", map[string]any{"node": p.name, "t": msg.Type()})
		return dropped
	}
	if uuid, ok := msg.Binary("srcuuid"); ok && len(uuid) == 16 {
		p.uuid = uuid
	}
	fresh := func() verdict {
		p.last, p.lastAccepted, p.lastHeard = seq, now, now
		return accepted
	}
	switch {
	case !p.tracking:
		p.resetTracking(hg)
		return fresh()
	case hg < p.gen:
		m.Counters.Replay++
		out.log(Warn, fmt.Sprintf("node %s: attempted replay attack [hg %x < %x]", p.name, hg, p.gen),
			map[string]any{"node": p.name, "ratelimit": "replay " + p.name})
		return dropped
	case hg > p.gen:
		out.log(Info, fmt.Sprintf("Heartbeat restart on node %s", p.name), map[string]any{"node": p.name})
		p.resetTracking(hg)
		p.shutdone = false
		// Tell the restarted node at once that we are active, before any
		// ack from us can make it count us as merely present.
		m.sendStatus(now, out)
		p.everHeard = false        // a restart, not a partition healing
		p.lastStatus = time.Time{} // nor a late heartbeat
		return fresh()
	}
	if p.status == StatusDead && seq > p.last {
		// Back from a partition: what it sent while we thought it dead is
		// history (its next messages say where it stands), so the gap is
		// not asked for again.
		p.missing = nil
		return fresh()
	}
	switch {
	case seq == p.last+1:
		m.maybeAck(now, p, seq, out)
		return fresh()
	case seq == p.last:
		// The same message over another medium: the link is alive. A replayed
		// copy long after the original does not keep a link up.
		m.Counters.Duplicate++
		if now.Sub(p.lastAccepted) < 2*m.cfg.Keepalive {
			m.refreshLink(p, linkName, now, out)
		}
		return dropped
	case seq > p.last+1:
		gap := seq - p.last - 1
		if gap > maxGap {
			out.log(Warn, fmt.Sprintf("node %s: %d lost packets, resetting seq tracking", p.name, gap), map[string]any{"node": p.name})
			p.missing = nil
			return fresh()
		}
		m.Counters.Lost += gap
		out.log(Warn, fmt.Sprintf("%d lost packet(s) for [%s] [%d:%d]", gap, p.name, p.last, seq), map[string]any{"node": p.name})
		if p.missing == nil {
			p.missing = map[uint64]time.Time{}
		}
		for s := p.last + 1; s < seq; s++ {
			p.missing[s] = now.Add(m.rexmitDelay())
		}
		return fresh()
	default: // seq < p.last
		if _, ok := p.missing[seq]; ok {
			delete(p.missing, seq)
			p.lastHeard = now
			return accepted
		}
		m.Counters.Duplicate++
		return dropped
	}
}

func (p *peer) resetTracking(gen uint64) {
	p.tracking, p.gen, p.last, p.missing = true, gen, 0, nil
}

// maybeAck sends NS_ackmsg for an in-order seq ending in the peer's trigger
// digit, as 3.0.6 does, while the peer speaks the ack protocol.
func (m *Membership) maybeAck(now time.Time, p *peer, seq uint64, out *actions) {
	if !p.protocol || len(p.missing) > 0 || int(seq%10) != p.ackTrigger {
		return
	}
	ack := wire.New("NS_ackmsg").Add("dest", p.name).Add("ackseq", strconv.FormatUint(seq, 16))
	m.transmit(now, ack, out)
}

func (m *Membership) rexmitDelay() time.Duration {
	span := m.cfg.MaxRexmitDelay - minRexmitDelay
	if span <= 0 {
		return minRexmitDelay
	}
	return minRexmitDelay + time.Duration(m.cfg.Rand(int(span/time.Millisecond)+1))*time.Millisecond
}

// requestRexmits asks the peer for each missing seq whose timer is due.
func (m *Membership) requestRexmits(p *peer, now time.Time, out *actions) {
	if p.status == StatusDead || len(p.missing) == 0 {
		return
	}
	for _, seq := range sortedSeqs(p.missing) {
		if now.Before(p.missing[seq]) {
			continue
		}
		s := strconv.FormatUint(seq, 10) // decimal on the wire, unlike every other seq
		m.transmit(now, wire.New("NS_rexmit").Add("dest", p.name).Add("firstseq", s).Add("lastseq", s), out)
		m.Counters.RexmitRequested++
		p.missing[seq] = now.Add(m.cfg.MaxRexmitDelay)
	}
}

// receiveNS handles the transport messages, which carry no seq.
func (m *Membership) receiveNS(now time.Time, p *peer, t string, msg *wire.Message, out *actions) {
	switch t {
	case "NS_ackmsg":
		if a, err := strconv.ParseUint(msg.Get("ackseq"), 16, 64); err == nil && a > p.acked && a <= m.seq {
			p.acked = a
		}
	case "NS_rexmit":
		first, err1 := strconv.ParseUint(msg.Get("firstseq"), 10, 64)
		last, err2 := strconv.ParseUint(msg.Get("lastseq"), 10, 64)
		if err1 != nil || err2 != nil || last < first {
			m.Counters.Malformed++
			return
		}
		if last-first >= maxRexmitPerRequest {
			last = first + maxRexmitPerRequest - 1
		}
		for s := first; s <= last; s++ {
			m.resend(now, p, s, out)
		}
	case "NS_nak_rexmit":
		seq, err := strconv.ParseUint(msg.Get("firstseq"), 16, 64)
		if err != nil {
			m.Counters.Malformed++
			return
		}
		if _, ok := p.missing[seq]; ok {
			delete(p.missing, seq)
			m.Counters.Irretrievable++
			out.log(Error, fmt.Sprintf("Irretrievably lost packet: node %s seq %d (%s)", p.name, seq, msg.Get("info")),
				map[string]any{"node": p.name})
		}
	}
}

// resend retransmits one of our messages from the history, or says it is gone.
func (m *Membership) resend(now time.Time, p *peer, seq uint64, out *actions) {
	e := m.hist.get(seq)
	if e == nil {
		info := "seqno not found"
		if seq < m.hist.oldest() {
			info = "seqno too low"
		}
		m.Counters.NakSent++
		nak := wire.New("NS_nak_rexmit").Add("firstseq", strconv.FormatUint(seq, 16)).
			Add("dest", p.name).Add("info", info)
		m.transmit(now, nak, out)
		return
	}
	if !e.lastRexmit.IsZero() && now.Sub(e.lastRexmit) < m.cfg.MaxRexmitDelay-10*time.Millisecond {
		return
	}
	e.lastRexmit = now
	m.Counters.RexmitSent++
	out.add(Transmit{Msg: e.msg})
}
