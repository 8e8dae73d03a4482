// Package daemon runs heartbeatd: it loads the configuration, opens the
// media, steps the membership state machine with received packets and
// timers, and carries out what it asks for.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/fifo"
	"github.com/hasuite/hasuite/heartbeatd/hooks"
	"github.com/hasuite/hasuite/heartbeatd/media"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/respawn"
	"github.com/hasuite/hasuite/heartbeatd/rm"
	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/internal/logging"
	"github.com/hasuite/hasuite/internal/metrics"
	"github.com/hasuite/hasuite/internal/ratelimit"
	"github.com/hasuite/hasuite/internal/sdnotify"
)

// Version is the hasuite release.
var Version = "0.1.0"

// HeartbeatVersion is what heartbeatd reports as its heartbeat version: the
// protocol it speaks, then what it is.
var HeartbeatVersion = "3.0.6 (hasuite heartbeatd " + Version + ")"

// Options are the daemon's paths and identity, all overridable so tests can
// run several nodes on one machine.
type Options struct {
	ConfDir  string // /etc/ha.d
	StateDir string // /var/lib/heartbeat
	RunDir   string // /run/heartbeat
	Node     string // our node name; empty = nodeinfo or uname -n
	InitDir  string // /etc/init.d: the second place resource scripts are found

	// NoResources is -M: heartbeats only, no resource management.
	NoResources bool
	// Ldirectord is the binary the built-in ldirectord agent runs ("" =
	// next to heartbeatd, else PATH, else /usr/sbin/ldirectord).
	Ldirectord string
	// Net is the kernel the IP agents use; nil means the real one.
	Net kernel.Net
}

// Files is a loaded and validated configuration.
type Files struct {
	HA     *config.HACF
	Keys   *config.AuthKeys
	Ring   *wire.Keyring
	Groups []config.Group
}

// NodeName returns the node name as heartbeat picks it: the first line of
// <confdir>/nodeinfo, else uname -n, lower-cased.
func NodeName(confDir string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(confDir, "nodeinfo")); err == nil {
		if line, _, _ := strings.Cut(string(b), "\n"); strings.TrimSpace(line) != "" {
			return strings.ToLower(strings.TrimSpace(line)), nil
		}
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("node name: %w", err)
	}
	return strings.ToLower(h), nil
}

// Load reads ha.cf, authkeys and haresources from confDir and checks them
// for node. It touches nothing.
func Load(confDir, node string) (*Files, error) {
	ha, err := config.LoadHACF(filepath.Join(confDir, "ha.cf"))
	if err != nil {
		return nil, err
	}
	if err := ha.Validate(node); err != nil {
		return nil, err
	}
	if err := respawn.Check(ha.File, ha.Respawn); err != nil {
		return nil, err
	}
	keys, err := config.LoadAuthKeys(filepath.Join(confDir, "authkeys"))
	if err != nil {
		return nil, err
	}
	ring, err := keyring(keys)
	if err != nil {
		return nil, err
	}
	f := &Files{HA: ha, Keys: keys, Ring: ring}
	hr := filepath.Join(confDir, "haresources")
	if _, err := os.Stat(hr); err == nil {
		if f.Groups, err = config.LoadHaresources(hr, ha.Nodes); err != nil {
			return nil, err
		}
	}
	if ha.Memberlist != nil {
		if err := nwayConfig(node, f).Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", ha.File, err)
		}
	}
	return f, nil
}

func keyring(k *config.AuthKeys) (*wire.Keyring, error) {
	nums := make([]int, 0, len(k.Entries))
	for n := range k.Entries {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var keys []wire.Key
	for _, n := range nums {
		e := k.Entries[n]
		keys = append(keys, wire.Key{Num: n, Method: wire.Method(e.Method), Secret: []byte(e.Key)})
	}
	ring, err := wire.NewKeyring(k.Active, keys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.File, err)
	}
	return ring, nil
}

// received is a packet that passed authentication, on its way to the loop.
// For an echo reply of the ping medium, ping is set and link is the ping
// node's name.
type received struct {
	msg  *wire.Message
	link string
	ping bool
}

