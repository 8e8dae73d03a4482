// Run: ipfail's main loop over an API session.
package engine

import (
	"context"
	"errors"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/api"
)

// RequestTimeout bounds each API request of the main loop.
const RequestTimeout = 10 * time.Second

// Options configure Run.
type Options struct {
	Socket string             // API socket; api.DefaultSocket when empty
	Log    logrus.FieldLogger // required
	// Started, when set, is called once start-up is done and ipfail
	// waits for messages (tests).
	Started func(*Engine)
}

// Run signs on as ipfail and handles events until ctx ends (then it signs
// off and returns 0) or the daemon goes away. It returns the exit code:
// ExitNoRespawn when there is nothing to do (no managed resources,
// auto_failback legacy or invalid), 1 when signon fails, and classic's
// other codes for failed requests.
func Run(ctx context.Context, opt Options) int {
	log := opt.Log
	socket := opt.Socket
	if socket == "" {
		socket = api.DefaultSocket
	}
	fail := func(code int, what string, err error) int {
		log.Error(what)
		if err != nil {
			log.Errorf("REASON: %v", err)
		}
		return code
	}
	req := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, RequestTimeout) }

	log.Debug("Signing in with heartbeat")
	rctx, cancel := req()
	ss, err := api.Signon(rctx, socket, ClientName)
	cancel()
	if err != nil {
		return fail(1, "Cannot sign on with heartbeat", err)
	}
	defer ss.Close()

	rctx, cancel = req()
	rsc, err := ss.Resources(rctx)
	cancel()
	if err := CheckResources(rsc, err); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return fail(ee.Code, ee.Msg, nil)
		}
		return fail(1, "Cannot get resource status", err)
	}
	local := ss.LocalNode()
	if local == "" {
		return fail(19, "Cannot get my nodeid", nil)
	}
	log.Debugf("[We are %s]", local)

	rctx, cancel = req()
	afValue, afSet, err := ss.Param(rctx, "auto_failback")
	cancel()
	if err != nil {
		afSet = false
	}
	autoFailback, err := ParseAutoFailback(afValue, afSet, log)
	if err != nil {
		var ee *ExitError
		errors.As(err, &ee)
		return fail(ee.Code, ee.Msg, nil)
	}

	log.Debug("Setting message filter mode")
	rctx, cancel = req()
	err = ss.SetFilter(rctx, api.TreatKeep)
	cancel()
	if err != nil {
		return fail(8, "Cannot set filter mode", err)
	}
	rctx, cancel = req()
	nodes, err := ss.Nodes(rctx)
	cancel()
	if err != nil {
		return fail(9, "Cannot start node walk", err)
	}
	peer := FindPeer(nodes, local, log)
	log.Debug("Setting message signal")
	rctx, cancel = req()
	err = ss.SetSignal(rctx, 0)
	cancel()
	if err != nil {
		return fail(13, "Cannot set message signal", err)
	}

	e := New(Config{Local: local, Peer: peer, AutoFailback: autoFailback, Keepalive: ss.Keepalive(), Log: log})
	log.WithFields(logrus.Fields{"node": local, "peer": peer, "auto_failback": autoFailback,
		"keepalive": ss.Keepalive()}).Info("ipfail started")
	log.Debug("Waiting for messages...")
	if opt.Started != nil {
		opt.Started(e)
	}

	snapshot := func() (Snapshot, error) {
		rctx, cancel := req()
		defer cancel()
		nodes, err := ss.Nodes(rctx)
		if err != nil {
			return Snapshot{}, err
		}
		rsc, err := ss.Resources(rctx)
		if err != nil {
			rsc = "" // classic is_stable: -1, which counts as stable
		}
		return Snapshot{PingNodes: PingNodes(nodes, log), Resources: rsc}, nil
	}
	var timer *time.Timer
	var timerC <-chan time.Time
	for {
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
		if at, ok := e.Deadline(); ok {
			timer = time.NewTimer(time.Until(at))
			timerC = timer.C
		}
		var ev Event
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), RequestTimeout)
			err := ss.Signoff(sctx)
			cancel()
			if err != nil {
				return fail(14, "Cannot sign off from heartbeat.", err)
			}
			return 0
		case m, ok := <-ss.Messages():
			if !ok {
				return fail(1, "read_hb_msg returned NULL", ss.Err())
			}
			ev = Message{Msg: m}
		case <-timerC:
			ev = Timer{}
		}
		snap, err := snapshot()
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			return fail(16, "Cannot start node walk", err)
		}
		for _, a := range e.Step(time.Now(), snap, ev) {
			rctx, cancel := req()
			switch a := a.(type) {
			case SendNode:
				err = ss.SendNodeMessage(rctx, a.Msg, a.Node)
			case SendCluster:
				err = ss.SendClusterMessage(rctx, a.Msg)
			}
			cancel()
			if err != nil {
				log.WithError(err).Error("Cannot send message")
			}
		}
	}
}
