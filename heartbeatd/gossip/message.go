// message.go: the authenticated user-message layer: encoding, HMAC-SHA256,
// per-sender generation and sequence replay window, drop counters.

package gossip

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
)

// Wire format of a user message (memberlist encrypts the whole packet too):
//
//	version(1) kind(1) nameLen(1) name generation(8) seq(8) payload mac(32)
//
// mac is HMAC-SHA256, keyed with userKey(cluster key), over everything
// before it. Integers are big-endian. kind is kindData (Broadcast, Send) or
// kindLeave (the notice Leave sends first, so that peers can tell a node
// that left from one that died: memberlist v0.7.0 does not say).
const (
	msgVersion  = 1
	macSize     = sha256.Size
	msgOverhead = 1 + 1 + 1 + 8 + 8 + macSize // plus the name
	replayWidth = 64                          // seqs older than max-63 are dropped
)

// Message kinds.
const (
	kindData  = 0
	kindLeave = 1
)

// Drop reasons, counted as "dropped_<reason>".
const (
	dropMalformed     = "malformed"      // too short, bad version, kind or name
	dropUnknownNode   = "unknown_node"   // sender not an alive or suspect member (or ourselves)
	dropBadMAC        = "bad_mac"        // no accepted key verifies the MAC
	dropOldGeneration = "old_generation" // generation below the sender's newest seen
	dropReplay        = "replay"         // seq already seen or below the window
	dropOverflow      = "overflow"       // delivery queue full (OnMessage too slow)
	dropDecrypt       = "decrypt"        // memberlist packet no key could decrypt (wrong key)
)

// encodeMsg builds a signed user message.
func encodeMsg(key []byte, kind byte, node string, gen, seq uint64, payload []byte) []byte {
	b := make([]byte, 0, msgOverhead+len(node)+len(payload))
	b = append(b, msgVersion, kind, byte(len(node)))
	b = append(b, node...)
	b = binary.BigEndian.AppendUint64(b, gen)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = append(b, payload...)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(b)
}

// header is a parsed user message, MAC not yet checked.
type header struct {
	kind     byte
	node     string
	gen, seq uint64
	payload  []byte // aliases the packet
	signed   []byte // the bytes the MAC covers
	mac      []byte
}

var errMalformed = errors.New("malformed user message")

func parseMsg(b []byte) (header, error) {
	if len(b) < msgOverhead+1 || b[0] != msgVersion || b[1] > kindLeave {
		return header{}, errMalformed
	}
	n := int(b[2])
	if n == 0 || len(b) < msgOverhead+n {
		return header{}, errMalformed
	}
	h := header{kind: b[1], node: string(b[3 : 3+n])}
	p := b[3+n:]
	h.gen = binary.BigEndian.Uint64(p)
	h.seq = binary.BigEndian.Uint64(p[8:])
	end := len(b) - macSize
	h.payload = b[3+n+16 : end]
	h.signed = b[:end]
	h.mac = b[end:]
	return h, nil
}

// window is the replay state of one sender.
type window struct {
	gen  uint64
	max  uint64 // highest seq accepted in gen
	seen uint64 // bit i: seq max-i accepted
}

// replayGuard tracks every sender's window.
type replayGuard struct {
	mu      sync.Mutex
	senders map[string]*window
}

// accept records (gen, seq) from node, or returns the drop reason.
func (r *replayGuard) accept(node string, gen, seq uint64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.senders == nil {
		r.senders = map[string]*window{}
	}
	w := r.senders[node]
	switch {
	case w == nil || gen > w.gen:
		r.senders[node] = &window{gen: gen, max: seq, seen: 1}
		return ""
	case gen < w.gen:
		return dropOldGeneration
	case seq > w.max:
		if d := seq - w.max; d >= replayWidth {
			w.seen = 1
		} else {
			w.seen = w.seen<<d | 1
		}
		w.max = seq
		return ""
	}
	d := w.max - seq
	if d >= replayWidth || w.seen&(1<<d) != 0 {
		return dropReplay
	}
	w.seen |= 1 << d
	return ""
}

// counters are the user-message and rejection counts.
type counters struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (c *counters) add(name string, n uint64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]uint64{}
	}
	c.m[name] += n
	c.mu.Unlock()
}

func (c *counters) drop(reason string) { c.add("dropped_"+reason, 1) }

func (c *counters) snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]uint64{"sent": 0, "received": 0, "send_errors": 0}
	for _, r := range []string{dropMalformed, dropUnknownNode, dropBadMAC, dropOldGeneration, dropReplay, dropOverflow, dropDecrypt} {
		out["dropped_"+r] = 0
	}
	for k, v := range c.m {
		out[k] = v
	}
	return out
}
