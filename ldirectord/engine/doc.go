// doc.go: the package API and how the engine departs from classic ldirectord.

// Package engine is ldirectord's health-check state machine: it decides
// when each real server is checked, counts results into up/down states and
// says which IPVS table that state asks for. It is pure: no goroutines, no
// sockets, no sleeps; time comes in as arguments (and Options.Now). The
// daemon drives it:
//
//	e := engine.New(cfg, engine.Options{Initial: table})
//	handle(e.Events())                  // start: fallbacks on
//	loop: wait until e.NextDue(); for each j in e.Due(now): run
//	      j.Checker.Check(ctx with j.Timeout, *j.Target) in a goroutine,
//	      then handle(e.Result(now, j.ID, res)) and reconciler.Apply(e.Desired())
//	on HUP: e.Reload(cfg); handle(e.Events()); Apply(e.Desired())
//
// API: New, Reload, NextDue, Due, Result, Events (drains the events New and
// Reload produce), Desired, Status. Job{ID, Target, Checker, Timeout,
// CheckType, Virtuals}; Event{Kind, Virtual, Real, Result, Weight, Count,
// Of, Was}; RealStatus per real server of each virtual. Results of one
// round are fed one by one, so a daemon that applies Desired after every
// Result may briefly show the fallback between one real going down and
// another coming up; applying once per batch of results avoids that.
//
// Checks. One check runs per distinct check identity: real address and
// port, checkport, protocol, checktype (and N of combined), service,
// request, receive, virtualhost, httpmethod, login, passwd, database,
// secret, and for external/external-perl the checkcommand and the virtual
// address (arguments of the command). Weight, forwarding method and timing
// are not part of it: a check shared by virtuals with different timing runs
// at the shortest checkinterval with the longest timeouts and checkcount,
// and a Reload that only changes timing or weights keeps all state. Two
// virtuals with the same real and check share one check: its consecutive
// success and failure counters are kept once and each virtual compares them
// with its own failurecount and risecount (the classic bumped failcount
// once per virtual per round, spec §8.7).
//
// Timing (spec §5, §8.11). Each check has its own timer: the next check is
// due checkinterval (the virtual's, resolved by config) after the previous
// result arrived, times a uniform jitter factor in [0.9, 1.1) from
// Options.Rand. A check in flight is never due again. First checks after
// New, and for checks new at a Reload, are spread evenly, in config order,
// over min(checkinterval, Options.StartSpread) (default 1s): check i of n
// is due at now + spread×i/n, so reals come up fast without all checks
// starting at once. Job.Timeout is checktimeout for connect, ping (times
// checkcount), external and external-perl; negotiatetimeout for negotiate;
// per phase for combined N (negotiate first; after a successful negotiate N
// connects, then negotiate again; a failed connect makes the next check a
// negotiate). checktype off is never scheduled; on is checked (always up).
//
// States. A real server of a virtual is unchecked, up or down.
//   - Start (spec §8.2 fixed): no real receives traffic before its first
//     successful check: an unchecked real is absent, or at weight 0 when
//     quiescent=yes. There is no add-then-remove dance.
//   - failurecount consecutive failures take an up (or unchecked) real down;
//     fewer give SoftFailure events. risecount (default 1) consecutive
//     successes take an unchecked or down real up.
//   - Down: quiescent=yes keeps it at weight 0, else it is removed. A
//     quiescent real that is absent from the table (it was absent from
//     Options.Initial although its virtual was there, i.e. someone deleted
//     it) is re-added at weight 0 only with readdquiescent=yes, as classic.
//   - Fallback: when no real of a virtual is up, its fallback (own, else the
//     global one of its family; port 0 = the virtual's) is in the table at
//     weight 1; it is removed as soon as one real is up (FallbackOn/Off
//     events fire on these changes also without a fallback server, for
//     fallbackcommand).
//   - checktype off: no checks; a real is up only if Options.Initial had it
//     at weight > 0 (or, at Reload, the engine had it up); a result wrapping
//     check.ErrOff changes nothing. on: checked and always up.
//   - maintenancedir: when set, every Job's Checker first asks
//     Options.InMaintenance (default FileMaintenance: a file named
//     RIP:RPORT, RIP, rDNS:RPORT, rDNS, short:RPORT or short; IPv6 in
//     brackets). That runs in the daemon's goroutine, so the engine stays
//     pure. A hit yields ErrMaintenance, which takes the real down at once,
//     bypassing failurecount; the next successes restore it as usual.
//   - Reload (spec §8.9 fixed): checks whose identity is unchanged keep
//     counters, last result, timer and any job in flight; reals of a
//     virtual (same virtual ID, address, port and check) keep their state,
//     with the new weight and thresholds. A real whose check changed gets
//     a new check with fresh counters but stays up, if it was, until that
//     check decides (no flap for editing a check). New reals start
//     unchecked; removed ones vanish from Desired; results for removed jobs
//     are ignored.
//
// Desired lists virtuals in config order, each with its reals in config
// order and the fallback last. A real's port 0 becomes the virtual's port
// for an address service (as ipvsadm does); ports of gate/ipip reals are
// mapped by lvs.Reconciler.
package engine
