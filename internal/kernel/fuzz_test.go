// fuzz_test.go: fuzz targets for the nftables rule comments read back as services and reals.

package kernel

import (
	"net/netip"
	"testing"
)

// FuzzServiceKey: a parsed key prints in a form that parses to the same key.
func FuzzServiceKey(f *testing.F) {
	for _, s := range []string{"tcp:10.0.0.1:80", "udp:[2001:db8::1]:53", "sctp:10.0.0.1:9", "fwm:5", "fwm6:5", "fwm:0",
		"tcp:[::ffff:10.0.0.1]:80", "tcp:[fe80::1%eth0]:80", "icmp:1.2.3.4:1", "tcp:", "fwm:4294967296"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseServiceKey(s)
		if err != nil {
			return
		}
		back, err := ParseServiceKey(k.String())
		if err != nil || back != k {
			t.Fatalf("ParseServiceKey(%q) = %v; its String %q parses to %v, %v", s, k, k.String(), back, err)
		}
		if (k.FWMark == 0) == (k.Proto == 0) || k.FWMark == 0 && !k.Addr.IsValid() {
			t.Fatalf("ParseServiceKey(%q) = %#v", s, k)
		}
	})
}

// FuzzRuleComments: a virtual service or real server comment that decodes
// encodes to a comment that decodes to the same value.
func FuzzRuleComments(f *testing.F) {
	f.Add(encodeService(Service{ServiceKey: ServiceKey{Proto: TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Scheduler: "wrr", Persistent: 300, Netmask: 24}))
	f.Add(encodeService(Service{ServiceKey: ServiceKey{FWMark: 7, IPv6: true}, Scheduler: "sh", Flags: 3}))
	f.Add(encodeDest(Dest{Addr: netip.MustParseAddr("10.0.0.2"), Port: 8080, Forward: ForwardMasq, Weight: 3, UpperThreshold: 100, LowerThreshold: 10}))
	f.Add(encodeDest(Dest{Addr: netip.MustParseAddr("2001:db8::2"), Port: 80, Forward: ForwardLocal}))
	f.Add("virtual tcp:1.2.3.4:80 scheduler=rr flags=1 persistent=0 netmask=256")
	f.Add("real 1.2.3.4:80 forward=gate weight=1 upper=0 lower=0")
	f.Add("real 1.2.3.4:80 forward=masq weight=-1 upper=9999999999999999999 lower=0")
	f.Add("virtual tcp:1.2.3.4:80 scheduler=rr flags=1 persistent=0 flags=2")
	f.Fuzz(func(t *testing.T, s string) {
		if svc, err := decodeService(s); err == nil {
			back, err := decodeService(encodeService(svc))
			if err != nil || back != svc {
				t.Fatalf("decodeService(%q) = %+v; encoded %q decodes to %+v, %v", s, svc, encodeService(svc), back, err)
			}
			if svc.Netmask < 0 || svc.Netmask > 255 {
				t.Fatalf("decodeService(%q): netmask %d", s, svc.Netmask)
			}
		}
		if d, err := decodeDest(s); err == nil {
			back, err := decodeDest(encodeDest(d))
			if err != nil || back != d {
				t.Fatalf("decodeDest(%q) = %+v; encoded %q decodes to %+v, %v", s, d, encodeDest(d), back, err)
			}
			if d.Forward != ForwardMasq && d.Forward != ForwardLocal || !d.Addr.IsValid() {
				t.Fatalf("decodeDest(%q) = %+v", s, d)
			}
		}
	})
}
