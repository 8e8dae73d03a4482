// Package engine is ipfail's decision logic and main loop.
//
// The Engine is a state machine stepped by events (delivered API messages
// and its own timer) with the time injected; it returns the messages to
// send. Run does the I/O over an api.Session. Behaviour and log lines follow
// heartbeat 3.0.6's contrib/ipfail (spec §6.1):
//
//   - a ping node or link going dead, a ping node coming back and the peer's
//     ipfail signing on (hbapi-clstat st=join from_id=ipfail) send
//     `num_ping_nodes src=<us> num_ping=<count>` to the peer;
//   - num_ping_nodes from the peer: more ping nodes here sends you_are_dead,
//     fewer starts a delayed giveup of all resources, the same count sends
//     abort_giveup and cancels a pending giveup, or without one and with
//     auto_failback on and our resources stable starts a delayed giveup of
//     the foreign ones;
//   - you_are_dead starts a delayed giveup of all, abort_giveup cancels it;
//   - a delayed giveup fires after twice the keepalive: when our resources
//     are stable (getrsc is not "transition") it sends
//     `ask_resources rsc_hold=<all|foreign> src=<us> info=me`, as hb_standby
//     does; otherwise it waits for the peer's `resource isstable=1` without
//     info, then 10 s, and sends its ping node count again.
//
// Difference from classic: classic sleeps those 10 s inside its message
// handler and so handles nothing meanwhile; the Engine uses a timer.
package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Message types and fields ipfail uses (classic ipfail.h, ha_msg.h).
const (
	TypeNumPing      = "num_ping_nodes"
	TypeAbortGiveup  = "abort_giveup"
	TypeYouAreDead   = "you_are_dead"
	TypeResource     = "resource"
	TypeAskResources = "ask_resources"

	FieldNumPing  = "num_ping"
	FieldIsStable = "isstable"

	// ClientName is the API client name ipfail signs on with.
	ClientName = "ipfail"

	// StableWait is how long ipfail waits after the peer became stable
	// before asking for the counts again (classic sleep(10)).
	StableWait = 10 * time.Second
)

// Resource classes a giveup releases.
const (
	All     = "all"
	Foreign = "foreign"
)

// Config is what the Engine knows from start-up.
type Config struct {
	Local        string        // our node name
	Peer         string        // the other normal node; "" when there is none
	AutoFailback bool          // ha.cf auto_failback on
	Keepalive    time.Duration // the delay of a giveup is twice this
	Log          logrus.FieldLogger
}

// Snapshot is the daemon's state the main loop reads before each step.
type Snapshot struct {
	PingNodes int    // nodes whose status is "ping"
	Resources string // getrsc's answer; "" when it failed (then counted as stable, as classic does)
}

// stable is classic is_stable as a truth value: anything but transition.
func (s Snapshot) stable() bool { return s.Resources != "transition" }

// Event is a Message or a Timer.
type Event interface{ event() }

// Message is a message the daemon delivered on the API session.
type Message struct{ Msg *wire.Message }

// Timer says the Engine's Deadline has passed.
type Timer struct{}

func (Message) event() {}
func (Timer) event()   {}

// Action is a SendNode or SendCluster.
type Action interface{ action() }

// SendNode sends Msg to the peer's ipfail (classic sendnodemsg: dest=Node).
type SendNode struct {
	Msg  *wire.Message
	Node string
}

// SendCluster sends Msg to the whole cluster (classic sendclustermsg).
type SendCluster struct{ Msg *wire.Message }

func (SendNode) action()    {}
func (SendCluster) action() {}

// Engine is ipfail's state.
type Engine struct {
	cfg Config
	log logrus.FieldLogger

	giveupAt    time.Time // pending delayed giveup; zero when none
	giveupRsc   string
	needStandby bool      // a giveup found us unstable: waiting for the peer's stability
	recheckAt   time.Time // after the peer became stable: ask the counts again
	peerStable  bool      // the peer's last resource message said stable (informational)
	tag         uint      // numbers giveup timers for the log, like glib's tags
	out         []Action
}

