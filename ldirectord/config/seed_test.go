package config

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSeedTutorialConfig pins the seed tutorial's configuration: an LVS-NAT
// web service with two reals and a local fallback.
func TestSeedTutorialConfig(t *testing.T) {
	c, err := Load("testdata/seed-tutorial.cf", Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	if c.CheckTimeout != 10*time.Second || c.CheckInterval != 2*time.Second || c.AutoReload ||
		c.LogFile != "local0" || !c.Quiescent {
		t.Errorf("globals: checktimeout %v checkinterval %v autoreload %v logfile %q quiescent %v",
			c.CheckTimeout, c.CheckInterval, c.AutoReload, c.LogFile, c.Quiescent)
	}
	if len(c.Virtuals) != 1 {
		t.Fatalf("%d virtuals, want 1", len(c.Virtuals))
	}
	v := c.Virtuals[0]
	if v.ID() != "tcp:172.17.60.201:80" {
		t.Errorf("virtual %s", v.ID())
	}
	got := struct {
		Scheduler, Service, CheckType, Request, Receive string
		CheckTimeout, NegotiateTimeout, CheckInterval   time.Duration
		Quiescent                                       bool
		Reals                                           []Real
		Fallback                                        *Fallback
	}{v.Scheduler, v.Service, v.CheckType, v.Request, v.Receive,
		v.CheckTimeout, v.NegotiateTimeout, v.CheckInterval, v.Quiescent, v.Reals, v.Fallback}
	want := got
	want.Scheduler, want.Service, want.CheckType = "rr", "http", CheckNegotiate
	want.Request, want.Receive = "/index.html", "Test Page"
	// §2.4: with only a global checktimeout, both timeouts resolve to it.
	want.CheckTimeout, want.NegotiateTimeout, want.CheckInterval = 10*time.Second, 10*time.Second, 2*time.Second
	want.Quiescent = true
	want.Reals = []Real{
		{Addr: netip.MustParseAddr("192.168.6.4"), Port: 80, Method: Masq, Weight: 1, Request: "/index.html", Receive: "Test Page"},
		{Addr: netip.MustParseAddr("192.168.6.5"), Port: 80, Method: Masq, Weight: 1, Request: "/index.html", Receive: "Test Page"},
	}
	want.Fallback = &Fallback{Addr: netip.MustParseAddr("127.0.0.1"), Port: 80, Method: Gate}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}), cmpopts.IgnoreFields(Real{}, "Line"), cmpopts.IgnoreFields(Fallback{}, "Line")); diff != "" {
		t.Errorf("seed tutorial virtual (-want +got):\n%s", diff)
	}
}
