// lvssync.go: the built-in LVSSyncDaemonSwap agent, swapping the IPVS sync daemons.

package resources

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
)

// The classic script's defaults when haresources gives no interface or
// syncid.
const (
	lvsSyncName          = "LVSSyncDaemonSwap"
	defaultLVSSyncIface  = "eth0"
	defaultLVSSyncSyncID = 0
)

// LVSSyncDaemonSwap is the built-in agent for
// "LVSSyncDaemonSwap::<master|backup>[::<interface>[::<syncid>]]", the
// resource.d script heartbeat 2.x shipped for ldirectord directors. The
// first argument names the daemon this node runs while it holds the group
// (the script's "ying"); the other state is the "yang".
//
//   - Start stops the yang daemon if it runs and starts the ying daemon on
//     the interface with the syncid.
//   - Stop stops the ying daemon if it runs and starts the yang daemon.
//   - Running (status) is whether the ying daemon runs; Status gives the
//     classic first status line, "<ying> running" or "<ying> stopped".
//
// The interface defaults to eth0 and the syncid to 0, as in the classic
// script; as there, they are set with more "::" arguments, and a syncid
// only after an interface ("LVSSyncDaemonSwap::master::bond0::7"). syncid
// 0 on a backup accepts the messages of every syncid.
//
// The classic script found running daemons by grepping ps for the kernel
// threads "[ipvs_syncmaster]" and "[ipvs_syncbackup]", names modern kernels
// no longer use (Linux 6.1: "ipvs-m:<n>:<n>", "ipvs-b:<n>:<n>"), so there
// it always saw both stopped: starting a running daemon failed (EEXIST from
// ipvsadm) and neither start nor stop ever stopped the other one. The agent asks the kernel over generic netlink instead,
// and Start and Stop always leave exactly the wanted daemon running, even
// when both ran before.
type LVSSyncDaemonSwap struct {
	name   string
	state  kernel.SyncState // ying
	iface  string
	syncID int
	sync   kernel.Sync
	log    logrus.FieldLogger
}

// NewLVSSyncDaemonSwap returns the agent for args ("master" or "backup",
// then optionally the interface and the syncid 0-255), controlling the
// kernel's sync daemons through netlink.
func NewLVSSyncDaemonSwap(args []string, env Env) (Agent, error) {
	return newLVSSyncDaemonSwap(args, env, kernel.NewSync())
}

// newLVSSyncDaemonSwap is NewLVSSyncDaemonSwap with the kernel injected.
func newLVSSyncDaemonSwap(args []string, env Env, sync kernel.Sync) (*LVSSyncDaemonSwap, error) {
	name := strings.Join(append([]string{lvsSyncName}, args...), "::")
	if len(args) < 1 || len(args) > 3 {
		return nil, fmt.Errorf("%s takes master|backup, then optionally an interface and a syncid; got %d arguments", lvsSyncName, len(args))
	}
	state, err := kernel.ParseSyncState(args[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", lvsSyncName, err)
	}
	a := &LVSSyncDaemonSwap{
		name:   name,
		state:  state,
		iface:  defaultLVSSyncIface,
		syncID: defaultLVSSyncSyncID,
		sync:   sync,
	}
	if len(args) > 1 {
		a.iface = args[1]
	}
	if len(args) > 2 {
		id, err := strconv.Atoi(args[2])
		if err != nil || id < 0 || id > 255 {
			return nil, fmt.Errorf("%s: syncid %q: want a number 0-255", lvsSyncName, args[2])
		}
		a.syncID = id
	}
	a.log = agentLog(env, name).WithFields(logrus.Fields{"iface": a.iface, "syncid": a.syncID})
	return a, nil
}

// Name returns the resource as written in haresources (after Split).
func (a *LVSSyncDaemonSwap) Name() string { return a.name }

// Start stops the other daemon and starts this one (see the type).
func (a *LVSSyncDaemonSwap) Start(ctx context.Context) error {
	if err := a.swap(a.state, other(a.state)); err != nil {
		return fmt.Errorf("%s start: %w", a.name, err)
	}
	a.log.WithField("state", a.state.String()).Info("ipvs_sync" + a.state.String() + " obtained")
	return nil
}

// Stop stops this daemon and starts the other one (see the type).
func (a *LVSSyncDaemonSwap) Stop(ctx context.Context) error {
	if err := a.swap(other(a.state), a.state); err != nil {
		return fmt.Errorf("%s stop: %w", a.name, err)
	}
	a.log.WithField("state", a.state.String()).Info("ipvs_sync" + a.state.String() + " released")
	return nil
}

// Running reports whether this agent's daemon (master or backup) runs.
func (a *LVSSyncDaemonSwap) Running(ctx context.Context) (bool, error) {
	running, err := a.running()
	if err != nil {
		return false, fmt.Errorf("%s status: %w", a.name, err)
	}
	return running[a.state], nil
}

// Status returns the classic status line, "master running" or "master
// stopped" (for a backup agent "backup ...").
func (a *LVSSyncDaemonSwap) Status(ctx context.Context) (string, error) {
	up, err := a.Running(ctx)
	if err != nil {
		return "", err
	}
	if up {
		return a.state.String() + " running", nil
	}
	return a.state.String() + " stopped", nil
}

// swap leaves exactly the daemon up running: down is stopped first (the
// classic order), then up is started unless it already runs.
func (a *LVSSyncDaemonSwap) swap(up, down kernel.SyncState) error {
	running, err := a.running()
	if err != nil {
		return err
	}
	if running[down] {
		if err := a.sync.StopSyncDaemon(down); err != nil {
			return err
		}
		a.log.WithField("state", down.String()).Info("ipvs_sync" + down.String() + " down")
	}
	if running[up] {
		return nil
	}
	if err := a.sync.StartSyncDaemon(up, a.iface, a.syncID); err != nil {
		return err
	}
	a.log.WithField("state", up.String()).Info("ipvs_sync" + up.String() + " up")
	return nil
}

// running returns which daemons run.
func (a *LVSSyncDaemonSwap) running() (map[kernel.SyncState]bool, error) {
	ds, err := a.sync.SyncDaemons()
	if err != nil {
		return nil, err
	}
	running := map[kernel.SyncState]bool{}
	for _, d := range ds {
		running[d.State] = true
	}
	return running, nil
}

// other is the yang of a ying.
func other(s kernel.SyncState) kernel.SyncState {
	if s == kernel.SyncMaster {
		return kernel.SyncBackup
	}
	return kernel.SyncMaster
}
