package kernel

// syncd.go: the IPVS connection-sync daemons over generic netlink (family "IPVS").

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoIPVS means the kernel has no IPVS: the generic netlink family "IPVS"
// is not registered (CONFIG_IP_VS unset or the ip_vs module not loaded).
var ErrNoIPVS = errors.New("no IPVS in this kernel (generic netlink family \"IPVS\" missing; load ip_vs)")

// SyncState is the role of an IPVS sync daemon (IP_VS_STATE_MASTER/BACKUP).
type SyncState uint32

// The sync daemon states of include/uapi/linux/ip_vs.h. A master sends the
// connection table by multicast, a backup receives it; both may run at once.
const (
	SyncMaster SyncState = 1
	SyncBackup SyncState = 2
)

// String returns "master" or "backup", as ipvsadm --start-daemon spells them.
func (s SyncState) String() string {
	switch s {
	case SyncMaster:
		return "master"
	case SyncBackup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// ParseSyncState parses "master" or "backup".
func ParseSyncState(s string) (SyncState, error) {
	switch s {
	case "master":
		return SyncMaster, nil
	case "backup":
		return SyncBackup, nil
	}
	return 0, fmt.Errorf("sync daemon state %q: want master or backup", s)
}

// SyncDaemon is one running sync daemon as the kernel reports it.
type SyncDaemon struct {
	State  SyncState
	Iface  string // multicast interface
	SyncID int    // 0-255: backups only accept messages of their SyncID (0 = any)
	// Since Linux 4.3; zero when the kernel does not report them.
	MaxLen int        // UDP payload size
	Group  netip.Addr // multicast group (224.0.0.81 by default)
	Port   int        // multicast port (8848 by default)
	TTL    int        // multicast TTL
}

// Sync controls the IPVS sync daemons of the caller's network namespace.
type Sync interface {
	// StartSyncDaemon starts the daemon of state on iface with syncID;
	// starting one that already runs succeeds and changes nothing.
	StartSyncDaemon(state SyncState, iface string, syncID int) error
	// StopSyncDaemon stops the daemon of state; stopping a stopped one
	// succeeds.
	StopSyncDaemon(state SyncState) error
	// SyncDaemons lists the running daemons, master first.
	SyncDaemons() ([]SyncDaemon, error)
}

// NewSync returns the real Sync: one generic netlink socket per call, in the
// network namespace of the calling thread.
func NewSync() Sync {
	return &netlinkSync{dial: func() (*genetlink.Conn, error) { return genetlink.Dial(nil) }}
}

// StartSyncDaemon starts a sync daemon through NewSync.
func StartSyncDaemon(state SyncState, iface string, syncID int) error {
	return NewSync().StartSyncDaemon(state, iface, syncID)
}

// StopSyncDaemon stops a sync daemon through NewSync.
func StopSyncDaemon(state SyncState) error {
	return NewSync().StopSyncDaemon(state)
}

// SyncDaemons lists the running sync daemons through NewSync.
func SyncDaemons() ([]SyncDaemon, error) {
	return NewSync().SyncDaemons()
}

// Generic netlink constants of include/uapi/linux/ip_vs.h.
const (
	ipvsGenlName    = "IPVS"
	ipvsGenlVersion = 1

	ipvsCmdNewDaemon = 9
	ipvsCmdDelDaemon = 10
	ipvsCmdGetDaemon = 11

	ipvsCmdAttrDaemon = 3

	ipvsDaemonAttrState      = 1
	ipvsDaemonAttrMcastIfn   = 2
	ipvsDaemonAttrSyncID     = 3
	ipvsDaemonAttrSyncMaxlen = 4
	ipvsDaemonAttrMcastGrp   = 5
	ipvsDaemonAttrMcastGrp6  = 6
	ipvsDaemonAttrMcastPort  = 7
	ipvsDaemonAttrMcastTTL   = 8

	// ifNameMax is IP_VS_IFNAME_MAXLEN less the NUL: the kernel's policy
	// rejects longer names with EINVAL.
	ifNameMax = 15
)

// replyWait bounds the wait for the kernel's answer to one request, the
// request included. Generic netlink handles a request inside sendmsg, so an
// answer is queued before it is read; the bound matters when the kernel
// sends none: a DEL_DAEMON whose kthread_stop returns EINTR (the thread was
// stopped before it first ran, common on a single slow CPU when a stop
// follows a start at once) gets no ack, because netlink_rcv_skb skips the
// ack for EINTR. Callers then read the outcome back from a dump.
const replyWait = time.Second

// errNoReply means the kernel did not answer within replyWait.
var errNoReply = errors.New("no answer from the kernel")

// netlinkSync is the real Sync; dial is genltest.Dial in unit tests.
type netlinkSync struct {
	dial func() (*genetlink.Conn, error)
}

func (s *netlinkSync) StartSyncDaemon(state SyncState, iface string, syncID int) error {
	what := fmt.Sprintf("starting IPVS sync daemon %s on %s syncid %d", state, iface, syncID)
	if err := checkState(state); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if iface == "" || len(iface) > ifNameMax || strings.ContainsAny(iface, "/ \x00") {
		return fmt.Errorf("%s: bad interface name %q", what, iface)
	}
	if syncID < 0 || syncID > 255 {
		return fmt.Errorf("%s: syncid must be 0-255", what)
	}
	ae := netlink.NewAttributeEncoder()
	ae.Nested(ipvsCmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(ipvsDaemonAttrState, uint32(state))
		nae.String(ipvsDaemonAttrMcastIfn, iface)
		nae.Uint32(ipvsDaemonAttrSyncID, uint32(syncID))
		return nil
	})
	_, err := s.execute(ipvsCmdNewDaemon, ae, netlink.Request|netlink.Acknowledge)
	if errors.Is(err, errNoReply) {
		err = s.confirm(state, true, err)
	}
	switch {
	case errors.Is(err, unix.EEXIST):
		return nil // already running (with whatever iface and syncid it has)
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%s: no such interface: %w", what, err)
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *netlinkSync) StopSyncDaemon(state SyncState) error {
	what := fmt.Sprintf("stopping IPVS sync daemon %s", state)
	if err := checkState(state); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ae := netlink.NewAttributeEncoder()
	ae.Nested(ipvsCmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(ipvsDaemonAttrState, uint32(state))
		return nil
	})
	_, err := s.execute(ipvsCmdDelDaemon, ae, netlink.Request|netlink.Acknowledge)
	if errors.Is(err, errNoReply) {
		err = s.confirm(state, false, err)
	}
	if errors.Is(err, unix.ESRCH) {
		return nil // not running
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *netlinkSync) SyncDaemons() ([]SyncDaemon, error) {
	msgs, err := s.execute(ipvsCmdGetDaemon, nil, netlink.Request|netlink.Dump)
	if err != nil {
		return nil, fmt.Errorf("listing IPVS sync daemons: %w", err)
	}
	var ds []SyncDaemon
	for _, m := range msgs {
		d, ok, err := decodeDaemon(m.Data)
		if err != nil {
			return nil, fmt.Errorf("listing IPVS sync daemons: %w", err)
		}
		if ok {
			ds = append(ds, d)
		}
	}
	return ds, nil
}

// confirm checks, after a request got no answer (err), whether the daemon
// of state now runs as wanted: nil if so, else err.
func (s *netlinkSync) confirm(state SyncState, running bool, err error) error {
	ds, lerr := s.SyncDaemons()
	if lerr != nil {
		return fmt.Errorf("%w; then %w", err, lerr)
	}
	found := false
	for _, d := range ds {
		found = found || d.State == state
	}
	if found == running {
		return nil
	}
	return err
}

// execute sends one IPVS command with attributes ae (nil: none).
func (s *netlinkSync) execute(cmd uint8, ae *netlink.AttributeEncoder, flags netlink.HeaderFlags) ([]genetlink.Message, error) {
	c, err := s.dial()
	if err != nil {
		return nil, fmt.Errorf("opening generic netlink socket: %w", err)
	}
	defer c.Close()
	fam, err := c.GetFamily(ipvsGenlName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoIPVS
	}
	if err != nil {
		return nil, fmt.Errorf("looking up generic netlink family %s: %w", ipvsGenlName, err)
	}
	var data []byte
	if ae != nil {
		if data, err = ae.Encode(); err != nil {
			return nil, fmt.Errorf("encoding attributes: %w", err)
		}
	}
	req := genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: ipvsGenlVersion},
		Data:   data,
	}
	// Unit tests' fake sockets have no deadlines: ignore the error.
	_ = c.SetReadDeadline(time.Now().Add(replyWait))
	msgs, err := c.Execute(req, fam.ID, flags)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("%w after %v (%w)", errNoReply, replyWait, err)
	}
	return msgs, err
}

