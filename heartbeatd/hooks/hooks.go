// hooks.go: the rc.d message hook runner (harc).

// Package hooks runs the rc.d message hooks: for a message of type t, if
// rc.d/<t> is an executable file, it runs "rc.d/<t> <t>" with the message's
// fields in the environment, as heartbeat 3.0.6 does through harc. Jobs run
// one at a time, in arrival order, from a bounded queue.
//
// The hooks the classic package ships for R1 (status, ip-request,
// ip-request-resp, ask_resources, hb_takeover) call the classic
// ResourceManager; heartbeatd does that work natively, so those are never
// run.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/internal/proc"
	"github.com/hasuite/hasuite/internal/ratelimit"
)

// Defaults for the zero values of Config. Classic heartbeat bounds neither
// the queue nor a hook's run time; a hook that hangs would stall every later
// one, so both are bounded here.
const (
	DefaultQueueLen  = 64
	DefaultTimeout   = 2 * time.Minute
	DefaultCloseWait = 5 * time.Second
)

// dropLogEvery spaces the "queue full" warnings.
const dropLogEvery = 10 * time.Second

// maxOutput bounds what is kept of a hook's output for the debug log.
const maxOutput = 64 << 10

// native lists the message types whose shipped rc.d hooks heartbeatd
// replaces; their rc.d scripts are never run.
var native = map[string]bool{
	"status":          true,
	"ip-request":      true,
	"ip-request-resp": true,
	"ask_resources":   true,
	"hb_takeover":     true,
}

// IsNative reports whether rc.d hooks for message type t are never run
// because heartbeatd does their work itself.
func IsNative(t string) bool { return native[t] }

// Config is what a Runner needs.
type Config struct {
	RCDir        string // /etc/ha.d/rc.d
	ConfDir      string // /etc/ha.d: HA_DIR, HA_FUNCS=ConfDir/shellfuncs, HA_RESOURCEDIR=ConfDir/resource.d
	CurHost      string // this node's name: HA_CURHOST
	NiceFailback bool   // auto_failback on or off (not legacy): HA_NICEFAILBACK=yes

	// Vars are extra environment variables ("NAME=value") for every hook,
	// set before the message's fields.
	Vars []string

	QueueLen  int           // jobs waiting at most; 0 = DefaultQueueLen
	Timeout   time.Duration // one hook's run time at most; 0 = DefaultTimeout
	CloseWait time.Duration // Close waits this long for the running hook; 0 = DefaultCloseWait

	Log logrus.FieldLogger // nil = silent
}

// job is one queued hook run.
type job struct {
	typ  string
	path string
	env  []string
}

// Runner queues and runs rc.d hooks, one at a time. It is safe for
// concurrent use.
type Runner struct {
	cfg  Config
	log  logrus.FieldLogger
	lim  *ratelimit.Limiter
	jobs chan job
	quit chan struct{}
	done chan struct{}

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	logged map[string]bool // native types already logged

	dropped atomic.Uint64

	onDone func(typ string, err error) // test hook, called after each job
}

// New returns a started Runner.
func New(cfg Config) *Runner {
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CloseWait <= 0 {
		cfg.CloseWait = DefaultCloseWait
	}
	log := cfg.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{
		cfg:    cfg,
		log:    log,
		lim:    ratelimit.New(dropLogEvery, 1, nil),
		jobs:   make(chan job, cfg.QueueLen),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
		logged: make(map[string]bool),
	}
	go r.loop()
	return r
}

// Run queues the rc.d hook for msg's type, if rc.d/<type> is an executable
// file and the type is not native (IsNative). It never blocks: when the queue is
// full the job is dropped, counted and logged (rate-limited).
func (r *Runner) Run(msg *wire.Message) {
	typ := msg.Type()
	if !validName(typ) {
		return
	}
	path := filepath.Join(r.cfg.RCDir, typ)
	if IsNative(typ) {
		r.logNative(typ, path)
		return
	}
	if !proc.IsExecutableFile(path) {
		return
	}
	j := job{typ: typ, path: path, env: r.environ(msg)}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.log.WithField("hook", typ).Debug("hook runner closed; rc.d hook not run")
		return
	}
	select {
	case r.jobs <- j:
	default:
		n := r.dropped.Add(1)
		if ok, sup := r.lim.Allow("queue"); ok {
			r.log.WithFields(logrus.Fields{"hook": typ, "dropped": n}).
				Warnf("rc.d hook queue full (%d waiting): dropped rc.d/%s (%d similar suppressed)", cap(r.jobs), typ, sup)
		}
	}
}

// Dropped returns how many jobs were dropped because the queue was full or
// the runner closed with them still waiting.
func (r *Runner) Dropped() uint64 { return r.dropped.Load() }

