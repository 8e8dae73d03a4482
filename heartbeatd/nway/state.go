// state.go: NodeState (what a node publishes as its memberlist meta), the
// group bitset Set, their compact versioned encoding and GroupsHash.

// Package nway is the N-node resource manager used with `membership
// memberlist`: a pure placement function (Place) that every node computes
// alike from the same view, and a state machine (Manager) that starts and
// stops the local groups to follow it, with a publish-before-act safety
// handshake. It never touches sockets or memberlist; the daemon feeds it
// events with the current time and carries out the returned Actions, and
// tests step it the same way.
package nway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/bits"
	"slices"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

// Encoding bounds: a marshalled NodeState never exceeds MaxMetaSize bytes
// (memberlist's node meta limit) as long as no group index reaches
// MaxGroups. Config.Validate rejects a haresources with more groups.
const (
	MaxMetaSize = 512
	MaxGroups   = 1000
)

// encodingVersion is the first byte of a marshalled NodeState.
const encodingVersion = 1

// Set is a set of haresources group indexes. It is a value: With and
// Without return a new Set and never change the one they are called on, so
// copies of a NodeState share nothing mutable.
type Set struct{ w []uint64 }

// SetOf returns the set of the given indexes.
func SetOf(idx ...int) Set {
	var s Set
	for _, i := range idx {
		s = s.With(i)
	}
	return s
}

// Has reports whether i is in s.
func (s Set) Has(i int) bool {
	return i >= 0 && i/64 < len(s.w) && s.w[i/64]&(1<<(i%64)) != 0
}

// With returns s plus i.
func (s Set) With(i int) Set {
	if i < 0 || s.Has(i) {
		return s
	}
	w := make([]uint64, max(len(s.w), i/64+1))
	copy(w, s.w)
	w[i/64] |= 1 << (i % 64)
	return Set{w}
}

// Without returns s minus i.
func (s Set) Without(i int) Set {
	if !s.Has(i) {
		return s
	}
	w := slices.Clone(s.w)
	w[i/64] &^= 1 << (i % 64)
	return Set{w}
}

// Len is the number of indexes in s.
func (s Set) Len() int {
	n := 0
	for _, x := range s.w {
		n += bits.OnesCount64(x)
	}
	return n
}

// Empty reports whether s has no index.
func (s Set) Empty() bool { return s.Len() == 0 }

// Indexes lists s in increasing order.
func (s Set) Indexes() []int {
	var out []int
	for wi, x := range s.w {
		for x != 0 {
			b := bits.TrailingZeros64(x)
			out = append(out, wi*64+b)
			x &^= 1 << b
		}
	}
	return out
}

// Equal reports whether s and o hold the same indexes.
func (s Set) Equal(o Set) bool {
	for i := range max(len(s.w), len(o.w)) {
		var a, b uint64
		if i < len(s.w) {
			a = s.w[i]
		}
		if i < len(o.w) {
			b = o.w[i]
		}
		if a != b {
			return false
		}
	}
	return true
}

// String prints s as [1 4 7].
func (s Set) String() string { return fmt.Sprint(s.Indexes()) }

// NodeState is what a node publishes to the others (its memberlist meta).
// For each group at most one of Held, Starting, Stopping and Failed is
// set; Marshal keeps the first of Stopping, Starting, Held, Failed.
type NodeState struct {
	Score          int  // ping nodes/groups reachable (ipfail's count); higher wins
	StandbyLocal   bool // hb_standby local: prefer others for our own groups
	StandbyForeign bool // hb_standby foreign: prefer others for the other nodes' groups
	Held           Set  // running here
	Starting       Set  // acquire under way
	Stopping       Set  // release under way
	Failed         Set  // failed to start here: others take it
	Claims         Set  // hb_takeover: groups claimed, ordered by (ClaimSeq, node name)
	ClaimSeq       uint32
	GroupsHash     uint32 // GroupsHash of our haresources
}

// Equal reports whether s and o publish the same thing.
func (s NodeState) Equal(o NodeState) bool {
	return s.Score == o.Score && s.StandbyLocal == o.StandbyLocal && s.StandbyForeign == o.StandbyForeign &&
		s.Held.Equal(o.Held) && s.Starting.Equal(o.Starting) && s.Stopping.Equal(o.Stopping) &&
		s.Failed.Equal(o.Failed) && s.Claims.Equal(o.Claims) && s.ClaimSeq == o.ClaimSeq && s.GroupsHash == o.GroupsHash
}

// active reports whether g is held, starting or stopping: whether another
// node must wait before starting it.
func (s NodeState) active(g int) bool {
	return s.Held.Has(g) || s.Starting.Has(g) || s.Stopping.Has(g)
}

