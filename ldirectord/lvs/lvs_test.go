package lvs

// lvs_test.go: the reconciler against kernel.FakeIPVS.

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/internal/kernel"
)

var (
	web  = kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	tls  = kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 443}
	dns6 = kernel.ServiceKey{Proto: kernel.UDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53}
	mark = kernel.ServiceKey{FWMark: 5}
)

func real(addr string, port uint16, fwd kernel.Forward, w int) kernel.Dest {
	return kernel.Dest{Addr: netip.MustParseAddr(addr), Port: port, Forward: fwd, Weight: w}
}

func svc(k kernel.ServiceKey, sched string) kernel.Service {
	return kernel.Service{ServiceKey: k, Scheduler: sched}
}

// seed puts a table into f directly, as another program would.
func seed(t *testing.T, f *kernel.FakeIPVS, vs []Virtual) {
	t.Helper()
	for _, v := range vs {
		if err := f.NewService(v.Service); err != nil {
			t.Fatal(err)
		}
		for _, d := range v.Reals {
			if err := f.NewDest(v.ServiceKey, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Calls = nil
}

func table(t *testing.T, f *kernel.FakeIPVS) []kernel.VirtualService {
	t.Helper()
	tab, err := kernel.Table(f)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func vsOf(vs []Virtual) []kernel.VirtualService {
	var out []kernel.VirtualService
	for _, v := range vs {
		ds := append([]kernel.Dest(nil), v.Reals...)
		kernel.SortDests(ds)
		out = append(out, kernel.VirtualService{Service: v.Service.Canon(), Dests: ds})
	}
	slices.SortFunc(out, func(a, b kernel.VirtualService) int {
		s := []kernel.Service{b.Service, a.Service}
		kernel.SortServices(s)
		if s[0] == a.Service {
			return -1
		}
		return 1
	})
	return out
}

func TestApply(t *testing.T) {
	base := []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
		real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.3", 80, kernel.ForwardMasq, 1)}}}
	foreign := Virtual{Service: svc(tls, "rr"), Reals: []kernel.Dest{real("10.0.0.9", 443, kernel.ForwardGate, 1)}}
	tests := []struct {
		name     string
		seed     []Virtual // in the kernel before, not through the reconciler
		previous []Virtual // applied before (owned)
		desired  []Virtual
		errs     map[string]error
		calls    []string
		table    []Virtual // the whole table after
		wantErr  string
	}{{
		name:    "cold add",
		desired: base,
		calls: []string{"new-service tcp:10.0.0.1:80", "new-dest tcp:10.0.0.1:80 10.0.0.2:80",
			"new-dest tcp:10.0.0.1:80 10.0.0.3:80"},
		table: base,
	}, {
		name:     "weight change",
		previous: base,
		desired: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.3", 80, kernel.ForwardMasq, 5)}}},
		calls: []string{"update-dest tcp:10.0.0.1:80 10.0.0.3:80"},
		table: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.3", 80, kernel.ForwardMasq, 5)}}},
	}, {
		name:     "quiescent is weight 0, not a delete",
		previous: base,
		desired: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 0), real("10.0.0.3", 80, kernel.ForwardMasq, 1)}}},
		calls: []string{"update-dest tcp:10.0.0.1:80 10.0.0.2:80"},
		table: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 0), real("10.0.0.3", 80, kernel.ForwardMasq, 1)}}},
	}, {
		name:     "remove a real, add one: the add comes first",
		previous: base,
		desired: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.4", 80, kernel.ForwardMasq, 2), real("10.0.0.3", 80, kernel.ForwardMasq, 1)}}},
		calls: []string{"new-dest tcp:10.0.0.1:80 10.0.0.4:80", "del-dest tcp:10.0.0.1:80 10.0.0.2:80"},
		table: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.3", 80, kernel.ForwardMasq, 1), real("10.0.0.4", 80, kernel.ForwardMasq, 2)}}},
	}, {
		name:     "service settings change in place",
		previous: base,
		desired: []Virtual{{Service: kernel.Service{ServiceKey: web, Scheduler: "rr", Persistent: 300, Netmask: 24},
			Reals: base[0].Reals}},
		calls: []string{"update-service tcp:10.0.0.1:80"},
		table: []Virtual{{Service: kernel.Service{ServiceKey: web, Scheduler: "rr", Persistent: 300, Netmask: 24},
			Reals: base[0].Reals}},
	}, {
		name: "foreign service untouched; foreign reals in our service purged",
		seed: []Virtual{foreign, {Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.8", 80, kernel.ForwardMasq, 1)}}},
		desired: base,
		calls:   []string{"new-dest tcp:10.0.0.1:80 10.0.0.3:80", "del-dest tcp:10.0.0.1:80 10.0.0.8:80"},
		table:   append(append([]Virtual{}, base...), foreign),
	}, {
		name:     "a service dropped from the config is deleted, foreign ones stay",
		seed:     []Virtual{foreign},
		previous: append([]Virtual{{Service: svc(mark, "rr")}}, base...),
		desired:  base,
		calls:    []string{"del-service fwm:5"},
		table:    append(append([]Virtual{}, base...), foreign),
	}, {
		name:     "empty desired state purges what we own only",
		seed:     []Virtual{foreign},
		previous: base,
		desired:  nil,
		calls:    []string{"del-service tcp:10.0.0.1:80"},
		table:    []Virtual{foreign},
	}, {
		name: "gate and ipip real ports are the virtual port: no flap",
		seed: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{real("10.0.0.2", 80, kernel.ForwardGate, 1)}}},
		desired: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 8080, kernel.ForwardGate, 1), real("10.0.0.3", 0, kernel.ForwardTunnel, 2)}}},
		calls: []string{"new-dest tcp:10.0.0.1:80 10.0.0.3:80"},
		table: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardGate, 1), real("10.0.0.3", 80, kernel.ForwardTunnel, 2)}}},
	}, {
		name: "fwmark and masq real ports are kept",
		desired: []Virtual{{Service: svc(mark, "sh"), Reals: []kernel.Dest{real("10.0.0.2", 8080, kernel.ForwardGate, 1)}},
			{Service: svc(web, "wrr"), Reals: []kernel.Dest{real("10.0.0.2", 8080, kernel.ForwardMasq, 1)}}},
		calls: []string{"new-service fwm:5", "new-dest fwm:5 10.0.0.2:8080",
			"new-service tcp:10.0.0.1:80", "new-dest tcp:10.0.0.1:80 10.0.0.2:8080"},
		table: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{real("10.0.0.2", 8080, kernel.ForwardMasq, 1)}},
			{Service: svc(mark, "sh"), Reals: []kernel.Dest{real("10.0.0.2", 8080, kernel.ForwardGate, 1)}}},
	}, {
		name: "a local real (forward read back as local) does not flap",
		seed: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{real("10.0.0.2", 80, kernel.ForwardLocal, 1)}}},
		desired: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 1)}}},
		table: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{real("10.0.0.2", 80, kernel.ForwardLocal, 1)}}},
	}, {
		name: "one failing entry does not stop the others",
		desired: append([]Virtual{{Service: svc(dns6, "nosuch")}, {Service: svc(tls, "rr"), Reals: []kernel.Dest{
			real("10.0.0.2", 443, kernel.ForwardMasq, 1), real("10.0.0.3", 443, kernel.ForwardMasq, 1)}}}, base...),
		errs: map[string]error{"new-dest tcp:10.0.0.1:443 10.0.0.2:443": unix.ENOMEM},
		calls: []string{"new-service udp:[2001:db8::1]:53", "new-service tcp:10.0.0.1:443",
			"new-dest tcp:10.0.0.1:443 10.0.0.2:443", "new-dest tcp:10.0.0.1:443 10.0.0.3:443",
			"new-service tcp:10.0.0.1:80", "new-dest tcp:10.0.0.1:80 10.0.0.2:80", "new-dest tcp:10.0.0.1:80 10.0.0.3:80"},
		table: append([]Virtual{{Service: svc(tls, "rr"), Reals: []kernel.Dest{real("10.0.0.3", 443, kernel.ForwardMasq, 1)}}}, base...),
		wantErr: "adding virtual service udp:[2001:db8::1]:53: unknown scheduler (no such file or directory)\n" +
			"adding real server 10.0.0.2:443 to tcp:10.0.0.1:443: cannot allocate memory",
	}, {
		name:     "a failed service edit still reconciles its reals",
		previous: base,
		desired: []Virtual{{Service: svc(web, "nosuch"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 0), real("10.0.0.3", 80, kernel.ForwardMasq, 1)}}},
		calls: []string{"update-service tcp:10.0.0.1:80", "update-dest tcp:10.0.0.1:80 10.0.0.2:80"},
		table: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 0), real("10.0.0.3", 80, kernel.ForwardMasq, 1)}}},
		wantErr: "changing virtual service tcp:10.0.0.1:80: unknown scheduler (no such file or directory)",
	}, {
		name: "duplicates in the desired state are errors, the first wins",
		desired: []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardGate, 1), real("10.0.0.2", 81, kernel.ForwardGate, 2)}},
			{Service: svc(web, "rr")}},
		calls:   []string{"new-service tcp:10.0.0.1:80", "new-dest tcp:10.0.0.1:80 10.0.0.2:80"},
		table:   []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{real("10.0.0.2", 80, kernel.ForwardGate, 1)}}},
		wantErr: "real server 10.0.0.2:80 of tcp:10.0.0.1:80: desired twice\nvirtual service tcp:10.0.0.1:80: desired twice",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &kernel.FakeIPVS{}
			seed(t, f, tc.seed)
			r := New(f, nil)
			if tc.previous != nil {
				if err := r.Apply(tc.previous).Err(); err != nil {
					t.Fatal(err)
				}
				f.Calls = nil
			}
			f.Errs = tc.errs
			res := r.Apply(tc.desired)
			gotErr := ""
			if err := res.Err(); err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.wantErr {
				t.Errorf("errors:\n%s\nwant:\n%s", gotErr, tc.wantErr)
			}
			if diff := cmp.Diff(tc.calls, f.Calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if len(res.Ops) != len(f.Calls) {
				t.Errorf("%d ops reported for %d calls: %v", len(res.Ops), len(f.Calls), res.Ops)
			}
			if diff := cmp.Diff(vsOf(tc.table), table(t, f), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
			// Idempotence: the same desired state again changes nothing.
			if tc.wantErr != "" {
				return
			}
			f.Calls = nil
			if res := r.Apply(tc.desired); len(res.Ops) != 0 || len(f.Calls) != 0 || res.Err() != nil {
				t.Errorf("second Apply: ops %v, calls %v, err %v", res.Ops, f.Calls, res.Err())
			}
		})
	}
}

