// Package lvs makes the kernel's virtual services match what ldirectord
// wants: Reconciler.Apply compares the desired virtual services and real
// servers with what the backend (IPVS) has and performs the fewest changes.
//
// Ownership follows classic ldirectord (spec §4.2, §4.6): a virtual service
// is ours while it is desired; real servers in it that are not desired are
// removed; virtual services that were desired by an earlier Apply and no
// longer are get deleted; every other virtual service is left alone. Nothing
// is ever flushed.
package lvs

import (
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
)

// Backend is the data plane the Reconciler programs: kernel.IPVS satisfies
// it; an nftables backend can too.
type Backend interface {
	Services() ([]kernel.Service, error)
	Dests(svc kernel.ServiceKey) ([]kernel.Dest, error)
	NewService(svc kernel.Service) error
	UpdateService(svc kernel.Service) error
	DelService(svc kernel.ServiceKey) error
	NewDest(svc kernel.ServiceKey, d kernel.Dest) error
	UpdateDest(svc kernel.ServiceKey, d kernel.Dest) error
	DelDest(svc kernel.ServiceKey, d kernel.Dest) error
}

// Virtual is a desired virtual service with its desired real servers. A
// quiescent real server is one with Weight 0.
type Virtual struct {
	kernel.Service
	Reals []kernel.Dest
}

// Action is what an Op did.
type Action int

// The actions, in the order Apply performs them within a virtual service.
const (
	AddService Action = iota
	EditService
	AddReal
	EditReal
	DelReal
	DelService
)

