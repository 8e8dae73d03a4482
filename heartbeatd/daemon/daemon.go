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
	"github.com/hasuite/hasuite/heartbeatd/media"
	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/internal/logging"
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
type received struct {
	msg  *wire.Message
	link string
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
	in    chan received

	badLog  *ratelimit.Limiter
	counter counters
}

// counters are the daemon's own packet counters, beside membership's.
type counters struct {
	received, authFailed, malformed, tooBig, queueFull, sendErrors atomic.Uint64
}

// New prepares a daemon for files; Run starts it.
func New(opts Options, node string, files *Files, log logrus.FieldLogger) *Daemon {
	d := &Daemon{
		opts:   opts,
		node:   node,
		log:    log,
		in:     make(chan received, 1024),
		badLog: ratelimit.New(10*time.Second, 5, time.Now),
	}
	d.files.Store(files)
	return d
}

// Run runs the daemon until ctx is cancelled, then stops gracefully:
// shutdone goes out before Run returns.
func (d *Daemon) Run(ctx context.Context, reload <-chan struct{}) error {
	files := d.files.Load()
	ha := files.HA
	for _, dir := range []string{d.opts.StateDir, d.opts.RunDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
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
	defer d.closeMedia()

	d.mem = membership.New(membership.Config{
		Local:          d.node,
		Nodes:          ha.Nodes,
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
		Loadavg:        loadavg,
	})

	rctx, stopReceivers := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, m := range d.media {
		wg.Add(1)
		go func(m media.Medium) {
			defer wg.Done()
			d.receive(rctx, m)
		}(m)
	}
	defer func() { stopReceivers(); d.closeMedia(); wg.Wait() }()

	srv, err := api.NewServer(filepath.Join(d.opts.RunDir, "register"), apiState{d}, d.log)
	if err != nil {
		return err
	}
	defer srv.Close()
	go srv.Serve(rctx)

	d.step(func(now time.Time) []membership.Action { return d.mem.Start(now) })
	sdnotify.Ready()
	go sdnotify.Watchdog(ctx)
	d.log.WithFields(logrus.Fields{"node": d.node, "generation": gen}).Info("heartbeatd is up")

	timer := time.NewTimer(time.Until(d.nextDeadline()))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			sdnotify.Stopping()
			d.step(func(now time.Time) []membership.Action { return d.mem.Stop(now) })
			d.log.Info("heartbeatd stopped: shutdone sent")
			return nil
		case r := <-d.in:
			d.step(func(now time.Time) []membership.Action { return d.mem.Receive(now, r.msg, r.link) })
		case <-timer.C:
			d.step(func(now time.Time) []membership.Action { return d.mem.Tick(now) })
		case <-reload:
			d.reload()
		}
		timer.Reset(time.Until(d.nextDeadline()))
	}
}

func (d *Daemon) nextDeadline() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mem.NextDeadline()
}

// step runs one event through membership and carries out its actions.
func (d *Daemon) step(event func(now time.Time) []membership.Action) {
	d.mu.Lock()
	acts := event(time.Now())
	d.mu.Unlock()
	for _, a := range acts {
		switch a := a.(type) {
		case membership.Transmit:
			d.transmit(a.Msg)
		case membership.Log:
			d.logAction(a)
		case membership.NodeChange:
			d.log.WithFields(logrus.Fields{"node": a.Node, "state": a.To}).Debugf("node %s: %s -> %s", a.Node, a.From, a.To)
		case membership.LinkChange, membership.CommUp:
			// Logged by membership; resources and API events come with part 2.
		case membership.Deliver:
			d.log.WithFields(logrus.Fields{"node": a.From, "t": a.Msg.Type()}).Debug("cluster message received")
		}
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
		msg, err := wire.Decode(pkt, d.files.Load().Ring)
		if err != nil {
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
			if ok, n := d.badLog.Allow(reason + " " + from.Addr().String()); ok {
				d.log.WithFields(logrus.Fields{"iface": m.Link(), "from": from.String(), "err": err, "suppressed": n}).
					Warnf("bad packet dropped (%s)", reason)
			}
			return
		}
		select {
		case d.in <- received{msg: msg, link: m.Link()}:
		default:
			d.counter.queueFull.Add(1)
		}
	})
	if err != nil && ctx.Err() == nil {
		d.log.WithFields(logrus.Fields{"iface": m.Link(), "err": err}).Error("receiver stopped on " + m.Name())
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
		return
	}
	if !sameMedia(old.HA, f.HA) || !slices.Equal(old.HA.Nodes, f.HA.Nodes) {
		d.log.Warn("reload: media or node changes take effect at the next restart")
	}
	d.files.Store(f)
	d.mu.Lock()
	d.mem.SetTiming(f.HA.Keepalive, f.HA.Deadtime, f.HA.Warntime)
	d.mu.Unlock()
	d.log.Info("configuration reloaded")
}

func (d *Daemon) closeMedia() {
	for _, m := range d.media {
		m.Close()
	}
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

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}
