package kernel

// syncd_fake.go: FakeSync, an in-memory Sync for unit tests of other packages.

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
)

// FakeSync is an in-memory Sync with the real one's semantics (idempotent
// start and stop, master and backup independent). It records every call.
// The zero value is ready to use.
type FakeSync struct {
	mu sync.Mutex
	// Running holds the running daemons by state.
	Running map[SyncState]SyncDaemon
	// Calls lists the calls made, e.g. "start master eth0 0", "stop backup",
	// "list".
	Calls []string
	// Errs makes a call fail: keyed "start master", "start backup",
	// "stop master", "stop backup" or "list".
	Errs map[string]error
	// Ifaces, when not nil, are the interfaces that exist: starting a daemon
	// on any other fails as the kernel does (ENODEV).
	Ifaces []string
}

var _ Sync = (*FakeSync)(nil)

// StartSyncDaemon records the call and starts the daemon unless it runs.
func (f *FakeSync) StartSyncDaemon(state SyncState, iface string, syncID int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, fmt.Sprintf("start %s %s %d", state, iface, syncID))
	if err := f.Errs["start "+state.String()]; err != nil {
		return err
	}
	if err := checkState(state); err != nil {
		return err
	}
	if _, ok := f.Running[state]; ok {
		return nil
	}
	if f.Ifaces != nil && !slices.Contains(f.Ifaces, iface) {
		return fmt.Errorf("starting IPVS sync daemon %s on %s syncid %d: no such interface", state, iface, syncID)
	}
	if f.Running == nil {
		f.Running = map[SyncState]SyncDaemon{}
	}
	f.Running[state] = SyncDaemon{State: state, Iface: iface, SyncID: syncID,
		MaxLen: 1472, Group: netip.AddrFrom4([4]byte{224, 0, 0, 81}), Port: 8848, TTL: 1}
	return nil
}

// StopSyncDaemon records the call and stops the daemon if it runs.
func (f *FakeSync) StopSyncDaemon(state SyncState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "stop "+state.String())
	if err := f.Errs["stop "+state.String()]; err != nil {
		return err
	}
	if err := checkState(state); err != nil {
		return err
	}
	delete(f.Running, state)
	return nil
}

// SyncDaemons records the call and lists the running daemons, master first.
func (f *FakeSync) SyncDaemons() ([]SyncDaemon, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "list")
	if err := f.Errs["list"]; err != nil {
		return nil, err
	}
	var ds []SyncDaemon
	for _, s := range []SyncState{SyncMaster, SyncBackup} {
		if d, ok := f.Running[s]; ok {
			ds = append(ds, d)
		}
	}
	return ds, nil
}