// anyActive reports whether any group is held, starting or stopping.
func (s NodeState) anyActive() bool {
	return !s.Held.Empty() || !s.Starting.Empty() || !s.Stopping.Empty()
}

// holds reports whether g is held or starting: the node is g's current
// holder for placement.
func (s NodeState) holds(g int) bool { return s.Held.Has(g) || s.Starting.Has(g) }

// Per-group digit of the encoding: phase (0 none, 1 starting, 2 held,
// 3 stopping, 4 failed) * 2 + claimed.
const (
	digitBase  = 10
	phaseNone  = 0
	phaseStart = 1
	phaseHeld  = 2
	phaseStop  = 3
	phaseFail  = 4
)

func (s NodeState) digit(g int) byte {
	p := phaseNone
	switch {
	case s.Stopping.Has(g):
		p = phaseStop
	case s.Starting.Has(g):
		p = phaseStart
	case s.Held.Has(g):
		p = phaseHeld
	case s.Failed.Has(g):
		p = phaseFail
	}
	d := byte(p * 2)
	if s.Claims.Has(g) {
		d++
	}
	return d
}

func (s *NodeState) setDigit(g int, d byte) {
	switch d / 2 {
	case phaseStart:
		s.Starting = s.Starting.With(g)
	case phaseHeld:
		s.Held = s.Held.With(g)
	case phaseStop:
		s.Stopping = s.Stopping.With(g)
	case phaseFail:
		s.Failed = s.Failed.With(g)
	}
	if d%2 == 1 {
		s.Claims = s.Claims.With(g)
	}
}

// extent is one past the highest group index any set of s holds.
func (s NodeState) extent() int {
	n := 0
	for _, set := range []Set{s.Held, s.Starting, s.Stopping, s.Failed, s.Claims} {
		if ix := set.Indexes(); len(ix) > 0 {
			n = max(n, ix[len(ix)-1]+1)
		}
	}
	return n
}

// Flag bits of the second byte.
const (
	flagStandbyLocal   = 1 << 0
	flagStandbyForeign = 1 << 1
	flagDense          = 1 << 2
)

// MarshalBinary encodes s:
//
//	version (1) | flags | GroupsHash (4, big endian) | Score (zigzag varint) |
//	ClaimSeq (uvarint) | n (uvarint, groups covered) | groups
//
// Each group is a digit 0..9 (its phase and whether it is claimed). Dense
// form packs three digits in 10 bits (at most 418 bytes for MaxGroups);
// sparse form, chosen when shorter, is a count then (index gap, digit)
// pairs for the non-zero digits. It fails when a set reaches MaxGroups.
func (s NodeState) MarshalBinary() ([]byte, error) {
	n := s.extent()
	if int64(s.Score) != int64(int32(s.Score)) {
		return nil, fmt.Errorf("nway: score %d out of range", s.Score)
	}
	if n > MaxGroups {
		return nil, fmt.Errorf("nway: node state names group index %d; at most %d groups fit in %d bytes of meta", n-1, MaxGroups, MaxMetaSize)
	}
	b := []byte{encodingVersion, 0}
	if s.StandbyLocal {
		b[1] |= flagStandbyLocal
	}
	if s.StandbyForeign {
		b[1] |= flagStandbyForeign
	}
	b = binary.BigEndian.AppendUint32(b, s.GroupsHash)
	b = binary.AppendVarint(b, int64(s.Score))
	b = binary.AppendUvarint(b, uint64(s.ClaimSeq))
	b = binary.AppendUvarint(b, uint64(n))

	var sparse []byte
	count, prev := 0, -1
	for g := range n {
		if d := s.digit(g); d != 0 {
			sparse = binary.AppendUvarint(sparse, uint64(g-prev-1))
			sparse = append(sparse, d)
			count++
			prev = g
		}
	}
	sparse = append(binary.AppendUvarint(nil, uint64(count)), sparse...)
	dense := packDigits(n, s.digit)
	if len(dense) < len(sparse) {
		b[1] |= flagDense
		b = append(b, dense...)
	} else {
		b = append(b, sparse...)
	}
	return b, nil
}

