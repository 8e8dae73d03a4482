// onoff.go: the checks that check nothing: checktype on and off, service none.

package check

import "context"

// On is checktype on: always up.
type On struct{}

// Check reports up.
func (On) Check(context.Context, Target) Result { return Result{OK: true} }

// Off is checktype off: nothing is checked, and the runner should keep the
// state IPVS had (spec §4.1) rather than act on this result, which is down
// with ErrOff.
type Off struct{}

// Check reports ErrOff.
func (Off) Check(context.Context, Target) Result { return Result{Err: ErrOff} }

// None is negotiate with service none: always up.
type None struct{}

// Check reports up.
func (None) Check(context.Context, Target) Result { return Result{OK: true} }
