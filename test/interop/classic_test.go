// classic_test.go: tests of the harness, and of real heartbeat pairs in a lab.

package interop

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/test/netns"
)

// Fast timings for lab pairs (NOTES.md): comm is up in well under a second,
// a killed peer is declared dead after deadtime, or deadtime + 2 s within
// its first ~5 s (start-up dt bonus).
const (
	testDeadtime = 1500 * time.Millisecond
	// deadWithin bounds how long a peer takes to report a killed node
	// dead: deadtime + the 2 s start-up bonus + margin for the 250 ms
	// check period and slow cl_status runs on a loaded machine.
	deadWithin   = testDeadtime + 2*time.Second + 3*time.Second
	activeWithin = 10 * time.Second
	// stableWithin bounds the start-up resource transition (10 s with
	// auto_failback on or off).
	stableWithin = 15 * time.Second
)

const pairHACF = `# two-node lab pair, fast timings
keepalive 200ms
deadtime 1500ms
warntime 1
initdead 4
udpport 694
bcast hb0
node nodea nodeb
auto_failback on
crm no
`

const pairAuthKeys = "auth 1\n1 sha1 s3cretKey\n"

// legacyHACF is pairHACF with auto_failback legacy: no start-up resource
// transition (auto_failback on/off spends 10 s in it, and a node asked to
// stop during it waits for it to end).
var legacyHACF = strings.Replace(pairHACF, "auto_failback on", "auto_failback legacy", 1)

// startPair starts nodea and nodeb with ha.cf text hacf in a new lab and
// waits until each sees the other active.
func startPair(t *testing.T, hacf string) (a, b *Classic) {
	t.Helper()
	RequireClassic(t)
	lab := netns.NewLab(t)
	ha := lab.AddHost("a", "10.77.0.1/24")
	hb := lab.AddHost("b", "10.77.0.2/24")
	t0 := time.Now()
	a = StartClassic(t, ha, ClassicOptions{Node: "nodea", HACF: hacf, AuthKeys: pairAuthKeys})
	b = StartClassic(t, hb, ClassicOptions{Node: "nodeb", HACF: hacf, AuthKeys: pairAuthKeys})
	a.WaitNodeStatus(t, "nodeb", "active", activeWithin)
	b.WaitNodeStatus(t, "nodea", "active", activeWithin)
	t.Logf("both nodes active %v after launch", time.Since(t0).Round(time.Millisecond))
	return a, b
}

func TestClassicPair(t *testing.T) {
	t.Parallel()
	a, b := startPair(t, pairHACF)

	for _, c := range []*Classic{a, b} {
		if out, rc := c.ClStatus(t, "nodestatus", c.Node()); strings.TrimSpace(out) != "active" || rc != 0 {
			t.Errorf("%s: nodestatus %s = %q rc %d, want active rc 0", c.Node(), c.Node(), out, rc)
		}
	}
	if out, rc := a.ClStatus(t, "nodestatus", "nosuchnode"); rc != 11 {
		t.Errorf("nodestatus nosuchnode = %q rc %d, want rc 11", out, rc)
	}

	t0 := time.Now()
	b.Kill(t)
	if pids, err := b.procs(); err != nil || len(pids) != 0 {
		t.Errorf("after Kill, nodeb's namespace still has processes %v (err %v)", pids, err)
	}
	a.WaitNodeStatus(t, "nodeb", "dead", deadWithin)
	t.Logf("nodea saw nodeb dead %v after SIGKILL", time.Since(t0).Round(time.Millisecond))
	if out, rc := a.ClStatus(t, "nodestatus", "nodeb"); strings.TrimSpace(out) != "dead" || rc != 1 {
		t.Errorf("nodestatus of killed node = %q rc %d, want dead rc 1", out, rc)
	}
	if log := a.Log(); !strings.Contains(log, "node nodeb: is dead") {
		t.Errorf("nodea's log lacks %q:\n%s", "node nodeb: is dead", log)
	}
}