// Marshal is MarshalBinary for a state the Manager built: its groups are
// bounded by Config.Validate, so an error is a programming error and
// panics.
func (s NodeState) Marshal() []byte {
	b, err := s.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

// packDigits packs n digits three to 10 bits, most significant bit first.
func packDigits(n int, digit func(int) byte) []byte {
	out := make([]byte, ((n+2)/3*10+7)/8)
	bit := 0
	for g := 0; g < n; g += 3 {
		v := 0
		for k := range 3 {
			v *= digitBase
			if g+k < n {
				v += int(digit(g + k))
			}
		}
		for k := 9; k >= 0; k-- {
			if v&(1<<k) != 0 {
				out[bit/8] |= 0x80 >> (bit % 8)
			}
			bit++
		}
	}
	return out
}

// Unmarshal errors.
var (
	ErrShortState   = errors.New("nway: node state truncated")
	ErrStateVersion = errors.New("nway: unknown node state version")
)

// Unmarshal decodes a NodeState. It accepts exactly what MarshalBinary
// produces: an unknown version, a truncated or over-long input, a digit out
// of range or more than MaxGroups groups are errors.
func Unmarshal(b []byte) (NodeState, error) {
	var s NodeState
	if len(b) == 0 {
		return s, ErrShortState
	}
	if b[0] != encodingVersion {
		return s, fmt.Errorf("%w %d", ErrStateVersion, b[0])
	}
	if len(b) > MaxMetaSize {
		return s, fmt.Errorf("nway: node state of %d bytes exceeds %d", len(b), MaxMetaSize)
	}
	if len(b) < 6 {
		return s, ErrShortState
	}
	flags := b[1]
	if flags&^(flagStandbyLocal|flagStandbyForeign|flagDense) != 0 {
		return s, fmt.Errorf("nway: node state has unknown flags %#x", flags)
	}
	s.StandbyLocal = flags&flagStandbyLocal != 0
	s.StandbyForeign = flags&flagStandbyForeign != 0
	s.GroupsHash = binary.BigEndian.Uint32(b[2:6])
	r := reader{b: b[6:]}
	score := r.varint()
	seq := r.uvarint()
	n := r.uvarint()
	if r.err != nil {
		return s, r.err
	}
	if score < -1<<31 || score > 1<<31-1 || seq > 1<<32-1 {
		return s, errors.New("nway: node state field out of range")
	}
	if n > MaxGroups {
		return s, fmt.Errorf("nway: node state covers %d groups, more than %d", n, MaxGroups)
	}
	s.Score, s.ClaimSeq = int(score), uint32(seq)
	if flags&flagDense != 0 {
		want := ((int(n)+2)/3*10 + 7) / 8
		if len(r.b) != want {
			return s, ErrShortState
		}
		for g := 0; g < int(n); g += 3 {
			v := 0
			for k := range 10 {
				bit := (g/3)*10 + k
				v <<= 1
				if r.b[bit/8]&(0x80>>(bit%8)) != 0 {
					v |= 1
				}
			}
			if v >= digitBase*digitBase*digitBase {
				return s, errors.New("nway: node state has a bad group digit")
			}
			for k := 2; k >= 0; k-- {
				d := byte(v % digitBase)
				v /= digitBase
				if g+k < int(n) {
					s.setDigit(g+k, d)
				} else if d != 0 {
					return s, errors.New("nway: node state has a digit past its groups")
				}
			}
		}
		for bit := (int(n) + 2) / 3 * 10; bit < len(r.b)*8; bit++ {
			if r.b[bit/8]&(0x80>>(bit%8)) != 0 {
				return s, errors.New("nway: node state has non-zero padding")
			}
		}
		return s, nil
	}
	count := r.uvarint()
	if r.err == nil && count > n {
		return s, errors.New("nway: node state lists more groups than it covers")
	}
	g := -1
	for range count {
		gap := r.uvarint()
		d := r.byte()
		if r.err != nil {
			return s, r.err
		}
		if gap >= n || uint64(g+1)+gap >= n || d == 0 || d >= digitBase {
			return s, errors.New("nway: node state has a bad group entry")
		}
		g += int(gap) + 1
		s.setDigit(g, d)
	}
	if r.err != nil {
		return s, r.err
	}
	if len(r.b) != 0 {
		return s, errors.New("nway: node state has trailing bytes")
	}
	return s, nil
}

// reader reads varints, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = ErrShortState
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = ErrShortState
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = ErrShortState
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// GroupsHash identifies a haresources: preferred nodes and resources as
// written, in order (line numbers do not count). Nodes publishing another
// hash index their groups differently and are not candidates.
func GroupsHash(groups []config.Group) uint32 {
	h := fnv.New32a()
	for _, g := range groups {
		h.Write([]byte(g.Node))
		for _, r := range g.Resources {
			h.Write([]byte{0})
			h.Write([]byte(r.Text))
		}
		h.Write([]byte{1})
	}
	return h.Sum32()
}
