package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/resources"
)

// fakeAgent records calls into a shared journal.
type fakeAgent struct {
	name        string
	journal     *[]string
	running     bool
	failStart   bool
	stopFails   int // stops that fail before one succeeds (-1: all fail)
	stopKeepsUp bool
	announced   int
}

func (f *fakeAgent) Name() string { return f.name }
func (f *fakeAgent) Start(context.Context) error {
	*f.journal = append(*f.journal, "start "+f.name)
	if f.failStart {
		return errors.New("exit code 1")
	}
	f.running = true
	return nil
}
func (f *fakeAgent) Stop(context.Context) error {
	*f.journal = append(*f.journal, "stop "+f.name)
	if f.stopFails != 0 {
		if f.stopFails > 0 {
			f.stopFails--
		}
		return errors.New("exit code 1")
	}
	if !f.stopKeepsUp {
		f.running = false
	}
	return nil
}
func (f *fakeAgent) Running(context.Context) (bool, error) { return f.running, nil }
func (f *fakeAgent) Announce(context.Context) error {
	f.announced++
	return nil
}

// wrapped hides the agent behind a wrapper, as the registry's named does.
type wrapped struct{ resources.Agent }

func (w wrapped) Unwrap() resources.Agent { return w.Agent }

func testExecutor(agents map[string]*fakeAgent) *executor {
	log := logrus.New()
	log.SetOutput(io.Discard)
	e := newExecutor(log, func(r string) (resources.Agent, error) {
		a := agents[r]
		if a == nil {
			return nil, fmt.Errorf("resource %s: Cannot locate resource script %s", r, r)
		}
		return wrapped{a}, nil
	}, time.Second, nil)
	e.retry = time.Millisecond
	return e
}

func group(texts ...string) config.Group {
	g := config.Group{Node: "nodea", Key: texts[0]}
	for _, t := range texts {
		g.Resources = append(g.Resources, config.Resource{Text: t})
	}
	return g
}

func TestExecutorAcquireAndRelease(t *testing.T) {
	var j []string
	agents := map[string]*fakeAgent{
		"ip":    {name: "ip", journal: &j, running: true},
		"fs":    {name: "fs", journal: &j},
		"httpd": {name: "httpd", journal: &j},
	}
	e := testExecutor(agents)
	g := group("ip", "fs", "httpd")
	if err := e.do(rm.Run{Op: rm.Acquire, Group: g}); err != nil {
		t.Fatal(err)
	}
	if err := e.do(rm.Run{Op: rm.Check, Group: g}); err != nil {
		t.Errorf("check after start: %v", err)
	}
	if err := e.do(rm.Run{Op: rm.Release, Group: g}); err != nil {
		t.Fatal(err)
	}
	// ip was running already: not started again; stop is right to left.
	want := []string{"start fs", "start httpd", "stop httpd", "stop fs", "stop ip"}
	if diff := cmp.Diff(want, j); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if err := e.do(rm.Run{Op: rm.Check, Group: g}); err == nil || !strings.Contains(err.Error(), "ip is not running") {
		t.Errorf("check after stop = %v", err)
	}
}

func TestExecutorStartFailureStopsGroup(t *testing.T) {
	var j []string
	agents := map[string]*fakeAgent{
		"ip":  {name: "ip", journal: &j},
		"bad": {name: "bad", journal: &j, failStart: true},
		"app": {name: "app", journal: &j},
	}
	e := testExecutor(agents)
	err := e.do(rm.Run{Op: rm.Acquire, Group: group("ip", "bad", "app")})
	if err == nil || !strings.Contains(err.Error(), "bad: exit code 1") {
		t.Fatalf("acquire = %v, want bad's failure", err)
	}
	want := []string{"start ip", "start bad", "stop app", "stop bad", "stop ip"}
	if diff := cmp.Diff(want, j); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if agents["ip"].running {
		t.Error("ip still running after the group was given up")
	}
}

func TestExecutorStopRetries(t *testing.T) {
	var j []string
	agents := map[string]*fakeAgent{
		"flaky":  {name: "flaky", journal: &j, running: true, stopFails: 3},
		"stuck":  {name: "stuck", journal: &j, running: true, stopFails: -1, stopKeepsUp: true},
		"nonlsb": {name: "nonlsb", journal: &j, stopFails: -1},
	}
	e := testExecutor(agents)
	if err := e.do(rm.Run{Op: rm.Release, Group: group("flaky")}); err != nil {
		t.Errorf("flaky stop: %v", err)
	}
	if n := strings.Count(strings.Join(j, ","), "stop flaky"); n != 4 {
		t.Errorf("flaky stopped %d times, want 4", n)
	}
	err := e.do(rm.Run{Op: rm.Release, Group: group("stuck")})
	if !errors.Is(err, errStillRunning) {
		t.Errorf("stuck stop = %v, want errStillRunning", err)
	}
	if n := strings.Count(strings.Join(j, ","), "stop stuck"); n != stopRetries+1 {
		t.Errorf("stuck stopped %d times, want %d", n, stopRetries+1)
	}
	// A stop that fails on a stopped resource is not a failure (classic:
	// "probably not LSB-compliant").
	if err := e.do(rm.Run{Op: rm.Release, Group: group("nonlsb")}); err != nil {
		t.Errorf("nonlsb stop: %v", err)
	}
}

func TestExecutorAnnounceUnwraps(t *testing.T) {
	var j []string
	ip := &fakeAgent{name: "ip", journal: &j, running: true}
	e := testExecutor(map[string]*fakeAgent{"ip": ip})
	if err := e.do(rm.Run{Op: rm.Announce, Group: group("ip")}); err != nil {
		t.Fatal(err)
	}
	if ip.announced != 1 {
		t.Errorf("announced %d times, want 1", ip.announced)
	}
}

func TestExecutorRunsInOrder(t *testing.T) {
	var j []string
	agents := map[string]*fakeAgent{"a": {name: "a", journal: &j}, "b": {name: "b", journal: &j}}
	done := make(chan jobDone, 4)
	e := testExecutor(agents)
	e.done = done
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.run(ctx)
	e.add(rm.Run{ID: 1, Op: rm.Acquire, Group: group("a")})
	e.add(rm.Run{ID: 2, Op: rm.Acquire, Group: group("b")})
	e.add(rm.Run{ID: 3, Op: rm.Release, Group: group("a")})
	var ids []uint64
	for range 3 {
		d := <-done
		if d.err != nil {
			t.Errorf("job %d: %v", d.id, d.err)
		}
		ids = append(ids, d.id)
	}
	if diff := cmp.Diff([]uint64{1, 2, 3}, ids); diff != "" {
		t.Errorf("completion order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"start a", "start b", "stop a"}, j); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