// Close stops the runner: waiting jobs are dropped, the running one gets
// CloseWait to finish and then its process group is killed. Close returns
// once the worker has stopped; later Runs do nothing.
func (r *Runner) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.done
		return
	}
	r.closed = true
	close(r.quit)
	r.mu.Unlock()

	t := time.NewTimer(r.cfg.CloseWait)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		r.log.Warnf("rc.d hook still running after %s; killing it", r.cfg.CloseWait)
		r.cancel()
		<-r.done
	}
	r.cancel()

	n := 0
	for drained := false; !drained; {
		select {
		case <-r.jobs:
			n++
		default:
			drained = true
		}
	}
	if n > 0 {
		r.dropped.Add(uint64(n))
		r.log.Infof("hook runner closed: %d queued rc.d hooks not run", n)
	}
}

// loop runs the queued jobs in order until quit.
func (r *Runner) loop() {
	defer close(r.done)
	for {
		select {
		case <-r.quit:
			return
		default:
		}
		select {
		case <-r.quit:
			return
		case j := <-r.jobs:
			err := r.run(j)
			if r.onDone != nil {
				r.onDone(j.typ, err)
			}
		}
	}
}

// run runs one hook: "rc.d/<t> <t>" in its own process group, killed with
// it on timeout or when Close gives up. Its output goes to an anonymous file
// (no pipe, so a background child keeping it open neither holds the job up
// nor gets SIGPIPE).
func (r *Runner) run(j job) error {
	log := r.log.WithField("hook", j.typ)
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()

	out, err := proc.OutputFile("hook")
	if err != nil {
		log.WithError(err).Error("cannot run rc.d hook")
		return err
	}
	defer out.Close()

	log.Infof("Running %s %s", j.path, j.typ)
	cmd := proc.Command(ctx, j.path, j.typ)
	cmd.Env = j.env
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err = cmd.Run()
	fields := logrus.Fields{"elapsed": time.Since(start).Round(time.Millisecond)}
	if cmd.ProcessState != nil {
		fields["rc"] = cmd.ProcessState.ExitCode()
	}
	if b := bytes.TrimSpace(proc.ReadOutput(out, maxOutput)); len(b) > 0 {
		fields["output"] = string(b)
	}
	log = log.WithFields(fields)
	switch {
	case err == nil:
		log.Debugf("rc.d/%s done", j.typ)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("rc.d/%s: timed out after %s, process group killed", j.typ, r.cfg.Timeout)
		log.Error(err)
	case r.ctx.Err() != nil:
		err = fmt.Errorf("rc.d/%s: killed at shutdown", j.typ)
		log.Warn(err)
	default:
		err = fmt.Errorf("rc.d/%s: %w", j.typ, err)
		log.Error(err)
	}
	return err
}

// environ returns a hook's environment: the process's, Config.Vars, the
// message's string fields as HA_<name>, then what heartbeatd sets itself
// (so a message cannot override HA_CURHOST or HA_DIR). Later entries win.
func (r *Runner) environ(msg *wire.Message) []string {
	env := append(os.Environ(), r.cfg.Vars...)
	for _, f := range msg.Fields {
		if f.Type != wire.TypeString || !validEnvName(f.Name) || bytes.IndexByte(f.Value, 0) >= 0 {
			continue
		}
		env = append(env, "HA_"+f.Name+"="+string(f.Value))
	}
	env = append(env,
		"HA_CURHOST="+r.cfg.CurHost,
		"HA_DIR="+r.cfg.ConfDir,
		"HA_RCDIR="+r.cfg.RCDir,
		"HA_FUNCS="+filepath.Join(r.cfg.ConfDir, "shellfuncs"),
		"HA_RESOURCEDIR="+filepath.Join(r.cfg.ConfDir, "resource.d"),
		"HA_LOGD=no",
	)
	if r.cfg.NiceFailback {
		env = append(env, "HA_NICEFAILBACK=yes")
	}
	return env
}

// logNative logs, once per type, that an existing rc.d hook is not run.
func (r *Runner) logNative(typ, path string) {
	r.mu.Lock()
	seen := r.logged[typ]
	r.logged[typ] = true
	r.mu.Unlock()
	if !seen && proc.IsExecutableFile(path) {
		r.log.WithField("hook", typ).Infof("rc.d/%s is handled natively by heartbeatd; not run", typ)
	}
}

// validName reports whether a message type can name a file in rc.d:
// heartbeat only considered the directory's entries, never dot files.
func validName(t string) bool {
	return t != "" && t[0] != '.' && !strings.ContainsAny(t, "/\x00")
}

// validEnvName reports whether HA_<name> is a usable environment name.
func validEnvName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=\x00")
}
