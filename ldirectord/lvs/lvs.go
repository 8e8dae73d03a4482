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
	log   logrus.FieldLogger
	owned map[kernel.ServiceKey]bool
}

// New returns a Reconciler that owns no virtual service yet.
func New(b Backend, log logrus.FieldLogger) *Reconciler {
	if log == nil {
		l := logrus.New()
		l.Out = discard{}
		l.Level = logrus.PanicLevel
		log = l
	}
	return &Reconciler{b: b, log: log, owned: map[kernel.ServiceKey]bool{}}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

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
// Real ports follow ipvsadm: for an address service with gate or ipip the
// real port is the virtual port (see MappedPort), in what is compared and in
// what is sent, so a config giving another port never flaps. A real read back
// with ForwardLocal (what kernels before 2.6.37 report for a local address)
// matches any desired method.
func (r *Reconciler) Apply(desired []Virtual) Result {
	var res Result
	fail := func(err error) { res.Errs = append(res.Errs, err) }
	do := func(op Op, err error) bool {
		op.Err = err
		res.Ops = append(res.Ops, op)
		entry := r.log.WithField("vip", op.Service.ServiceKey.String())
		if op.Action >= AddReal && op.Action <= DelReal {
			entry = entry.WithField("real", op.Real.String())
		}
		if err != nil {
			fail(err)
			entry.WithError(err).Warnf("IPVS: %s failed", op)
			return false
		}
		entry.Infof("IPVS: %s", op)
		return true
	}

	have, err := r.b.Services()
	if err != nil {
		fail(err)
		return res
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
			fail(fmt.Errorf("virtual service %s: desired twice", key))
			continue
		}
		wanted[key] = true
		r.owned[key] = true

		var current []kernel.Dest
		if cur, ok := actual[key]; !ok {
			if !do(Op{Action: AddService, Service: svc}, r.b.NewService(svc)) {
				continue
			}
		} else {
			if cur != svc {
				// A failed edit leaves the old settings; the reals still
				// get reconciled (a quiesce must not wait on a scheduler).
				do(Op{Action: EditService, Service: svc}, r.b.UpdateService(svc))
			}
			if current, err = r.b.Dests(key); err != nil {
				fail(err)
				continue
			}
		}
		r.applyReals(svc, v.Reals, current, do, fail)
	}

	for _, s := range have {
		if r.owned[s.ServiceKey] && !wanted[s.ServiceKey] {
			if do(Op{Action: DelService, Service: s}, r.b.DelService(s.ServiceKey)) {
				delete(r.owned, s.ServiceKey)
			}
		}
	}
	for key := range r.owned {
		if !wanted[key] {
			if _, ok := actual[key]; !ok {
				delete(r.owned, key) // gone already
			}
		}
	}
	return res
}

type destKey struct {
	addr string
	port uint16
}

// applyReals makes the real servers of svc match want.
func (r *Reconciler) applyReals(svc kernel.Service, want, current []kernel.Dest, do func(Op, error) bool, fail func(error)) {
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
			fail(fmt.Errorf("real server %s of %s: desired twice", d, key))
			continue
		}
		seen[k] = true
		if _, ok := cur[k]; !ok {
			do(Op{Action: AddReal, Service: svc, Real: d}, r.b.NewDest(key, d))
		} else {
			edits = append(edits, d)
		}
	}
	for _, d := range edits {
		was := cur[destKey{d.Addr.String(), d.Port}]
		if !sameReal(d, was) {
			do(Op{Action: EditReal, Service: svc, Real: d, Was: was}, r.b.UpdateDest(key, d))
		}
	}
	for _, d := range current {
		if !seen[destKey{d.Addr.String(), d.Port}] {
			do(Op{Action: DelReal, Service: svc, Real: d}, r.b.DelDest(key, d))
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
