// The executor: runs the resource manager's jobs on resource agents, one at
// a time, as ResourceManager's takegroup/givegroup did.

package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/resources"
)

// Stop retries of ResourceManager (HA_STOPRETRYMAX, one second apart).
const (
	stopRetries    = 10
	stopRetryDelay = time.Second
)

// errStillRunning marks a release whose resource kept running after every
// stop attempt.
var errStillRunning = errors.New("still running after every stop attempt")

// announcer is implemented by agents that can re-announce what they hold
// (the IP agents' gratuitous ARP).
type announcer interface {
	Announce(ctx context.Context) error
}

// jobDone is a finished job on its way back to the loop.
type jobDone struct {
	id  uint64
	err error
}

// executor runs jobs in order on one goroutine.
type executor struct {
	log      logrus.FieldLogger
	newAgent func(resource string) (resources.Agent, error)
	timeout  time.Duration // bound on one agent call
	retry    time.Duration // between stop attempts

	mu     sync.Mutex
	queue  []rm.Run
	wake   chan struct{}
	agents map[string]resources.Agent // by resource text
	done   chan<- jobDone

	metrics *hbMetrics // nil without metrics_listen
}

func newExecutor(log logrus.FieldLogger, newAgent func(string) (resources.Agent, error), timeout time.Duration, done chan<- jobDone) *executor {
	return &executor{log: log, newAgent: newAgent, timeout: timeout, retry: stopRetryDelay,
		wake: make(chan struct{}, 1), agents: map[string]resources.Agent{}, done: done}
}

// add queues a job; it never blocks.
func (e *executor) add(r rm.Run) {
	e.mu.Lock()
	e.queue = append(e.queue, r)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run works through the queue until ctx ends; a job under way finishes.
func (e *executor) run(ctx context.Context) {
	for {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
				continue
			}
		}
		r := e.queue[0]
		e.queue = e.queue[1:]
		e.mu.Unlock()
		err := e.do(r)
		e.metrics.jobDone(r, err)
		e.done <- jobDone{id: r.ID, err: err}
	}
}

func (e *executor) do(r rm.Run) error {
	g := r.Group
	switch r.Op {
	case rm.Acquire:
		return e.acquire(g)
	case rm.Release:
		return e.release(g)
	case rm.Check:
		return e.check(g)
	case rm.Announce:
		return e.announce(g)
	}
	return fmt.Errorf("unknown job %v", r.Op)
}

func (e *executor) agent(res config.Resource) (resources.Agent, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.agents[res.Text]; a != nil {
		return a, nil
	}
	a, err := e.newAgent(res.Text)
	if err != nil {
		return nil, err
	}
	e.agents[res.Text] = a
	return a, nil
}

// call runs one agent operation (action on resource) under the resource
// timeout.
func (e *executor) call(resource, action string, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	e.metrics.resourceAction(resource, action, err, time.Since(start))
	return err
}

func (e *executor) running(res config.Resource, a resources.Agent) (bool, error) {
	var up bool
	err := e.call(res.Text, "status", func(ctx context.Context) (err error) {
		up, err = a.Running(ctx)
		return err
	})
	return up, err
}

// acquire starts the group left to right, skipping running resources; a
// failure stops the whole group again.
func (e *executor) acquire(g config.Group) error {
	e.log.WithField("group", g.Key).Infof("Acquiring resource group: %s %s", g.Node, resourceList(g))
	for _, res := range g.Resources {
		a, err := e.agent(res)
		if err == nil {
			var up bool
			if up, _ = e.running(res, a); up {
				continue
			}
			e.log.WithField("resource", res.Text).Infof("Running %s start", res.Text)
			err = e.call(res.Text, "start", a.Start)
		}
		if err != nil {
			e.log.WithFields(logrus.Fields{"resource": res.Text, "err": err}).Errorf("Starting %s failed", res.Text)
			if rerr := e.release(g); rerr != nil {
				e.log.WithError(rerr).Error("stopping the group after the failed start")
			}
			return &rm.ResourceError{Resource: res.Text, Err: err}
		}
	}
	return nil
}

// release stops the group right to left; each stop is retried, and a
// resource that still runs afterwards fails the release.
func (e *executor) release(g config.Group) error {
	e.log.WithField("group", g.Key).Infof("Releasing resource group: %s %s", g.Node, resourceList(g))
	var failed error
	for i := len(g.Resources) - 1; i >= 0; i-- {
		res := g.Resources[i]
		a, err := e.agent(res)
		if err != nil {
			failed = errors.Join(failed, fmt.Errorf("%s: %w", res.Text, err))
			continue
		}
		e.log.WithField("resource", res.Text).Infof("Running %s stop", res.Text)
		for try := 0; ; try++ {
			if err = e.call(res.Text, "stop", a.Stop); err == nil || try == stopRetries {
				break
			}
			e.log.WithFields(logrus.Fields{"resource": res.Text, "err": err}).Infof("Retrying failed stop operation [%s]", res.Text)
			time.Sleep(e.retry)
		}
		if err == nil {
			continue
		}
		// A status that cannot answer (it hung too) leaves the resource
		// possibly running: a failure, never a release the peer may
		// follow with a start of its own.
		up, serr := e.running(res, a)
		if serr != nil {
			failed = errors.Join(failed, fmt.Errorf("%s: %w (status failed: %v): %v", res.Text, errStillRunning, serr, err))
			continue
		}
		if up {
			failed = errors.Join(failed, fmt.Errorf("%s: %w: %v", res.Text, errStillRunning, err))
			continue
		}
		e.log.WithField("resource", res.Text).Errorf("Resource script for %s probably not LSB-compliant: its stop failed (%v) although it is stopped", res.Text, err)
	}
	return failed
}

// check reports the first resource of the group that is not running.
func (e *executor) check(g config.Group) error {
	for _, res := range g.Resources {
		a, err := e.agent(res)
		if err != nil {
			return err
		}
		up, err := e.running(res, a)
		if err != nil {
			return fmt.Errorf("%s: %w", res.Text, err)
		}
		if !up {
			return fmt.Errorf("%s is not running", res.Text)
		}
	}
	return nil
}

// announce re-sends the gratuitous ARP of the group's addresses.
func (e *executor) announce(g config.Group) error {
	for _, res := range g.Resources {
		a, err := e.agent(res)
		if err != nil {
			return err
		}
		for u, ok := a.(interface{ Unwrap() resources.Agent }); ok; u, ok = a.(interface{ Unwrap() resources.Agent }) {
			a = u.Unwrap()
		}
		if an, ok := a.(announcer); ok {
			if err := e.call(res.Text, "announce", an.Announce); err != nil {
				e.log.WithFields(logrus.Fields{"resource": res.Text, "err": err}).Warn("re-announcing failed")
			}
		}
	}
	return nil
}

func resourceList(g config.Group) string {
	s := ""
	for i, r := range g.Resources {
		if i > 0 {
			s += " "
		}
		s += r.Text
	}
	return s
}
