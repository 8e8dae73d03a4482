package lvs

// changes.go: applying only what changed between two desired states.

import (
	"slices"

	"github.com/hasuite/hasuite/internal/kernel"
)

// ApplyDiff applies only what changed from prev to next, two desired
// states: services and real servers whose desired entry is the same in
// both are left as the backend has them, so a change an operator made by
// hand (ipvsadm -e -w 0, or deleting a quiesced real) stays until that
// entry's own next change, as classic ldirectord between reloads (spec
// §4.6). New and changed entries are set, entries gone from next removed,
// and virtual services new in next, or missing from the backend, are
// applied whole; virtual services the same in both are not even read.
// Apply is the full resync (start, reload).
func (r *Reconciler) ApplyDiff(prev, next []Virtual) Result {
	have, err := r.b.Services()
	if err != nil {
		return Result{Errs: []error{err}}
	}
	actual := make(map[kernel.ServiceKey]kernel.Service, len(have))
	for _, s := range have {
		actual[s.ServiceKey] = s
	}
	before := make(map[kernel.ServiceKey]Virtual, len(prev))
	for _, v := range prev {
		before[v.Service.Canon().ServiceKey] = v
	}
	merged := make([]Virtual, 0, len(next))
	untouched := map[kernel.ServiceKey]bool{}
	for _, v := range next {
		svc := v.Service.Canon()
		p, known := before[svc.ServiceKey]
		cur, exists := actual[svc.ServiceKey]
		if !known || !exists {
			merged = append(merged, v)
			continue
		}
		if p.Service.Canon() == svc && slices.Equal(p.Reals, v.Reals) {
			// Nothing to do: not even read (a state change costs one
			// listing of the services, not one per virtual service).
			untouched[svc.ServiceKey] = true
			merged = append(merged, v)
			continue
		}
		m := Virtual{Service: svc}
		if p.Service.Canon() == svc {
			m.Service = cur
		}
		current, err := r.b.Dests(svc.ServiceKey)
		if err != nil {
			return Result{Errs: []error{err}}
		}
		was := mappedReals(svc.ServiceKey, p.Reals)
		now := mappedReals(svc.ServiceKey, v.Reals)
		for _, d := range current {
			k := destKey{d.Addr.String(), d.Port}
			if _, in := was[k]; in {
				continue // ours: decided below
			}
			if _, in := now[k]; !in {
				m.Reals = append(m.Reals, d) // not ours before or now: left alone
			}
		}
		for _, d := range current {
			k := destKey{d.Addr.String(), d.Port}
			if w, in := was[k]; in && now[k] == w {
				m.Reals = append(m.Reals, d) // unchanged: as the backend has it
			}
		}
		for _, d := range v.Reals {
			d.Addr, d.Port = d.Addr.Unmap(), MappedPort(svc.ServiceKey, d)
			if w, in := was[destKey{d.Addr.String(), d.Port}]; !in || w != d {
				m.Reals = append(m.Reals, d)
			}
		}
		merged = append(merged, m)
	}
	return r.apply(merged, untouched)
}

// mappedReals indexes reals by address and mapped port, as Apply sends them.
func mappedReals(svc kernel.ServiceKey, ds []kernel.Dest) map[destKey]kernel.Dest {
	out := make(map[destKey]kernel.Dest, len(ds))
	for _, d := range ds {
		d.Addr, d.Port = d.Addr.Unmap(), MappedPort(svc, d)
		out[destKey{d.Addr.String(), d.Port}] = d
	}
	return out
}
