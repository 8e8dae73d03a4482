package kernel

// ipvs_table.go: ipvsTable, an in-memory IPVS table with the kernel's answers, behind FakeIPVS and NFTables.

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// ipvsTable holds virtual services and their real servers and answers as
// the kernel does: EEXIST for a duplicate, ESRCH for a missing service,
// ENOENT for a missing real server or an unknown scheduler. The zero value
// is empty; callers lock.
type ipvsTable struct {
	svcs map[ServiceKey]*tableService
	// schedulers, when not nil, are the known schedulers; default: the
	// ones Debian's kernel ships.
	schedulers []string
}

type tableService struct {
	svc   Service
	dests []Dest
}

var kernelSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

func (t *ipvsTable) services() []Service {
	out := make([]Service, 0, len(t.svcs))
	for _, s := range t.svcs {
		out = append(out, s.svc)
	}
	SortServices(out)
	return out
}

func (t *ipvsTable) dests(svc ServiceKey) ([]Dest, error) {
	s, ok := t.svcs[svc.Canon()]
	if !ok {
		return nil, ipvsErr("listing real servers of "+svc.String(), unix.ESRCH, nil)
	}
	out := slices.Clone(s.dests)
	SortDests(out)
	return out, nil
}

// serviceOp is "new-service", "update-service" or "del-service" on svc
// (canonical); it returns what the kernel would.
func (t *ipvsTable) serviceOp(call string, svc Service) error {
	op := opName(call, svc.ServiceKey, Dest{})
	if call != "del-service" {
		if err := t.checkService(op, svc); err != nil {
			return err
		}
	}
	s, ok := t.svcs[svc.ServiceKey]
	switch {
	case call == "new-service" && ok:
		return ipvsErr(op, unix.EEXIST, nil)
	case call == "new-service":
		if t.svcs == nil {
			t.svcs = map[ServiceKey]*tableService{}
		}
		t.svcs[svc.ServiceKey] = &tableService{svc: svc}
	case !ok:
		return ipvsErr(op, unix.ESRCH, nil)
	case call == "update-service":
		s.svc = svc
	default:
		delete(t.svcs, svc.ServiceKey)
	}
	return nil
}

// destOp is "new-dest", "update-dest" or "del-dest" of d (unmapped) in svc
// (canonical); it returns what the kernel would.
func (t *ipvsTable) destOp(call string, svc ServiceKey, d Dest) error {
	op := opName(call, svc, d)
	if call != "del-dest" {
		if err := checkDest(d); err != nil {
			return err
		}
	}
	s, ok := t.svcs[svc]
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

// opName says what call does, for error messages.
func opName(call string, svc ServiceKey, d Dest) string {
	switch call {
	case "new-service":
		return "adding virtual service " + svc.String()
	case "update-service":
		return "changing virtual service " + svc.String()
	case "del-service":
		return "deleting virtual service " + svc.String()
	case "new-dest":
		return fmt.Sprintf("adding real server %s to %s", d, svc)
	case "update-dest":
		return fmt.Sprintf("changing real server %s of %s", d, svc)
	}
	return fmt.Sprintf("deleting real server %s from %s", d, svc)
}

func (t *ipvsTable) checkService(op string, svc Service) error {
	if err := checkService(svc); err != nil {
		return err
	}
	known := t.schedulers
	if known == nil {
		known = kernelSchedulers
	}
	if !slices.Contains(known, svc.Scheduler) {
		return ipvsErr(op, unix.ENOENT, ErrNoScheduler)
	}
	return nil
}
