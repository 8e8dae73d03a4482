// The three-phase standby protocol (ask_resources) and hb_takeover.

package rm

import (
	"time"

	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Standby values of the ask_resources info field.
const (
	infoMe    = "me"
	infoOther = "other"
	infoDone  = "done"
)

func standbyMsg(set Hold, info string) *wire.Message {
	return wire.New("ask_resources").Add("rsc_hold", set.String()).Add("info", info)
}

// requestStandby asks the peer to take set from us, as hb_standby does.
func (r *RM) requestStandby(now time.Time, set Hold, out *actions) {
	m := standbyMsg(set, infoMe)
	out.send(m)
	r.askResources(now, m, true, out)
}

// askResources steps the standby protocol (ask_for_resources).
func (r *RM) askResources(now time.Time, msg *wire.Message, self bool, out *actions) {
	if !r.nice() {
		out.log(membership.Info, "Standby mode only implemented when nice_failback on")
		return
	}
	if r.phase == phaseShutdown || r.stopping {
		out.log(membership.Debug, "standby message ignored during shutdown")
		return
	}
	info := msg.Get("info")
	set, ok := ParseHold(msg.Get("rsc_hold"))
	if _, given := msg.Lookup("rsc_hold"); !given || !ok {
		set = All
	}
	from := r.peer
	if self {
		from = r.cfg.Local
	}
	if r.standby == standbyMe && !self && info == infoMe && r.yieldStandby(set) {
		out.log(membership.Info, "standby requests crossed: %s's [%s] goes first, ours [%s] is withdrawn",
			from, set, r.standbySet)
		r.standby, r.standbyDeadline, r.peerStable = standbyNot, time.Time{}, true
	}
	if !r.standbyDeadline.IsZero() && now.Before(r.standbyDeadline) && info == infoMe {
		left := (r.standbyDeadline.Sub(now) + time.Second - 1) / time.Second
		out.log(membership.Warn, "Standby in progress- new request from %s ignored [%d seconds left]", from, left)
		return
	}
	orig := r.standby
	ignored := false
	switch r.standby {
	case standbyNot:
		if !r.peerStable || (!self && !r.peerAlive()) {
			out.log(membership.Warn, "standby message [%s] from %s ignored.  Other side is in flux.", info, from)
			return
		}
		if r.phase != phaseStable || r.moving > 0 {
			out.log(membership.Warn, "standby message [%s] from %s ignored.  local resources in flux.", info, from)
			return
		}
		if !self && r.peer == "" || self && !r.peerAlive() {
			out.log(membership.Warn, "standby message [%s] from %s ignored.  Other side is in flux.", info, from)
			return
		}
		r.standbySet = set
		if info != infoMe {
			ignored = true
			break
		}
		r.peerStable = false
		out.log(membership.Info, "%s wants to go standby [%s]", from, set)
		if self {
			r.standby = standbyMe
			r.standbyDeadline = now.Add(StandbyReplyTimeout)
		} else {
			r.standby = standbyOther
			out.send(standbyMsg(set, infoOther))
			r.standbyDeadline = now.Add(StandbyResourceTimeout)
		}
	case standbyMe:
		if self || info != infoOther {
			ignored = true
			break
		}
		r.standbySet = set
		r.standbyDeadline = now.Add(StandbyResourceTimeout)
		out.log(membership.Info, "standby: %s can take our %s resources", from, set)
		r.giveUpForStandby(now, set, out)
	case standbyOther:
		if self || info != infoDone {
			ignored = true
			break
		}
		r.standbySet = set
		r.standbyDeadline = now.Add(StandbyResourceTimeout)
		out.log(membership.Info, "standby: acquire [%s] resources from %s", set, from)
		r.standby = standbyDone
		r.acquireForStandby(now, set, out)
	case standbyDone:
		if self || info != infoDone {
			ignored = true
			break
		}
		r.standby, r.standbyDeadline = standbyNot, time.Time{}
		out.log(membership.Info, "Other node completed standby takeover of %s resources.", set)
		r.sendHeld(true, "", out)
	}
	if ignored {
		out.log(membership.Error, "Ignored standby message '%s' from %s in state %d", info, from, orig)
	}
}

// yieldStandby decides crossing standby requests (each node asked while
// the other's request was on the wire) the same way on both nodes, where
// classic ignored both until they timed out: a request that gives up
// nothing yields to one that gives up something, else the node whose name
// sorts first goes first. peerSet is the peer's request, from its side.
func (r *RM) yieldStandby(peerSet Hold) bool {
	oursGives := r.hold&r.standbySet != 0
	theirsGives := r.peerHold&peerSet != 0
	if oursGives != theirsGives {
		return !oursGives
	}
	return r.cfg.Local > r.peer
}

// groupsOf returns the groups of set as seen from here.
func (r *RM) groupsOf(set Hold) []*group {
	var gs []*group
	for _, g := range r.groups {
		if set&classOf(g) != 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

// giveUpForStandby releases set and tells the peer we are done (go_standby
// ME, then our own "done").
func (r *RM) giveUpForStandby(now time.Time, set Hold, out *actions) {
	r.peerStable = false
	r.hold &^= set
	r.sendHeld(false, "standby", out)
	out.log(membership.Info, "give up %s HA resources (standby).", set)
	b := &batch{then: func(now time.Time, out *actions) {
		if r.standby != standbyMe {
			return // cancelled meanwhile: the peer restarted or died
		}
		out.log(membership.Info, "%s HA resource release completed (standby).", set)
		out.send(standbyMsg(set, infoDone))
		out.log(membership.Info, "Local standby process completed [%s].", set)
		r.standby = standbyDone
		r.hold &^= set
		r.standbyDeadline = now.Add(StandbyResourceTimeout)
	}}
	for _, g := range r.groupsOf(set) {
		if g.busy() {
			r.run(Release, g, b, out)
		}
	}
	r.seal(now, b, out)
}

// acquireForStandby takes what the peer gave up: its set, i.e. the mirror
// of set here (go_standby OTHER, then our own "done").
func (r *RM) acquireForStandby(now time.Time, set Hold, out *actions) {
	mine := set.mirror()
	out.log(membership.Info, "acquire %s HA resources (standby).", mine)
	b := &batch{then: func(now time.Time, out *actions) {
		out.log(membership.Info, "%s HA resource acquisition completed (standby).", mine)
		out.send(standbyMsg(set, infoDone))
		out.log(membership.Info, "Standby resource acquisition done [%s].", set)
		r.standby, r.standbyDeadline = standbyNot, time.Time{}
		r.hold |= mine
		r.sendHeld(true, "", out)
	}}
	for _, g := range r.groupsOf(mine) {
		if !g.acquired() {
			r.run(Acquire, g, b, out)
		}
	}
	r.seal(now, b, out)
}

// receiveTakeover runs hb_standby with the mirrored set, as the classic
// rc.d/hb_takeover does: the peer wants set, so we give up its mirror.
// (Classic gives up "all" on "failback" through an unset variable; here
// failback means the peer's local groups, as in hb_standby.)
func (r *RM) receiveTakeover(now time.Time, msg *wire.Message, out *actions) {
	var set Hold
	switch msg.Get("rsc_hold") {
	case "all", "":
		set = All
	case "local", "failback":
		set = Foreign
	case "foreign":
		set = Local
	default:
		out.log(membership.Error, "hb_takeover with bad rsc_hold %q from %s", msg.Get("rsc_hold"), r.peer)
		return
	}
	out.log(membership.Info, "%s asks to take over [%s]: going standby [%s]", r.peer, msg.Get("rsc_hold"), set)
	r.requestStandby(now, set, out)
}