// TestApplyOps pins the reported ops and their log strings.
func TestApplyOps(t *testing.T) {
	f := &kernel.FakeIPVS{}
	r := New(f, nil)
	desired := []Virtual{{Service: kernel.Service{ServiceKey: web, Scheduler: "wrr", Persistent: 60},
		Reals: []kernel.Dest{real("10.0.0.2", 80, kernel.ForwardMasq, 3)}}}
	r.Apply(desired)
	desired[0].Reals[0].Weight = 0
	res := r.Apply(desired)
	var got []string
	for _, op := range res.Ops {
		got = append(got, op.String())
	}
	want := []string{"edit real tcp:10.0.0.1:80 10.0.0.2:80 masq weight 0 thresholds 0/0 (was masq weight 3 thresholds 0/0)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
	if !r.Owned(web) || r.Owned(tls) {
		t.Errorf("Owned(web)=%v Owned(tls)=%v", r.Owned(web), r.Owned(tls))
	}
	res = r.Apply(nil)
	if len(res.Ops) != 1 || res.Ops[0].String() != "delete service tcp:10.0.0.1:80" || r.Owned(web) {
		t.Errorf("Apply(nil): %v, owned %v", res.Ops, r.Owned(web))
	}
}

// TestApplyListingFails: nothing is done when the table cannot be read.
func TestApplyListingFails(t *testing.T) {
	f := &kernel.FakeIPVS{Errs: map[string]error{"services": kernel.ErrNoIPVS}}
	res := New(f, nil).Apply([]Virtual{{Service: svc(web, "wrr")}})
	if !errors.Is(res.Err(), kernel.ErrNoIPVS) || len(res.Ops) != 0 || len(f.Calls) != 0 {
		t.Errorf("Apply: %v, ops %v, calls %v", res.Err(), res.Ops, f.Calls)
	}
	if !strings.Contains(res.Err().Error(), "listing IPVS services") {
		t.Errorf("error %q lacks context", res.Err())
	}
}

// BenchmarkApplyCold measures the reconciler's own cost for 100 services ×
// 100 reals against the in-memory fake (the kernel's cost is in the VM
// benchmark, TestGuestLVSBench).
func BenchmarkApplyCold(b *testing.B) {
	var desired []Virtual
	for s := 0; s < 100; s++ {
		key := kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.AddrFrom4([4]byte{10, 1, 0, byte(s + 1)}), Port: 80}
		vs := Virtual{Service: kernel.Service{ServiceKey: key, Scheduler: "wrr"}}
		for i := 0; i < 100; i++ {
			vs.Reals = append(vs.Reals, real(netip.AddrFrom4([4]byte{10, 2, 0, byte(i + 1)}).String(), 80, kernel.ForwardMasq, 1))
		}
		desired = append(desired, vs)
	}
	for b.Loop() {
		r := New(&kernel.FakeIPVS{}, nil)
		if res := r.Apply(desired); len(res.Ops) != 10100 {
			b.Fatal(res.Err())
		}
		if res := r.Apply(desired); len(res.Ops) != 0 {
			b.Fatal(res.Ops)
		}
	}
}
