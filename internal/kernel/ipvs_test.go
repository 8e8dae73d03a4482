package kernel

// ipvs_test.go: the IPVS conversions, error mapping and FakeIPVS.

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/cloudflare/ipvs"
	"github.com/cloudflare/ipvs/netmask"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestIPVSServiceConversion(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name string
		in   Service
		out  ipvs.Service // what is sent
		back Service      // what reads back (the kernel echoes what it got, plus the hashed flag)
	}{{
		name: "v4 always has a /32 netmask",
		in:   Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}, Scheduler: "wrr"},
		out: ipvs.Service{Address: a("10.0.0.1"), Port: 80, Protocol: ipvs.TCP, Family: ipvs.INET, Scheduler: "wrr",
			Netmask: netmask.MaskFrom(32, 32)},
		back: Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}, Scheduler: "wrr"},
	}, {
		name: "mapped v4 address is unmapped",
		in:   Service{ServiceKey: ServiceKey{Proto: UDP, Addr: a("::ffff:10.0.0.1"), Port: 53}, Scheduler: "rr", Flags: OnePacket},
		out: ipvs.Service{Address: a("10.0.0.1"), Port: 53, Protocol: ipvs.UDP, Family: ipvs.INET, Scheduler: "rr",
			Netmask: netmask.MaskFrom(32, 32), Flags: ipvs.ServiceOnePacket},
		back: Service{ServiceKey: ServiceKey{Proto: UDP, Addr: a("10.0.0.1"), Port: 53}, Scheduler: "rr", Flags: OnePacket},
	}, {
		name: "persistent with netmask",
		in:   Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 443}, Scheduler: "rr", Persistent: 300, Netmask: 24},
		out: ipvs.Service{Address: a("10.0.0.1"), Port: 443, Protocol: ipvs.TCP, Family: ipvs.INET, Scheduler: "rr",
			Netmask: netmask.MaskFrom(24, 32), Timeout: 300, Flags: ipvs.ServicePersistent},
		back: Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 443}, Scheduler: "rr", Persistent: 300, Netmask: 24},
	}, {
		name: "a netmask without persistence is not sent",
		in:   Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("2001:db8::1"), Port: 80}, Scheduler: "rr", Netmask: 64},
		out: ipvs.Service{Address: a("2001:db8::1"), Port: 80, Protocol: ipvs.TCP, Family: ipvs.INET6, Scheduler: "rr",
			Netmask: netmask.MaskFrom(128, 128)},
		back: Service{ServiceKey: ServiceKey{Proto: TCP, Addr: a("2001:db8::1"), Port: 80}, Scheduler: "rr"},
	}, {
		name: "fwmark v6",
		in:   Service{ServiceKey: ServiceKey{FWMark: 7, IPv6: true, Proto: TCP, Port: 9}, Scheduler: "sh", Flags: SchedFlag1 | SchedFlag2, Persistent: 60, Netmask: 128},
		out: ipvs.Service{FWMark: 7, Family: ipvs.INET6, Scheduler: "sh", Netmask: netmask.MaskFrom(128, 128), Timeout: 60,
			Flags: ipvs.ServicePersistent | ipvs.ServiceSchedulerOpt1 | ipvs.ServiceSchedulerOpt2},
		back: Service{ServiceKey: ServiceKey{FWMark: 7, IPv6: true}, Scheduler: "sh", Flags: SchedFlag1 | SchedFlag2, Persistent: 60},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := toIPVSService(tc.in)
			if diff := cmp.Diff(tc.out, out, addrCmp, cmp.Comparer(func(a, b netmask.Mask) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if out.FWMark == 0 {
				out.Address = out.Address.Unmap()
			}
			out.Flags |= ipvs.ServiceHashed
			back := fromIPVSService(out)
			if diff := cmp.Diff(tc.back, back, addrCmp); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			if back != tc.in.Canon() {
				t.Errorf("Canon %+v differs from the read back %+v", tc.in.Canon(), back)
			}
		})
	}
}

func TestIPVSDestConversion(t *testing.T) {
	d := Dest{Addr: netip.MustParseAddr("::ffff:10.0.0.2"), Port: 80, Forward: ForwardGate, Weight: 3, UpperThreshold: 9, LowerThreshold: 1}
	out := toIPVSDest(d)
	if out.Family != ipvs.INET || out.Address != netip.MustParseAddr("10.0.0.2") || out.FwdMethod != ipvs.DirectRoute || out.Weight != 3 {
		t.Errorf("sent %+v", out)
	}
	d.Addr = d.Addr.Unmap()
	if back := fromIPVSDest(out); back != d {
		t.Errorf("read back %+v, want %+v", back, d)
	}
}

