// send.go: Broadcast and Send of authenticated user messages.

package gossip

import (
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// seal signs payload with the primary key's user key and the next seq.
func (g *Gossip) seal(kind byte, payload []byte) []byte {
	key := g.userKeyFor(g.keyring.GetPrimaryKey())
	return encodeMsg(key, kind, g.cfg.Node, g.cfg.Generation, g.seq.Add(1), payload)
}

// Broadcast sends payload to every other alive or suspect member, best
// effort: over UDP up to 1 KiB, over TCP above (one connection per member).
// Failures are counted (send_errors) and logged at debug level; the node
// meta, not messages, is the state that must converge.
func (g *Gossip) Broadcast(payload []byte) {
	if g.closed.Load() {
		return
	}
	msg := g.seal(kindData, payload)
	for _, n := range g.peers() {
		if err := g.sendTo(n, msg, len(msg) > maxUDPUserMsg); err != nil {
			g.counts.add("send_errors", 1)
			g.log.WithError(err).WithField("node", n.Name).Debug("memberlist user message not sent")
		}
	}
}

// Send sends payload to one member over TCP (reliable; blocks up to the
// 2 s TCP timeout on an unreachable node).
func (g *Gossip) Send(node string, payload []byte) error {
	if g.closed.Load() {
		return errors.New("gossip: shut down")
	}
	if node == g.cfg.Node {
		return errors.New("gossip: cannot send to self")
	}
	n, ok := g.peer(node)
	if !ok {
		return fmt.Errorf("gossip: send to %s: not a live member", node)
	}
	if err := g.sendTo(n, g.seal(kindData, payload), true); err != nil {
		g.counts.add("send_errors", 1)
		return fmt.Errorf("gossip: send to %s: %w", node, err)
	}
	return nil
}

func (g *Gossip) sendTo(n *memberlist.Node, msg []byte, reliable bool) error {
	var err error
	if reliable {
		err = g.ml.SendReliable(n, msg)
	} else {
		err = g.ml.SendBestEffort(n, msg)
	}
	if err == nil {
		g.counts.add("sent", 1)
	}
	return err
}
