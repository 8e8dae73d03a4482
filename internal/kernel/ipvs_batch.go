package kernel

// ipvs_batch.go: IPVS changes in batches, many generic netlink requests per system call.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/mdlayher/genetlink"
	"golang.org/x/sys/unix"
)

// ChangeKind is what a Change does.
type ChangeKind uint8

// The changes, one per IPVS call.
const (
	ChangeNewService ChangeKind = iota + 1
	ChangeUpdateService
	ChangeDelService
	ChangeNewDest
	ChangeUpdateDest
	ChangeDelDest
)

// Change is one change of the IPVS table.
type Change struct {
	Kind ChangeKind
	// Service is the service; only its key matters but for
	// ChangeNewService and ChangeUpdateService.
	Service Service
	// Dest is the real server of the dest changes.
	Dest Dest
}

// Batcher is an IPVS that makes many changes per system call.
type Batcher interface {
	// Batch makes the changes in order, each as its own call would, and
	// returns their errors: errs[i] is changes[i]'s, nil when it succeeded.
	// A failed change does not stop the others.
	Batch(changes []Change) (errs []error)
}

// ApplyChanges makes the changes with v's Batch when v is a Batcher, else
// with one call each; errs[i] is changes[i]'s error.
func ApplyChanges(v IPVS, changes []Change) (errs []error) {
	if b, ok := v.(Batcher); ok {
		return b.Batch(changes)
	}
	errs = make([]error, len(changes))
	for i, c := range changes {
		errs[i] = c.call(v)
	}
	return errs
}

// call makes c with one IPVS call.
func (c Change) call(v IPVS) error {
	switch c.Kind {
	case ChangeNewService:
		return v.NewService(c.Service)
	case ChangeUpdateService:
		return v.UpdateService(c.Service)
	case ChangeDelService:
		return v.DelService(c.Service.ServiceKey)
	case ChangeNewDest:
		return v.NewDest(c.Service.ServiceKey, c.Dest)
	case ChangeUpdateDest:
		return v.UpdateDest(c.Service.ServiceKey, c.Dest)
	case ChangeDelDest:
		return v.DelDest(c.Service.ServiceKey, c.Dest)
	}
	return fmt.Errorf("IPVS change of unknown kind %d", c.Kind)
}

// IPVS generic netlink commands and attributes (include/uapi/linux/ip_vs.h).
const (
	ipvsCmdNewService = 1
	ipvsCmdSetService = 2
	ipvsCmdDelService = 3
	ipvsCmdNewDest    = 5
	ipvsCmdSetDest    = 6
	ipvsCmdDelDest    = 7

	ipvsCmdAttrService = 1
	ipvsCmdAttrDest    = 2

	ipvsSvcAttrAF        = 1
	ipvsSvcAttrProtocol  = 2
	ipvsSvcAttrAddr      = 3
	ipvsSvcAttrPort      = 4
	ipvsSvcAttrFWMark    = 5
	ipvsSvcAttrSchedName = 6
	ipvsSvcAttrFlags     = 7
	ipvsSvcAttrTimeout   = 8
	ipvsSvcAttrNetmask   = 9

	ipvsDestAttrAddr      = 1
	ipvsDestAttrPort      = 2
	ipvsDestAttrFwdMethod = 3
	ipvsDestAttrWeight    = 4
	ipvsDestAttrUThresh   = 5
	ipvsDestAttrLThresh   = 6
	ipvsDestAttrAF        = 11
)

// batchMax bounds the requests per sendmsg: even if every one fails, the
// error replies (NETLINK_CAP_ACK makes them small) fit in the default
// receive buffer. Measured in the VM, 30 or 128 requests per sendmsg cost
// the same; 11 a little more, 1 three times as much.
const batchMax = 128

// Batch makes the changes over a socket of its own, many requests per
// sendmsg. Only the last request of a sendmsg asks for an acknowledgement;
// the kernel answers the others only when they fail, and it has queued
// every answer by the time sendmsg returns (generic netlink runs the
// requests in the sender's context), so the replies are read without
// waiting. The messages are the ones cloudflare/ipvs sends, but that a
// change that needs only the service's or real server's key sends only the
// key.
func (n *NetlinkIPVS) Batch(changes []Change) []error {
	errs := make([]error, len(changes))
	n.mu.Lock()
	defer n.mu.Unlock()
	s, err := n.batchSocket()
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for start := 0; start < len(changes); {
		start += s.send(changes[start:], errs[start:])
	}
	return errs
}