// Daemon is one running heartbeatd.
type Daemon struct {
	opts  Options
	node  string
	log   logrus.FieldLogger
	files atomic.Pointer[Files]

	mu  sync.Mutex // guards mem for API snapshots; the loop holds it while stepping
	mem *membership.Membership

	media []media.Medium
	ping  *media.Ping // nil without ping nodes
	in    chan received

	srv     *api.Server
	hooks   *hooks.Runner
	kids    *respawn.Supervisor
	rm      *rm.RM // nil with -M
	exec    *executor
	jobDone chan jobDone
	client  chan *wire.Message // cluster messages from local clients (API, FIFO)
	stopped bool               // the resource manager released everything

	nway *nwayState // membership memberlist (nway.go); nil with classic media

	badLog  *ratelimit.Limiter
	counter counters
	metrics *hbMetrics // nil without metrics_listen
}

// counters are the daemon's own packet counters, beside membership's.
type counters struct {
	received, authFailed, malformed, tooBig, queueFull, sendErrors atomic.Uint64
	pingSent, pingReceived, pingSendErrors                         atomic.Uint64
}

// New prepares a daemon for files; Run starts it.
func New(opts Options, node string, files *Files, log logrus.FieldLogger) *Daemon {
	d := &Daemon{
		opts:    opts,
		node:    node,
		log:     log,
		in:      make(chan received, 1024),
		jobDone: make(chan jobDone, 64),
		client:  make(chan *wire.Message, 64),
		badLog:  ratelimit.New(10*time.Second, 5, time.Now),
	}
	d.files.Store(files)
	return d
}

