// engine_test.go: the state machine stepped with a fake clock.

package engine

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

var eqAddr = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})

var t0 = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

func parse(t testing.TB, lines ...string) *config.Config {
	t.Helper()
	c, err := config.Parse("t.cf", strings.NewReader(strings.Join(lines, "\n")+"\n"), config.Options{
		Hostname:  "h",
		DirExists: func(string) bool { return true },
		LookupHost: func(context.Context, string, int) (netip.Addr, error) {
			return netip.Addr{}, errors.New("no DNS in tests")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newEngine(t testing.TB, opts Options, lines ...string) *Engine {
	t.Helper()
	if opts.Rand == nil {
		opts.Rand = func() float64 { return 0.5 } // jitter factor exactly 1
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	return New(parse(t, lines...), opts)
}

// step runs every job due at now with the result ok(real address) and
// returns the jobs and the events.
func step(t *testing.T, e *Engine, now time.Time, ok func(j Job) check.Result) ([]Job, []Event) {
	t.Helper()
	jobs := e.Due(now)
	var ev []Event
	for _, j := range jobs {
		ev = append(ev, e.Result(now, j.ID, ok(j))...)
	}
	return jobs, ev
}

func pass(Job) check.Result { return check.Result{OK: true} }

var errDown = errors.New("connection refused")

func fail(Job) check.Result { return check.Result{Err: errDown} }

// kinds summarises events as "kind virtual real weight".
func kinds(ev []Event) []string {
	var out []string
	for _, e := range ev {
		s := e.Kind.String() + " " + e.Virtual
		if e.Real != "" {
			s += " " + e.Real
		}
		switch e.Kind {
		case RealUp, RealDown:
			s += " w" + itoa(e.Weight)
		case SoftFailure:
			s += " " + itoa(e.Count) + "/" + itoa(e.Of)
		}
		out = append(out, s)
	}
	return out
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// table summarises Desired as "vip: real/weight ...".
func table(e *Engine) []string {
	var out []string
	for _, v := range e.Desired() {
		s := v.ServiceKey.String() + ":"
		for _, d := range v.Reals {
			s += " " + d.String() + "/" + itoa(d.Weight)
		}
		out = append(out, s)
	}
	return out
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestStartNoTrafficBeforeFirstSuccess(t *testing.T) {
	for _, tc := range []struct {
		quiescent string
		before    []string
	}{
		{"no", []string{"tcp:10.0.0.1:80: 127.0.0.1:80/1"}},
		{"yes", []string{"tcp:10.0.0.1:80: 10.0.1.1:80/0 10.0.1.2:80/0 127.0.0.1:80/1"}},
	} {
		t.Run("quiescent="+tc.quiescent, func(t *testing.T) {
			e := newEngine(t, Options{}, "quiescent="+tc.quiescent, "fallback=127.0.0.1:80",
				"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 2", "\treal=10.0.1.2:80 gate 3", "\tchecktype=connect")
			if diff := cmp.Diff([]string{"fallback on tcp:10.0.0.1:80 127.0.0.1:80"}, kinds(e.Events())); diff != "" {
				t.Errorf("start events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.before, table(e)); diff != "" {
				t.Errorf("table before checks (-want +got):\n%s", diff)
			}
			// First check of 10.0.1.1 at t0, of 10.0.1.2 at t0+500ms.
			jobs, ev := step(t, e, t0, pass)
			if len(jobs) != 1 || jobs[0].Target.Real != ap("10.0.1.1:80") {
				t.Fatalf("jobs at t0: %+v", jobs)
			}
			want := []string{"real up tcp:10.0.0.1:80 10.0.1.1:80 w2", "fallback off tcp:10.0.0.1:80 127.0.0.1:80"}
			if diff := cmp.Diff(want, kinds(ev)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			wantTable := "tcp:10.0.0.1:80: 10.0.1.1:80/2"
			if tc.quiescent == "yes" {
				wantTable += " 10.0.1.2:80/0"
			}
			if diff := cmp.Diff([]string{wantTable}, table(e)); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFallRise(t *testing.T) {
	for _, tc := range []struct {
		name      string
		quiescent string
		fc, rc    int
		seq       string // + success, - failure
		want      []string
		wantState State
		wantTable string
	}{
		{"down after 1", "no", 1, 1, "+-", []string{"up w1", "down w-1"}, Down, ""},
		{"soft then down", "no", 3, 1, "+---", []string{"up w1", "soft 1/3", "soft 2/3", "down w-1"}, Down, ""},
		{"soft reset", "yes", 2, 1, "+-+-", []string{"up w1", "soft 1/2", "reset", "soft 1/2"}, Up, " 10.0.1.1:80/1"},
		{"quiesced", "yes", 2, 1, "+--", []string{"up w1", "soft 1/2", "down w0"}, Down, " 10.0.1.1:80/0"},
		{"rise 3", "no", 1, 3, "++-+++", []string{"down w-1", "up w1"}, Up, " 10.0.1.1:80/1"},
		{"rise 2 after down", "no", 1, 2, "--+", []string{"down w-1"}, Down, ""},
		{"no events while down", "yes", 1, 1, "---", []string{"down w0"}, Down, " 10.0.1.1:80/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Options{}, "quiescent="+tc.quiescent, "failurecount="+itoa(tc.fc), "risecount="+itoa(tc.rc),
				"checkinterval=10", "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=connect")
			e.Events()
			var got []string
			now := t0
			for _, r := range tc.seq {
				if d := e.NextDue(); !d.Equal(now) {
					t.Fatalf("NextDue %v, want %v", d, now)
				}
				res := fail
				if r == '+' {
					res = pass
				}
				_, ev := step(t, e, now, res)
				for _, k := range ev {
					switch k.Kind {
					case RealUp:
						got = append(got, "up w"+itoa(k.Weight))
					case RealDown:
						got = append(got, "down w"+itoa(k.Weight))
					case SoftFailure:
						got = append(got, "soft "+itoa(k.Count)+"/"+itoa(k.Of))
					case SoftReset:
						got = append(got, "reset")
					}
				}
				now = now.Add(10 * time.Second)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if s := e.Status()[0].State; s != tc.wantState {
				t.Errorf("state %v, want %v", s, tc.wantState)
			}
			if diff := cmp.Diff([]string{"tcp:10.0.0.1:80:" + tc.wantTable}, table(e)); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFallback(t *testing.T) {
	e := newEngine(t, Options{StartSpread: time.Nanosecond}, "fallback=127.0.0.1 masq", "virtual=10.0.0.1:80",
		"\treal=10.0.1.1:80 gate", "\treal=10.0.1.2:80 gate", "\tchecktype=connect",
		"virtual=10.0.0.2:80", "\treal=10.0.1.3:80 gate", "\tchecktype=connect", "\tfallback=10.9.9.9:8080 gate")
	if diff := cmp.Diff([]string{"fallback on tcp:10.0.0.1:80 127.0.0.1:80", "fallback on tcp:10.0.0.2:80 10.9.9.9:8080"}, kinds(e.Events())); diff != "" {
		t.Errorf("start (-want +got):\n%s", diff)
	}
	want := []lvs.Virtual{
		{Service: kernel.Service{ServiceKey: kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Scheduler: "wrr"},
			Reals: []kernel.Dest{{Addr: netip.MustParseAddr("127.0.0.1"), Port: 80, Forward: kernel.ForwardMasq, Weight: 1}}},
		{Service: kernel.Service{ServiceKey: kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}, Scheduler: "wrr"},
			Reals: []kernel.Dest{{Addr: netip.MustParseAddr("10.9.9.9"), Port: 8080, Forward: kernel.ForwardGate, Weight: 1}}},
	}
	if diff := cmp.Diff(want, e.Desired(), eqAddr); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
	byReal := func(up ...string) func(Job) check.Result {
		return func(j Job) check.Result {
			for _, u := range up {
				if j.Target.Real == ap(u) {
					return check.Result{OK: true}
				}
			}
			return check.Result{Err: errDown}
		}
	}
	_, ev := step(t, e, t0, byReal("10.0.1.1:80"))
	if diff := cmp.Diff([]string{
		"real up tcp:10.0.0.1:80 10.0.1.1:80 w1", "fallback off tcp:10.0.0.1:80 127.0.0.1:80",
		"real down tcp:10.0.0.1:80 10.0.1.2:80 w-1", "real down tcp:10.0.0.2:80 10.0.1.3:80 w-1",
	}, kinds(ev)); diff != "" {
		t.Errorf("round 1 (-want +got):\n%s", diff)
	}
	_, ev = step(t, e, t0.Add(10*time.Second), pass)
	if diff := cmp.Diff([]string{
		"real up tcp:10.0.0.1:80 10.0.1.2:80 w1", "real up tcp:10.0.0.2:80 10.0.1.3:80 w1", "fallback off tcp:10.0.0.2:80 10.9.9.9:8080",
	}, kinds(ev)); diff != "" {
		t.Errorf("round 2 (-want +got):\n%s", diff)
	}
	_, ev = step(t, e, t0.Add(20*time.Second), byReal("10.0.1.2:80", "10.0.1.3:80"))
	if diff := cmp.Diff([]string{"real down tcp:10.0.0.1:80 10.0.1.1:80 w-1"}, kinds(ev)); diff != "" {
		t.Errorf("round 3: one of two down, no fallback (-want +got):\n%s", diff)
	}
	_, ev = step(t, e, t0.Add(30*time.Second), fail)
	if diff := cmp.Diff([]string{
		"real down tcp:10.0.0.1:80 10.0.1.2:80 w-1", "fallback on tcp:10.0.0.1:80 127.0.0.1:80",
		"real down tcp:10.0.0.2:80 10.0.1.3:80 w-1", "fallback on tcp:10.0.0.2:80 10.9.9.9:8080",
	}, kinds(ev)); diff != "" {
		t.Errorf("round 4 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.Desired(), eqAddr); diff != "" {
		t.Errorf("Desired after all down (-want +got):\n%s", diff)
	}
}

func TestReaddQuiescent(t *testing.T) {
	svc := kernel.Service{ServiceKey: kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Scheduler: "wrr"}
	for _, tc := range []struct {
		name     string
		readd    string
		initial  []lvs.Virtual
		start    string
		downWant string // event after up then down
		after    string
	}{
		{"fresh start", "no", nil, " 10.0.1.1:80/0", "w0", " 10.0.1.1:80/0"},
		{"absent at start, readd=no", "no", []lvs.Virtual{{Service: svc}}, " 10.0.1.1:80/0", "w0", " 10.0.1.1:80/0"},
		{"absent at start, readd=yes", "yes", []lvs.Virtual{{Service: svc}}, " 10.0.1.1:80/0", "w0", " 10.0.1.1:80/0"},
		{"quiesced in table", "no", []lvs.Virtual{{Service: svc, Reals: []kernel.Dest{{Addr: netip.MustParseAddr("10.0.1.1"), Port: 80}}}}, " 10.0.1.1:80/0", "w0", " 10.0.1.1:80/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Options{Initial: tc.initial}, "quiescent=yes", "readdquiescent="+tc.readd,
				"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=connect")
			if diff := cmp.Diff([]string{"tcp:10.0.0.1:80:" + tc.start}, table(e)); diff != "" {
				t.Errorf("start table (-want +got):\n%s", diff)
			}
			// Fail first: the start's entry stays.
			step(t, e, t0, fail)
			if diff := cmp.Diff([]string{"tcp:10.0.0.1:80:" + tc.start}, table(e)); diff != "" {
				t.Errorf("after first failure (-want +got):\n%s", diff)
			}
			step(t, e, t0.Add(10*time.Second), pass)
			_, ev := step(t, e, t0.Add(20*time.Second), fail)
			if diff := cmp.Diff([]string{"real down tcp:10.0.0.1:80 10.0.1.1:80 " + tc.downWant}, kinds(ev)[:1]); diff != "" {
				t.Errorf("down (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"tcp:10.0.0.1:80:" + tc.after}, table(e)); diff != "" {
				t.Errorf("after down (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSharedCheckCountedOnce(t *testing.T) {
	e := newEngine(t, Options{}, "failurecount=2",
		"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=connect",
		"virtual=10.0.0.2:80", "\treal=10.0.1.1:80 masq 5", "\tchecktype=connect", "\tfailurecount=3")
	jobs, ev := step(t, e, t0, pass)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs for one shared check, want 1: %+v", len(jobs), jobs)
	}
	if diff := cmp.Diff([]string{"tcp:10.0.0.1:80", "tcp:10.0.0.2:80"}, jobs[0].Virtuals); diff != "" {
		t.Errorf("job virtuals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"real up tcp:10.0.0.1:80 10.0.1.1:80 w1", "real up tcp:10.0.0.2:80 10.0.1.1:80 w5",
		"fallback off tcp:10.0.0.1:80", "fallback off tcp:10.0.0.2:80"}, kinds(ev)); diff != "" {
		t.Errorf("up (-want +got):\n%s", diff)
	}
	var got []string
	for i := 1; i <= 3; i++ {
		jobs, ev := step(t, e, t0.Add(time.Duration(i)*10*time.Second), fail)
		if len(jobs) != 1 {
			t.Fatalf("round %d: %d jobs", i, len(jobs))
		}
		got = append(got, kinds(ev)...)
	}
	want := []string{
		"soft failure tcp:10.0.0.1:80 10.0.1.1:80 1/2", "soft failure tcp:10.0.0.2:80 10.0.1.1:80 1/3",
		"real down tcp:10.0.0.1:80 10.0.1.1:80 w-1", "soft failure tcp:10.0.0.2:80 10.0.1.1:80 2/3", "fallback on tcp:10.0.0.1:80",
		"real down tcp:10.0.0.2:80 10.0.1.1:80 w-1", "fallback on tcp:10.0.0.2:80",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failures counted once per check (-want +got):\n%s", diff)
	}
	// A different check on the same real is a separate check.
	e = newEngine(t, Options{}, "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=connect",
		"virtual=10.0.0.2:80", "\treal=10.0.1.1:80 gate", "\tchecktype=ping")
	if n := len(e.Due(t0.Add(time.Second))); n != 2 {
		t.Errorf("connect and ping on one real: %d jobs, want 2", n)
	}
}

func TestCombined(t *testing.T) {
	e := newEngine(t, Options{}, "checktimeout=2", "negotiatetimeout=9",
		"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=2", "\tservice=http")
	// results for each step, and the phase the step must run
	steps := []struct {
		ok    bool
		phase string
	}{
		{true, "negotiate"}, {true, "connect"}, {true, "connect"}, {true, "negotiate"},
		{true, "connect"}, {false, "connect"}, {false, "negotiate"}, {true, "negotiate"}, {true, "connect"},
	}
	now := t0
	for i, s := range steps {
		jobs := e.Due(now)
		if len(jobs) != 1 {
			t.Fatalf("step %d: %d jobs", i, len(jobs))
		}
		j := jobs[0]
		wantTimeout, wantChecker := 9*time.Second, check.Checker(check.HTTP{Service: "http"})
		if s.phase == "connect" {
			wantTimeout, wantChecker = 2*time.Second, check.Connect{}
		}
		if j.CheckType != s.phase || j.Timeout != wantTimeout || j.Checker != wantChecker {
			t.Errorf("step %d: %s %v %T, want %s %v %T", i, j.CheckType, j.Timeout, j.Checker, s.phase, wantTimeout, wantChecker)
		}
		e.Result(now, j.ID, check.Result{OK: s.ok, Err: map[bool]error{false: errDown}[s.ok]})
		now = now.Add(10 * time.Second)
	}
}

func TestOffOn(t *testing.T) {
	svc := kernel.Service{ServiceKey: kernel.ServiceKey{Proto: kernel.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}}
	initial := []lvs.Virtual{{Service: svc, Reals: []kernel.Dest{
		{Addr: netip.MustParseAddr("10.0.1.1"), Port: 80, Weight: 3},
		{Addr: netip.MustParseAddr("10.0.1.2"), Port: 80, Weight: 0},
	}}}
	e := newEngine(t, Options{Initial: initial}, "fallback=127.0.0.1",
		"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 4", "\treal=10.0.1.2:80 gate", "\treal=10.0.1.3:80 gate", "\tchecktype=off",
		"virtual=10.0.0.2:80", "\treal=10.0.1.4:80 gate", "\tchecktype=off",
		"virtual=10.0.0.3:80", "\treal=10.0.1.5:80 gate", "\tchecktype=on")
	if diff := cmp.Diff([]string{"fallback on tcp:10.0.0.2:80 127.0.0.1:80", "fallback on tcp:10.0.0.3:80 127.0.0.1:80"}, kinds(e.Events())); diff != "" {
		t.Errorf("start (-want +got):\n%s", diff)
	}
	jobs := e.Due(t0.Add(time.Hour))
	if len(jobs) != 1 || jobs[0].Checker != (check.On{}) {
		t.Fatalf("jobs: only the on check may run: %+v", jobs)
	}
	r := jobs[0].Checker.Check(context.Background(), *jobs[0].Target)
	ev := e.Result(t0.Add(time.Hour), jobs[0].ID, r)
	if diff := cmp.Diff([]string{"real up tcp:10.0.0.3:80 10.0.1.5:80 w1", "fallback off tcp:10.0.0.3:80 127.0.0.1:80"}, kinds(ev)); diff != "" {
		t.Errorf("on (-want +got):\n%s", diff)
	}
	want := []string{"tcp:10.0.0.1:80: 10.0.1.1:80/4", "tcp:10.0.0.2:80: 127.0.0.1:80/1", "tcp:10.0.0.3:80: 10.0.1.5:80/1"}
	if diff := cmp.Diff(want, table(e)); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if !e.NextDue().Equal(t0.Add(time.Hour + 10*time.Second)) {
		t.Errorf("NextDue %v: off checks must not be scheduled", e.NextDue())
	}
	// Reload keeps an off real up; an ErrOff result (a stale job) changes nothing.
	e.Reload(parse(t, "fallback=127.0.0.1", "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 4", "\tchecktype=off"))
	if diff := cmp.Diff(want[:1], table(e)); diff != "" {
		t.Errorf("after reload (-want +got):\n%s", diff)
	}
}

func TestOffResultChangesNothing(t *testing.T) {
	e := newEngine(t, Options{}, "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=connect")
	step(t, e, t0, pass)
	_, ev := step(t, e, t0.Add(10*time.Second), func(Job) check.Result { return check.Off{}.Check(context.Background(), check.Target{}) })
	if len(ev) != 0 || e.Status()[0].State != Up {
		t.Errorf("ErrOff result: events %v, state %v", ev, e.Status()[0].State)
	}
}

func TestMaintenance(t *testing.T) {
	inMaint := map[netip.AddrPort]bool{}
	var dirs []string
	opts := Options{InMaintenance: func(_ context.Context, dir string, tg check.Target) bool {
		dirs = append(dirs, dir)
		return inMaint[tg.Real]
	}}
	e := newEngine(t, opts, "maintenancedir=/m", "failurecount=3", "quiescent=yes",
		"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=on")
	run := func(now time.Time) []Event {
		_, ev := step(t, e, now, func(j Job) check.Result { return j.Checker.Check(context.Background(), *j.Target) })
		return ev
	}
	if got := kinds(run(t0)); len(got) != 2 || got[0] != "real up tcp:10.0.0.1:80 10.0.1.1:80 w1" {
		t.Fatalf("up: %v", got)
	}
	inMaint[ap("10.0.1.1:80")] = true
	ev := run(t0.Add(10 * time.Second))
	if diff := cmp.Diff([]string{"real down tcp:10.0.0.1:80 10.0.1.1:80 w0", "fallback on tcp:10.0.0.1:80"}, kinds(ev)); diff != "" {
		t.Errorf("maintenance bypasses failurecount (-want +got):\n%s", diff)
	}
	if !errors.Is(ev[0].Result.Err, ErrMaintenance) || !e.Status()[0].Maintenance {
		t.Errorf("result %v, status %+v", ev[0].Result, e.Status()[0])
	}
	if ev := run(t0.Add(20 * time.Second)); len(ev) != 0 {
		t.Errorf("still in maintenance: %v", kinds(ev))
	}
	delete(inMaint, ap("10.0.1.1:80"))
	if got := kinds(run(t0.Add(30 * time.Second))); len(got) != 2 || got[0] != "real up tcp:10.0.0.1:80 10.0.1.1:80 w1" {
		t.Errorf("file removed: %v", got)
	}
	if diff := cmp.Diff([]string{"/m", "/m", "/m", "/m"}, dirs); diff != "" {
		t.Errorf("dirs asked (-want +got):\n%s", diff)
	}
}

func TestMaintenanceNames(t *testing.T) {
	got := MaintenanceNames(check.Target{Real: ap("10.0.1.1:0"), Virtual: ap("10.0.0.1:80")}, []string{"web1.example.com.", ""})
	want := []string{"10.0.1.1:80", "10.0.1.1", "web1.example.com:80", "web1.example.com", "web1:80", "web1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = MaintenanceNames(check.Target{Real: ap("[2001:db8::1]:443")}, nil)
	if diff := cmp.Diff([]string{"[2001:db8::1]:443", "[2001:db8::1]"}, got); diff != "" {
		t.Errorf("v6 (-want +got):\n%s", diff)
	}
	dir := t.TempDir()
	if inDir(dir, want) {
		t.Error("empty dir: in maintenance")
	}
	if err := writeFile(dir + "/web1"); err != nil {
		t.Fatal(err)
	}
	if !inDir(dir, want) {
		t.Error("file web1: not in maintenance")
	}
}

func TestReloadKeepsState(t *testing.T) {
	e := newEngine(t, Options{StartSpread: time.Nanosecond}, "failurecount=3", "quiescent=yes",
		"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 2", "\treal=10.0.1.2:80 gate", "\treal=10.0.1.3:80 gate", "\tchecktype=connect",
		"virtual=10.0.0.9:80", "\treal=10.0.1.9:80 gate", "\tchecktype=connect")
	e.Events()
	step(t, e, t0, func(j Job) check.Result {
		if j.Target.Real == ap("10.0.1.2:80") {
			return check.Result{Err: errDown}
		}
		return check.Result{OK: true}
	})
	// 10.0.1.1 has one soft failure; 10.0.1.3's check is in flight.
	now := t0.Add(10 * time.Second)
	var inflight Job
	for _, j := range e.Due(now) {
		switch j.Target.Real {
		case ap("10.0.1.1:80"):
			e.Result(now, j.ID, check.Result{Err: errDown})
		case ap("10.0.1.3:80"):
			inflight = j
		default:
			e.Result(now, j.ID, check.Result{Err: errDown})
		}
	}
	var gone Job
	for _, j := range e.Due(now.Add(10 * time.Second)) {
		if j.Target.Real == ap("10.0.1.9:80") {
			gone = j
		}
	}
	e.Reload(parse(t, "failurecount=3", "quiescent=yes",
		"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 7", "\treal=10.0.1.2:80 gate", "\treal=10.0.1.3:80 gate", "\treal=10.0.1.4:80 gate", "\tchecktype=connect"))
	if ev := e.Events(); len(ev) != 0 {
		t.Errorf("reload events: %v", kinds(ev))
	}
	if diff := cmp.Diff([]string{"tcp:10.0.0.1:80: 10.0.1.1:80/7 10.0.1.2:80/0 10.0.1.3:80/1 10.0.1.4:80/0"}, table(e)); diff != "" {
		t.Errorf("table after reload (-want +got):\n%s", diff)
	}
	st := e.Status()
	if st[0].Failures != 1 || st[0].State != Up || st[1].State != Unchecked || st[1].Failures != 2 || st[3].State != Unchecked {
		t.Errorf("status after reload: %+v", st)
	}
	if ev := e.Result(now, gone.ID, check.Result{Err: errDown}); ev != nil || gone.ID == 0 {
		t.Errorf("result of a removed check: %v", ev)
	}
	ev := e.Result(now, inflight.ID, check.Result{Err: errDown})
	if diff := cmp.Diff([]string{"soft failure tcp:10.0.0.1:80 10.0.1.3:80 1/3"}, kinds(ev)); diff != "" {
		t.Errorf("in-flight result kept across reload (-want +got):\n%s", diff)
	}
	// The new real is checked soon after the reload.
	if d := e.NextDue(); !d.Equal(t0) {
		t.Errorf("NextDue %v, want %v (new real, reload at t0)", d, t0)
	}
	// A changed check is a new check with fresh counters, but a real that
	// was up stays up (in the table) until the new check decides.
	e.Reload(parse(t, "quiescent=yes", "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 7", "\treal=10.0.1.2:80 gate", "\tchecktype=ping"))
	if st := e.Status(); len(st) != 2 || st[0].State != Up || st[0].Failures != 0 || st[1].State != Unchecked {
		t.Errorf("changed check type: %+v", st)
	}
	if ev := e.Events(); len(ev) != 0 {
		t.Errorf("events: %v", kinds(ev))
	}
	if diff := cmp.Diff([]string{"tcp:10.0.0.1:80: 10.0.1.1:80/7 10.0.1.2:80/0"}, table(e)); diff != "" {
		t.Errorf("table after changing the check (-want +got):\n%s", diff)
	}
}

func TestJitterAndSpread(t *testing.T) {
	var lines = []string{"checkinterval=10", "virtual=10.0.0.1:80", "\tchecktype=connect"}
	for i := 1; i <= 4; i++ {
		lines = append(lines, "\treal=10.0.1."+itoa(i)+":80 gate")
	}
	for _, tc := range []struct {
		rand     float64
		min, max time.Duration
	}{
		{0, 9 * time.Second, 9 * time.Second},
		{0.5, 10 * time.Second, 10 * time.Second},
		{0.999999, 10999 * time.Millisecond, 11 * time.Second},
	} {
		e := newEngine(t, Options{Rand: func() float64 { return tc.rand }, StartSpread: 2 * time.Second}, lines...)
		var firsts []time.Duration
		for now := t0; len(firsts) < 4; now = now.Add(100 * time.Millisecond) {
			for _, j := range e.Due(now) {
				firsts = append(firsts, now.Sub(t0))
				e.Result(now, j.ID, check.Result{OK: true})
			}
		}
		want := []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
		if diff := cmp.Diff(want, firsts); diff != "" {
			t.Errorf("first checks spread over 2s (-want +got):\n%s", diff)
		}
		next := e.NextDue().Sub(t0)
		if next < tc.min || next > tc.max {
			t.Errorf("rand %v: next check after %v, want [%v, %v]", tc.rand, next, tc.min, tc.max)
		}
	}
	// A check is not due again while in flight.
	e := newEngine(t, Options{}, lines[:4]...)
	if j := e.Due(t0); len(j) != 1 || len(e.Due(t0.Add(time.Hour))) != 0 || !e.NextDue().IsZero() {
		t.Errorf("in flight: due again")
	}
}

func TestTimeouts(t *testing.T) {
	for _, tc := range []struct {
		lines   []string
		timeout time.Duration
		checker check.Checker
	}{
		{[]string{"\tchecktype=connect"}, 3 * time.Second, check.Connect{}},
		{[]string{"\tchecktype=ping", "\tcheckcount=2"}, 6 * time.Second, check.Ping{}},
		{[]string{"\tchecktype=external", "\tcheckcommand=/bin/true"}, 3 * time.Second, check.External{}},
		{[]string{"\tchecktype=external-perl"}, 3 * time.Second, check.ExternalPerl{}},
		{[]string{"\tchecktype=on"}, 3 * time.Second, check.On{}},
		{[]string{"\tchecktype=negotiate", "\tservice=http"}, 8 * time.Second, check.HTTP{Service: "http"}},
		{[]string{"\tchecktype=negotiate", "\tservice=http", "\tnegotiatetimeout=1.5"}, 1500 * time.Millisecond, check.HTTP{Service: "http"}},
		{[]string{"\tchecktype=negotiate", "\tservice=none", "\tchecktimeout=4"}, 4 * time.Second, check.None{}},
	} {
		lines := append([]string{"checktimeout=3", "negotiatetimeout=8", "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate"}, tc.lines...)
		e := newEngine(t, Options{}, lines...)
		j := e.Due(t0)
		if len(j) != 1 || j[0].Timeout != tc.timeout || j[0].Checker != tc.checker {
			t.Errorf("%v: %+v, want timeout %v checker %T", tc.lines, j, tc.timeout, tc.checker)
		}
	}
	// A checker that cannot be built fails every check with its error.
	e := newEngine(t, Options{}, "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=connect")
	c := e.newCheck(checkKey{ctype: "bogus"}, &e.cfg.Virtuals[0])
	if r := c.checker.Check(context.Background(), *c.target); r.OK || r.Err == nil || !strings.Contains(r.Err.Error(), "bogus") {
		t.Errorf("unknown checktype: %+v", r)
	}
}

func TestExternalTargetPerVirtual(t *testing.T) {
	e := newEngine(t, Options{}, "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=external",
		"virtual=10.0.0.2:80", "\treal=10.0.1.1:80 gate", "\tchecktype=external")
	var got []netip.AddrPort
	for _, j := range e.Due(t0.Add(time.Second)) {
		got = append(got, j.Target.Virtual)
	}
	if diff := cmp.Diff([]netip.AddrPort{ap("10.0.0.1:80"), ap("10.0.0.2:80")}, got, eqAddr); diff != "" {
		t.Errorf("external checks get their own virtual (-want +got):\n%s", diff)
	}
}

func TestDesired(t *testing.T) {
	e := newEngine(t, Options{}, "quiescent=yes",
		"virtual=192.0.2.10:80", "\treal=10.0.0.11:80 gate 5 l:10 u:100", "\treal=10.0.0.12:8080 masq", "\treal=10.0.0.13 ipip 0",
		"\tscheduler=wlc", "\tpersistent=600", "\tnetmask=255.255.255.0", "\tschedflags=sh-fallback,sh-port", "\tchecktype=on",
		"virtual=192.0.2.10:53", "\treal=10.0.1.1 masq", "\tprotocol=udp", "\tops=yes", "\tchecktype=on", "\tscheduler=rr",
		"virtual6=42", "\treal6=[2001:db8::1]:443 masq 2", "\tchecktype=on", "\tpersistent=30", "\tnetmask=64", "\tschedflags=flag-3")
	step(t, e, t0.Add(time.Second), pass)
	a := netip.MustParseAddr
	want := []lvs.Virtual{
		{Service: kernel.Service{ServiceKey: kernel.ServiceKey{Proto: kernel.TCP, Addr: a("192.0.2.10"), Port: 80}, Scheduler: "wlc",
			Flags: kernel.SchedFlag1 | kernel.SchedFlag2, Persistent: 600, Netmask: 24},
			Reals: []kernel.Dest{
				{Addr: a("10.0.0.11"), Port: 80, Forward: kernel.ForwardGate, Weight: 5, LowerThreshold: 10, UpperThreshold: 100},
				{Addr: a("10.0.0.12"), Port: 8080, Forward: kernel.ForwardMasq, Weight: 1},
				{Addr: a("10.0.0.13"), Port: 80, Forward: kernel.ForwardTunnel, Weight: 0},
			}},
		{Service: kernel.Service{ServiceKey: kernel.ServiceKey{Proto: kernel.UDP, Addr: a("192.0.2.10"), Port: 53}, Scheduler: "rr", Flags: kernel.OnePacket},
			Reals: []kernel.Dest{{Addr: a("10.0.1.1"), Port: 53, Forward: kernel.ForwardMasq, Weight: 1}}},
		{Service: kernel.Service{ServiceKey: kernel.ServiceKey{FWMark: 42, IPv6: true}, Scheduler: "wrr", Flags: kernel.SchedFlag3, Persistent: 30, Netmask: 64},
			Reals: []kernel.Dest{{Addr: a("2001:db8::1"), Port: 443, Forward: kernel.ForwardMasq, Weight: 2}}},
	}
	if diff := cmp.Diff(want, e.Desired(), eqAddr); diff != "" {
		t.Errorf("Desired (-want +got):\n%s", diff)
	}
}

func TestSharedTimingAndReloadTiming(t *testing.T) {
	e := newEngine(t, Options{},
		"virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate", "\tchecktype=ping", "\tcheckinterval=5", "\tchecktimeout=2",
		"virtual=10.0.0.2:80", "\treal=10.0.1.1:80 gate", "\tchecktype=ping", "\tcheckinterval=20", "\tchecktimeout=4", "\tcheckcount=3")
	e.Events()
	jobs, _ := step(t, e, t0, pass)
	if len(jobs) != 1 || jobs[0].Timeout != 12*time.Second {
		t.Fatalf("shared check: %+v, want one job with the longest timeout × checkcount, 12s", jobs)
	}
	if d := e.NextDue(); !d.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("NextDue %v, want the shortest interval, t0+5s", d)
	}
	// A reload changing only timing and weight keeps the state; a longer
	// interval keeps the next check, a shorter one brings it forward.
	e.Reload(parse(t, "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 9", "\tchecktype=ping", "\tcheckinterval=60"))
	if diff := cmp.Diff([]string{"tcp:10.0.0.1:80: 10.0.1.1:80/9"}, table(e)); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if ev := e.Events(); len(ev) != 0 {
		t.Errorf("events: %v", kinds(ev))
	}
	if d := e.NextDue(); !d.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("NextDue %v after a longer interval, want t0+5s", d)
	}
	e.Reload(parse(t, "virtual=10.0.0.1:80", "\treal=10.0.1.1:80 gate 9", "\tchecktype=ping", "\tcheckinterval=1"))
	if d := e.NextDue(); !d.Equal(t0.Add(time.Second)) {
		t.Errorf("NextDue %v after a shorter interval, want t0+1s", d)
	}
	if st := e.Status(); st[0].State != Up || st[0].Successes != 1 {
		t.Errorf("status: %+v", st)
	}
}

func TestFileMaintenance(t *testing.T) {
	dir := t.TempDir()
	tg := check.Target{Real: ap("127.0.0.1:80")}
	if FileMaintenance(context.Background(), dir, tg) {
		t.Error("empty dir: in maintenance")
	}
	if err := writeFile(dir + "/127.0.0.1:80"); err != nil {
		t.Fatal(err)
	}
	if !FileMaintenance(context.Background(), dir, tg) {
		t.Error("file 127.0.0.1:80: not in maintenance")
	}
}

func writeFile(path string) error { return os.WriteFile(path, nil, 0o644) }
