// gossip.go: the memberlist wrapper: Config and Tuning, New/Join/Leave/
// Shutdown, Members and node meta.

// Package gossip carries heartbeatd's membership over hashicorp/memberlist
// (SWIM with indirect probes and Lifeguard) when ha.cf says `membership
// memberlist`. Memberlist encrypts every packet with AES-GCM under a key
// derived from authkeys (DeriveKey); on top of that every user message
// (Broadcast, Send) carries an HMAC-SHA256, the sender's generation and a
// sequence number, and receivers drop replays, old generations, forgeries,
// unknown senders and malformed messages, counting each reason. Each node's
// opaque meta (nway.NodeState) travels as memberlist node meta.
package gossip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/sirupsen/logrus"
)

// DefaultPort is memberlist's port (TCP and UDP) when an address has none.
const DefaultPort = 7946

// MaxMeta is the largest node meta (memberlist.MetaMaxSize).
const MaxMeta = memberlist.MetaMaxSize

// Tuning defaults (ha.cf memberlist_* directives).
const (
	DefaultProbeInterval  = 200 * time.Millisecond
	DefaultProbeTimeout   = 100 * time.Millisecond
	DefaultGossipInterval = 50 * time.Millisecond
	DefaultSuspicionMult  = 3
)

// Fixed settings derived from nothing in ha.cf.
const (
	tcpTimeout       = 2 * time.Second  // join/push-pull/Send dial+IO bound; a LAN answers in ms
	pushPullInterval = 10 * time.Second // full-state anti-entropy (heals partitions, meta drift)
	maxUDPUserMsg    = 1024             // larger user messages go over TCP
	deliverQueue     = 256              // verified messages waiting for OnMessage
)

// Tuning is the failure detector's tuning; zero fields take the defaults.
//
// Detection time of a crashed node (n members, n ≤ 10 so memberlist's
// log10(n) cluster-size factor is 1; PI probe interval, SM suspicion mult,
// M = SuspicionMaxTimeoutMult = 6, memberlist's default):
//
//	wait    until some live node probes it: ≤ (n−1)·PI (round robin), usually ~PI
//	probe   direct ack deadline ProbeTimeout, then indirect probes and a TCP
//	        ping until the end of that interval: suspect after PI
//	suspect SM·PI when SM−2 other nodes confirm the suspicion in time (they
//	        confirm by failing their own probes), else up to M·SM·PI; with
//	        n−2 < SM−2 (e.g. two nodes) no confirmation is expected and SM·PI applies
//	dead    gossiped in a few GossipIntervals
//
// At the defaults (200 ms, 100 ms, 3, 50 ms) and 3–5 nodes: typically
// PI + PI + 3·PI ≈ 1 s, at most (n−1)·PI + PI + 18·PI = 4.6 s (n = 5) when
// no confirmation arrives.
//
// Lifeguard awareness is kept at memberlist's defaults
// (AwarenessMaxMultiplier 8): a node that misses acks, gets nacks or must
// refute suspicions of itself raises its own health score and scales its
// probe interval and probe timeout by (score+1), up to 8×. A CPU-starved or
// lossy node thus probes others more slowly instead of accusing them, which
// is what keeps false positives down under load; the price is that a sick
// node's own detections slow down by the same factor. Healthy peers keep
// the tuned pace, so detection of a crash by healthy nodes is unaffected.
type Tuning struct {
	ProbeInterval, ProbeTimeout, GossipInterval time.Duration
	SuspicionMult                               int
}

// withDefaults fills zero fields.
func (t Tuning) withDefaults() Tuning {
	if t.ProbeInterval <= 0 {
		t.ProbeInterval = DefaultProbeInterval
	}
	if t.ProbeTimeout <= 0 {
		t.ProbeTimeout = DefaultProbeTimeout
	}
	if t.GossipInterval <= 0 {
		t.GossipInterval = DefaultGossipInterval
	}
	if t.SuspicionMult <= 0 {
		t.SuspicionMult = DefaultSuspicionMult
	}
	return t
}

