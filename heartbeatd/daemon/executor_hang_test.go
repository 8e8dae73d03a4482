// executor_hang_test.go: agents that never return, bounded by the
// executor's per-call timeout (ha.cf resource_timeout).

package daemon

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/resources"
)

// hangAgent is a fakeAgent whose chosen operations block until their
// context ends, as a script does that the script agent kills at its deadline.
type hangAgent struct {
	*fakeAgent
	start, stop, status bool // which operations hang
}

func (h *hangAgent) Start(ctx context.Context) error {
	if h.start {
		*h.journal = append(*h.journal, "start "+h.name+" (hangs)")
		<-ctx.Done()
		return ctx.Err()
	}
	return h.fakeAgent.Start(ctx)
}

func (h *hangAgent) Stop(ctx context.Context) error {
	if h.stop {
		*h.journal = append(*h.journal, "stop "+h.name+" (hangs)")
		<-ctx.Done()
		return ctx.Err()
	}
	return h.fakeAgent.Stop(ctx)
}

func (h *hangAgent) Running(ctx context.Context) (bool, error) {
	if h.status {
		<-ctx.Done()
		return false, ctx.Err()
	}
	return h.fakeAgent.Running(ctx)
}

func hangExecutor(timeout time.Duration, agents map[string]resources.Agent) *executor {
	log := logrus.New()
	log.SetOutput(io.Discard)
	e := newExecutor(log, func(r string) (resources.Agent, error) { return agents[r], nil }, timeout, nil)
	e.retry = time.Millisecond
	return e
}

// A start that never returns fails at the timeout, names the resource, and
// the group is stopped again (the address too), ready to be given up.
func TestExecutorHangingStartTimesOut(t *testing.T) {
	var j []string
	ip := &fakeAgent{name: "ip", journal: &j}
	app := &hangAgent{fakeAgent: &fakeAgent{name: "app", journal: &j}, start: true}
	const timeout = 150 * time.Millisecond
	e := hangExecutor(timeout, map[string]resources.Agent{"ip": ip, "app": app})
	begin := time.Now()
	err := e.do(rm.Run{Op: rm.Acquire, Group: group("ip", "app")})
	took := time.Since(begin)
	var re *rm.ResourceError
	if !errors.As(err, &re) || re.Resource != "app" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire = %v, want app's deadline", err)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("acquire took %v, want about %v", took, timeout)
	}
	if ip.running {
		t.Error("the address is still up after the group was given up")
	}
	want := "start ip,start app (hangs),stop app,stop ip"
	if got := strings.Join(j, ","); got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
}

// A stop that never returns is retried, each try cut at the timeout; the
// resources before it in the group (the address) are still stopped, and
// the release fails, so stop_failure_action applies. A status that hangs
// as well counts as still running, never as stopped.
func TestExecutorHangingStopStillReleasesAddress(t *testing.T) {
	for _, statusHangs := range []bool{false, true} {
		var j []string
		ip := &fakeAgent{name: "ip", journal: &j, running: true}
		app := &hangAgent{fakeAgent: &fakeAgent{name: "app", journal: &j, running: true}, stop: true, status: statusHangs}
		const timeout = 20 * time.Millisecond
		e := hangExecutor(timeout, map[string]resources.Agent{"ip": ip, "app": app})
		begin := time.Now()
		err := e.do(rm.Run{Op: rm.Release, Group: group("ip", "app")})
		took := time.Since(begin)
		if !errors.Is(err, errStillRunning) || !strings.Contains(err.Error(), "app") {
			t.Errorf("status hangs %v: release = %v, want app %v", statusHangs, err, errStillRunning)
		}
		if ip.running {
			t.Errorf("status hangs %v: the address is still up", statusHangs)
		}
		if n := strings.Count(strings.Join(j, ","), "stop app (hangs)"); n != stopRetries+1 {
			t.Errorf("status hangs %v: %d stops of app, want %d", statusHangs, n, stopRetries+1)
		}
		if min := time.Duration(stopRetries+1) * timeout; took < min || took > min+3*time.Second {
			t.Errorf("status hangs %v: release took %v, want about %v", statusHangs, took, min)
		}
	}
}

// A status that hangs before a start does not block the start: the
// resource counts as not running and is started.
func TestExecutorHangingStatusBeforeStart(t *testing.T) {
	var j []string
	app := &hangAgent{fakeAgent: &fakeAgent{name: "app", journal: &j}, status: true}
	e := hangExecutor(20*time.Millisecond, map[string]resources.Agent{"app": app})
	if err := e.do(rm.Run{Op: rm.Acquire, Group: group("app")}); err != nil {
		t.Fatalf("acquire = %v", err)
	}
	if !app.running {
		t.Error("app was not started")
	}
}
