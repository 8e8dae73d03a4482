package kernel

// syncd_test.go: the sync daemon calls against a faked generic netlink family.

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

const testFamilyID = 0x24

// request is one decoded request the fake kernel saw.
type request struct {
	Cmd   uint8
	Flags netlink.HeaderFlags
	Attrs map[uint16]any // daemon attributes: uint32 or string
}

// fakeIPVS serves the IPVS family: it records requests and answers with
// reply (messages) or errno (non-zero).
func fakeIPVS(t *testing.T, reqs *[]request, reply []genetlink.Message, errno unix.Errno) Sync {
	fam := genetlink.Family{ID: testFamilyID, Version: 1, Name: "IPVS"}
	fn := genltest.ServeFamily(fam, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if nreq.Header.Type == 0 {
			return nil, nil // nltest polling for more messages: nothing queued
		}
		if nreq.Header.Type != testFamilyID {
			t.Errorf("request to family %d, want %d", nreq.Header.Type, testFamilyID)
		}
		r := request{Cmd: greq.Header.Command, Flags: nreq.Header.Flags, Attrs: map[uint16]any{}}
		if greq.Header.Version != 1 {
			t.Errorf("genl version %d, want 1", greq.Header.Version)
		}
		if len(greq.Data) > 0 {
			ad, err := netlink.NewAttributeDecoder(greq.Data)
			if err != nil {
				t.Fatal(err)
			}
			for ad.Next() {
				if ad.Type() != ipvsCmdAttrDaemon {
					t.Errorf("top-level attribute %d, want IPVS_CMD_ATTR_DAEMON", ad.Type())
					continue
				}
				ad.Nested(func(nad *netlink.AttributeDecoder) error {
					for nad.Next() {
						if nad.Type() == ipvsDaemonAttrMcastIfn {
							r.Attrs[nad.Type()] = nad.String()
						} else {
							r.Attrs[nad.Type()] = nad.Uint32()
						}
					}
					return nil
				})
			}
			if err := ad.Err(); err != nil {
				t.Fatal(err)
			}
		}
		*reqs = append(*reqs, r)
		if errno != 0 {
			return nil, genltest.Error(int(errno))
		}
		return reply, nil
	})
	return &netlinkSync{dial: func() (*genetlink.Conn, error) { return genltest.Dial(fn), nil }}
}