func TestClassicStopStart(t *testing.T) {
	t.Parallel()
	a, b := startPair(t, legacyHACF)
	gen0, uuid0 := readState(t, b)
	a.WaitStable(t, stableWithin)
	b.WaitStable(t, stableWithin)

	t0 := time.Now()
	b.Stop(t)
	t.Logf("nodeb stopped gracefully in %v", time.Since(t0).Round(time.Millisecond))
	if b.Pid() != 0 {
		t.Errorf("Pid() = %d after Stop, want 0", b.Pid())
	}
	if log := b.Log(); !strings.Contains(log, "nodeb Heartbeat shutdown complete.") {
		t.Errorf("nodeb's log lacks the shutdown message:\n%s", log)
	}
	if log := a.Log(); !strings.Contains(log, "Received shutdown notice from 'nodeb'.") {
		t.Errorf("nodea's log lacks the shutdown notice:\n%s", log)
	}
	a.WaitNodeStatus(t, "nodeb", "dead", deadWithin)

	b.Start(t)
	a.WaitNodeStatus(t, "nodeb", "active", activeWithin)
	b.WaitNodeStatus(t, "nodea", "active", activeWithin)
	gen1, uuid1 := readState(t, b)
	if gen1 != gen0+1 {
		t.Errorf("hb_generation after restart = %d, want %d", gen1, gen0+1)
	}
	if uuid1 != uuid0 {
		t.Errorf("hb_uuid changed across restart: %x -> %x", uuid0, uuid1)
	}
}

// readState returns a node's hb_generation and hb_uuid.
func readState(t *testing.T, c *Classic) (int64, string) {
	t.Helper()
	g, err := os.ReadFile(c.HostPath("/var/lib/heartbeat/hb_generation"))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := strconv.ParseInt(strings.TrimSpace(string(g)), 10, 64)
	if err != nil {
		t.Fatalf("hb_generation %q: %v", g, err)
	}
	u, err := os.ReadFile(c.HostPath("/var/lib/heartbeat/hb_uuid"))
	if err != nil {
		t.Fatal(err)
	}
	return gen, string(u)
}

func TestWithLogging(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "empty",
			in:   "",
			want: "# added by the test harness\nlogfile /var/log/ha-log\ndebugfile /var/log/ha-debug\nuse_logd no\n",
		},
		{
			name: "no trailing newline",
			in:   "bcast hb0",
			want: "bcast hb0\n# added by the test harness\nlogfile /var/log/ha-log\ndebugfile /var/log/ha-debug\nuse_logd no\n",
		},
		{
			name: "logfile set, case-insensitive",
			in:   "LogFile /tmp/x\n",
			want: "LogFile /tmp/x\n# added by the test harness\ndebugfile /var/log/ha-debug\nuse_logd no\n",
		},
		{
			name: "commented out does not count",
			in:   "#logfile /tmp/x\ndebugfile /d # comment\nuse_logd yes\n",
			want: "#logfile /tmp/x\ndebugfile /d # comment\nuse_logd yes\n# added by the test harness\nlogfile /var/log/ha-log\n",
		},
		{
			name: "all set",
			in:   "logfile a\ndebugfile b\n  use_logd   no\n",
			want: "logfile a\ndebugfile b\n  use_logd   no\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, WithLogging(tc.in)); diff != "" {
				t.Errorf("WithLogging(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestDirectiveValue(t *testing.T) {
	tests := []struct{ in, name, want string }{
		{"logfile /a\nlogfile /b\n", "logfile", "/b"},
		{"logfile   /a  # c\n", "logfile", "/a"},
		{"debugfile /a\n", "logfile", ""},
		{"logfilex /a\n", "logfile", ""},
	}
	for _, tc := range tests {
		if got := directiveValue(tc.in, tc.name); got != tc.want {
			t.Errorf("directiveValue(%q, %q) = %q, want %q", tc.in, tc.name, got, tc.want)
		}
	}
}

func TestHostPath(t *testing.T) {
	const dir = "/tmp/node"
	tests := []struct{ in, want string }{
		{"/etc/ha.d/ha.cf", "/tmp/node/etc/ha.d/ha.cf"},
		{"/etc/ha.d", "/tmp/node/etc/ha.d"},
		{"/var/lib/heartbeat/hb_uuid", "/tmp/node/var/lib/heartbeat/hb_uuid"},
		{"/var/log/ha-log", "/tmp/node/var/log/ha-log"},
		{"/run/heartbeat.pid", "/tmp/node/run/heartbeat.pid"},
		{"/var/run/heartbeat/register", "/tmp/node/run/heartbeat/register"},
		{"/var/run", "/tmp/node/run"},
		{"/etc/ha.dx", "/etc/ha.dx"},
		{"/runx/y", "/runx/y"},
		{"/usr/share/heartbeat/mach_down", "/usr/share/heartbeat/mach_down"},
	}
	for _, tc := range tests {
		if got := hostPath(dir, tc.in); got != tc.want {
			t.Errorf("hostPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
