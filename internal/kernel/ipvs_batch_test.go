package kernel

// ipvs_batch_test.go: ApplyChanges over an IPVS that is not a Batcher, and the request encoding.

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestApplyChangesSingleCalls: without Batch, each change is its call, in
// order, and a failure does not stop the rest.
func TestApplyChangesSingleCalls(t *testing.T) {
	a := netip.MustParseAddr
	web := Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}, Scheduler: "wrr"}
	d := Dest{Addr: a("10.0.0.2"), Port: 80, Forward: ForwardMasq, Weight: 1}
	f := &FakeIPVS{Errs: map[string]error{"update-dest tcp:10.0.0.1:80 10.0.0.2:80": unix.ENOMEM}}
	errs := ApplyChanges(f, []Change{
		{Kind: ChangeNewService, Service: web},
		{Kind: ChangeNewDest, Service: web, Dest: d},
		{Kind: ChangeUpdateDest, Service: web, Dest: d},
		{Kind: ChangeNewDest, Service: web, Dest: d},
		{Kind: ChangeUpdateService, Service: web},
		{Kind: ChangeDelDest, Service: web, Dest: d},
		{Kind: ChangeDelService, Service: web},
		{Kind: 0, Service: web},
	})
	want := []string{"new-service tcp:10.0.0.1:80", "new-dest tcp:10.0.0.1:80 10.0.0.2:80",
		"update-dest tcp:10.0.0.1:80 10.0.0.2:80", "new-dest tcp:10.0.0.1:80 10.0.0.2:80",
		"update-service tcp:10.0.0.1:80", "del-dest tcp:10.0.0.1:80 10.0.0.2:80", "del-service tcp:10.0.0.1:80"}
	if diff := cmp.Diff(want, f.Calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	for i, err := range errs {
		fails := i == 2 || i == 3 || i == 7
		if fails != (err != nil) {
			t.Errorf("change %d: %v", i, err)
		}
	}
	if !errors.Is(errs[2], unix.ENOMEM) || !errors.Is(errs[3], ErrExists) {
		t.Errorf("errors: %v", errs)
	}
}

// TestBatchRequestEncoding pins the bytes of two requests: a new IPv6
// persistent service (full) and a deletion of a real server (key only).
func TestBatchRequestEncoding(t *testing.T) {
	s := &batchSocket{family: 0x1234}
	a := netip.MustParseAddr
	svc := Service{ServiceKey: ServiceKey{Proto: UDP, Addr: a("2001:db8::1"), Port: 53}, Scheduler: "sh",
		Flags: OnePacket, Persistent: 60, Netmask: 64}
	le := func(b ...byte) []byte { return b } // x86: native is little endian
	var want []byte
	cat := func(bs ...[]byte) {
		for _, b := range bs {
			want = append(want, b...)
		}
	}
	// nlmsghdr: len, type, flags REQUEST|ACK, seq 7, pid 0; genlmsghdr: cmd 1, version 1.
	cat(le(0x68, 0, 0, 0), le(0x34, 0x12), le(5, 0), le(7, 0, 0, 0), le(0, 0, 0, 0), []byte{1, 1, 0, 0})
	cat(le(0x54, 0, 1, 0))                                       // service, nested
	cat(le(6, 0, 1, 0), le(10, 0), []byte{0, 0})                 // af inet6
	cat(le(6, 0, 2, 0), le(17, 0), []byte{0, 0})                 // udp
	cat(le(20, 0, 3, 0), a("2001:db8::1").AsSlice())             // address
	cat(le(6, 0, 4, 0), []byte{0, 53, 0, 0})                     // port, network order
	cat(le(7, 0, 6, 0), []byte{'s', 'h', 0, 0})                  // scheduler
	cat(le(12, 0, 7, 0), le(5, 0, 0, 0), le(255, 255, 255, 255)) // flags persistent|onepacket, mask
	cat(le(8, 0, 8, 0), le(60, 0, 0, 0))                         // timeout
	cat(le(8, 0, 9, 0), le(64, 0, 0, 0))                         // netmask: prefix length for IPv6
	got := s.appendRequest(nil, Change{Kind: ChangeNewService, Service: svc}, unix.NLM_F_REQUEST|unix.NLM_F_ACK, 7)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("new service (-want +got):\n%s", diff)
	}

	want = nil
	web := ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}
	cat(le(0x54, 0, 0, 0), le(0x34, 0x12), le(1, 0), le(8, 0, 0, 0), le(0, 0, 0, 0), []byte{7, 1, 0, 0})
	cat(le(0x24, 0, 1, 0), le(6, 0, 1, 0), le(2, 0), []byte{0, 0}, le(6, 0, 2, 0), le(6, 0), []byte{0, 0},
		le(8, 0, 3, 0), []byte{10, 0, 0, 1}, le(6, 0, 4, 0), []byte{0, 80, 0, 0})
	cat(le(0x1c, 0, 2, 0), le(6, 0, 11, 0), le(2, 0), []byte{0, 0}, le(8, 0, 1, 0), []byte{10, 0, 0, 2},
		le(6, 0, 2, 0), []byte{0x1f, 0x90, 0, 0})
	got = s.appendRequest(nil, Change{Kind: ChangeDelDest, Service: Service{ServiceKey: web},
		Dest: Dest{Addr: a("::ffff:10.0.0.2"), Port: 8080, Weight: 3}}, unix.NLM_F_REQUEST, 8)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delete real (-want +got):\n%s", diff)
	}
}
