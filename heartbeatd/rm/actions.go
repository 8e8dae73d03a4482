// Actions the resource manager returns for the daemon to carry out.

package rm

import (
	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Action is something the daemon must do after an event: Send, Run, Reboot,
// Stopped or Log.
type Action interface{ action() }

// Send asks the daemon to send Msg to the cluster (through membership,
// which stamps src, seq and the other standard fields).
type Send struct{ Msg *wire.Message }

// Op is what a job does to a group.
type Op int

// Job operations.
const (
	// Acquire starts a group left to right, skipping resources already
	// running; on a failure it stops the group again right to left.
	Acquire Op = iota
	// Release stops a group right to left, retrying failed stops.
	Release
	// Check asks every resource of a held group whether it is running.
	Check
	// Announce re-sends the gratuitous ARP of a held group's addresses.
	Announce
)

func (o Op) String() string {
	return [...]string{"acquire", "release", "check", "announce"}[o]
}

// Run asks the daemon to run a job on a group. Jobs run one at a time in
// the order they are returned; the daemon reports each with Done(ID).
type Run struct {
	ID    uint64
	Op    Op
	Group config.Group
}

// ResourceError is a job failure that names the resource that failed; the
// resource manager logs it by that name, as classic does ("Giving up
// resources due to failure of httpd").
type ResourceError struct {
	Resource string
	Err      error
}

func (e *ResourceError) Error() string { return e.Resource + ": " + e.Err.Error() }
func (e *ResourceError) Unwrap() error { return e.Err }

// Reboot is the classic last resort after a failed stop
// (stop_failure_action reboot).
type Reboot struct{ Reason string }

// Stopped reports that a graceful stop has released every group: the
// daemon may now send shutdone and exit.
type Stopped struct{}

// Log is a message for the daemon's log; it converts to membership.Log.
type Log struct {
	Level  membership.Level
	Msg    string
	Fields map[string]any
}

func (Send) action()    {}
func (Run) action()     {}
func (Reboot) action()  {}
func (Stopped) action() {}
func (Log) action()     {}
