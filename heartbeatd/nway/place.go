// place.go: Config, View and Place, the pure placement every node computes
// alike from the same view: candidates, quorum, claims, auto_failback,
// stickiness and rendezvous hashing.

package nway

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

// Config is what placement and the Manager need from ha.cf and haresources.
type Config struct {
	Node         string   // our node name
	Nodes        []string // configured nodes (ha.cf node lines), ours included
	Groups       []config.Group
	AutoFailback string // "on", "off" or "legacy" (= on here); "" = legacy
	Quorum       string // "auto" (majority with 3 or more nodes), "on" or "off"; "" = auto
	// StartSettle: the Manager publishes Starting this long before it
	// runs an acquire, so that two nodes whose views differed (gossip
	// lag) see each other's Starting and one backs off. 0 starts at once;
	// a few gossip intervals is enough.
	StartSettle time.Duration
}

// Validate checks what ha.cf parsing cannot: our node and every preferred
// node are configured, the modes are known, and the groups fit MaxGroups.
func (c Config) Validate() error {
	if !slices.Contains(c.Nodes, c.Node) {
		return fmt.Errorf("nway: this node %q is not among the configured nodes %v", c.Node, c.Nodes)
	}
	if len(c.Groups) > MaxGroups {
		return fmt.Errorf("nway: haresources has %d groups; membership memberlist supports at most %d (node meta is limited to %d bytes)", len(c.Groups), MaxGroups, MaxMetaSize)
	}
	for _, g := range c.Groups {
		if !slices.Contains(c.Nodes, g.Node) {
			return fmt.Errorf("nway: haresources line %d: preferred node %q is not a configured node", g.Line, g.Node)
		}
	}
	switch c.AutoFailback {
	case "", "on", "off", "legacy":
	default:
		return fmt.Errorf("nway: auto_failback %q: want on, off or legacy", c.AutoFailback)
	}
	switch c.Quorum {
	case "", "auto", "on", "off":
	default:
		return fmt.Errorf("nway: quorum %q: want auto, on or off", c.Quorum)
	}
	return nil
}

// quorumOn resolves quorum auto.
func (c Config) quorumOn() bool {
	switch c.Quorum {
	case "on":
		return true
	case "off":
		return false
	}
	return len(c.Nodes) >= 3
}

// failbackOn reports auto_failback on or legacy: a group goes back to its
// preferred node whenever that node is a candidate.
func (c Config) failbackOn() bool { return c.AutoFailback != "off" }

// Peer is one cluster member as the membership layer reports it.
type Peer struct {
	Name  string
	Alive bool      // memberlist Alive or Suspect
	State NodeState // its decoded meta
	Valid bool      // State decoded without error
}

// View is every known member, ours included.
type View struct{ Peers []Peer }

// placement is Place's answer plus what led to it, for the Manager's logs.
type placement struct {
	owner    []string // by group index; "" = none
	quorum   bool
	alive    int    // configured nodes seen alive
	refHash  uint32 // the haresources hash placement follows
	refNodes int    // alive valid nodes publishing it
	peers    []Peer // alive configured peers, sorted by name
}

// Place returns, for every group index, the node that should run it ("" =
// none). It is a pure function of cfg and v: every node holding the same
// configuration and view computes the same map.
//
// Candidates for a group are the alive configured peers with valid meta
// publishing the reference GroupsHash (the one most alive nodes publish;
// on a tie, that of the alphabetically first node among the tied), that
// did not fail it; those not standby for its class are preferred, then
// only the highest Score counts. Without quorum nothing is placed. The
// winner is the candidate with the newest claim; else, with auto_failback
// on or legacy, the preferred node, then the current holder; with off, the
// current holder, then the preferred node; else the highest rendezvous
// hash of group key and node name. Holders are the nodes showing the group
// Held, else those showing it Starting; of several, the preferred node,
// else rendezvous.
func Place(cfg Config, v View) map[int]string {
	p := place(cfg, v)
	out := make(map[int]string, len(p.owner))
	for i, n := range p.owner {
		out[i] = n
	}
	return out
}