// New returns an Engine with no timer pending.
func New(cfg Config) *Engine {
	log := cfg.Log
	if log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		log = l
	}
	return &Engine{cfg: cfg, log: log}
}

// Deadline is when the Engine wants a Timer event; ok is false when no
// timer is pending.
func (e *Engine) Deadline() (t time.Time, ok bool) {
	for _, d := range []time.Time{e.giveupAt, e.recheckAt} {
		if !d.IsZero() && (t.IsZero() || d.Before(t)) {
			t = d
		}
	}
	return t, !t.IsZero()
}

// GiveupPending reports whether a delayed giveup is pending, and of what.
func (e *Engine) GiveupPending() (rsc string, ok bool) { return e.giveupRsc, !e.giveupAt.IsZero() }

// Step handles one event at time now with the daemon's state snap and
// returns what to send, in order.
func (e *Engine) Step(now time.Time, snap Snapshot, ev Event) []Action {
	e.out = nil
	switch ev := ev.(type) {
	case Timer:
		e.timers(now, snap)
	case Message:
		e.message(now, snap, ev.Msg)
	}
	out := e.out
	e.out = nil
	return out
}

func (e *Engine) timers(now time.Time, snap Snapshot) {
	if !e.giveupAt.IsZero() && !now.Before(e.giveupAt) {
		rsc := e.giveupRsc
		e.giveupAt, e.giveupRsc = time.Time{}, ""
		e.giveup(snap, rsc)
	}
	if !e.recheckAt.IsZero() && !now.Before(e.recheckAt) {
		e.recheckAt = time.Time{}
		e.askPingNodes(snap.PingNodes)
	}
}

// giveup is classic giveup(): release rsc now if our resources are stable.
func (e *Engine) giveup(snap Snapshot, rsc string) {
	e.log.Info("giveup() called (timeout worked)")
	if !snap.stable() {
		e.needStandby = true
		return
	}
	m := wire.New(TypeAskResources).Add(api.FieldResources, rsc).Add(api.FieldSrc, e.cfg.Local).Add(api.FieldInfo, "me")
	e.out = append(e.out, SendCluster{Msg: m})
	e.log.Debug("Message [" + TypeAskResources + "] sent.")
	e.needStandby = false
}

func (e *Engine) message(now time.Time, snap Snapshot, m *wire.Message) {
	// Classic heartbeat never delivers a message addressed to another node,
	// not even our own; ignore one should a daemon do so.
	if dest, ok := m.Lookup(api.FieldDest); ok && !strings.EqualFold(dest, e.cfg.Local) {
		e.log.WithField("dest", dest).Debugf("Ignoring %s message addressed to another node", m.Type())
		return
	}
	t := m.Type()
	switch {
	case strings.EqualFold(t, api.TypeStatus) || strings.EqualFold(t, api.TypeNSStatus):
		e.nodeStatus(snap, m.Get(api.FieldSrc), m.Get(api.FieldStatus))
	case strings.EqualFold(t, api.TypeIfStatus):
		e.linkStatus(snap, m.Get(api.FieldNode), m.Get(api.FieldIfName), m.Get(api.FieldStatus))
	case t == api.TypeClientStatus:
		src := m.Get(api.FieldSrc)
		if m.Get(api.FieldStatus) == api.ClientJoin && m.Get(api.FieldFromID) == ClientName && src != e.cfg.Local {
			e.log.Debugf("Got join message from another ipfail client. (%s)", src)
			e.askPingNodes(snap.PingNodes)
		}
	case t == TypeResource:
		e.resources(now, m)
	case t == TypeNumPing:
		e.numPing(now, snap, m)
	case t == TypeAbortGiveup:
		e.abortGiveup()
	case t == TypeYouAreDead:
		e.log.Info("Giving up because we were told that we have less ping nodes.")
		e.delayGiveup(now, All)
	}
}

// nodeStatus is classic NodeStatus: a dead node is only logged; a ping node
// coming back sends our count.
func (e *Engine) nodeStatus(snap Snapshot, node, status string) {
	e.log.Infof("Status update: Node %s now has status %s", node, status)
	switch status {
	case "dead":
		if snap.PingNodes > 0 {
			e.log.Info("NS: We are still alive!")
		} else {
			e.log.Info("NS: We are dead. :<")
		}
	case api.NodePing:
		e.log.Info("A ping node just came up.")
		e.askPingNodes(snap.PingNodes)
	}
}

