// policy_test.go: the classic exit rules, step by step.

package respawn

import (
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecide(t *testing.T) {
	type step struct {
		lived     time.Duration
		exit      Exit
		failfast  bool
		stopping  bool
		want      verdict
		emergency bool
	}
	short, long := time.Second, ShortRun
	repeat := func(n int, s step) []step {
		out := make([]step, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name  string
		steps []step
		want  counters // after the last step
	}{
		{"long run restarts at once", []step{{lived: long, exit: Exit{Code: 1}, want: restartNow}}, counters{respawns: 1}},
		{"exit 0 restarts too", []step{{lived: time.Hour, want: restartNow}}, counters{respawns: 1}},
		{"short run restarts after the delay", []step{{lived: short, exit: Exit{Code: 1}, want: restartDelayed}}, counters{respawns: 1, short: 1}},
		{"just under 30 s is short", []step{{lived: ShortRun - time.Millisecond, want: restartDelayed}}, counters{respawns: 1, short: 1}},
		{"exit 100 is not respawned", []step{{lived: short, exit: Exit{Code: 100}, want: noRespawn}}, counters{}},
		{"signal with code 100 is respawned", []step{{lived: short, exit: Exit{Signal: syscall.SIGKILL}, want: restartDelayed}}, counters{respawns: 1, short: 1}},
		{"killed by a signal is respawned", []step{{lived: long, exit: Exit{Signal: syscall.SIGSEGV}, want: restartNow}}, counters{respawns: 1}},
		{"ten short runs still respawn", repeat(10, step{lived: short, exit: Exit{Code: 1}, want: restartDelayed}), counters{respawns: 10, short: 10}},
		{"the 11th short run is too fast", append(repeat(10, step{lived: short, want: restartDelayed}),
			step{lived: short, want: tooFast}), counters{respawns: 11}},
		{"a long run resets the count", append(append(repeat(10, step{lived: short, want: restartDelayed}),
			step{lived: long, want: restartNow}), repeat(10, step{lived: short, want: restartDelayed})...), counters{respawns: 21, short: 10}},
		{"stopping: no respawn", []step{{lived: short, exit: Exit{Signal: syscall.SIGTERM}, stopping: true, want: stopping}}, counters{}},
		{"failfast signal is an emergency", []step{{lived: long, exit: Exit{Signal: syscall.SIGKILL}, failfast: true, want: restartNow, emergency: true}}, counters{respawns: 1}},
		{"failfast non-zero exit is an emergency", []step{{lived: long, exit: Exit{Code: 2}, failfast: true, want: restartNow, emergency: true}}, counters{respawns: 1}},
		{"failfast exit 100 is an emergency", []step{{lived: long, exit: Exit{Code: 100}, failfast: true, want: noRespawn, emergency: true}}, counters{}},
		{"failfast exit 0 is not", []step{{lived: long, failfast: true, want: restartNow}}, counters{respawns: 1}},
		{"failfast killed by Stop is not", []step{{lived: long, exit: Exit{Signal: syscall.SIGTERM}, failfast: true, stopping: true, want: stopping}}, counters{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c counters
			for i, s := range tt.steps {
				v, em := decide(&c, s.lived, s.exit, s.failfast, s.stopping)
				if v != s.want || em != s.emergency {
					t.Fatalf("step %d: decide = %v, emergency %v; want %v, %v", i+1, v, em, s.want, s.emergency)
				}
			}
			if diff := cmp.Diff(tt.want, c, cmp.AllowUnexported(counters{})); diff != "" {
				t.Errorf("counters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExitString(t *testing.T) {
	for _, tt := range []struct {
		e    Exit
		want string
	}{{Exit{Code: 3}, "exit 3"}, {Exit{Signal: syscall.SIGKILL}, "signal 9"}} {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.e, got, tt.want)
		}
	}
}
