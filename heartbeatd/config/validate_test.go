// Tests for the ha.cf start-up checks.
package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestValidate(t *testing.T) {
	const ok = "bcast hb0\nnode nodea nodeb\nauto_failback on\n"
	tests := []struct {
		name, in, local string
		want            string
		warnings        []string
	}{
		{name: "ok", in: ok, local: "nodea"},
		{name: "local node case-folded", in: ok, local: "NodeB"},
		{name: "no media", in: "node nodea\nauto_failback on\n", local: "nodea",
			want: "ha.cf: no heartbeat media defined (need a bcast, mcast, mcast6, ucast or ucast6 line)"},
		{name: "ping is not a medium", in: "ping 10.0.0.254\nnode nodea\nauto_failback on\n", local: "nodea",
			want: "ha.cf: no heartbeat media defined (need a bcast, mcast, mcast6, ucast or ucast6 line)"},
		{name: "no nodes", in: "bcast hb0\n", local: "nodea",
			want: "ha.cf: no nodes defined (need a node line)\n" +
				`ha.cf: current node [nodea] not in configuration: declare it with "node nodea" (node names must equal uname -n)`},
		{name: "current node missing", in: ok, local: "nodec",
			want: `ha.cf: current node [nodec] not in configuration: declare it with "node nodec" (node names must equal uname -n)`},
		{name: "ping node is not the local node", in: ok + "ping 10.0.0.254\n", local: "10.0.0.254",
			want: `ha.cf: current node [10.0.0.254] not in configuration: declare it with "node 10.0.0.254" (node names must equal uname -n)`},
		{name: "deadtime equal to twice keepalive", in: ok + "keepalive 2\ndeadtime 4\ninitdead 30", local: "nodea",
			want: "ha.cf:5: deadtime (4s) must be greater than twice keepalive (2s)"},
		{name: "keepalive only", in: ok + "keepalive 15", local: "nodea",
			want: "ha.cf:4: deadtime (30s) must be greater than twice keepalive (15s)"},
		{name: "deadtime just enough", in: ok + "keepalive 2\ndeadtime 4001ms\ninitdead 30", local: "nodea"},
		{name: "deadping", in: ok + "keepalive 500ms\ndeadping 1", local: "nodea",
			want: "ha.cf:5: deadping (1s) must be greater than twice keepalive (500ms)"},
		{name: "initdead below deadtime", in: ok + "deadtime 60\ninitdead 30", local: "nodea",
			want: "ha.cf:5: initdead (30s) must not be smaller than deadtime (60s)"},
		{name: "initdead below 10s warns", in: ok + "keepalive 1\ndeadtime 3\ninitdead 5", local: "nodea",
			warnings: []string{"ha.cf:6: initdead (5s) may be too small: it allows for slow network start-up and should be at least deadtime and 10s"}},
		{name: "autojoin", in: ok + "autojoin any", local: "nodea",
			want: "ha.cf:4: autojoin any conflicts with haresources (R1) resource management; remove it or set it to none"},
		{name: "autojoin none", in: ok + "autojoin none", local: "nodea"},
		{name: "use_logd off without logging", in: ok + "use_logd off", local: "nodea",
			want: "ha.cf:4: use_logd is off but no logfacility, logfile or debugfile is set"},
		{name: "use_logd off with logfile", in: ok + "use_logd off\nlogfile /var/log/ha-log", local: "nodea"},
		{name: "several errors", in: "keepalive 20\n", local: "x",
			want: "ha.cf: no heartbeat media defined (need a bcast, mcast, mcast6, ucast or ucast6 line)\n" +
				"ha.cf: no nodes defined (need a node line)\n" +
				`ha.cf: current node [x] not in configuration: declare it with "node x" (node names must equal uname -n)` + "\n" +
				"ha.cf:1: deadtime (30s) must be greater than twice keepalive (20s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParseHACF(t, tt.in)
			before := len(c.Warnings)
			err := c.Validate(tt.local)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate(%q) error\n got %s\nwant %s", tt.local, got, tt.want)
			}
			if diff := cmp.Diff(tt.warnings, c.Warnings[before:], cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Validate warnings (-want +got):\n%s", diff)
			}
			// Validating again adds no duplicate warnings.
			_ = c.Validate(tt.local)
			if len(c.Warnings) != before+len(tt.warnings) {
				t.Errorf("second Validate changed warnings: %q", c.Warnings)
			}
		})
	}
}

// TestValidateHandBuilt checks Validate on a model built without ParseHACF.
func TestValidateHandBuilt(t *testing.T) {
	c := &HACF{File: "x.cf", Keepalive: 1e9, Deadtime: 10e9, Initdead: 20e9,
		Media: []Medium{{Kind: "bcast", Iface: "hb0"}}, Nodes: []string{"a"}}
	if err := c.Validate("a"); err != nil {
		t.Errorf("Validate: %v", err)
	}
	c.Deadtime = 2e9
	if err := c.Validate("a"); err == nil || !strings.HasPrefix(err.Error(), "x.cf: deadtime (2s)") {
		t.Errorf("Validate: %v, want a file-level deadtime error", err)
	}
}
