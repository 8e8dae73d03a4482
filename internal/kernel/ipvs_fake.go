package kernel

// ipvs_fake.go: FakeIPVS, an in-memory IPVS for unit tests of other packages.

import (
	"fmt"
	"sync"
)

// FakeIPVS is an in-memory IPVS with the kernel's answers: EEXIST for a
// duplicate, ESRCH for a missing service, ENOENT for a missing real server
// or an unknown scheduler (wrapped as NetlinkIPVS wraps them). It records
// every call. The zero value is ready to use.
type FakeIPVS struct {
	mu    sync.Mutex
	table ipvsTable
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

var _ IPVS = (*FakeIPVS)(nil)

// Services lists the virtual services.
func (f *FakeIPVS) Services() ([]Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.Errs["services"]; err != nil {
		return nil, fmt.Errorf("listing IPVS services: %w", err)
	}
	return f.table.services(), nil
}

// Dests lists the real servers of svc.
func (f *FakeIPVS) Dests(svc ServiceKey) ([]Dest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.Errs["dests "+svc.String()]; err != nil {
		return nil, fmt.Errorf("listing real servers of %s: %w", svc, err)
	}
	return f.table.dests(svc)
}

// NewService adds a virtual service.
func (f *FakeIPVS) NewService(svc Service) error { return f.serviceCall("new-service", svc) }

// UpdateService changes a virtual service.
func (f *FakeIPVS) UpdateService(svc Service) error { return f.serviceCall("update-service", svc) }

// DelService removes a virtual service and its real servers.
func (f *FakeIPVS) DelService(svc ServiceKey) error {
	return f.serviceCall("del-service", Service{ServiceKey: svc})
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

// serviceCall records call and applies it, unless Errs makes it fail.
func (f *FakeIPVS) serviceCall(call string, svc Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc = svc.Canon()
	c := call + " " + svc.ServiceKey.String()
	f.Calls = append(f.Calls, c)
	if err := f.Errs[c]; err != nil {
		return fmt.Errorf("%s: %w", opName(call, svc.ServiceKey, Dest{}), err)
	}
	f.table.schedulers = f.Schedulers
	return f.table.serviceOp(call, svc)
}

// destCall records call and applies it, unless Errs makes it fail.
func (f *FakeIPVS) destCall(call string, svc ServiceKey, d Dest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc = svc.Canon()
	d.Addr = d.Addr.Unmap()
	c := call + " " + svc.String() + " " + d.String()
	f.Calls = append(f.Calls, c)
	if err := f.Errs[c]; err != nil {
		return fmt.Errorf("%s: %w", opName(call, svc, d), err)
	}
	return f.table.destOp(call, svc, d)
}