func TestStartSyncDaemon(t *testing.T) {
	tests := []struct {
		name    string
		state   SyncState
		iface   string
		syncID  int
		errno   unix.Errno
		wantReq []request
		wantErr string // substring; "" = success
	}{
		{
			name: "master", state: SyncMaster, iface: "eth0", syncID: 7,
			wantReq: []request{{Cmd: ipvsCmdNewDaemon, Flags: netlink.Request | netlink.Acknowledge,
				Attrs: map[uint16]any{ipvsDaemonAttrState: uint32(1), ipvsDaemonAttrMcastIfn: "eth0", ipvsDaemonAttrSyncID: uint32(7)}}},
		},
		{
			name: "backup", state: SyncBackup, iface: "bond0.12", syncID: 0,
			wantReq: []request{{Cmd: ipvsCmdNewDaemon, Flags: netlink.Request | netlink.Acknowledge,
				Attrs: map[uint16]any{ipvsDaemonAttrState: uint32(2), ipvsDaemonAttrMcastIfn: "bond0.12", ipvsDaemonAttrSyncID: uint32(0)}}},
		},
		{
			name: "already running is success", state: SyncMaster, iface: "eth0", errno: unix.EEXIST,
			wantReq: []request{{Cmd: ipvsCmdNewDaemon, Flags: netlink.Request | netlink.Acknowledge,
				Attrs: map[uint16]any{ipvsDaemonAttrState: uint32(1), ipvsDaemonAttrMcastIfn: "eth0", ipvsDaemonAttrSyncID: uint32(0)}}},
		},
		{
			name: "no such interface", state: SyncMaster, iface: "eth9", errno: unix.ENODEV,
			wantReq: []request{{Cmd: ipvsCmdNewDaemon, Flags: netlink.Request | netlink.Acknowledge,
				Attrs: map[uint16]any{ipvsDaemonAttrState: uint32(1), ipvsDaemonAttrMcastIfn: "eth9", ipvsDaemonAttrSyncID: uint32(0)}}},
			wantErr: "starting IPVS sync daemon master on eth9 syncid 0: no such interface: netlink receive: no such device",
		},
		{name: "bad state", state: 3, iface: "eth0", wantErr: "starting IPVS sync daemon state(3) on eth0 syncid 0: bad state 3"},
		{name: "empty iface", state: SyncMaster, wantErr: `bad interface name ""`},
		{name: "long iface", state: SyncMaster, iface: "abcdefghijklmnop", wantErr: `bad interface name "abcdefghijklmnop"`},
		{name: "syncid", state: SyncBackup, iface: "eth0", syncID: 256, wantErr: "syncid must be 0-255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reqs []request
			s := fakeIPVS(t, &reqs, nil, tt.errno)
			err := s.StartSyncDaemon(tt.state, tt.iface, tt.syncID)
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.wantReq, reqs); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStopSyncDaemon(t *testing.T) {
	tests := []struct {
		name    string
		state   SyncState
		errno   unix.Errno
		wantErr string
	}{
		{name: "master", state: SyncMaster},
		{name: "backup", state: SyncBackup},
		{name: "not running is success", state: SyncBackup, errno: unix.ESRCH},
		{name: "permission", state: SyncMaster, errno: unix.EPERM,
			wantErr: "stopping IPVS sync daemon master: netlink receive: operation not permitted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reqs []request
			s := fakeIPVS(t, &reqs, nil, tt.errno)
			checkErr(t, s.StopSyncDaemon(tt.state), tt.wantErr)
			want := []request{{Cmd: ipvsCmdDelDaemon, Flags: netlink.Request | netlink.Acknowledge,
				Attrs: map[uint16]any{ipvsDaemonAttrState: uint32(tt.state)}}}
			if diff := cmp.Diff(want, reqs); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// daemonMsg is a dump message as Linux 6.1's ip_vs_genl_fill_daemon writes it.
func daemonMsg(t *testing.T, state SyncState, iface string, syncID uint32, group netip.Addr) genetlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.Nested(ipvsCmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(ipvsDaemonAttrState, uint32(state))
		nae.String(ipvsDaemonAttrMcastIfn, iface)
		nae.Uint32(ipvsDaemonAttrSyncID, syncID)
		nae.Uint16(ipvsDaemonAttrSyncMaxlen, 1472)
		nae.Uint16(ipvsDaemonAttrMcastPort, 8848)
		nae.Uint8(ipvsDaemonAttrMcastTTL, 1)
		if group.Is4() {
			nae.Bytes(ipvsDaemonAttrMcastGrp, group.AsSlice())
		} else {
			nae.Bytes(ipvsDaemonAttrMcastGrp6, group.AsSlice())
		}
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return genetlink.Message{Header: genetlink.Header{Command: ipvsCmdNewDaemon, Version: 1}, Data: b}
}

func TestSyncDaemons(t *testing.T) {
	var reqs []request
	reply := []genetlink.Message{
		daemonMsg(t, SyncMaster, "eth0", 3, netip.MustParseAddr("224.0.0.81")),
		daemonMsg(t, SyncBackup, "eth1", 0, netip.MustParseAddr("ff02::1:2")),
		{Header: genetlink.Header{Command: ipvsCmdNewDaemon, Version: 1}}, // no daemon attribute: skipped
	}
	got, err := fakeIPVS(t, &reqs, reply, 0).SyncDaemons()
	if err != nil {
		t.Fatal(err)
	}
	want := []SyncDaemon{
		{State: SyncMaster, Iface: "eth0", SyncID: 3, MaxLen: 1472, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1},
		{State: SyncBackup, Iface: "eth1", SyncID: 0, MaxLen: 1472, Group: netip.MustParseAddr("ff02::1:2"), Port: 8848, TTL: 1},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("SyncDaemons (-want +got):\n%s", diff)
	}
	wantReq := []request{{Cmd: ipvsCmdGetDaemon, Flags: netlink.Request | netlink.Dump, Attrs: map[uint16]any{}}}
	if diff := cmp.Diff(wantReq, reqs); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestSyncNoIPVS(t *testing.T) {
	// The controller answers ENOENT for an unknown family.
	fn := func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(unix.ENOENT))
	}
	s := &netlinkSync{dial: func() (*genetlink.Conn, error) { return genltest.Dial(fn), nil }}
	calls := map[string]func() error{
		"start": func() error { return s.StartSyncDaemon(SyncMaster, "eth0", 0) },
		"stop":  func() error { return s.StopSyncDaemon(SyncBackup) },
		"list":  func() error { _, err := s.SyncDaemons(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNoIPVS) {
			t.Errorf("%s: error %v, want ErrNoIPVS", name, err)
		}
	}
}

func TestParseSyncState(t *testing.T) {
	for _, s := range []SyncState{SyncMaster, SyncBackup} {
		got, err := ParseSyncState(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSyncState(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseSyncState("Master"); err == nil {
		t.Error("ParseSyncState(Master): no error")
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("error %v, want none", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
}

// TestSyncNoReply: when the kernel sends no ack (DEL_DAEMON whose thread
// stop returned EINTR), the outcome is read back from a daemon dump.
func TestSyncNoReply(t *testing.T) {
	tests := []struct {
		name    string
		start   bool
		listed  []genetlink.Message
		wantErr string
	}{
		{name: "stop took effect"},
		{name: "stop did not", listed: []genetlink.Message{daemonMsg(t, SyncMaster, "eth0", 0, netip.MustParseAddr("224.0.0.81"))},
			wantErr: "stopping IPVS sync daemon master: no answer from the kernel after 1s"},
		{name: "start took effect", start: true, listed: []genetlink.Message{daemonMsg(t, SyncMaster, "eth0", 0, netip.MustParseAddr("224.0.0.81"))}},
		{name: "start did not", start: true,
			wantErr: "starting IPVS sync daemon master on eth0 syncid 0: no answer from the kernel after 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fam := genetlink.Family{ID: testFamilyID, Version: 1, Name: "IPVS"}
			fn := genltest.ServeFamily(fam, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
				switch {
				case nreq.Header.Type == 0:
					return nil, nil
				case greq.Header.Command == ipvsCmdGetDaemon:
					return tt.listed, nil
				}
				return nil, os.ErrDeadlineExceeded
			})
			s := &netlinkSync{dial: func() (*genetlink.Conn, error) { return genltest.Dial(fn), nil }}
			var err error
			if tt.start {
				err = s.StartSyncDaemon(SyncMaster, "eth0", 0)
			} else {
				err = s.StopSyncDaemon(SyncMaster)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}
