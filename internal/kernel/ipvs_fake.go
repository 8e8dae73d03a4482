package kernel

// ipvs_fake.go: FakeIPVS, an in-memory IPVS for unit tests of other packages.

import (
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// FakeIPVS is an in-memory IPVS with the kernel's answers: EEXIST for a
// duplicate, ESRCH for a missing service, ENOENT for a missing real server
// or an unknown scheduler (wrapped as NetlinkIPVS wraps them). It records
// every call. The zero value is ready to use.
type FakeIPVS struct {
	mu   sync.Mutex
	svcs map[ServiceKey]*fakeService
	// Calls lists the changing calls made, e.g. "new-service tcp:10.0.0.1:80",
	// "update-dest tcp:10.0.0.1:80 10.0.0.2:80", "del-dest fwm:5 10.0.0.3:0".
	Calls []string
	// Errs makes a call fail: keyed by the call as Calls spells it, or by
	// "services" and "dests <service>" for the listings.
	Errs map[string]error
	// Schedulers, when not nil, are the known schedulers; default: the
	// ones Debian's kernel ships.
	Schedulers []string
}

type fakeService struct {
	svc   Service
	dests []Dest
}

var _ IPVS = (*FakeIPVS)(nil)

var fakeSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

// call records a changing call and returns its injected error.
func (f *FakeIPVS) call(c string) error {
	f.Calls = append(f.Calls, c)
	return f.Errs[c]
}

// Services lists the virtual services.
func (f *FakeIPVS) Services() ([]Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.Errs["services"]; err != nil {
		return nil, fmt.Errorf("listing IPVS services: %w", err)
	}
	out := make([]Service, 0, len(f.svcs))
	for _, s := range f.svcs {
		out = append(out, s.svc)
	}
	SortServices(out)
	return out, nil
}

// Dests lists the real servers of svc.
func (f *FakeIPVS) Dests(svc ServiceKey) ([]Dest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := "listing real servers of " + svc.String()
	if err := f.Errs["dests "+svc.String()]; err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	s, ok := f.svcs[svc]
	if !ok {
		return nil, ipvsErr(op, unix.ESRCH, nil)
	}
	out := slices.Clone(s.dests)
	SortDests(out)
	return out, nil
}

// NewService adds a virtual service.
func (f *FakeIPVS) NewService(svc Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc = svc.Canon()
	op := "adding virtual service " + svc.String()
	if err := f.call("new-service " + svc.String()); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := f.checkService(op, svc); err != nil {
		return err
	}
	if _, ok := f.svcs[svc.ServiceKey]; ok {
		return ipvsErr(op, unix.EEXIST, nil)
	}
	if f.svcs == nil {
		f.svcs = map[ServiceKey]*fakeService{}
	}
	f.svcs[svc.ServiceKey] = &fakeService{svc: svc}
	return nil
}

// UpdateService changes a virtual service.
func (f *FakeIPVS) UpdateService(svc Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc = svc.Canon()
	op := "changing virtual service " + svc.String()
	if err := f.call("update-service " + svc.String()); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := f.checkService(op, svc); err != nil {
		return err
	}
	s, ok := f.svcs[svc.ServiceKey]
	if !ok {
		return ipvsErr(op, unix.ESRCH, nil)
	}
	s.svc = svc
	return nil
}

// DelService removes a virtual service and its real servers.
func (f *FakeIPVS) DelService(svc ServiceKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc = svc.Canon()
	op := "deleting virtual service " + svc.String()
	if err := f.call("del-service " + svc.String()); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if _, ok := f.svcs[svc]; !ok {
		return ipvsErr(op, unix.ESRCH, nil)
	}
	delete(f.svcs, svc)
	return nil
}

// NewDest adds a real server.
func (f *FakeIPVS) NewDest(svc ServiceKey, d Dest) error {
	return f.destCall("new-dest", svc, d)
}

// UpdateDest changes a real server.
func (f *FakeIPVS) UpdateDest(svc ServiceKey, d Dest) error {
	return f.destCall("update-dest", svc, d)
}

// DelDest removes a real server.
func (f *FakeIPVS) DelDest(svc ServiceKey, d Dest) error {
	return f.destCall("del-dest", svc, d)
}

func (f *FakeIPVS) destCall(call string, svc ServiceKey, d Dest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc = svc.Canon()
	d.Addr = d.Addr.Unmap()
	op := map[string]string{
		"new-dest":    fmt.Sprintf("adding real server %s to %s", d, svc),
		"update-dest": fmt.Sprintf("changing real server %s of %s", d, svc),
		"del-dest":    fmt.Sprintf("deleting real server %s from %s", d, svc),
	}[call]
	if err := f.call(call + " " + svc.String() + " " + d.String()); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if call != "del-dest" {
		if err := checkDest(d); err != nil {
			return err
		}
	}
	s, ok := f.svcs[svc]
	if !ok {
		return ipvsErr(op, unix.ESRCH, nil)
	}
	i := slices.IndexFunc(s.dests, func(x Dest) bool { return x.Addr == d.Addr && x.Port == d.Port })
	switch {
	case call == "new-dest" && i >= 0:
		return ipvsErr(op, unix.EEXIST, nil)
	case call == "new-dest":
		s.dests = append(s.dests, d)
	case i < 0:
		return ipvsErr(op, unix.ENOENT, ErrNoDest)
	case call == "update-dest":
		s.dests[i] = d
	default:
		s.dests = slices.Delete(s.dests, i, i+1)
	}
	return nil
}

func (f *FakeIPVS) checkService(op string, svc Service) error {
	if err := checkService(svc); err != nil {
		return err
	}
	known := f.Schedulers
	if known == nil {
		known = fakeSchedulers
	}
	if !slices.Contains(known, svc.Scheduler) {
		return ipvsErr(op, unix.ENOENT, ErrNoScheduler)
	}
	return nil
}
