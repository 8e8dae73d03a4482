// Partition heal without a restart (hasuite; classic restarts both nodes).
//
// When a peer that was declared dead comes back active without restarting,
// both sides may hold the same groups. Each sends a `resource` report with
// info=heal listing the groups it holds (hasuite_hold) and those it took
// over while the peer was dead (hasuite_takeover). Both then apply the same
// rule to every group held on both sides: whoever held it before the
// partition keeps it; if both took it over during the partition, its
// preferred node keeps it. The other releases it and reports info=healed,
// and the keeper re-announces its addresses. A classic peer never sends a
// heal report (it restarts instead), so nothing is released for it.

package rm

import (
	"strings"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

const (
	healInfo      = "heal"
	healedInfo    = "healed"
	fieldHold     = "hasuite_hold"
	fieldTakeover = "hasuite_takeover"
)

// startHeal sends our heal report once per heal.
func (r *RM) startHeal(now time.Time, out *actions) {
	if r.healSent {
		return
	}
	r.healSent = true
	var held, took []string
	for _, g := range r.groups {
		if g.busy() {
			held = append(held, g.cfg.Key)
			if g.takeover {
				took = append(took, g.cfg.Key)
			}
		}
	}
	out.log(membership.Info, "Partition with %s healed: comparing resources", r.peer)
	out.send(wire.New("resource").Add("rsc_hold", r.heldClasses().String()).Add("rtype", "full").
		Add("isstable", boolDigit(r.stable())).Add("info", healInfo).
		Add(fieldHold, strings.Join(held, " ")).Add(fieldTakeover, strings.Join(took, " ")))
	if m := r.healMsg; m != nil {
		r.healMsg = nil
		r.resolveHeal(now, m, out)
	}
}

// receiveHeal handles the peer's heal report.
func (r *RM) receiveHeal(now time.Time, msg *wire.Message, out *actions) {
	if !r.healSent {
		if r.peerStatus == membership.StatusDead {
			r.healMsg = msg // its status will follow; resolve then
			return
		}
		r.startHeal(now, out)
	}
	r.resolveHeal(now, msg, out)
}

// resolveHeal releases the groups the rule gives to the peer.
func (r *RM) resolveHeal(now time.Time, msg *wire.Message, out *actions) {
	theirs := keySet(msg.Get(fieldHold))
	theyTook := keySet(msg.Get(fieldTakeover))
	var keep []*group
	b := &batch{then: func(now time.Time, out *actions) {
		for _, g := range r.groups {
			g.takeover = false
		}
		r.hold = r.heldClasses()
		r.needsFailback = false
		r.peerStable = true
		r.phase = phaseStable
		out.log(membership.Info, "Partition heal complete: holding %s", r.heldClasses())
		out.send(wire.New("resource").Add("rsc_hold", r.hold.String()).Add("rtype", "full").
			Add("isstable", "1").Add("info", healedInfo))
	}}
	for _, g := range r.groups {
		if !g.busy() || !theirs[g.cfg.Key] {
			continue
		}
		mine, them := g.takeover, theyTook[g.cfg.Key]
		release := mine && !them || mine == them && !g.local
		if release {
			out.log(membership.Info, "Resource group %s stays with %s: releasing it here", g.cfg.Key, r.peer)
			r.run(Release, g, b, out)
		} else {
			out.log(membership.Info, "Resource group %s stays here", g.cfg.Key)
			keep = append(keep, g)
		}
	}
	r.seal(now, b, out)
	for _, g := range keep {
		r.run(Announce, g, nil, out)
	}
}

// announceAll re-announces every group we hold (after the peer released
// its duplicates).
func (r *RM) announceAll(out *actions) {
	for _, g := range r.groups {
		if g.held && g.pending == 0 {
			r.run(Announce, g, nil, out)
		}
	}
}

func keySet(s string) map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(s) {
		m[k] = true
	}
	return m
}