// Config configures one node.
type Config struct {
	Node      string   // this node's name (uname -n, lower-cased)
	Bind      string   // addr[:port] to listen on (TCP and UDP); port 0 picks a free one
	Advertise string   // addr[:port] peers should use; "" = the bind address
	Seeds     []string // host[:port] of peers to Join
	Key       []byte   // memberlist key, DeriveKey of the active authkeys entry

	// Generation is the daemon's persisted hb_generation: it must grow on
	// every start, since receivers drop messages of an older generation and
	// sequence numbers restart at 1 in a new one.
	Generation uint64

	Tuning Tuning
	Log    logrus.FieldLogger // nil = logrus.StandardLogger()

	// OnMessage gets each verified user message, in order of arrival, from
	// one goroutine; if it falls behind by 256 messages, messages are dropped
	// (dropped_overflow). payload is the caller's to keep.
	OnMessage func(from string, payload []byte)
	// OnChange is called after any member join, leave, death or meta
	// update, from one goroutine, coalesced: one call may stand for several
	// changes. Read Members() from it.
	OnChange func()

	// RekeyOverlap is the Rekey overlap (0 = DefaultRekeyOverlap).
	RekeyOverlap time.Duration
}

// State is a member's memberlist state.
type State int

// Member states. Memberlist v0.7.0 does not expose suspicion (Node.State
// is never updated), so Members reports suspect members as Alive, which is
// what nway makes of either; Suspect is kept for a later memberlist.
const (
	Alive State = iota
	Suspect
	Dead
	Left
)

