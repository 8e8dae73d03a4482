// policy.go: what happens when a child exits (classic ManagedChildDied rules).

package respawn

import (
	"fmt"
	"syscall"
	"time"
)

// Respawn rules of heartbeat 3.0.6 (heartbeat.c, ManagedChildDied and
// start_a_child_client).
const (
	// NoRespawnExit is the exit code with which a child asks not to be
	// started again.
	NoRespawnExit = 100
	// ShortRun is the lifetime below which an exit counts as "short".
	ShortRun = 30 * time.Second
	// MaxShortRuns is how many short runs in a row are tolerated: the next
	// one (the 11th) logs "respawning too fast" and the child is left dead.
	MaxShortRuns = 10
	// DefaultRestartDelay is the pause before restarting a child whose last
	// run was short (classic sleeps one second in the child before exec).
	DefaultRestartDelay = time.Second
)

// Exit is how a child process ended.
type Exit struct {
	Code   int            // exit status; 0 when killed by a signal
	Signal syscall.Signal // the killing signal, 0 for a normal exit
}

// String gives "exit 3" or "signal 9".
func (e Exit) String() string {
	if e.Signal != 0 {
		return fmt.Sprintf("signal %d", int(e.Signal))
	}
	return fmt.Sprintf("exit %d", e.Code)
}

// abnormal reports whether a failfast child dying this way is an emergency:
// killed by a signal, or a non-zero exit (classic: rebootifitdies).
func (e Exit) abnormal() bool { return e.Signal != 0 || e.Code != 0 }

// counters are a child's respawn statistics.
type counters struct {
	respawns int // exits followed by a restart decision (classic respawncount)
	short    int // consecutive runs shorter than ShortRun (classic shortrcount)
}

// verdict is what to do after an exit.
type verdict int

const (
	restartNow     verdict = iota // respawn at once
	restartDelayed                // respawn after the restart delay
	noRespawn                     // exit 100: the child asked not to run again
	tooFast                       // too many short runs: give up
	stopping                      // the supervisor is stopping
)

func (v verdict) restart() bool { return v == restartNow || v == restartDelayed }

// decide applies the classic rules to an exit after a run of length lived and
// updates c. It also says whether a failfast child's exit is an emergency
// (classic reboots the machine then). Unlike classic, an exit while the
// supervisor stops is never an emergency: Stop's own SIGTERM would otherwise
// "fail fast" every failfast child.
func decide(c *counters, lived time.Duration, e Exit, failfast, isStopping bool) (v verdict, emergency bool) {
	emergency = failfast && !isStopping && e.abnormal()
	switch {
	case isStopping:
		return stopping, emergency
	case e.Signal == 0 && e.Code == NoRespawnExit:
		return noRespawn, emergency
	}
	c.respawns++
	if lived < ShortRun {
		c.short++
	} else {
		c.short = 0
	}
	if c.short > MaxShortRuns {
		c.short = 0
		return tooFast, emergency
	}
	if c.short > 0 {
		return restartDelayed, emergency
	}
	return restartNow, emergency
}
