// Actions returned by the membership state machine for the daemon to carry out.

package membership

import "github.com/hasuite/hasuite/heartbeatd/wire"

// Action is something the daemon must do after an event: Transmit, Deliver,
// NodeChange, LinkChange, CommUp or Log.
type Action interface{ action() }

// Transmit asks the daemon to encode Msg and send it on every medium.
type Transmit struct{ Msg *wire.Message }

// Deliver hands an accepted cluster message that membership does not consume
// (resource messages, client messages) to the layers above.
type Deliver struct {
	Msg  *wire.Message
	From string
}

// NodeChange reports a node's new status ("init", "up", "active", "dead").
type NodeChange struct {
	Node     string
	From, To Status
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
func (Deliver) action()    {}
func (NodeChange) action() {}
func (LinkChange) action() {}
func (CommUp) action()     {}
func (Log) action()        {}