// Run runs the daemon until ctx is cancelled, then stops gracefully:
// shutdone goes out before Run returns.
func (d *Daemon) Run(ctx context.Context, reload <-chan struct{}) error {
	files := d.files.Load()
	ha := files.HA
	if err := os.MkdirAll(d.opts.StateDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", d.opts.StateDir, err)
	}
	if err := makeRunDir(d.opts.RunDir); err != nil {
		return fmt.Errorf("creating %s: %w", d.opts.RunDir, err)
	}
	uuid, err := loadUUID(d.opts.StateDir)
	if err != nil {
		return err
	}
	gen, err := nextGeneration(d.opts.StateDir, time.Now())
	if err != nil {
		return err
	}
	var links []string
	for _, mc := range ha.Media {
		m, err := media.Open(mediaSpec(mc, ha.UDPPort))
		if err != nil {
			d.closeMedia()
			return fmt.Errorf("%s:%d: %w", ha.File, mc.Line, err)
		}
		d.media = append(d.media, m)
		if !slices.Contains(links, m.Link()) {
			links = append(links, m.Link())
		}
	}
	if len(ha.Ping) > 0 {
		if d.ping, err = media.OpenPing(pingSpec(ha.Ping)); err != nil {
			d.closeMedia()
			return fmt.Errorf("%s:%d: %w", ha.File, ha.Ping[0].Line, err)
		}
		d.log.WithField("nodes", len(ha.Ping)).Info("ping heartbeat started.")
	}
	defer d.closeMedia()

	// With membership memberlist, memberlist carries the peers and
	// classic membership only probes the ping nodes.
	nodes := ha.Nodes
	if ha.Memberlist != nil {
		nodes = []string{d.node}
		d.nway = &nwayState{}
	}
	d.mem = membership.New(membership.Config{
		Local:          d.node,
		Nodes:          nodes,
		Links:          links,
		TTLNodes:       len(ha.Nodes) + len(ha.Ping),
		UUID:           uuid,
		Generation:     gen,
		Hopfudge:       ha.Hopfudge,
		Keepalive:      ha.Keepalive,
		Deadtime:       ha.Deadtime,
		Warntime:       ha.Warntime,
		Initdead:       ha.Initdead,
		MaxRexmitDelay: ha.MaxRexmitDelay,
		Ping:           pingNodes(ha.Ping),
		Deadping:       ha.Deadping,
		Loadavg:        loadavg,
	})

	if ha.MetricsListen != "" {
		reg := metrics.NewRegistry()
		d.metrics = newHBMetrics(reg, d.metricsState)
		if d.nway != nil {
			reg.MustRegister(&nwayCollector{d: d})
		}
		msrv, err := metrics.Serve(ha.MetricsListen, reg, func(err error) { d.log.WithError(err).Error("metrics endpoint") })
		if err != nil {
			return fmt.Errorf("%s: metrics_listen: %w", ha.File, err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			msrv.Shutdown(sctx)
		}()
		d.log.WithField("addr", msrv.Addr()).Info("metrics endpoint at /metrics")
	}

	rctx, stopReceivers := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, m := range d.media {
		wg.Add(1)
		go func(m media.Medium) {
			defer wg.Done()
			d.receive(rctx, m)
		}(m)
	}
	if d.ping != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.receivePing(rctx)
		}()
	}
	defer func() { stopReceivers(); d.closeMedia(); wg.Wait() }()

	srv, err := api.NewServer(filepath.Join(d.opts.RunDir, "register"), apiState{d}, d.log)
	if err != nil {
		return err
	}
	defer srv.Close()
	d.srv = srv
	d.hooks = hooks.New(hooks.Config{
		RCDir:        filepath.Join(d.opts.ConfDir, "rc.d"),
		ConfDir:      d.opts.ConfDir,
		CurHost:      d.node,
		NiceFailback: ha.AutoFailback != config.Legacy,
		Vars:         ha.Env,
		Timeout:      ha.ResourceTimeout,
		Log:          d.log,
	})
	defer d.hooks.Close()
	d.kids = respawn.New(ha.Respawn, respawn.Options{
		Env: respawn.Environ(os.Environ(), respawn.Vars{
			Node: d.node, ConfDir: d.opts.ConfDir, FIFO: filepath.Join(d.opts.StateDir, "fifo"),
			LogFile: ha.LogFile, DebugFile: ha.DebugFile, LogFacility: ha.LogFacility,
			Debug: ha.Debug, Env: ha.Env,
		}.List()),
		Log: d.log,
	})
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.kids.Stop(sctx); err != nil {
			d.log.WithError(err).Warn("stopping respawn children")
		}
	}()
	if fr, err := fifo.Open(filepath.Join(d.opts.StateDir, "fifo"), d.log); err != nil {
		d.log.WithError(err).Error("the FIFO for ha_clustermsg and the classic hb_standby is unavailable")
	} else {
		go fr.Run(rctx, func(m *wire.Message) {
			if err := d.SendClusterMessage(m); err != nil {
				d.log.WithError(err).Warn("FIFO message dropped")
			}
		})
	}
	if err := srv.SetConfig(ha); err != nil {
		d.log.WithError(err).Warn("apiauth: some entries were skipped")
	}
	go srv.Serve(rctx)

	if !d.opts.NoResources {
		if d.opts.Net == nil {
			d.opts.Net = kernel.New()
		}
		if d.nway == nil {
			d.rm = rm.New(rmConfig(d.node, files))
		}
		d.exec = newExecutor(d.log, d.newAgent, files.HA.ResourceTimeout, d.jobDone)
		d.exec.metrics = d.metrics
		d.releaseLeftovers(files.Groups)
		ectx, stopExec := context.WithCancel(context.Background())
		defer stopExec()
		go d.exec.run(ectx)
	}

	if d.nway != nil {
		return d.runNway(ctx, reload, gen)
	}
	d.memEvent(func(now time.Time) []membership.Action { return d.mem.Start(now) })
	sdnotify.Ready()
	go sdnotify.Watchdog(ctx)
	d.log.WithFields(logrus.Fields{"node": d.node, "generation": gen}).Info("heartbeatd is up")

	timer := time.NewTimer(time.Until(d.nextDeadline()))
	defer timer.Stop()
	done := ctx.Done()
	var giveUpWaiting <-chan time.Time
	for {
		select {
		case <-done:
			// Graceful stop: release resources first (heartbeats go on
			// meanwhile), then shutdone.
			done = nil
			sdnotify.Stopping()
			d.rmEvent(func(now time.Time) []rm.Action { return d.rm.Stop(now) })
			giveUpWaiting = time.After(rm.StopWaitLimit + 2*time.Minute)
		case <-giveUpWaiting:
			d.log.Error("resources did not settle in time; stopping anyway")
			d.stopped = true
		case r := <-d.in:
			if r.ping {
				d.memEvent(func(now time.Time) []membership.Action { return d.mem.ReceivePing(now, r.link, r.msg) })
				break
			}
			d.memEvent(func(now time.Time) []membership.Action { return d.mem.Receive(now, r.msg, r.link) })
		case j := <-d.jobDone:
			d.rmEvent(func(now time.Time) []rm.Action { return d.rm.Done(now, j.id, j.err) })
		case m := <-d.client:
			d.clientMessage(m)
		case <-timer.C:
			d.memEvent(func(now time.Time) []membership.Action { return d.mem.Tick(now) })
			if dl := d.rmDeadline(); !dl.IsZero() && !time.Now().Before(dl) {
				d.rmEvent(func(now time.Time) []rm.Action { return d.rm.Tick(now) })
			}
		case <-reload:
			d.reload()
		}
		if done == nil && (d.stopped || d.rm == nil) {
			d.memEvent(func(now time.Time) []membership.Action { return d.mem.Stop(now) })
			d.log.Info("heartbeatd stopped: shutdone sent")
			return nil
		}
		timer.Reset(time.Until(d.nextDeadline()))
	}
}

