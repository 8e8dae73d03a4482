package resources

// lvssync_test.go: LVSSyncDaemonSwap against kernel.FakeSync.

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/kernel"
)

func TestNewLVSSyncDaemonSwap(t *testing.T) {
	tests := []struct {
		args    []string
		want    string // state iface syncid
		wantErr string
	}{
		{args: []string{"master"}, want: "master eth0 0"},
		{args: []string{"backup"}, want: "backup eth0 0"},
		{args: []string{"master", "bond0"}, want: "master bond0 0"},
		{args: []string{"backup", "eth1", "255"}, want: "backup eth1 255"},
		{args: nil, wantErr: "LVSSyncDaemonSwap takes master|backup, then optionally an interface and a syncid; got 0 arguments"},
		{args: []string{"master", "eth0", "1", "x"}, wantErr: "LVSSyncDaemonSwap takes master|backup, then optionally an interface and a syncid; got 4 arguments"},
		{args: []string{"both"}, wantErr: `LVSSyncDaemonSwap: sync daemon state "both": want master or backup`},
		{args: []string{"master", "eth0", "256"}, wantErr: `LVSSyncDaemonSwap: syncid "256": want a number 0-255`},
		{args: []string{"master", "eth0", "x"}, wantErr: `LVSSyncDaemonSwap: syncid "x": want a number 0-255`},
	}
	for _, tt := range tests {
		a, err := newLVSSyncDaemonSwap(tt.args, Env{}, &kernel.FakeSync{})
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%q: error %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		got := a.state.String() + " " + a.iface + " " + strconv.Itoa(a.syncID)
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestLVSSyncDaemonSwapName(t *testing.T) {
	for _, res := range []string{"LVSSyncDaemonSwap::master", "LVSSyncDaemonSwap::backup::eth1::5"} {
		a, err := New(res, Env{})
		if err != nil {
			t.Fatalf("New(%q): %v", res, err)
		}
		if a.Name() != res {
			t.Errorf("New(%q).Name() = %q", res, a.Name())
		}
	}
}

// TestLVSSyncDaemonSwap steps the agent from each starting set of running
// daemons and checks the kernel calls and the daemons left running.
func TestLVSSyncDaemonSwap(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		running     []kernel.SyncState // before
		action      string             // start, stop or status
		errs        map[string]error
		wantCalls   []string
		wantRunning []kernel.SyncState // after, master first
		wantStatus  string
		wantErr     string
	}{
		{name: "start master from nothing", args: []string{"master"}, action: "start",
			wantCalls: []string{"list", "start master eth0 0"}, wantRunning: []kernel.SyncState{kernel.SyncMaster}},
		{name: "start master swaps backup", args: []string{"master", "eth1", "9"}, action: "start",
			running:   []kernel.SyncState{kernel.SyncBackup},
			wantCalls: []string{"list", "stop backup", "start master eth1 9"}, wantRunning: []kernel.SyncState{kernel.SyncMaster}},
		{name: "start master already running", args: []string{"master"}, action: "start",
			running:   []kernel.SyncState{kernel.SyncMaster},
			wantCalls: []string{"list"}, wantRunning: []kernel.SyncState{kernel.SyncMaster}},
		{name: "start master with both running stops backup", args: []string{"master"}, action: "start",
			running:   []kernel.SyncState{kernel.SyncMaster, kernel.SyncBackup},
			wantCalls: []string{"list", "stop backup"}, wantRunning: []kernel.SyncState{kernel.SyncMaster}},
		{name: "stop master swaps to backup", args: []string{"master", "eth1"}, action: "stop",
			running:   []kernel.SyncState{kernel.SyncMaster},
			wantCalls: []string{"list", "stop master", "start backup eth1 0"}, wantRunning: []kernel.SyncState{kernel.SyncBackup}},
		{name: "stop master from nothing starts backup", args: []string{"master"}, action: "stop",
			wantCalls: []string{"list", "start backup eth0 0"}, wantRunning: []kernel.SyncState{kernel.SyncBackup}},
		{name: "stop master already stopped", args: []string{"master"}, action: "stop",
			running:   []kernel.SyncState{kernel.SyncBackup},
			wantCalls: []string{"list"}, wantRunning: []kernel.SyncState{kernel.SyncBackup}},
		{name: "stop master with both running", args: []string{"master"}, action: "stop",
			running:   []kernel.SyncState{kernel.SyncMaster, kernel.SyncBackup},
			wantCalls: []string{"list", "stop master"}, wantRunning: []kernel.SyncState{kernel.SyncBackup}},
		{name: "start backup swaps master", args: []string{"backup"}, action: "start",
			running:   []kernel.SyncState{kernel.SyncMaster},
			wantCalls: []string{"list", "stop master", "start backup eth0 0"}, wantRunning: []kernel.SyncState{kernel.SyncBackup}},
		{name: "stop backup swaps to master", args: []string{"backup"}, action: "stop",
			running:   []kernel.SyncState{kernel.SyncBackup},
			wantCalls: []string{"list", "stop backup", "start master eth0 0"}, wantRunning: []kernel.SyncState{kernel.SyncMaster}},
		{name: "status master running", args: []string{"master"}, action: "status",
			running:   []kernel.SyncState{kernel.SyncMaster},
			wantCalls: []string{"list"}, wantRunning: []kernel.SyncState{kernel.SyncMaster}, wantStatus: "master running"},
		{name: "status master with only backup", args: []string{"master"}, action: "status",
			running:   []kernel.SyncState{kernel.SyncBackup},
			wantCalls: []string{"list"}, wantRunning: []kernel.SyncState{kernel.SyncBackup}, wantStatus: "master stopped"},
		{name: "status backup running", args: []string{"backup"}, action: "status",
			running:   []kernel.SyncState{kernel.SyncBackup},
			wantCalls: []string{"list"}, wantRunning: []kernel.SyncState{kernel.SyncBackup}, wantStatus: "backup running"},
		{name: "status backup stopped", args: []string{"backup"}, action: "status",
			wantCalls: []string{"list"}, wantStatus: "backup stopped"},
		{name: "start fails", args: []string{"master"}, action: "start",
			running:   []kernel.SyncState{kernel.SyncBackup},
			errs:      map[string]error{"start master": errors.New("boom")},
			wantCalls: []string{"list", "stop backup", "start master eth0 0"},
			wantErr:   "LVSSyncDaemonSwap::master start: boom"},
		{name: "stop of the other fails", args: []string{"master"}, action: "start",
			running:     []kernel.SyncState{kernel.SyncBackup},
			errs:        map[string]error{"stop backup": errors.New("boom")},
			wantCalls:   []string{"list", "stop backup"},
			wantRunning: []kernel.SyncState{kernel.SyncBackup},
			wantErr:     "LVSSyncDaemonSwap::master start: boom"},
		{name: "list fails", args: []string{"master"}, action: "stop",
			running:     []kernel.SyncState{kernel.SyncMaster},
			errs:        map[string]error{"list": errors.New("boom")},
			wantCalls:   []string{"list"},
			wantRunning: []kernel.SyncState{kernel.SyncMaster},
			wantErr:     "LVSSyncDaemonSwap::master stop: boom"},
		{name: "status fails", args: []string{"backup"}, action: "status",
			errs:      map[string]error{"list": errors.New("boom")},
			wantCalls: []string{"list"},
			wantErr:   "LVSSyncDaemonSwap::backup status: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &kernel.FakeSync{Errs: tt.errs}
			for _, s := range tt.running {
				if err := fake.StartSyncDaemon(s, "eth0", 0); err != nil {
					t.Fatal(err)
				}
			}
			fake.Calls = nil
			a, err := newLVSSyncDaemonSwap(tt.args, Env{}, fake)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var status string
			switch tt.action {
			case "start":
				err = a.Start(ctx)
			case "stop":
				err = a.Stop(ctx)
			case "status":
				status, err = a.Status(ctx)
			}
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error %q, want %q", gotErr, tt.wantErr)
			}
			if status != tt.wantStatus {
				t.Errorf("status %q, want %q", status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantCalls, fake.Calls); diff != "" {
				t.Errorf("kernel calls (-want +got):\n%s", diff)
			}
			var running []kernel.SyncState
			ds, _ := (&kernel.FakeSync{Running: fake.Running}).SyncDaemons()
			for _, d := range ds {
				running = append(running, d.State)
			}
			if diff := cmp.Diff(tt.wantRunning, running); diff != "" {
				t.Errorf("running after (-want +got):\n%s", diff)
			}
			if status != "" {
				up, err := a.Running(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// The status line reads as heartbeat's "is it running?" rule says.
				if up != StatusOutputRunning([]byte(status)) {
					t.Errorf("Running = %v but status %q", up, status)
				}
			}
		})
	}
}

func TestLVSSyncDaemonSwapNoIPVS(t *testing.T) {
	fake := &kernel.FakeSync{Errs: map[string]error{"list": kernel.ErrNoIPVS}}
	a, err := newLVSSyncDaemonSwap([]string{"master"}, Env{}, fake)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"start": a.Start(context.Background()),
		"stop":  a.Stop(context.Background()),
	} {
		if !errors.Is(err, kernel.ErrNoIPVS) {
			t.Errorf("%s: error %v, want ErrNoIPVS", name, err)
		}
	}
	if _, err := a.Running(context.Background()); !errors.Is(err, kernel.ErrNoIPVS) {
		t.Errorf("Running: error %v, want ErrNoIPVS", err)
	}
}
