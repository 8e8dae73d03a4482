// state.go: results into state transitions, and the table and status they give.

package engine

import (
	"errors"
	"net/netip"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// Result records the result of job id, received at now, schedules the
// check's next run and returns the transitions it caused. Unknown ids
// (jobs of checks a Reload removed) are ignored.
func (e *Engine) Result(now time.Time, id uint64, r check.Result) []Event {
	c, ok := e.jobs[id]
	if !ok {
		return nil
	}
	delete(e.jobs, id)
	c.inflight = 0
	c.next = now.Add(e.jitter(c.params.interval))
	e.enqueue(c)
	c.last, c.lastAt = r, now
	if errors.Is(r.Err, check.ErrOff) {
		return nil
	}
	var ev []Event
	var touched []*virt
	touch := func(v *virt) {
		for _, t := range touched {
			if t == v {
				return
			}
		}
		touched = append(touched, v)
	}
	switch {
	case errors.Is(r.Err, ErrMaintenance):
		c.fails++
		c.oks, c.connects = 0, 0
		for _, m := range c.members {
			m.maint = true
			if m.state != Down {
				ev = append(ev, m.setDown(e.cfg, r))
				touch(m.v)
			}
		}
	case r.OK:
		if c.key.ctype == config.CheckCombined {
			if c.connects > 0 {
				c.connects--
			} else {
				c.connects = c.key.n
			}
		}
		forgiven := c.fails
		c.fails = 0
		c.oks++
		for _, m := range c.members {
			m.maint = false
			switch {
			case m.state != Up && c.oks >= max(m.v.cfg.RiseCount, 1):
				ev = append(ev, Event{Kind: RealUp, Virtual: m.v.id, Real: m.name(), Result: r, Weight: m.r.Weight, Was: m.state})
				m.state, m.present = Up, true
				touch(m.v)
			case m.state == Up && forgiven > 0:
				ev = append(ev, Event{Kind: SoftReset, Virtual: m.v.id, Real: m.name(), Result: r, Count: forgiven})
			}
		}
	default:
		c.connects = 0 // a failed connect makes the next check a negotiate
		c.oks = 0
		c.fails++
		for _, m := range c.members {
			m.maint = false
			if m.state == Down {
				continue
			}
			if fc := max(m.v.cfg.FailureCount, 1); c.fails < fc {
				ev = append(ev, Event{Kind: SoftFailure, Virtual: m.v.id, Real: m.name(), Result: r, Count: c.fails, Of: fc})
				continue
			}
			ev = append(ev, m.setDown(e.cfg, r))
			touch(m.v)
		}
	}
	for _, v := range touched {
		if live := v.anyUp(); live != v.live {
			v.live = live
			k := FallbackOff
			if !live {
				k = FallbackOn
			}
			ev = append(ev, v.fallbackEvent(k))
		}
	}
	return ev
}

// setDown marks m down and returns the event: Weight 0 if it stays in the
// table quiesced, -1 if it leaves it.
func (m *member) setDown(cfg *config.Config, r check.Result) Event {
	was := m.state
	m.state = Down
	if !m.v.cfg.Quiescent {
		m.present = false
	} else if cfg.ReaddQuiescent {
		m.present = true
	}
	w := -1
	if m.present && m.v.cfg.Quiescent {
		w = 0
	}
	return Event{Kind: RealDown, Virtual: m.v.id, Real: m.name(), Result: r, Weight: w, Was: was}
}

// inTable reports whether m is in the table and at what weight.
func (m *member) inTable() (bool, int) {
	switch {
	case m.state == Up:
		return true, m.r.Weight
	case m.v.cfg.Quiescent && m.present:
		return true, 0
	}
	return false, 0
}

// dest is m as an IPVS real server at its configured weight; port 0 is the
// virtual's port for an address service.
func (m *member) dest() kernel.Dest {
	d := kernel.Dest{Addr: m.r.Addr, Port: m.r.Port, Weight: m.r.Weight,
		Forward: forward(m.r.Method), UpperThreshold: m.r.UThresh, LowerThreshold: m.r.LThresh}
	if d.Port == 0 && m.v.cfg.Proto != "fwm" {
		d.Port = m.v.cfg.Port
	}
	return d
}

// name is m's "addr:port" for events.
func (m *member) name() string { return destAP(m.dest()).String() }

func destAP(d kernel.Dest) netip.AddrPort { return netip.AddrPortFrom(d.Addr, d.Port) }

func (v *virt) anyUp() bool {
	for _, m := range v.members {
		if m.state == Up {
			return true
		}
	}
	return false
}

// fallbackDest is v's fallback server, ok false if it has none.
func (v *virt) fallbackDest() (kernel.Dest, bool) {
	fb := v.cfg.Fallback
	if fb == nil {
		return kernel.Dest{}, false
	}
	d := kernel.Dest{Addr: fb.Addr, Port: fb.Port, Forward: forward(fb.Method), Weight: 1}
	if d.Port == 0 {
		d.Port = v.cfg.Port
	}
	return d, true
}

func (v *virt) fallbackEvent(k Kind) Event {
	ev := Event{Kind: k, Virtual: v.id}
	if d, ok := v.fallbackDest(); ok {
		ev.Real = destAP(d).String()
	}
	return ev
}

// Desired is the IPVS table the state asks for: the virtuals in config
// order with their reals in config order (up at their weight, quiesced at
// 0) and the fallback, at weight 1, last while no real is up.
func (e *Engine) Desired() []lvs.Virtual {
	out := make([]lvs.Virtual, 0, len(e.virts))
	for _, v := range e.virts {
		lv := lvs.Virtual{Service: service(&v.cfg, v.key)}
		seen := map[netip.AddrPort]bool{}
		for _, m := range v.members {
			if in, w := m.inTable(); in {
				d := m.dest()
				d.Weight = w
				lv.Reals = append(lv.Reals, d)
				seen[destAP(d)] = true
			}
		}
		if fb, ok := v.fallbackDest(); ok && !v.live && !seen[destAP(fb)] {
			lv.Reals = append(lv.Reals, fb)
		}
		out = append(out, lv)
	}
	return out
}

// Status lists every real server of every virtual, in config order.
func (e *Engine) Status() []RealStatus {
	var out []RealStatus
	for _, v := range e.virts {
		for _, m := range v.members {
			in, w := m.inTable()
			s := RealStatus{
				Virtual: v.id, Real: destAP(m.dest()), CheckType: m.c.key.ctype,
				State: m.state, Maintenance: m.maint, InTable: in, Weight: w,
				Failures: m.c.fails, Successes: m.c.oks, Last: m.c.last, LastCheck: m.c.lastAt,
			}
			if m.c.scheduled() {
				s.NextCheck = m.c.next
			}
			out = append(out, s)
		}
	}
	return out
}

// serviceKey is the IPVS key of a configured virtual.
func serviceKey(v *config.Virtual) kernel.ServiceKey {
	if v.Proto == "fwm" {
		return kernel.ServiceKey{FWMark: v.FWMark, IPv6: v.Family == 6}
	}
	p := kernel.TCP
	if v.Proto == "udp" {
		p = kernel.UDP
	}
	return kernel.ServiceKey{Proto: p, Addr: v.Addr, Port: v.Port}
}

// service is the IPVS service of a configured virtual.
func service(v *config.Virtual, k kernel.ServiceKey) kernel.Service {
	s := kernel.Service{ServiceKey: k, Scheduler: v.Scheduler}
	if v.OPS {
		s.Flags |= kernel.OnePacket
	}
	for _, f := range v.SchedFlags {
		s.Flags |= schedFlags[f]
	}
	if v.Persistent > 0 {
		s.Persistent = uint32((v.Persistent + time.Second - 1) / time.Second)
		s.Netmask = v.Netmask
	}
	return s
}

// schedFlags maps ipvsadm -b names to flags (sh-/mh- names alias flag-1/2).
var schedFlags = map[string]kernel.ServiceFlags{
	"flag-1": kernel.SchedFlag1, "sh-fallback": kernel.SchedFlag1, "mh-fallback": kernel.SchedFlag1,
	"flag-2": kernel.SchedFlag2, "sh-port": kernel.SchedFlag2, "mh-port": kernel.SchedFlag2,
	"flag-3": kernel.SchedFlag3,
}

func forward(m config.Method) kernel.Forward {
	switch m {
	case config.Masq:
		return kernel.ForwardMasq
	case config.IPIP:
		return kernel.ForwardTunnel
	}
	return kernel.ForwardGate
}