func (d *Daemon) nextDeadline() time.Time { return d.memDeadlineOr(d.rmDeadline()) }

// memDeadlineOr is classic membership's next timer, or other (zero: none)
// if that comes first.
func (d *Daemon) memDeadlineOr(other time.Time) time.Time {
	d.mu.Lock()
	next := d.mem.NextDeadline()
	d.mu.Unlock()
	if !other.IsZero() && other.Before(next) {
		return other
	}
	return next
}

func (d *Daemon) rmDeadline() time.Time {
	if d.rm == nil {
		return time.Time{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rm.NextDeadline()
}

// memEvent runs one event through membership and carries out its actions.
func (d *Daemon) memEvent(event func(now time.Time) []membership.Action) {
	d.mu.Lock()
	acts := event(time.Now())
	d.mu.Unlock()
	for _, a := range acts {
		switch a := a.(type) {
		case membership.Transmit:
			d.transmit(a.Msg)
		case membership.Ping:
			d.sendPing(a.Node, a.Msg)
		case membership.Log:
			d.logAction(a)
		case membership.NodeChange:
			d.metrics.nodeChange(a)
			d.log.WithFields(logrus.Fields{"node": a.Node, "state": a.To}).Debugf("node %s: %s -> %s", a.Node, a.From, a.To)
			if a.Ping {
				// As classic: a ping node's death is "status st=dead
				// info=ping"; its return is the NS_st echo itself, which
				// client libraries also take as a node status.
				if a.To == membership.StatusDead {
					d.srv.Deliver(api.NodeDeadMessage(a.Node, true, time.Now()))
				} else if a.Msg != nil {
					d.localDeliver(a.Msg) // and rc.d/NS_st, if an operator has one
				}
				d.nwayScore()
				continue // not a peer: nothing for the resource manager
			}
			if a.To == membership.StatusDead {
				d.srv.Deliver(api.NodeDeadMessage(a.Node, false, time.Now()))
			} else {
				d.srv.Deliver(wire.New("status").Add("src", a.Node).Add("st", string(a.To)))
			}
			d.rmEvent(func(now time.Time) []rm.Action { return d.rm.NodeChange(now, a.Node, a.To) })
		case membership.LinkChange:
			st := api.LinkDead
			if a.Up {
				st = api.LinkUp
			}
			d.srv.Deliver(api.LinkStatusMessage(a.Node, a.Link, st))
		case membership.CommUp:
			if err := d.kids.Start(); err != nil {
				d.log.WithError(err).Error("starting respawn children")
			}
			d.rmEvent(func(now time.Time) []rm.Action { return d.rm.CommUp(now) })
		case membership.Deliver:
			d.log.WithFields(logrus.Fields{"node": a.From, "t": a.Msg.Type()}).Debug("cluster message received")
			d.localDeliver(a.Msg)
			d.rmEvent(func(now time.Time) []rm.Action { return d.rm.Receive(now, a.Msg, false) })
		}
	}
}

// rmEvent runs one event through the resource manager (when resources are
// managed) and carries out its actions.
func (d *Daemon) rmEvent(event func(now time.Time) []rm.Action) {
	if d.rm == nil {
		return
	}
	d.mu.Lock()
	acts := event(time.Now())
	d.mu.Unlock()
	for _, a := range acts {
		switch a := a.(type) {
		case rm.Send:
			d.memEvent(func(now time.Time) []membership.Action { return d.mem.Send(now, a.Msg) })
			if d.forUs(a.Msg) {
				d.localDeliver(a.Msg)
			}
		case rm.Run:
			d.exec.add(a)
		case rm.Log:
			d.logAction(membership.Log(a))
		case rm.Stopped:
			d.stopped = true
		case rm.Reboot:
			reboot(d.log, a.Reason)
		}
	}
}

// clientMessage sends a local client's cluster message (hb_standby,
// hb_takeover, ipfail) and handles it here too, as classic heartbeat
// handles its own messages.
func (d *Daemon) clientMessage(m *wire.Message) {
	d.memEvent(func(now time.Time) []membership.Action { return d.mem.Send(now, m) })
	if !d.forUs(m) {
		return // addressed to another node: classic drops its own copy
	}
	d.localDeliver(m)
	d.rmEvent(func(now time.Time) []rm.Action { return d.rm.Receive(now, m, true) })
}

// forUs reports whether one of our own messages is also for this node: it
// names no dest, or names us.
func (d *Daemon) forUs(m *wire.Message) bool {
	dest, ok := m.Lookup("dest")
	return !ok || dest == d.node
}

// localDeliver hands an accepted or own cluster message to API clients
// and to its rc.d hook.
func (d *Daemon) localDeliver(m *wire.Message) {
	d.srv.Deliver(m)
	d.hooks.Run(m)
}

// SendClusterMessage queues a local client's message for the cluster.
func (d *Daemon) SendClusterMessage(m *wire.Message) error {
	select {
	case d.client <- m:
		return nil
	default:
		return errors.New("heartbeatd is busy: client message queue full")
	}
}

func (d *Daemon) transmit(msg *wire.Message) {
	files := d.files.Load()
	// msgfmt classic (the default) adds the inner auth field, as 3.0.6 does.
	pkt, err := wire.Encode(msg, files.Ring, files.HA.Msgfmt != "netstring")
	if err != nil {
		d.log.WithError(err).Error("encoding message")
		return
	}
	for _, m := range d.media {
		if err := m.Send(pkt); err != nil {
			d.counter.sendErrors.Add(1)
			if ok, n := d.badLog.Allow("send " + m.Name()); ok {
				d.log.WithFields(logrus.Fields{"iface": m.Link(), "err": err, "suppressed": n}).Warn("send failed on " + m.Name())
			}
		}
	}
}

// receive decodes and authenticates packets from one medium; bad packets are
// counted and logged at a limited rate, never passed on.
func (d *Daemon) receive(ctx context.Context, m media.Medium) {
	err := m.Run(ctx, func(pkt []byte, from netip.AddrPort) {
		d.counter.received.Add(1)
		if msg := d.decode(pkt, from.String(), m.Link()); msg != nil {
			d.enqueue(received{msg: msg, link: m.Link()})
		}
	})
	if err != nil && ctx.Err() == nil {
		d.log.WithFields(logrus.Fields{"iface": m.Link(), "err": err}).Error("receiver stopped on " + m.Name())
	}
}

// receivePing decodes and authenticates the payloads of the echo replies
// the ping medium matched to a ping node.
func (d *Daemon) receivePing(ctx context.Context) {
	err := d.ping.Run(ctx, func(node string, pkt []byte, from netip.Addr) {
		d.counter.pingReceived.Add(1)
		if msg := d.decode(pkt, from.String(), node); msg != nil {
			d.enqueue(received{msg: msg, link: node, ping: true})
		}
	})
	if err != nil && ctx.Err() == nil {
		d.log.WithError(err).Error("receiver stopped on ping")
	}
}

// decode decodes and authenticates one packet; a bad one is counted and
// logged at a limited rate, and nil returned.
func (d *Daemon) decode(pkt []byte, from, iface string) *wire.Message {
	msg, err := wire.Decode(pkt, d.files.Load().Ring)
	if err == nil {
		return msg
	}
	reason := "malformed"
	switch {
	case errors.Is(err, wire.ErrAuth):
		d.counter.authFailed.Add(1)
		reason = "authentication"
	case errors.Is(err, wire.ErrTooBig):
		d.counter.tooBig.Add(1)
		reason = "too big"
	default:
		d.counter.malformed.Add(1)
	}
	host := from
	if ap, err := netip.ParseAddrPort(from); err == nil {
		host = ap.Addr().String()
	}
	if ok, n := d.badLog.Allow(reason + " " + host); ok {
		d.log.WithFields(logrus.Fields{"iface": iface, "from": from, "err": err, "suppressed": n}).
			Warnf("bad packet dropped (%s)", reason)
	}
	return nil
}

func (d *Daemon) enqueue(r received) {
	select {
	case d.in <- r:
	default:
		d.counter.queueFull.Add(1)
	}
}

// sendPing sends a ping node its probe: the NS_st message, encoded and
// authenticated like any packet, as the payload of an ICMP echo request.
func (d *Daemon) sendPing(node string, msg *wire.Message) {
	if d.ping == nil {
		return
	}
	files := d.files.Load()
	pkt, err := wire.Encode(msg, files.Ring, files.HA.Msgfmt != "netstring")
	if err != nil {
		d.log.WithError(err).Error("encoding ping probe")
		return
	}
	d.counter.pingSent.Add(1)
	if err := d.ping.Send(node, pkt); err != nil {
		d.counter.pingSendErrors.Add(1)
		if ok, n := d.badLog.Allow("ping " + node); ok {
			d.log.WithFields(logrus.Fields{"node": node, "err": err, "suppressed": n}).Warn("ping send failed")
		}
	}
}

func (d *Daemon) logAction(a membership.Log) {
	e := d.log.WithFields(logrus.Fields(a.Fields))
	if key, ok := a.Fields["ratelimit"].(string); ok {
		allow, n := d.badLog.Allow(key)
		if !allow {
			return
		}
		e = e.WithField("suppressed", n)
	}
	switch a.Level {
	case membership.Debug:
		e.Debug(a.Msg)
	case membership.Info:
		e.Info(a.Msg)
	case membership.Warn:
		e.Warn(a.Msg)
	case membership.Error:
		e.Error(a.Msg)
	case membership.Crit:
		logging.Crit(e, a.Msg)
	}
}

// reload re-reads the configuration; on any error the old one stays.
// Keys and timing take effect at once; media and node list at restart.
func (d *Daemon) reload() {
	sdnotify.Reloading()
	defer sdnotify.Ready()
	old := d.files.Load()
	f, err := Load(d.opts.ConfDir, d.node)
	if err != nil {
		d.log.WithError(err).Error("reload failed, keeping the running configuration")
		d.metrics.reloaded(err)
		return
	}
	// With memberlist the node list takes effect at once (nwayReload).
	nodesChanged := d.nway == nil && !slices.Equal(old.HA.Nodes, f.HA.Nodes)
	if !sameMedia(old.HA, f.HA) || nodesChanged || !samePing(old.HA.Ping, f.HA.Ping) {
		d.log.Warn("reload: media or node changes take effect at the next restart")
	}
	if old.HA.MetricsListen != f.HA.MetricsListen {
		d.log.Warn("reload: a metrics_listen change takes effect at the next restart")
	}
	d.files.Store(f)
	if !sameKeys(old.Keys, f.Keys) {
		// Classic's message when SIGHUP finds authkeys changed (hb_signal.c).
		d.log.WithFields(logrus.Fields{"signing": f.Keys.Active, "accepting": f.Keys.Nums()}).
			Info("Rereading authentication file.")
	}
	if err := d.srv.SetConfig(f.HA); err != nil {
		d.log.WithError(err).Warn("apiauth: some entries were skipped")
	}
	d.mu.Lock()
	d.mem.SetTiming(f.HA.Keepalive, f.HA.Deadtime, f.HA.Warntime)
	d.mem.SetDeadping(f.HA.Deadping)
	d.mu.Unlock()
	if !slices.EqualFunc(old.Groups, f.Groups, config.Group.Same) {
		d.rmEvent(func(now time.Time) []rm.Action { return d.rm.Reload(now, f.Groups) })
	}
	d.nwayReload(old, f)
	d.metrics.reloaded(nil)
	d.log.Info("configuration reloaded")
}

// metricsState reads node and link states and packet counters for a scrape.
func (d *Daemon) metricsState() ([]membership.NodeInfo, membership.Counters, packetCounts) {
	nodes := d.nodes()
	d.mu.Lock()
	mc := d.mem.Counters
	d.mu.Unlock()
	c := &d.counter
	return nodes, mc, packetCounts{
		received: c.received.Load(), authFailed: c.authFailed.Load(), malformed: c.malformed.Load(),
		tooBig: c.tooBig.Load(), queueFull: c.queueFull.Load(), sendErrors: c.sendErrors.Load(),
		pingSent: c.pingSent.Load(), pingReceived: c.pingReceived.Load(), pingSendErrors: c.pingSendErrors.Load(),
	}
}

func (d *Daemon) closeMedia() {
	for _, m := range d.media {
		m.Close()
	}
	if d.ping != nil {
		d.ping.Close()
	}
}

// pingSpec is the ping medium for ha.cf's ping, ping6 and ping_group nodes.
func pingSpec(nodes []config.PingNode) media.PingSpec {
	var s media.PingSpec
	for _, n := range nodes {
		s.Targets = append(s.Targets, media.PingTarget{Name: n.Name, Addrs: n.Addrs})
	}
	return s
}

// pingNodes are the ping nodes for membership, with the kind their probe
// names in its info field.
func pingNodes(nodes []config.PingNode) []membership.PingNode {
	var out []membership.PingNode
	for _, n := range nodes {
		kind := membership.PingKind
		if n.Group {
			kind = membership.PingGroupKind
		} else if a, err := netip.ParseAddr(n.Addrs[0]); err == nil && a.Is6() && !a.Is4In6() {
			kind = membership.Ping6Kind
		}
		out = append(out, membership.PingNode{Name: n.Name, Kind: kind})
	}
	return out
}

func samePing(a, b []config.PingNode) bool {
	return slices.EqualFunc(a, b, func(x, y config.PingNode) bool {
		return x.Name == y.Name && x.Group == y.Group && slices.Equal(x.Addrs, y.Addrs)
	})
}

func mediaSpec(m config.Medium, udpport int) media.Spec {
	port := m.Port
	if port == 0 {
		port = udpport
	}
	return media.Spec{Kind: m.Kind, Iface: m.Iface, Addr: m.Addr, Port: port, TTL: m.TTL, Loop: m.Loop}
}

func sameMedia(a, b *config.HACF) bool {
	if len(a.Media) != len(b.Media) || a.UDPPort != b.UDPPort {
		return false
	}
	for i := range a.Media {
		x, y := a.Media[i], b.Media[i]
		x.Line, y.Line = 0, 0
		if x != y {
			return false
		}
	}
	return true
}

// sameKeys reports whether two authkeys files sign and accept alike.
func sameKeys(a, b *config.AuthKeys) bool {
	if a.Active != b.Active || len(a.Entries) != len(b.Entries) {
		return false
	}
	for n, x := range a.Entries {
		y, ok := b.Entries[n]
		if !ok || x.Method != y.Method || x.Key != y.Key {
			return false
		}
	}
	return true
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}