func TestIPVSErr(t *testing.T) {
	tests := []struct {
		err    error
		enoent error
		is     []error
		msg    string
	}{
		{unix.EEXIST, nil, []error{ErrExists, unix.EEXIST}, "op: already exists (file exists)"},
		{unix.ESRCH, ErrNoDest, []error{ErrNoService, unix.ESRCH}, "op: no such virtual service (no such process)"},
		{unix.ENOENT, ErrNoDest, []error{ErrNoDest, unix.ENOENT}, "op: no such real server (no such file or directory)"},
		{unix.ENOENT, ErrNoScheduler, []error{ErrNoScheduler}, "op: unknown scheduler (no such file or directory)"},
		{unix.ENOENT, nil, []error{unix.ENOENT}, "op: no such file or directory"},
		{unix.EINVAL, ErrNoDest, []error{unix.EINVAL}, "op: invalid argument"},
	}
	for _, tc := range tests {
		err := ipvsErr("op", tc.err, tc.enoent)
		for _, is := range tc.is {
			if !errors.Is(err, is) {
				t.Errorf("%v: not %v", err, is)
			}
		}
		if err.Error() != tc.msg {
			t.Errorf("%q, want %q", err, tc.msg)
		}
	}
	if ipvsErr("op", nil, nil) != nil {
		t.Error("nil error wrapped")
	}
}

func TestFakeIPVS(t *testing.T) {
	a := netip.MustParseAddr
	f := &FakeIPVS{}
	web := ServiceKey{Proto: TCP, Addr: a("10.0.0.1"), Port: 80}
	fwm := ServiceKey{FWMark: 3}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.NewService(Service{ServiceKey: fwm, Scheduler: "rr"}))
	must(f.NewService(Service{ServiceKey: web, Scheduler: "wrr", Netmask: 24}))
	must(f.NewDest(web, Dest{Addr: a("10.0.0.3"), Port: 80, Weight: 1}))
	must(f.NewDest(web, Dest{Addr: a("10.0.0.2"), Port: 80, Weight: 2}))
	must(f.UpdateDest(web, Dest{Addr: a("10.0.0.2"), Port: 80, Weight: 0}))
	tab, err := Table(f)
	must(err)
	want := []VirtualService{
		{Service: Service{ServiceKey: web, Scheduler: "wrr"}, Dests: []Dest{
			{Addr: a("10.0.0.2"), Port: 80, Weight: 0}, {Addr: a("10.0.0.3"), Port: 80, Weight: 1}}},
		{Service: Service{ServiceKey: fwm, Scheduler: "rr"}},
	}
	if diff := cmp.Diff(want, tab, addrCmp); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	checks := []struct {
		err error
		is  error
	}{
		{f.NewService(Service{ServiceKey: web, Scheduler: "rr"}), ErrExists},
		{f.NewService(Service{ServiceKey: ServiceKey{FWMark: 4}, Scheduler: "nosuch"}), ErrNoScheduler},
		{f.UpdateService(Service{ServiceKey: ServiceKey{FWMark: 4}, Scheduler: "rr"}), ErrNoService},
		{f.DelService(ServiceKey{FWMark: 4}), ErrNoService},
		{f.NewDest(web, Dest{Addr: a("10.0.0.2"), Port: 80}), ErrExists},
		{f.DelDest(web, Dest{Addr: a("10.0.0.2"), Port: 81}), ErrNoDest},
		{f.NewDest(ServiceKey{FWMark: 4}, Dest{Addr: a("10.0.0.2")}), ErrNoService},
		{func() error { _, err := f.Dests(ServiceKey{FWMark: 4}); return err }(), ErrNoService},
	}
	for i, c := range checks {
		if !errors.Is(c.err, c.is) {
			t.Errorf("check %d: %v, want %v", i, c.err, c.is)
		}
	}
	must(f.DelDest(web, Dest{Addr: a("10.0.0.3"), Port: 80}))
	must(f.DelService(fwm))
	f.Errs = map[string]error{"del-service tcp:10.0.0.1:80": unix.EPERM}
	if err := f.DelService(web); !errors.Is(err, unix.EPERM) || err.Error() != "deleting virtual service tcp:10.0.0.1:80: operation not permitted" {
		t.Errorf("injected error: %v", err)
	}
	wantCalls := []string{"new-service fwm:3", "new-service tcp:10.0.0.1:80", "new-dest tcp:10.0.0.1:80 10.0.0.3:80",
		"new-dest tcp:10.0.0.1:80 10.0.0.2:80", "update-dest tcp:10.0.0.1:80 10.0.0.2:80",
		"new-service tcp:10.0.0.1:80", "new-service fwm:4", "update-service fwm:4", "del-service fwm:4",
		"new-dest tcp:10.0.0.1:80 10.0.0.2:80", "del-dest tcp:10.0.0.1:80 10.0.0.2:81", "new-dest fwm:4 10.0.0.2:0",
		"del-dest tcp:10.0.0.1:80 10.0.0.3:80", "del-service fwm:3", "del-service tcp:10.0.0.1:80"}
	if diff := cmp.Diff(wantCalls, f.Calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestServiceKeyString(t *testing.T) {
	for k, want := range map[ServiceKey]string{
		{Proto: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}:     "tcp:10.0.0.1:80",
		{Proto: SCTP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53}: "sctp:[2001:db8::1]:53",
		{FWMark: 5}:             "fwm:5",
		{FWMark: 5, IPv6: true}: "fwm6:5",
	} {
		if got := k.String(); got != want {
			t.Errorf("%+v: %q, want %q", k, got, want)
		}
	}
}