// linkStatus is classic LinkStatus: a dead link (a ping node's included)
// sends our count.
func (e *Engine) linkStatus(snap Snapshot, node, link, status string) {
	e.log.Infof("Link Status update: Link %s/%s now has status %s", node, link, status)
	if status != api.LinkDead {
		return
	}
	if snap.PingNodes > 0 {
		e.askPingNodes(snap.PingNodes)
		e.log.Info("Checking remote count of ping nodes.")
	} else {
		e.log.Info("We are dead. :<")
		e.askPingNodes(snap.PingNodes)
	}
}

// resources is classic msg_resources: the peer's stability ends a wait
// for it.
func (e *Engine) resources(now time.Time, m *wire.Message) {
	orig, okOrig := m.Lookup(api.FieldSrc)
	isStable, okStable := m.Lookup(FieldIsStable)
	if !okOrig || !okStable || orig != e.cfg.Peer {
		return
	}
	_, hasInfo := m.Lookup(api.FieldInfo)
	switch {
	case !hasInfo && isStable == "1":
		e.log.Debug("Other side is now stable.")
		e.peerStable = true
		if e.needStandby {
			e.needStandby = false
			e.recheckAt = now.Add(StableWait)
		}
	case isStable == "0":
		e.log.Debug("Other side is unstable.")
		e.peerStable = false
	}
}

// numPing is classic msg_ping_nodes.
func (e *Engine) numPing(now time.Time, snap Snapshot, m *wire.Message) {
	e.log.Debug("Got asked for num_ping.")
	theirs := api.Atoi(m.Get(FieldNumPing))
	mine := snap.PingNodes
	switch {
	case mine > theirs:
		e.log.Info("Telling other node that we have more visible ping nodes.")
		e.log.Debug("Sending you_are_dead.")
		e.sendPeer(wire.New(TypeYouAreDead))
	case mine < theirs:
		e.log.Info("Giving up because we have less visible ping nodes.")
		e.delayGiveup(now, All)
	default:
		e.log.Info("Ping node count is balanced.")
		e.sendPeer(wire.New(TypeAbortGiveup).Add(api.FieldSrc, e.cfg.Local))
		e.log.Debug("Abort message sent.")
		if !e.giveupAt.IsZero() {
			e.abortGiveup()
		} else if e.cfg.AutoFailback && snap.stable() {
			e.log.Info("Giving up foreign resources (auto_failback).")
			e.delayGiveup(now, Foreign)
		}
	}
}

// askPingNodes sends our count to the peer (classic ask_ping_nodes).
func (e *Engine) askPingNodes(n int) {
	e.log.Info("Asking other side for ping node count.")
	e.sendPeer(wire.New(TypeNumPing).Add(api.FieldSrc, e.cfg.Local).Add(FieldNumPing, strconv.Itoa(n)))
	e.log.Debug("Message [" + FieldNumPing + "] sent.")
}

func (e *Engine) sendPeer(m *wire.Message) {
	e.out = append(e.out, SendNode{Msg: m, Node: e.cfg.Peer})
}

// delayGiveup starts (or restarts) the giveup timer: twice the keepalive.
func (e *Engine) delayGiveup(now time.Time, rsc string) {
	d := 2 * e.cfg.Keepalive
	e.log.Infof("Delayed giveup in %d seconds.", d.Milliseconds()/1000)
	if !e.giveupAt.IsZero() {
		e.log.Debug("Detected existing delay timer, overriding")
	}
	e.tag++
	e.giveupAt, e.giveupRsc = now.Add(d), rsc
}

// abortGiveup cancels a pending giveup.
func (e *Engine) abortGiveup() {
	if e.giveupAt.IsZero() {
		e.log.Info("No giveup timer to abort.")
		return
	}
	e.log.Infof("Aborted delayed giveup (%d)", e.tag)
	e.giveupAt, e.giveupRsc = time.Time{}, ""
}
