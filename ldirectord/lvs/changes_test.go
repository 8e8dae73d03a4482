package lvs

// changes_test.go: ApplyDiff leaves what did not change as the backend has it.

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/internal/kernel"
)

func TestApplyDiff(t *testing.T) {
	f := &kernel.FakeIPVS{}
	r := New(f, nil)
	prev := []Virtual{
		{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.3", 80, kernel.ForwardMasq, 2),
			real("10.0.0.4", 80, kernel.ForwardMasq, 0)}},
		{Service: svc(tls, "rr"), Reals: []kernel.Dest{real("10.0.0.2", 8443, kernel.ForwardGate, 1)}},
	}
	if err := r.Apply(prev).Err(); err != nil {
		t.Fatal(err)
	}
	// By hand: .2 drained, the quiesced .4 deleted, a stranger added.
	if err := f.UpdateDest(web, real("10.0.0.2", 80, kernel.ForwardMasq, 0)); err != nil {
		t.Fatal(err)
	}
	if err := f.DelDest(web, real("10.0.0.4", 80, kernel.ForwardMasq, 0)); err != nil {
		t.Fatal(err)
	}
	if err := f.NewDest(web, real("10.0.0.9", 80, kernel.ForwardMasq, 1)); err != nil {
		t.Fatal(err)
	}
	f.Calls = nil
	// .3 goes down (quiesced); the gate real with its mapped port is
	// unchanged; a new virtual appears.
	next := []Virtual{
		{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.3", 80, kernel.ForwardMasq, 0),
			real("10.0.0.4", 80, kernel.ForwardMasq, 0)}},
		prev[1],
		{Service: svc(mark, "rr"), Reals: []kernel.Dest{real("10.0.0.5", 0, kernel.ForwardGate, 1)}},
	}
	if err := r.ApplyDiff(prev, next).Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"update-dest tcp:10.0.0.1:80 10.0.0.3:80", "new-service fwm:5", "new-dest fwm:5 10.0.0.5:0"}
	if diff := cmp.Diff(want, f.Calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	wantTab := vsOf([]Virtual{
		{Service: svc(web, "wrr"), Reals: []kernel.Dest{
			real("10.0.0.2", 80, kernel.ForwardMasq, 0), real("10.0.0.3", 80, kernel.ForwardMasq, 0),
			real("10.0.0.9", 80, kernel.ForwardMasq, 1)}},
		{Service: svc(tls, "rr"), Reals: []kernel.Dest{real("10.0.0.2", 443, kernel.ForwardGate, 1)}},
		{Service: svc(mark, "rr"), Reals: []kernel.Dest{real("10.0.0.5", 0, kernel.ForwardGate, 1)}},
	})
	if diff := cmp.Diff(wantTab, table(t, f), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}

	// A virtual gone from next is deleted; a real gone is removed, even
	// the stranger's neighbour stays.
	f.Calls = nil
	last := []Virtual{{Service: svc(web, "wrr"), Reals: []kernel.Dest{
		real("10.0.0.2", 80, kernel.ForwardMasq, 3), real("10.0.0.4", 80, kernel.ForwardMasq, 0)}}}
	if err := r.ApplyDiff(next, last).Err(); err != nil {
		t.Fatal(err)
	}
	want = []string{"del-dest tcp:10.0.0.1:80 10.0.0.3:80", "del-service tcp:10.0.0.1:443", "del-service fwm:5"}
	if diff := cmp.Diff(want, f.Calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// listCounter counts the real-server listings a backend answers.
type listCounter struct {
	*kernel.FakeIPVS
	dests map[kernel.ServiceKey]int
}

func (l *listCounter) Dests(svc kernel.ServiceKey) ([]kernel.Dest, error) {
	l.dests[svc]++
	return l.FakeIPVS.Dests(svc)
}

// TestApplyDiffReadsOnlyChanged: a state change of one real costs a
// listing of that virtual service only, however many others there are.
func TestApplyDiffReadsOnlyChanged(t *testing.T) {
	b := &listCounter{FakeIPVS: &kernel.FakeIPVS{}, dests: map[kernel.ServiceKey]int{}}
	r := New(b, nil)
	prev := []Virtual{
		{Service: svc(web, "wrr"), Reals: []kernel.Dest{real("10.0.0.2", 80, kernel.ForwardMasq, 1)}},
		{Service: svc(tls, "rr"), Reals: []kernel.Dest{real("10.0.0.2", 443, kernel.ForwardMasq, 1)}},
	}
	if err := r.Apply(prev).Err(); err != nil {
		t.Fatal(err)
	}
	next := []Virtual{prev[0], {Service: prev[1].Service, Reals: []kernel.Dest{real("10.0.0.2", 443, kernel.ForwardMasq, 0)}}}
	clear(b.dests)
	b.Calls = nil
	if err := r.ApplyDiff(prev, next).Err(); err != nil {
		t.Fatal(err)
	}
	if b.dests[web] != 0 || b.dests[tls] == 0 {
		t.Errorf("listings: %v; want none of %s, some of %s", b.dests, web, tls)
	}
	if want := []string{"update-dest " + tls.String() + " 10.0.0.2:443"}; !cmp.Equal(b.Calls, want) {
		t.Errorf("calls %q, want %q", b.Calls, want)
	}
}