// decodeDaemon decodes one IPVS_CMD_NEW_DAEMON message of a daemon dump;
// ok is false when it holds no daemon attribute.
func decodeDaemon(b []byte) (d SyncDaemon, ok bool, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return d, false, fmt.Errorf("decoding daemon message: %w", err)
	}
	for ad.Next() {
		if ad.Type() != ipvsCmdAttrDaemon {
			continue
		}
		ok = true
		ad.Nested(func(nad *netlink.AttributeDecoder) error {
			for nad.Next() {
				switch nad.Type() {
				case ipvsDaemonAttrState:
					d.State = SyncState(nad.Uint32())
				case ipvsDaemonAttrMcastIfn:
					d.Iface = nad.String()
				case ipvsDaemonAttrSyncID:
					d.SyncID = int(nad.Uint32())
				case ipvsDaemonAttrSyncMaxlen:
					d.MaxLen = int(nad.Uint16())
				case ipvsDaemonAttrMcastGrp, ipvsDaemonAttrMcastGrp6:
					if a, good := netip.AddrFromSlice(nad.Bytes()); good {
						d.Group = a
					}
				case ipvsDaemonAttrMcastPort:
					d.Port = int(nad.Uint16())
				case ipvsDaemonAttrMcastTTL:
					d.TTL = int(nad.Uint8())
				}
			}
			return nil
		})
	}
	if err := ad.Err(); err != nil {
		return d, false, fmt.Errorf("decoding daemon attributes: %w", err)
	}
	return d, ok, nil
}

func checkState(s SyncState) error {
	if s != SyncMaster && s != SyncBackup {
		return fmt.Errorf("bad state %d: want master (1) or backup (2)", uint32(s))
	}
	return nil
}