func place(cfg Config, v View) placement {
	p := placement{owner: make([]string, len(cfg.Groups))}
	configured := func(name string) bool { return len(cfg.Nodes) == 0 || slices.Contains(cfg.Nodes, name) }
	for _, peer := range v.Peers {
		if peer.Alive && configured(peer.Name) &&
			!slices.ContainsFunc(p.peers, func(q Peer) bool { return q.Name == peer.Name }) {
			p.peers = append(p.peers, peer)
		}
	}
	slices.SortFunc(p.peers, func(a, b Peer) int { return strings.Compare(a.Name, b.Name) })
	p.alive = len(p.peers)
	p.quorum = hasQuorum(cfg, p.peers)

	// The reference haresources: the hash most alive nodes publish.
	counts := map[uint32]int{}
	for _, peer := range p.peers {
		if peer.Valid {
			counts[peer.State.GroupsHash]++
		}
	}
	best := -1
	for _, peer := range p.peers { // by name: the first of the tied wins
		if c := counts[peer.State.GroupsHash]; peer.Valid && c > best {
			best, p.refHash = c, peer.State.GroupsHash
		}
	}
	p.refNodes = max(best, 0)
	var eligible []Peer
	for _, peer := range p.peers {
		if peer.Valid && peer.State.GroupsHash == p.refHash {
			eligible = append(eligible, peer)
		}
	}
	if !p.quorum || best <= 0 || GroupsHash(cfg.Groups) != p.refHash {
		// Without quorum, or when our own haresources is not the
		// reference one, we cannot place (our indexes mean other groups).
		return p
	}
	for i, g := range cfg.Groups {
		p.owner[i] = winner(cfg, i, g, candidates(i, g, eligible))
	}
	return p
}

// hasQuorum: more than half the configured nodes alive, or exactly half
// including the alphabetically first configured node.
func hasQuorum(cfg Config, alive []Peer) bool {
	if !cfg.quorumOn() {
		return true
	}
	n := len(cfg.Nodes)
	if 2*len(alive) > n {
		return true
	}
	if 2*len(alive) == n && n > 0 {
		first := slices.Min(cfg.Nodes)
		return slices.ContainsFunc(alive, func(p Peer) bool { return p.Name == first })
	}
	return false
}

// standbyFor reports whether peer asked to go standby for g's class.
func standbyFor(peer Peer, g config.Group) bool {
	if g.Node == peer.Name {
		return peer.State.StandbyLocal
	}
	return peer.State.StandbyForeign
}

// candidates narrows eligible peers for group i: not failed; not standby
// if anyone else can; the highest score.
func candidates(i int, g config.Group, eligible []Peer) []Peer {
	var ok, active []Peer
	for _, peer := range eligible {
		if peer.State.Failed.Has(i) {
			continue
		}
		ok = append(ok, peer)
		if !standbyFor(peer, g) {
			active = append(active, peer)
		}
	}
	if len(active) > 0 {
		ok = active
	}
	if len(ok) == 0 {
		return nil
	}
	top := slices.MaxFunc(ok, func(a, b Peer) int { return a.State.Score - b.State.Score }).State.Score
	return slices.DeleteFunc(ok, func(p Peer) bool { return p.State.Score != top })
}

func winner(cfg Config, i int, g config.Group, cands []Peer) string {
	if len(cands) == 0 {
		return ""
	}
	// The newest claim: highest (ClaimSeq, name).
	claim := ""
	var seq uint32
	for _, c := range cands {
		if c.State.Claims.Has(i) && (claim == "" || c.State.ClaimSeq > seq || c.State.ClaimSeq == seq && c.Name > claim) {
			claim, seq = c.Name, c.State.ClaimSeq
		}
	}
	if claim != "" {
		return claim
	}
	preferred := ""
	if slices.ContainsFunc(cands, func(p Peer) bool { return p.Name == g.Node }) {
		preferred = g.Node
	}
	// Holders: those running it, else those starting it. Of several (after
	// a partition healed, or starts that crossed), the preferred node,
	// else rendezvous.
	var held, starting, holders []Peer
	for _, c := range cands {
		if c.State.Held.Has(i) {
			held = append(held, c)
		} else if c.State.Starting.Has(i) {
			starting = append(starting, c)
		}
	}
	holders = held
	if len(holders) == 0 {
		holders = starting
	}
	holder := rendezvous(g, holders)
	if preferred != "" && slices.ContainsFunc(holders, func(p Peer) bool { return p.Name == preferred }) {
		holder = preferred
	}
	if cfg.failbackOn() {
		if preferred != "" {
			return preferred
		}
		if holder != "" {
			return holder
		}
	} else {
		if holder != "" {
			return holder
		}
		if preferred != "" {
			return preferred
		}
	}
	return rendezvous(g, cands)
}

// rendezvous picks the peer with the highest rendezvousScore; "" when
// there is none.
func rendezvous(g config.Group, peers []Peer) string {
	best, bestScore := "", uint64(0)
	for _, p := range peers {
		if s := rendezvousScore(g.Key, p.Name); best == "" || s > bestScore || s == bestScore && p.Name < best {
			best, bestScore = p.Name, s
		}
	}
	return best
}

// rendezvousScore is fnv64a(key, 0, node) through a 64-bit finaliser
// (murmur3's fmix64): node names differing only in their last byte would
// otherwise rank alike for every group.
func rendezvousScore(key, node string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(node))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
