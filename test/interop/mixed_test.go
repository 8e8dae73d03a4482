// Mixed pair: one heartbeatd and one real heartbeat 3.0.6 from Debian see
// each other active over each auth method and medium, and each detects the
// other's death within deadtime.

package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

const (
	mixedKeepalive = 200 * time.Millisecond
	mixedDeadtime  = 1500 * time.Millisecond
	// classicCheck is how often 3.0.6 looks for dead nodes (every 250 ms).
	classicCheck = 250 * time.Millisecond
)

// mixedHACF is one ha.cf for both nodes: our parser and 3.0.6 must agree.
func mixedHACF(media, extra string) string {
	return fmt.Sprintf(`# mixed pair test
keepalive 200ms
deadtime 1500ms
warntime 1
initdead 4
auto_failback on
%s
%snode nodea nodeb
crm no
`, media, extra)
}

func startMixed(t *testing.T, media, method, extra string) (*hbnode.Node, *Classic) {
	t.Helper()
	RequireClassic(t)
	lab := netns.NewLab(t)
	ha := lab.AddHost("a", "10.77.0.1/24")
	hb := lab.AddHost("b", "10.77.0.2/24")
	keys := hbnode.AuthKeys(method, "s3cretKey")
	ours := hbnode.Start(t, ha, hbnode.Options{
		Node:     "nodea",
		HACF:     "logfile " + hbnode.LogPlaceholder + "\n" + mixedHACF(strings.ReplaceAll(media, "%PEER", "10.77.0.2"), extra),
		AuthKeys: keys,
	})
	classic := StartClassic(t, hb, ClassicOptions{
		Node: "nodeb", HACF: mixedHACF(strings.ReplaceAll(media, "%PEER", "10.77.0.1"), extra), AuthKeys: keys,
	})
	return ours, classic
}

func TestMixedPairSeesEachOtherActive(t *testing.T) {
	RequireClassic(t)
	cases := []struct{ name, media, method, extra string }{
		{"bcast-sha1", "bcast hb0", "sha1", ""},
		{"bcast-md5", "bcast hb0", "md5", ""},
		{"bcast-crc", "bcast hb0", "crc", ""},
		{"mcast-sha1", "mcast hb0 239.0.0.43 694 1 0", "sha1", ""},
		{"ucast-sha1", "ucast hb0 %PEER", "sha1", ""},
		{"bcast-sha1-netstring", "bcast hb0", "sha1", "msgfmt netstring\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ours, classic := startMixed(t, c.media, c.method, c.extra)
			classic.WaitNodeStatus(t, "nodea", "active", 8*time.Second)
			ours.WaitStatus(t, "nodeb", "active", 8*time.Second)
			if out, rc := classic.ClStatus(t, "hblinkstatus", "nodea", "hb0"); rc != 0 || strings.TrimSpace(out) != "up" {
				t.Errorf("classic: hblinkstatus nodea hb0 = %q rc %d", out, rc)
			}
			// Both sides accept every packet: no auth failures, no replays.
			time.Sleep(time.Second)
			cnt := ours.Counters(t)
			for _, k := range []string{"packets_auth_failed", "packets_malformed", "messages_replay", "messages_malformed"} {
				if cnt[k] != 0 {
					t.Errorf("heartbeatd counter %s = %d", k, cnt[k])
				}
			}
			for _, bad := range []string{"failed authentication", "authtoken does not match", "replay", "Bad permissions"} {
				if strings.Contains(classic.Log(), bad) {
					t.Errorf("classic log mentions %q:\n%s", bad, classic.Log())
				}
			}
		})
	}
}

func TestMixedPairDetectsDeath(t *testing.T) {
	RequireClassic(t)
	for _, method := range []string{"sha1", "md5", "crc"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			ours, classic := startMixed(t, "bcast hb0", method, "")
			classic.WaitNodeStatus(t, "nodea", "active", 8*time.Second)
			ours.WaitStatus(t, "nodeb", "active", 8*time.Second)
			time.Sleep(5500 * time.Millisecond) // both past the start-up dt grace

			// heartbeatd detects the classic node's death.
			classic.Kill(t)
			took := ours.WaitStatus(t, "nodeb", "dead", mixedDeadtime+3*time.Second)
			t.Logf("%s: heartbeatd declared the killed classic node dead after %v", method, took)
			if took > mixedDeadtime+mixedKeepalive {
				t.Errorf("heartbeatd took %v, want ≤ deadtime+keepalive %v", took, mixedDeadtime+mixedKeepalive)
			}

			// The classic node comes back (new generation) and is active again.
			classic.Start(t)
			classic.WaitNodeStatus(t, "nodea", "active", 8*time.Second)
			ours.WaitStatus(t, "nodeb", "active", 8*time.Second)
			time.Sleep(5500 * time.Millisecond)

			// The classic node detects heartbeatd's death (SIGKILL: no shutdone).
			ours.Kill(t)
			start := time.Now()
			classic.WaitNodeStatus(t, "nodea", "dead", mixedDeadtime+3*time.Second)
			took = time.Since(start)
			t.Logf("%s: heartbeat 3.0.6 declared the killed heartbeatd dead after %v", method, took)
			// Bound: deadtime + its 250 ms check period + one cl_status run
			// through nsenter (up to ~0.5 s on a loaded 2-core machine). A
			// heartbeatd advertising the start-up dt (+2 s) would miss it.
			if took > mixedDeadtime+classicCheck+500*time.Millisecond+mixedKeepalive {
				t.Errorf("classic took %v: did heartbeatd advertise a longer dt?", took)
			}
		})
	}
}