// String returns the action as logged: "add service", "edit real"…
func (a Action) String() string {
	switch a {
	case AddService:
		return "add service"
	case EditService:
		return "edit service"
	case AddReal:
		return "add real"
	case EditReal:
		return "edit real"
	case DelReal:
		return "delete real"
	case DelService:
		return "delete service"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Op is one change Apply made or tried.
type Op struct {
	Action  Action
	Service kernel.Service // the desired service; for DelService and real ops only the key matters
	Real    kernel.Dest    // real ops: the desired real (DelReal: the one removed)
	Was     kernel.Dest    // EditReal: the real as it was
	Err     error          // nil when it succeeded
}

// String describes the op for logs.
func (o Op) String() string {
	switch o.Action {
	case AddService, EditService:
		return fmt.Sprintf("%s %s %s persistent %d netmask %d flags %#x", o.Action, o.Service.ServiceKey,
			o.Service.Scheduler, o.Service.Persistent, o.Service.Netmask, uint32(o.Service.Flags))
	case DelService:
		return fmt.Sprintf("%s %s", o.Action, o.Service.ServiceKey)
	case EditReal:
		return fmt.Sprintf("%s %s %s %s weight %d thresholds %d/%d (was %s weight %d thresholds %d/%d)", o.Action,
			o.Service.ServiceKey, o.Real, o.Real.Forward, o.Real.Weight, o.Real.LowerThreshold, o.Real.UpperThreshold,
			o.Was.Forward, o.Was.Weight, o.Was.LowerThreshold, o.Was.UpperThreshold)
	}
	return fmt.Sprintf("%s %s %s %s weight %d thresholds %d/%d", o.Action, o.Service.ServiceKey,
		o.Real, o.Real.Forward, o.Real.Weight, o.Real.LowerThreshold, o.Real.UpperThreshold)
}

// Result is what one Apply did.
type Result struct {
	Ops  []Op
	Errs []error // every op's error, plus listing and validation errors
}

// Err joins every error, nil when all went well.
func (r Result) Err() error { return errors.Join(r.Errs...) }

// Reconciler applies desired states to a Backend. It is not safe for
// concurrent use.
type Reconciler struct {
	b     Backend
	log   logrus.FieldLogger // nil: no logging
	owned map[kernel.ServiceKey]bool
}

// New returns a Reconciler that owns no virtual service yet. It logs each
// change to log; nil logs nothing (the caller logs Result.Ops).
func New(b Backend, log logrus.FieldLogger) *Reconciler {
	return &Reconciler{b: b, log: log, owned: map[kernel.ServiceKey]bool{}}
}

// Owned reports whether svc is one of ours (desired by the last Apply, or
// by an earlier one and not yet deleted).
func (r *Reconciler) Owned(svc kernel.ServiceKey) bool { return r.owned[svc.Canon()] }

// Apply makes the backend match desired, virtual service by virtual service
// in order: add or edit the service, then add, edit and delete its real
// servers (additions first, so a service never runs empty in between);
// last, delete the services an earlier Apply desired and this one does not.
// One failing change does not stop the others. An empty desired state
// deletes every service we own (cleanstop).
//
// The changes are made in that order, but together where no decision waits
// on one (kernel.ApplyChanges: many per system call when the backend is a
// kernel.Batcher): only an added service's result is needed before its real
// servers are decided.
//
// Real ports follow ipvsadm: for an address service with gate or ipip the
// real port is the virtual port (see MappedPort), in what is compared and in
// what is sent, so a config giving another port never flaps. A real read back
// with ForwardLocal (what kernels before 2.6.37 report for a local address)
// matches any desired method.
func (r *Reconciler) Apply(desired []Virtual) Result { return r.apply(desired, nil) }

// apply is Apply, except that the virtual services in untouched are only
// kept (owned and not deleted), neither read nor changed.
func (r *Reconciler) apply(desired []Virtual, untouched map[kernel.ServiceKey]bool) Result {
	a := &applying{r: r}
	have, err := r.b.Services()
	if err != nil {
		a.fail(err)
		return a.res
	}
	actual := make(map[kernel.ServiceKey]kernel.Service, len(have))
	for _, s := range have {
		actual[s.ServiceKey] = s
	}

	wanted := make(map[kernel.ServiceKey]bool, len(desired))
	for _, v := range desired {
		svc := v.Service.Canon()
		key := svc.ServiceKey
		if wanted[key] {
			a.fail(fmt.Errorf("virtual service %s: desired twice", key))
			continue
		}
		wanted[key] = true
		r.owned[key] = true
		if untouched[key] {
			continue
		}

		var current []kernel.Dest
		if cur, ok := actual[key]; !ok {
			added := false
			a.queue(Op{Action: AddService, Service: svc}, func(ok bool) { added = ok })
			if a.flush(); !added {
				continue
			}
		} else {
			if cur != svc {
				// A failed edit leaves the old settings; the reals still
				// get reconciled (a quiesce must not wait on a scheduler).
				a.queue(Op{Action: EditService, Service: svc}, nil)
			}
			if current, err = r.b.Dests(key); err != nil {
				a.fail(err)
				continue
			}
		}
		a.reals(svc, v.Reals, current)
	}

	for _, s := range have {
		if r.owned[s.ServiceKey] && !wanted[s.ServiceKey] {
			a.queue(Op{Action: DelService, Service: s}, func(ok bool) {
				if ok {
					delete(r.owned, s.ServiceKey)
				}
			})
		}
	}
	a.flush()
	for key := range r.owned {
		if !wanted[key] {
			if _, ok := actual[key]; !ok {
				delete(r.owned, key) // gone already
			}
		}
	}
	return a.res
}

// applying is one Apply: its result and the changes decided but not yet
// made.
type applying struct {
	r       *Reconciler
	res     Result
	ops     []Op
	changes []kernel.Change
	done    []func(ok bool)
}

// queue decides op; done, if not nil, learns at the next flush whether it
// succeeded.
func (a *applying) queue(op Op, done func(ok bool)) {
	c := kernel.Change{Service: op.Service, Dest: op.Real}
	switch op.Action {
	case AddService:
		c.Kind = kernel.ChangeNewService
	case EditService:
		c.Kind = kernel.ChangeUpdateService
	case AddReal:
		c.Kind = kernel.ChangeNewDest
	case EditReal:
		c.Kind = kernel.ChangeUpdateDest
	case DelReal:
		c.Kind = kernel.ChangeDelDest
	case DelService:
		c.Kind = kernel.ChangeDelService
	}
	a.ops = append(a.ops, op)
	a.changes = append(a.changes, c)
	a.done = append(a.done, done)
}

// flush makes the queued changes and records them.
func (a *applying) flush() {
	if len(a.changes) == 0 {
		return
	}
	errs := kernel.ApplyChanges(a.r.b, a.changes)
	for i, op := range a.ops {
		ok := a.record(op, errs[i])
		if a.done[i] != nil {
			a.done[i](ok)
		}
	}
	a.ops, a.changes, a.done = a.ops[:0], a.changes[:0], a.done[:0]
}

// fail records an error that is no change's, after the changes decided
// before it.
func (a *applying) fail(err error) {
	a.flush()
	a.res.Errs = append(a.res.Errs, err)
}

// record logs op, made with the outcome err, and adds it to the result.
func (a *applying) record(op Op, err error) bool {
	op.Err = err
	a.res.Ops = append(a.res.Ops, op)
	if err != nil {
		a.res.Errs = append(a.res.Errs, err)
	}
	if a.r.log == nil {
		return err == nil
	}
	entry := a.r.log.WithField("vip", op.Service.ServiceKey.String())
	if op.Action >= AddReal && op.Action <= DelReal {
		entry = entry.WithField("real", op.Real.String())
	}
	if err != nil {
		entry.WithError(err).Warnf("IPVS: %s failed", op)
		return false
	}
	entry.Infof("IPVS: %s", op)
	return true
}

type destKey struct {
	addr string
	port uint16
}

// reals decides the changes that make the real servers of svc match want.
func (a *applying) reals(svc kernel.Service, want, current []kernel.Dest) {
	key := svc.ServiceKey
	cur := make(map[destKey]kernel.Dest, len(current))
	for _, d := range current {
		cur[destKey{d.Addr.String(), d.Port}] = d
	}
	seen := make(map[destKey]bool, len(want))
	var edits []kernel.Dest
	for _, d := range want {
		d.Addr = d.Addr.Unmap()
		d.Port = MappedPort(key, d)
		k := destKey{d.Addr.String(), d.Port}
		if seen[k] {
			a.fail(fmt.Errorf("real server %s of %s: desired twice", d, key))
			continue
		}
		seen[k] = true
		if _, ok := cur[k]; !ok {
			a.queue(Op{Action: AddReal, Service: svc, Real: d}, nil)
		} else {
			edits = append(edits, d)
		}
	}
	for _, d := range edits {
		was := cur[destKey{d.Addr.String(), d.Port}]
		if !sameReal(d, was) {
			a.queue(Op{Action: EditReal, Service: svc, Real: d, Was: was}, nil)
		}
	}
	for _, d := range current {
		if !seen[destKey{d.Addr.String(), d.Port}] {
			a.queue(Op{Action: DelReal, Service: svc, Real: d}, nil)
		}
	}
}

// sameReal reports whether the kernel's real server had already what want
// asks for.
func sameReal(want, have kernel.Dest) bool {
	if have.Forward == kernel.ForwardLocal {
		have.Forward = want.Forward
	}
	return want == have
}

// MappedPort is the port a real server gets in svc: ipvsadm (and so classic
// ldirectord) sets the real port to the virtual port for an address service
// with gate or ipip, where the real server cannot change ports anyway.
func MappedPort(svc kernel.ServiceKey, d kernel.Dest) uint16 {
	if svc.FWMark == 0 && (d.Forward == kernel.ForwardGate || d.Forward == kernel.ForwardTunnel) {
		return svc.Port
	}
	return d.Port
}
