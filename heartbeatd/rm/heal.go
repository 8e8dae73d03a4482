// Partition heal without a restart (hasuite; classic restarts both nodes).
//
// When a peer that was declared dead comes back active without restarting,
// both sides may hold the same groups. Each sends a `resource` report with
// info=heal listing the groups it holds (hasuite_hold) and those it took
// over while the peer was dead (hasuite_takeover). Both then apply the same
// rule to every group held on both sides: whoever held it before the
// partition keeps it; if both took it over during the partition, its
// preferred node keeps it. The other releases it and reports info=healed
// with what it holds afterwards; the keeper then re-announces its
// addresses. A healed report resolves the heal as well as a heal report
// does, and the report is repeated every HealRetry until the peer answered,
// so one lost message does not leave a group on both nodes. A classic peer
// never sends a heal report (it restarts instead), so nothing is released
// for it.

package rm

import (
	"strings"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// HealRetry is how often the heal report is repeated until the peer's
// report or summary arrives.
const HealRetry = time.Second

const (
	healInfo      = "heal"
	healedInfo    = "healed"
	fieldHold     = "hasuite_hold"
	fieldTakeover = "hasuite_takeover"
)

// healState is where a partition heal stands.
type healState struct {
	sent     bool          // our heal report went out
	resolved bool          // we applied the rule
	retryAt  time.Time     // when to repeat the report
	early    *wire.Message // the peer's report, before we knew it was back
}

// healReport lists what we hold and what we took over, as info says.
func (r *RM) healReport(info string) *wire.Message {
	var held, took []string
	for _, g := range r.groups {
		if g.busy() {
			held = append(held, g.cfg.Key)
			if g.takeover {
				took = append(took, g.cfg.Key)
			}
		}
	}
	return wire.New("resource").Add("rsc_hold", r.heldClasses().String()).Add("rtype", "full").
		Add("isstable", boolDigit(info == healedInfo || r.stable())).Add("info", info).
		Add(fieldHold, strings.Join(held, " ")).Add(fieldTakeover, strings.Join(took, " "))
}

// startHeal sends our heal report once per heal.
func (r *RM) startHeal(now time.Time, out *actions) {
	if r.heal.sent {
		return
	}
	r.heal.sent = true
	r.heal.retryAt = now.Add(HealRetry)
	out.log(membership.Info, "Partition with %s healed: comparing resources", r.peer)
	out.send(r.healReport(healInfo))
	if m := r.heal.early; m != nil {
		r.heal.early = nil
		r.resolveHeal(now, m, out)
	}
}

// retryHeal repeats our report while the peer has not answered.
func (r *RM) retryHeal(now time.Time, out *actions) {
	if !r.heal.sent || r.heal.resolved || now.Before(r.heal.retryAt) {
		return
	}
	r.heal.retryAt = now.Add(HealRetry)
	out.send(r.healReport(healInfo))
}

// receiveHeal handles the peer's heal report or healed summary.
func (r *RM) receiveHeal(now time.Time, msg *wire.Message, out *actions) {
	info := msg.Get("info")
	switch {
	case !r.heal.sent && r.peerStatus == membership.StatusDead:
		r.heal.early = msg // its status will follow; resolve then
		return
	case !r.heal.sent:
		r.startHeal(now, out)
	}
	if !r.heal.resolved {
		r.resolveHeal(now, msg, out)
	} else if info == healInfo {
		// It missed our summary: tell it again what we hold now.
		out.send(r.healReport(healedInfo))
	}
	if info == healedInfo {
		n, _ := ParseHold(msg.Get("rsc_hold"))
		r.peerHold, r.peerStable = n, true
		r.announceAll(out)
	}
}

// resolveHeal releases the groups the rule gives to the peer, then sends
// our summary.
func (r *RM) resolveHeal(now time.Time, msg *wire.Message, out *actions) {
	r.heal.resolved = true
	r.heal.retryAt = time.Time{}
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
		out.send(r.healReport(healedInfo))
	}}
	for _, g := range r.groups {
		if !g.busy() || !theirs[g.cfg.Key] {
			continue
		}
		mine, them := g.takeover, theyTook[g.cfg.Key]
		if mine && !them || mine == them && !g.local {
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
