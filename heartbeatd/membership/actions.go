// Actions returned by the membership state machine for the daemon to carry out.

package membership

import "github.com/hasuite/hasuite/heartbeatd/wire"

// Action is something the daemon must do after an event: Transmit, Ping,
// Deliver, NodeChange, LinkChange, CommUp or Log.
type Action interface{ action() }

// Transmit asks the daemon to encode Msg and send it on every medium.
type Transmit struct{ Msg *wire.Message }

// Deliver hands an accepted cluster message that membership does not consume
// (resource messages, client messages) to the layers above.
type Deliver struct {
	Msg  *wire.Message
	From string
}

// NodeChange reports a node's new status ("init", "up", "active", "dead",
// or "ping" for a ping node).
type NodeChange struct {
	Node     string
	From, To Status
	// Ping marks a ping node. Msg is the NS_st echo that brought it to
	// "ping": classic hands that message itself to API clients.
	Ping bool
	Msg  *wire.Message
}

// Ping asks the daemon to send Msg, encoded and authenticated, as the
// payload of an ICMP echo request to ping node Node (each address of a
// ping_group). It comes with every status message.
type Ping struct {
	Node string
	Msg  *wire.Message
}

// LinkChange reports a node's link (interface name) going up or dead.
type LinkChange struct {
	Node, Link string
	Up         bool
}

// CommUp reports that every configured node has been heard from or declared
// dead: the moment classic heartbeat starts respawn children and resources.
type CommUp struct{}

// Level is a log severity of a Log action.
type Level int

// Log levels, in the classic order.
const (
	Debug Level = iota
	Info
	Warn
	Error
	Crit
)

// Log is a message for the daemon's log, with logrus-style fields.
type Log struct {
	Level  Level
	Msg    string
	Fields map[string]any
}

func (Transmit) action()   {}
func (Ping) action()       {}
func (Deliver) action()    {}
func (NodeChange) action() {}
func (LinkChange) action() {}
func (CommUp) action()     {}
func (Log) action()        {}
