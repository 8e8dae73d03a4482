package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBackend(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Backend
		errs       []string
		warns      []string
	}{
		{name: "default", text: "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n", want: BackendIPVS},
		{name: "auto keeps gate", text: "backend=auto\nvirtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n", want: BackendAuto},
		{name: "bad", text: "backend = lvs\n", errs: []string{`x.cf:1: backend: must be ipvs, nftables or auto, not "lvs"`}},
		{name: "nftables cannot gate", text: strings.Join([]string{
			"virtual=10.0.0.1:80",
			"\treal=10.0.0.2:80 masq",
			"\treal=10.0.0.3:80 gate",
			"\treal=10.0.0.4:80 ipip",
			"\tfallback=10.0.0.9:80 gate",
			"backend = nftables",
		}, "\n") + "\n", errs: []string{
			"x.cf:3: real: gate forwarding needs IPVS; the nftables backend forwards by NAT (masq) only",
			"x.cf:4: real: ipip forwarding needs IPVS; the nftables backend forwards by NAT (masq) only",
			"x.cf:5: fallback: gate forwarding needs IPVS; the nftables backend forwards by NAT (masq) only"}},
		{name: "nftables approximations", text: strings.Join([]string{
			"backend = nftables",
			"virtual=10.0.0.1:80",
			"\treal=10.0.0.2:80 masq 1 u:10",
			"\tscheduler=wlc",
			"\tpersistent=300",
			"virtual=10.0.0.1:53",
			"\tprotocol=udp",
			"\treal=10.0.0.2:53 masq",
			"\tscheduler=sh",
			"\tops=yes",
		}, "\n") + "\n", want: BackendNFTables, warns: []string{
			"x.cf:2: scheduler: wlc runs as wrr with the nftables backend (no connection counts)",
			"x.cf:2: persistent: the nftables backend keeps a client on one real by a hash of its address (netmask applies) while the set of reals is unchanged",
			"x.cf:3: real: connection thresholds have no effect with the nftables backend",
			"x.cf:6: ops: no effect with the nftables backend"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("x.cf", strings.NewReader(tc.text), testOptions())
			if diff := cmp.Diff(tc.errs, errorLines(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if c.Backend != tc.want {
				t.Errorf("backend %q, want %q", c.Backend, tc.want)
			}
			if diff := cmp.Diff(tc.warns, c.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