// String names the state.
func (s State) String() string {
	switch s {
	case Alive:
		return "alive"
	case Suspect:
		return "suspect"
	case Dead:
		return "dead"
	case Left:
		return "left"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Member is one known node. Dead and Left members stay listed until they
// come back.
type Member struct {
	Name  string
	Addr  netip.AddrPort
	State State
	Meta  []byte
}

// Up reports whether m counts as a live member: alive or suspect.
func (m Member) Up() bool { return m.State == Alive || m.State == Suspect }

// Gossip is one node's membership.
type Gossip struct {
	cfg     Config
	tuning  Tuning
	log     logrus.FieldLogger
	ml      *memberlist.Memberlist
	keyring *memberlist.Keyring

	meta   atomic.Pointer[[]byte]
	metaCh chan struct{} // kicks the UpdateNode worker

	mu sync.Mutex
	// Copies taken in the event callbacks, under memberlist's node lock:
	// memberlist.Members() hands out pointers it later writes unlocked.
	live    map[string]Member // alive or suspect (self included)
	gone    map[string]Member // dead or left, until they rejoin
	leaving map[string]bool   // sent a verified leave notice

	changeCh  chan struct{} // kicks the OnChange notifier
	deliverCh chan delivery

	seq      atomic.Uint64
	replay   replayGuard
	counts   counters
	keyCache sync.Map // string(cluster key) -> user HMAC key

	rekeyMu      sync.Mutex
	rekeyOverlap time.Duration
	rekeyTimers  []*time.Timer

	closed atomic.Bool
	done   chan struct{}
	wg     sync.WaitGroup
}

type delivery struct {
	from    string
	payload []byte
}

// New creates the node's memberlist (listening, encrypted) without joining.
func New(cfg Config) (*Gossip, error) {
	if cfg.Node == "" {
		return nil, errors.New("gossip: no node name")
	}
	if len(cfg.Node) > 255 {
		return nil, errors.New("gossip: node name longer than 255 bytes")
	}
	if err := checkKey(cfg.Key); err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	bindAddr, bindPort, err := splitAddr(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("gossip: bind address: %w", err)
	}
	g := &Gossip{
		cfg:          cfg,
		tuning:       cfg.Tuning.withDefaults(),
		log:          cfg.Log,
		metaCh:       make(chan struct{}, 1),
		live:         map[string]Member{},
		gone:         map[string]Member{},
		leaving:      map[string]bool{},
		changeCh:     make(chan struct{}, 1),
		deliverCh:    make(chan delivery, deliverQueue),
		rekeyOverlap: cfg.RekeyOverlap,
		done:         make(chan struct{}),
	}
	if g.log == nil {
		g.log = logrus.StandardLogger()
	}
	if g.rekeyOverlap <= 0 {
		g.rekeyOverlap = DefaultRekeyOverlap
	}
	if g.tuning.ProbeTimeout >= g.tuning.ProbeInterval {
		return nil, fmt.Errorf("gossip: probe timeout %s must be below the probe interval %s", g.tuning.ProbeTimeout, g.tuning.ProbeInterval)
	}
	empty := []byte{}
	g.meta.Store(&empty)
	g.keyring, err = memberlist.NewKeyring(nil, cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Node
	mc.BindAddr, mc.BindPort = bindAddr, bindPort
	mc.AdvertisePort = bindPort
	if cfg.Advertise != "" {
		mc.AdvertiseAddr, mc.AdvertisePort, err = splitAddr(cfg.Advertise)
		if err != nil {
			return nil, fmt.Errorf("gossip: advertise address: %w", err)
		}
	}
	t := g.tuning
	mc.ProbeInterval = t.ProbeInterval
	mc.ProbeTimeout = t.ProbeTimeout
	mc.GossipInterval = t.GossipInterval
	mc.SuspicionMult = t.SuspicionMult
	// Kept at memberlist's defaults on purpose (see Tuning):
	// AwarenessMaxMultiplier 8, SuspicionMaxTimeoutMult 6, IndirectChecks 3,
	// RetransmitMult 4, GossipNodes 3, GossipToTheDeadTime 30 s.
	mc.TCPTimeout = tcpTimeout
	mc.PushPullInterval = pushPullInterval
	mc.Keyring = g.keyring
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	mc.Delegate = (*delegate)(g)
	mc.Events = (*events)(g)
	mc.Logger = newLogger(g.log, func() { g.counts.drop(dropDecrypt) })
	mc.DNSConfigPath = "" // seeds are resolved with the system resolver

	g.ml, err = memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	// Started after Create, so that OnChange can use g.ml (Create already
	// reported the local node's join; the kick waits in changeCh).
	g.wg.Add(3)
	go g.metaWorker()
	go g.changeWorker()
	go g.deliverWorker()
	return g, nil
}

// Addr is the address peers use for this node (the advertised one).
func (g *Gossip) Addr() netip.AddrPort {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live[g.cfg.Node].Addr
}

// Join contacts the seeds and merges their state; it returns how many
// answered. It fails only if none did. Retrying is the caller's business.
func (g *Gossip) Join() (int, error) {
	if len(g.cfg.Seeds) == 0 {
		return 0, errors.New("gossip: no seeds to join")
	}
	seeds := make([]string, len(g.cfg.Seeds))
	for i, s := range g.cfg.Seeds {
		seeds[i] = withPort(s)
	}
	n, err := g.ml.Join(seeds)
	if err != nil {
		return n, fmt.Errorf("gossip: join: %w", err)
	}
	return n, nil
}

// Members lists every known node, self included, sorted by name.
func (g *Gossip) Members() []Member {
	g.mu.Lock()
	out := make([]Member, 0, len(g.live)+len(g.gone))
	for _, m := range g.live {
		if m.Name == g.cfg.Node {
			m.Meta = *g.meta.Load()
		}
		out = append(out, m)
	}
	for _, m := range g.gone {
		out = append(out, m)
	}
	g.mu.Unlock()
	for i := range out {
		out[i].Meta = slices.Clone(out[i].Meta)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// peers returns the other live members as memberlist nodes to send to.
func (g *Gossip) peers() []*memberlist.Node {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*memberlist.Node
	for _, m := range g.live {
		if m.Name != g.cfg.Node {
			out = append(out, toNode(m))
		}
	}
	return out
}

// peer returns the live member name.
func (g *Gossip) peer(name string) (*memberlist.Node, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.live[name]
	if !ok {
		return nil, false
	}
	return toNode(m), true
}

func toNode(m Member) *memberlist.Node {
	return &memberlist.Node{Name: m.Name, Addr: m.Addr.Addr().AsSlice(), Port: m.Addr.Port()}
}

// SetMeta sets this node's meta (at most MaxMeta bytes). Members() shows it
// at once; peers get it with the next gossip round (UpdateNode runs in the
// background, so SetMeta never blocks).
func (g *Gossip) SetMeta(b []byte) error {
	if len(b) > MaxMeta {
		return fmt.Errorf("gossip: meta of %d bytes exceeds %d", len(b), MaxMeta)
	}
	if g.closed.Load() {
		return errors.New("gossip: shut down")
	}
	c := slices.Clone(b)
	if c == nil {
		c = []byte{}
	}
	g.meta.Store(&c)
	select {
	case g.metaCh <- struct{}{}:
	default: // an update is already pending; it will read the newest meta
	}
	return nil
}

// metaWorker re-advertises this node after SetMeta.
func (g *Gossip) metaWorker() {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			return
		case <-g.metaCh:
			if err := g.ml.UpdateNode(2 * g.tuning.ProbeInterval); err != nil && !g.closed.Load() {
				g.log.WithError(err).Debug("memberlist meta update not yet sent")
			}
		}
	}
}

// changeWorker calls OnChange after membership events.
func (g *Gossip) changeWorker() {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			return
		case <-g.changeCh:
			if g.cfg.OnChange != nil {
				g.cfg.OnChange()
			}
		}
	}
}

func (g *Gossip) changed() {
	select {
	case g.changeCh <- struct{}{}:
	default:
	}
}

// Counters returns the user-message counts: sent, received, send_errors
// and dropped_<reason> for malformed, unknown_node, bad_mac,
// old_generation, replay, overflow and decrypt (memberlist packets or
// streams that no installed key decrypts: a peer with another key).
func (g *Gossip) Counters() map[string]uint64 { return g.counts.snapshot() }

// Leave tells the cluster this node is leaving and waits up to timeout for
// that to be sent; Shutdown after. Peers see it Left rather than Dead if
// its leave notice (an authenticated message over TCP, sent first) reached
// them.
func (g *Gossip) Leave(timeout time.Duration) error {
	if g.closed.Load() {
		return errors.New("gossip: shut down")
	}
	deadline := time.Now().Add(timeout)
	notice := g.seal(kindLeave, nil)
	var wg sync.WaitGroup
	for _, n := range g.peers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.sendTo(n, notice, true); err != nil {
				g.log.WithError(err).WithField("node", n.Name).Debug("leave notice not sent")
			}
		}()
	}
	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()
	select {
	case <-sent:
	case <-time.After(timeout):
	}
	return g.ml.Leave(max(time.Until(deadline), time.Millisecond))
}

// Shutdown stops memberlist (without Leave, peers see this node die) and
// the workers. It is safe to call more than once.
func (g *Gossip) Shutdown() error {
	if !g.closed.CompareAndSwap(false, true) {
		return nil
	}
	g.rekeyMu.Lock()
	for _, t := range g.rekeyTimers {
		t.Stop()
	}
	g.rekeyMu.Unlock()
	err := g.ml.Shutdown()
	close(g.done)
	g.wg.Wait()
	return err
}

// nodeAddr is n's address as a netip.AddrPort.
func nodeAddr(n *memberlist.Node) netip.AddrPort {
	a, _ := netip.AddrFromSlice(n.Addr)
	return netip.AddrPortFrom(a.Unmap(), n.Port)
}

// splitAddr parses "addr", "addr:port", "[v6]:port" or "v6".
func splitAddr(s string) (string, int, error) {
	if s == "" {
		return "0.0.0.0", DefaultPort, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), DefaultPort, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not an IP address", host)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("bad port %q", port)
	}
	return a.String(), int(p), nil
}

// withPort adds DefaultPort to a seed without one.
func withPort(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, DefaultPort).String()
	}
	return net.JoinHostPort(s, strconv.Itoa(DefaultPort))
}
