package kernel

// ipvs_batch_vm_test.go: NetlinkIPVS.Batch against Linux 6.1's real IPVS, next to the single calls, inside the test VM.

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/test/ipvsvm"
)

// batchTable is a mixed table: IPv4, IPv6, fwmark; tcp, udp, sctp;
// persistence, netmask, flags; masq, gate, ipip; thresholds.
func batchTable() []VirtualService {
	a := netip.MustParseAddr
	return []VirtualService{
		{Service: Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}, Scheduler: "wrr", Persistent: 300, Netmask: 24},
			Dests: []Dest{
				{Addr: a("10.0.0.2"), Port: 80, Forward: ForwardMasq, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
				{Addr: a("10.0.0.3"), Port: 80, Forward: ForwardGate, Weight: 0},
				{Addr: a("10.0.0.4"), Port: 80, Forward: ForwardTunnel, Weight: 1}}},
		{Service: Service{ServiceKey: ServiceKey{Proto: SCTP, Addr: a("10.0.0.1"), Port: 3868}, Scheduler: "rr"},
			Dests: []Dest{{Addr: a("10.0.0.2"), Port: 3868, Forward: ForwardMasq, Weight: 1}}},
		{Service: Service{ServiceKey: ServiceKey{Proto: UDP, Addr: a("2001:db8::1"), Port: 53}, Scheduler: "sh", Flags: OnePacket | SchedFlag1 | SchedFlag2},
			Dests: []Dest{{Addr: a("2001:db8::2"), Port: 5353, Forward: ForwardMasq, Weight: 2, UpperThreshold: 7}}},
		{Service: Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("2001:db8::1"), Port: 443}, Scheduler: "lc", Persistent: 60, Netmask: 64},
			Dests: []Dest{{Addr: a("::ffff:10.0.0.9"), Port: 443, Forward: ForwardTunnel, Weight: 4}}}, // mixed family: ipip only
		{Service: Service{ServiceKey: ServiceKey{FWMark: 5}, Scheduler: "lc", Persistent: 60},
			Dests: []Dest{{Addr: a("10.0.0.5"), Port: 0, Forward: ForwardGate, Weight: 1}}},
		{Service: Service{ServiceKey: ServiceKey{FWMark: 6, IPv6: true}, Scheduler: "rr", Persistent: 30, Netmask: 64},
			Dests: []Dest{{Addr: a("2001:db8::5"), Port: 0, Forward: ForwardTunnel, Weight: 1, UpperThreshold: 8, LowerThreshold: 3}}},
	}
}

// tableChanges adds vs.
func tableChanges(vs []VirtualService) []Change {
	var cs []Change
	for _, v := range vs {
		cs = append(cs, Change{Kind: ChangeNewService, Service: v.Service})
		for _, d := range v.Dests {
			cs = append(cs, Change{Kind: ChangeNewDest, Service: v.Service, Dest: d})
		}
	}
	return cs
}

// editChanges changes every kind of thing in batchTable's table.
func editChanges(vs []VirtualService) []Change {
	web, dns, fwm6 := vs[0], vs[2], vs[5]
	web.Scheduler, web.Persistent, web.Netmask = "rr", 0, 0
	dns.Scheduler, dns.Flags = "wlc", 0
	fwm6.Persistent, fwm6.Netmask = 90, 48
	d := web.Dests[0]
	d.Forward, d.Weight, d.UpperThreshold, d.LowerThreshold = ForwardGate, 7, 0, 0
	return []Change{
		{Kind: ChangeUpdateService, Service: web.Service},
		{Kind: ChangeUpdateService, Service: dns.Service},
		{Kind: ChangeUpdateService, Service: fwm6.Service},
		{Kind: ChangeUpdateDest, Service: web.Service, Dest: d},
		{Kind: ChangeUpdateDest, Service: fwm6.Service, Dest: Dest{Addr: fwm6.Dests[0].Addr, Forward: ForwardMasq, Weight: 9, UpperThreshold: 5}},
		{Kind: ChangeDelDest, Service: web.Service, Dest: web.Dests[2]},
		{Kind: ChangeDelService, Service: vs[1].Service},
		{Kind: ChangeNewDest, Service: vs[4].Service, Dest: Dest{Addr: netip.MustParseAddr("10.0.0.6"), Forward: ForwardMasq, Weight: 2}},
	}
}

