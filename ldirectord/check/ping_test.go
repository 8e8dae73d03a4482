// ping_test.go: ping on loopback, and (root) between network namespaces with silent and missing hosts.

package check

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

func TestPingLoopback(t *testing.T) {
	if _, _, _, err := listenICMP(netip.MustParseAddr("127.0.0.1")); err != nil && os.Geteuid() != 0 {
		t.Skipf("no ICMP socket without root here: %v", err)
	}
	for _, c := range []Checker{Ping{}, Connect{}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r := c.Check(ctx, Target{Real: netip.MustParseAddrPort("127.0.0.1:53"), Protocol: "udp"})
		cancel()
		if !r.OK || r.Err != nil {
			t.Errorf("%T: %+v, want OK", c, r)
		}
	}
}

// TestPingLab pings across a bridge from namespace a: b answers, c is
// absent (no ARP answer), and b stops answering echo requests.
func TestPingLab(t *testing.T) {
	lab := netns.NewLab(t)
	a := lab.AddHost("a", "10.213.7.1/24")
	b := lab.AddHost("b", "10.213.7.2/24")
	check := func(c Checker, ip string, timeout time.Duration) (Result, time.Duration) {
		var r Result
		var el time.Duration
		a.Do(t, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			r = c.Check(ctx, Target{Real: netip.AddrPortFrom(netip.MustParseAddr(ip), 0), Protocol: "udp"})
			el = time.Since(start)
			return nil
		})
		return r, el
	}
	if r, _ := check(Ping{}, "10.213.7.2", 5*time.Second); !r.OK {
		t.Errorf("ping b: %+v, want OK", r)
	}
	if r, _ := check(Connect{}, "10.213.7.2", 5*time.Second); !r.OK {
		t.Errorf("udp connect b: %+v, want OK", r)
	}
	// Longer than pingInterval, so a second echo request goes out.
	r, el := check(Ping{}, "10.213.7.3", 1500*time.Millisecond)
	if r.OK || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("ping absent host: %+v, want a deadline error", r)
	}
	if el < 1400*time.Millisecond || el > 3*time.Second {
		t.Errorf("ping absent host took %s, want about 1.5s", el)
	}
	b.Run(t, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
	if r, _ := check(Ping{}, "10.213.7.2", 500*time.Millisecond); r.OK || !strings.Contains(errString(r.Err), "no echo reply from 10.213.7.2") {
		t.Errorf("ping silent b: %+v, want no echo reply", r)
	}
}