// batchSocket returns the batch socket, opening it if needed. n.mu is held.
func (n *NetlinkIPVS) batchSocket() (*batchSocket, error) {
	if n.batch != nil {
		return n.batch, nil
	}
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("opening generic netlink socket: %w", err)
	}
	fam, err := c.GetFamily(ipvsGenlName)
	c.Close()
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoIPVS
	}
	if err != nil {
		return nil, fmt.Errorf("looking up generic netlink family %s: %w", ipvsGenlName, err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("opening generic netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding generic netlink socket: %w", err)
	}
	// Error replies without the request in them (Linux 4.3+).
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	n.batch = &batchSocket{fd: fd, family: fam.ID, rbuf: make([]byte, 64<<10)}
	return n.batch, nil
}

// batchSocket is a blocking generic netlink socket for batches.
type batchSocket struct {
	fd     int
	family uint16
	seq    uint32
	wbuf   []byte
	rbuf   []byte
}

func (s *batchSocket) close() error { return unix.Close(s.fd) }

// send makes the first batchMax changes (or all, if fewer) with one
// sendmsg, sets their errors and returns how many it made.
func (s *batchSocket) send(changes []Change, errs []error) int {
	count := min(len(changes), batchMax)
	first := s.seq + 1
	s.seq += uint32(count) // one sequence number per change, sent or not
	s.wbuf = s.wbuf[:0]
	last, lastAt := -1, 0 // the last change sent and its offset in wbuf
	for i, c := range changes[:count] {
		if err := checkChange(c); err != nil {
			errs[i] = err
			continue
		}
		lastAt = len(s.wbuf)
		s.wbuf = s.appendRequest(s.wbuf, c, unix.NLM_F_REQUEST, first+uint32(i))
		last = i
	}
	if last < 0 {
		return count
	}
	binary.NativeEndian.PutUint16(s.wbuf[lastAt+6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	changes, errs = changes[:count], errs[:count]
	lastSeq := first + uint32(last)
	if err := unix.Sendto(s.fd, s.wbuf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		for i := range changes {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%s: sending generic netlink batch: %w", describe(changes[i]), err)
			}
		}
		return count
	}
	answered := make([]bool, count)
	for {
		n, _, err := unix.Recvfrom(s.fd, s.rbuf, unix.MSG_DONTWAIT)
		if err != nil {
			// Nothing more will come: replies were lost (ENOBUFS) or
			// never sent. What happened to the rest is unknown.
			for i := range changes {
				if errs[i] == nil && !answered[i] {
					errs[i] = fmt.Errorf("%s: no answer from the kernel: %w", describe(changes[i]), err)
				}
			}
			return count
		}
		for b := s.rbuf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			typ := binary.NativeEndian.Uint16(b[4:6])
			seq := binary.NativeEndian.Uint32(b[8:12])
			i := int(seq - first)
			if typ == unix.NLMSG_ERROR && l >= unix.NLMSG_HDRLEN+4 && i >= 0 && i < count && errs[i] == nil {
				answered[i] = true
				if code := int32(binary.NativeEndian.Uint32(b[16:20])); code != 0 {
					errs[i] = changeErr(changes[i], unix.Errno(-code))
				}
				if seq == lastSeq {
					return count
				}
			}
			b = b[min(nlmAlign(l), len(b)):]
		}
	}
}

func nlmAlign(n int) int { return (n + 3) &^ 3 }

// checkChange rejects what the single calls reject before sending.
func checkChange(c Change) error {
	switch c.Kind {
	case ChangeNewService, ChangeUpdateService:
		return checkService(c.Service)
	case ChangeNewDest, ChangeUpdateDest:
		return checkDest(c.Dest)
	case ChangeDelService, ChangeDelDest:
		return nil
	}
	return fmt.Errorf("IPVS change of unknown kind %d", c.Kind)
}

// callName is the change as FakeIPVS spells the call ("new-dest").
var callName = [...]string{ChangeNewService: "new-service", ChangeUpdateService: "update-service",
	ChangeDelService: "del-service", ChangeNewDest: "new-dest", ChangeUpdateDest: "update-dest", ChangeDelDest: "del-dest"}

func describe(c Change) string {
	return opName(callName[c.Kind], c.Service.ServiceKey.Canon(), Dest{Addr: c.Dest.Addr.Unmap(), Port: c.Dest.Port})
}

// changeErr is the error of a failed change, as its single call reports it.
func changeErr(c Change, errno unix.Errno) error {
	enoent := ErrNoScheduler
	if c.Kind >= ChangeNewDest {
		enoent = ErrNoDest
	} else if c.Kind == ChangeDelService {
		enoent = nil
	}
	return ipvsErr(describe(c), errno, enoent)
}