// singleCalls makes changes one call each.
func singleCalls(t *testing.T, v IPVS, cs []Change) {
	t.Helper()
	for _, c := range cs {
		if err := c.call(v); err != nil {
			t.Fatal(err)
		}
	}
}

func batchOK(t *testing.T, v *NetlinkIPVS, cs []Change) {
	t.Helper()
	for i, err := range v.Batch(cs) {
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
}

// TestGuestIPVSBatch: a batch makes the same table as the single calls,
// as ipvsadm -Ln shows it, when adding and when changing.
func TestGuestIPVSBatch(t *testing.T) {
	ipvsvm.GuestOnly(t)
	v := NewIPVS()
	defer v.Close()
	t.Cleanup(func() { ipvsVMRun(t, "ipvsadm", "-C") })
	vs := batchTable()
	show := func() string {
		return ipvsadmTable(t) + ipvsadmTable(t, "--thresholds") + ipvsadmTable(t, "--persistent-conn")
	}

	ipvsVMRun(t, "ipvsadm", "-C")
	singleCalls(t, v, tableChanges(vs))
	single := show()
	singleCalls(t, v, editChanges(vs))
	singleEdited := show()
	if single == singleEdited {
		t.Fatal("the edits changed nothing")
	}

	ipvsVMRun(t, "ipvsadm", "-C")
	batchOK(t, v, tableChanges(vs))
	if diff := cmp.Diff(single, show()); diff != "" {
		t.Errorf("added by a batch (-single calls +batch):\n%s", diff)
	}
	batchOK(t, v, editChanges(vs))
	if diff := cmp.Diff(singleEdited, show()); diff != "" {
		t.Errorf("changed by a batch (-single calls +batch):\n%s", diff)
	}
	got, err := Table(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(vs)-1 {
		t.Errorf("%d services read back, want %d", len(got), len(vs)-1)
	}
}

// TestGuestIPVSBatchErrors: each failing change in a batch gets the error
// its single call gets, and the others are made.
func TestGuestIPVSBatchErrors(t *testing.T) {
	ipvsvm.GuestOnly(t)
	v := NewIPVS()
	defer v.Close()
	t.Cleanup(func() { ipvsVMRun(t, "ipvsadm", "-C") })
	vs := batchTable()
	web, sctp := vs[0], vs[1]
	a := netip.MustParseAddr
	newSvc := Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.9.0.1"), Port: 80}, Scheduler: "rr"}
	newDest := Dest{Addr: a("10.9.0.2"), Port: 80, Forward: ForwardMasq, Weight: 1}
	failing := []Change{
		{Kind: ChangeNewService, Service: web.Service},                                               // exists
		{Kind: ChangeNewService, Service: Service{ServiceKey: sctp.ServiceKey, Scheduler: "nosuch"}}, // unknown scheduler
		{Kind: ChangeDelService, Service: sctp.Service},                                              // missing service
		{Kind: ChangeUpdateService, Service: Service{ServiceKey: sctp.ServiceKey, Scheduler: "rr"}},
		{Kind: ChangeNewDest, Service: web.Service, Dest: web.Dests[0]}, // exists
		{Kind: ChangeDelDest, Service: web.Service, Dest: Dest{Addr: a("10.0.0.99"), Port: 80}},
		{Kind: ChangeUpdateDest, Service: web.Service, Dest: Dest{Addr: a("10.0.0.99"), Port: 80, Forward: ForwardMasq}},
		{Kind: ChangeNewDest, Service: sctp.Service, Dest: newDest},                                                  // missing service
		{Kind: ChangeNewService, Service: Service{ServiceKey: newSvc.ServiceKey}},                                    // no scheduler: refused before sending
		{Kind: ChangeNewDest, Service: newSvc, Dest: Dest{Port: 80}},                                                 // no address: refused before sending
		{Kind: ChangeNewService, Service: Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 1}}}, // no scheduler
	}
	table := []VirtualService{vs[0]} // web only, no sctp
	ipvsVMRun(t, "ipvsadm", "-C")
	singleCalls(t, v, tableChanges(table))
	want := make([]string, len(failing))
	for i, c := range failing {
		err := c.call(v)
		if err == nil {
			t.Fatalf("single call %d succeeded", i)
		}
		want[i] = err.Error()
	}
	// The same failing changes interleaved with good ones, in one batch.
	var cs []Change
	for _, c := range failing {
		cs = append(cs, c)
		if len(cs) == 4 {
			cs = append(cs, Change{Kind: ChangeNewService, Service: newSvc})
		}
	}
	cs = append(cs, Change{Kind: ChangeNewDest, Service: newSvc, Dest: newDest})
	errs := v.Batch(cs)
	var got []string
	for i, err := range errs {
		switch {
		case cs[i].Kind == ChangeNewService && cs[i].Service == newSvc || i == len(cs)-1:
			if err != nil {
				t.Errorf("good change %d: %v", i, err)
			}
		case err == nil:
			t.Errorf("failing change %d succeeded", i)
		default:
			got = append(got, err.Error())
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch errors (-single calls +batch):\n%s", diff)
	}
	for i, is := range []error{ErrExists, ErrNoScheduler, ErrNoService, ErrNoService} {
		if !errors.Is(errs[i], is) {
			t.Errorf("change %d: %v, want errors.Is %v", i, errs[i], is)
		}
	}
	if ds, err := v.Dests(newSvc.ServiceKey); err != nil || len(ds) != 1 {
		t.Errorf("the good changes: %v, %v", ds, err)
	}
}

// TestGuestIPVSBatchLarge: batches longer than one sendmsg, and a long run
// of failures (every error reply read, none lost), leave the socket in step.
func TestGuestIPVSBatchLarge(t *testing.T) {
	ipvsvm.GuestOnly(t)
	v := NewIPVS()
	defer v.Close()
	t.Cleanup(func() { ipvsVMRun(t, "ipvsadm", "-C") })
	ipvsVMRun(t, "ipvsadm", "-C")
	var vs []VirtualService
	for s := range 60 {
		key := ServiceKey{Proto: UDP, Addr: netip.AddrFrom4([4]byte{10, 1, 0, byte(s + 1)}), Port: 53}
		v := VirtualService{Service: Service{ServiceKey: key, Scheduler: "rr"}}
		for i := range 9 {
			v.Dests = append(v.Dests, Dest{Addr: netip.AddrFrom4([4]byte{10, 2, 0, byte(i + 1)}), Port: 53, Forward: ForwardMasq, Weight: i})
		}
		vs = append(vs, v)
	}
	cs := tableChanges(vs) // 600 changes
	batchOK(t, v, cs)
	got, err := Table(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(vs, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Fatalf("table (-want +got):\n%s", diff)
	}
	// All again: 600 failures, "already exists".
	for i, err := range v.Batch(cs) {
		if !errors.Is(err, ErrExists) {
			t.Fatalf("change %d again: %v, want ErrExists", i, err)
		}
	}
	// The socket is in step: deleting works and answers per change.
	var del []Change
	for _, v := range vs {
		del = append(del, Change{Kind: ChangeDelService, Service: v.Service}, Change{Kind: ChangeDelService, Service: v.Service})
	}
	for i, err := range v.Batch(del) {
		if (i%2 == 0) != (err == nil) {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	if svcs, err := v.Services(); err != nil || len(svcs) != 0 {
		t.Fatalf("after the deletes: %v, %v", svcs, err)
	}
}
