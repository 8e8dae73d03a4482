// delegate.go: memberlist's Delegate and EventDelegate: node meta, incoming
// user messages (verified here) and member events.

package gossip

import (
	"crypto/hmac"
	"crypto/sha256"
	"slices"

	"github.com/hashicorp/memberlist"
)

// delegate is Gossip seen as a memberlist.Delegate.
type delegate Gossip

// NodeMeta returns the meta SetMeta stored.
func (d *delegate) NodeMeta(limit int) []byte {
	m := *(*Gossip)(d).meta.Load()
	if len(m) > limit { // SetMeta enforces MaxMeta; memberlist's limit is the same
		return nil
	}
	return m
}

// NotifyMsg verifies one user message and queues it for OnMessage. It runs
// on memberlist's packet and stream goroutines, possibly concurrently; buf
// is only valid during the call.
func (d *delegate) NotifyMsg(buf []byte) {
	g := (*Gossip)(d)
	h, err := parseMsg(buf)
	if err != nil {
		g.counts.drop(dropMalformed)
		return
	}
	if h.node == g.cfg.Node || !g.isLive(h.node) && !(h.kind == kindLeave && g.isGone(h.node)) {
		g.counts.drop(dropUnknownNode)
		return
	}
	if !g.verify(h) {
		g.counts.drop(dropBadMAC)
		return
	}
	if reason := g.replay.accept(h.node, h.gen, h.seq); reason != "" {
		g.counts.drop(reason)
		return
	}
	if h.kind == kindLeave {
		g.noticeLeave(h.node)
		return
	}
	select {
	case g.deliverCh <- delivery{from: h.node, payload: slices.Clone(h.payload)}:
		g.counts.add("received", 1)
	default:
		g.counts.drop(dropOverflow)
	}
}

// noticeLeave records a verified leave notice. It usually arrives before
// memberlist's own leave (a dead message from the node itself), but that
// one travels by UDP gossip and may win: then the Dead entry becomes Left.
func (g *Gossip) noticeLeave(node string) {
	g.mu.Lock()
	m, gone := g.gone[node]
	if gone && m.State == Dead {
		m.State = Left
		g.gone[node] = m
	} else {
		g.leaving[node] = true
	}
	g.mu.Unlock()
	if gone {
		g.changed()
	}
}

// verify checks h's MAC against the user key of every installed key, so
// both keys work during a Rekey overlap.
func (g *Gossip) verify(h header) bool {
	for _, k := range g.keyring.GetKeys() {
		m := hmac.New(sha256.New, g.userKeyFor(k))
		m.Write(h.signed)
		if hmac.Equal(m.Sum(nil), h.mac) {
			return true
		}
	}
	return false
}

// userKeyFor derives (once) the user-message key of a cluster key.
func (g *Gossip) userKeyFor(k []byte) []byte {
	if v, ok := g.keyCache.Load(string(k)); ok {
		return v.([]byte)
	}
	u := userKey(k)
	g.keyCache.Store(string(k), u)
	return u
}

func (g *Gossip) isGone(node string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.gone[node]
	return ok
}

func (g *Gossip) isLive(node string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.live[node]
	return ok
}

// GetBroadcasts: user messages are sent directly (Broadcast), not piggybacked.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState: all shared state is node meta; no push/pull payload.
func (d *delegate) LocalState(join bool) []byte { return nil }

// MergeRemoteState: see LocalState.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {}

// deliverWorker calls OnMessage in order.
func (g *Gossip) deliverWorker() {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			return
		case m := <-g.deliverCh:
			if g.cfg.OnMessage != nil {
				g.cfg.OnMessage(m.from, m.payload)
			}
		}
	}
}

// events is Gossip seen as a memberlist.EventDelegate. Memberlist calls it
// with its node lock held: it only records and kicks changeWorker.
type events Gossip

// NotifyJoin records a new or returning member.
func (e *events) NotifyJoin(n *memberlist.Node) {
	g := (*Gossip)(e)
	g.mu.Lock()
	g.live[n.Name] = liveMember(n)
	delete(g.gone, n.Name)
	delete(g.leaving, n.Name)
	g.mu.Unlock()
	g.changed()
}

func liveMember(n *memberlist.Node) Member {
	return Member{Name: n.Name, Addr: nodeAddr(n), State: Alive, Meta: slices.Clone(n.Meta)}
}

// NotifyLeave records a member that died, or left if its leave notice
// came first (n.State is not maintained by memberlist v0.7.0).
func (e *events) NotifyLeave(n *memberlist.Node) {
	g := (*Gossip)(e)
	g.mu.Lock()
	delete(g.live, n.Name)
	st := Dead
	if g.leaving[n.Name] {
		st = Left
		delete(g.leaving, n.Name)
	}
	g.gone[n.Name] = Member{Name: n.Name, Addr: nodeAddr(n), State: st, Meta: slices.Clone(n.Meta)}
	g.mu.Unlock()
	g.changed()
}

// NotifyUpdate: a member's meta (or address) changed.
func (e *events) NotifyUpdate(n *memberlist.Node) {
	g := (*Gossip)(e)
	g.mu.Lock()
	g.live[n.Name] = liveMember(n)
	g.mu.Unlock()
	g.changed()
}