// appendRequest appends the generic netlink request for c.
func (s *batchSocket) appendRequest(b []byte, c Change, flags uint16, seq uint32) []byte {
	start := len(b)
	b = binary.NativeEndian.AppendUint32(b, 0) // length, set below
	b = binary.NativeEndian.AppendUint16(b, s.family)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port id: the kernel's to fill
	var cmd uint8
	switch c.Kind {
	case ChangeNewService:
		cmd = ipvsCmdNewService
	case ChangeUpdateService:
		cmd = ipvsCmdSetService
	case ChangeDelService:
		cmd = ipvsCmdDelService
	case ChangeNewDest:
		cmd = ipvsCmdNewDest
	case ChangeUpdateDest:
		cmd = ipvsCmdSetDest
	case ChangeDelDest:
		cmd = ipvsCmdDelDest
	}
	b = append(b, cmd, ipvsGenlVersion, 0, 0)
	full := c.Kind == ChangeNewService || c.Kind == ChangeUpdateService
	b = appendService(b, c.Service, full)
	if c.Kind >= ChangeNewDest {
		b = appendDest(b, c.Dest, c.Kind != ChangeDelDest)
	}
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// appendService appends the service attribute: the key, and with full the
// settings, encoded as toIPVSService and cloudflare/ipvs encode them.
func appendService(b []byte, svc Service, full bool) []byte {
	s := toIPVSService(svc)
	b, nest := beginAttr(b, ipvsCmdAttrService)
	b = appendU16(b, ipvsSvcAttrAF, uint16(s.Family))
	if s.FWMark != 0 {
		b = appendU32(b, ipvsSvcAttrFWMark, s.FWMark)
	} else {
		b = appendU16(b, ipvsSvcAttrProtocol, uint16(s.Protocol))
		b = appendAttr(b, ipvsSvcAttrAddr, s.Address.AsSlice())
		b = appendAttr(b, ipvsSvcAttrPort, binary.BigEndian.AppendUint16(nil, s.Port))
	}
	if full {
		b = appendAttr(b, ipvsSvcAttrSchedName, append([]byte(s.Scheduler), 0))
		b = appendAttr(b, ipvsSvcAttrFlags, binary.NativeEndian.AppendUint32(
			binary.NativeEndian.AppendUint32(nil, uint32(s.Flags)), 0xffffffff))
		b = appendU32(b, ipvsSvcAttrTimeout, s.Timeout)
		if s.Netmask.Is4() {
			b = appendAttr(b, ipvsSvcAttrNetmask, s.Netmask.AsSlice())
		} else {
			b = appendU32(b, ipvsSvcAttrNetmask, uint32(s.Netmask.Bits()))
		}
	}
	return endAttr(b, nest)
}

// appendDest appends the real server attribute: its key, and with full its
// settings.
func appendDest(b []byte, d Dest, full bool) []byte {
	cd := toIPVSDest(d)
	b, nest := beginAttr(b, ipvsCmdAttrDest)
	b = appendU16(b, ipvsDestAttrAF, uint16(cd.Family))
	b = appendAttr(b, ipvsDestAttrAddr, cd.Address.AsSlice())
	b = appendAttr(b, ipvsDestAttrPort, binary.BigEndian.AppendUint16(nil, cd.Port))
	if full {
		b = appendU32(b, ipvsDestAttrFwdMethod, uint32(cd.FwdMethod))
		b = appendU32(b, ipvsDestAttrWeight, cd.Weight)
		b = appendU32(b, ipvsDestAttrUThresh, cd.UpperThreshold)
		b = appendU32(b, ipvsDestAttrLThresh, cd.LowerThreshold)
	}
	return endAttr(b, nest)
}

// appendAttr appends a netlink attribute, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.NLA_HDRLEN+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendU16(b []byte, typ uint16, v uint16) []byte {
	var a [2]byte
	binary.NativeEndian.PutUint16(a[:], v)
	return appendAttr(b, typ, a[:])
}

func appendU32(b []byte, typ uint16, v uint32) []byte {
	var a [4]byte
	binary.NativeEndian.PutUint32(a[:], v)
	return appendAttr(b, typ, a[:])
}

// beginAttr starts a nested attribute; endAttr sets its length.
func beginAttr(b []byte, typ uint16) ([]byte, int) {
	return binary.NativeEndian.AppendUint16(binary.NativeEndian.AppendUint16(b, 0), typ), len(b)
}

func endAttr(b []byte, start int) []byte {
	binary.NativeEndian.PutUint16(b[start:], uint16(len(b)-start))
	return b
}
