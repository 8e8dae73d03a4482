// memberlist_test.go: the membership memberlist directives: model,
// defaults, parse errors and start-up checks, with golden messages.
package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const mlBase = "membership memberlist\nnode a b c\nauto_failback on\n" // lines 1-3

func TestMemberlistModel(t *testing.T) {
	tests := []struct {
		name, in string
		want     *Memberlist
		quorum   string
	}{
		{name: "classic by default", in: "node a b\n"},
		{name: "explicit classic", in: "membership Classic\nnode a b\n"},
		{name: "defaults", in: mlBase + "memberlist_bind 10.0.0.1\nmemberlist_seeds 10.0.0.2\n",
			want: &Memberlist{Bind: "10.0.0.1:7946", Seeds: []string{"10.0.0.2:7946"},
				ProbeInterval: 200 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond,
				GossipInterval: 50 * time.Millisecond, SuspicionMult: 3},
			quorum: "auto"},
		{name: "everything", in: mlBase + "memberlist_bind 10.0.0.1:8000\nmemberlist_advertise 192.0.2.1\n" +
			"memberlist_seeds 10.0.0.2, 10.0.0.3:8001 Node-C.example\nmemberlist_seeds fd00::4 [fd00::5]:9000 10.0.0.2\n" +
			"memberlist_probe_interval 500ms\nmemberlist_probe_timeout 0.2\nmemberlist_gossip_interval 100ms\n" +
			"memberlist_suspicion_mult 5\nquorum OFF\n",
			want: &Memberlist{Bind: "10.0.0.1:8000", Advertise: "192.0.2.1:8000",
				Seeds:         []string{"10.0.0.2:7946", "10.0.0.3:8001", "node-c.example:7946", "[fd00::4]:7946", "[fd00::5]:9000"},
				ProbeInterval: 500 * time.Millisecond, ProbeTimeout: 200 * time.Millisecond,
				GossipInterval: 100 * time.Millisecond, SuspicionMult: 5},
			quorum: "off"},
		{name: "advertise with its own port", in: mlBase + "memberlist_bind [fd00::1]\nmemberlist_advertise 192.0.2.1:7000\nmemberlist_seeds b\nquorum on\n",
			want: &Memberlist{Bind: "[fd00::1]:7946", Advertise: "192.0.2.1:7000", Seeds: []string{"b:7946"},
				ProbeInterval: 200 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond,
				GossipInterval: 50 * time.Millisecond, SuspicionMult: 3},
			quorum: "on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParseHACF(t, tt.in)
			if diff := cmp.Diff(tt.want, c.Memberlist); diff != "" {
				t.Errorf("Memberlist (-want +got):\n%s", diff)
			}
			if c.Quorum != tt.quorum || c.MembershipMemberlist() != (tt.want != nil) {
				t.Errorf("Quorum %q, MembershipMemberlist %v", c.Quorum, c.MembershipMemberlist())
			}
		})
	}
	c := mustParseHACF(t, mlBase+"memberlist_bind 10.0.0.1\nmemberlist_probe_interval 300ms\n")
	if c.Params["membership"] != "memberlist" || c.Params["memberlist_probe_interval"] != "300ms" || c.Params["memberlist_bind"] != "10.0.0.1" {
		t.Errorf("Params: %v", c.Params)
	}
}

func TestMemberlistParseErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"membership gossip", `ha.cf:1: membership: invalid value "gossip": want classic, memberlist`},
		{mlBase + "memberlist_bind nodea", `ha.cf:4: memberlist_bind: "nodea": want an IP address with an optional :port (host names are not allowed here)`},
		{mlBase + "memberlist_bind 10.0.0.1:0", `ha.cf:4: memberlist_bind: "10.0.0.1:0": bad port: invalid value "0": want an integer 1..65535`},
		{mlBase + "memberlist_bind 10.0.0.1:99999", `ha.cf:4: memberlist_bind: "10.0.0.1:99999": bad port: invalid value "99999": want an integer 1..65535`},
		{mlBase + "memberlist_bind 10.0.0.300", `ha.cf:4: memberlist_bind: "10.0.0.300": want an IP address with an optional :port (host names are not allowed here)`},
		{mlBase + "memberlist_advertise fe80::1%eth0", `ha.cf:4: memberlist_advertise: "fe80::1%eth0": want an IP address with an optional :port (host names are not allowed here)`},
		{mlBase + "memberlist_seeds 10.0.0.2 bad_host", `ha.cf:4: memberlist_seeds: "bad_host": want an IP address or host name with an optional :port`},
		{mlBase + "memberlist_seeds 10.0.0.2:x", `ha.cf:4: memberlist_seeds: "10.0.0.2:x": bad port: invalid value "x": want an integer 1..65535`},
		{mlBase + "memberlist_seeds a:b:c", `ha.cf:4: memberlist_seeds: "a:b:c": bad address or port`},
		{mlBase + "memberlist_probe_interval 0", `ha.cf:4: memberlist_probe_interval: "0" must be at least 1ms`},
		{mlBase + "memberlist_probe_timeout soon", `ha.cf:4: memberlist_probe_timeout: `},
		{mlBase + "memberlist_suspicion_mult 0", `ha.cf:4: memberlist_suspicion_mult: invalid value "0": want an integer 1..20`},
		{mlBase + "memberlist_suspicion_mult 21", `ha.cf:4: memberlist_suspicion_mult: invalid value "21": want an integer 1..20`},
		{mlBase + "quorum majority", `ha.cf:4: quorum: invalid value "majority": want auto, on, off`},
		{"node a b\nbcast eth0\nmemberlist_seeds 10.0.0.2\nmemberlist_bind 10.0.0.1\n",
			"ha.cf:3: memberlist_seeds needs membership memberlist (the default is membership classic)"},
	} {
		_, err := ParseHACF("ha.cf", strings.NewReader(tt.in+"\n"))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseHACF(%q)\n got %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestMemberlistValidate(t *testing.T) {
	const ok = mlBase + "memberlist_bind 10.0.0.1\nmemberlist_seeds 10.0.0.2 10.0.0.3\n" // lines 1-5
	tests := []struct {
		name, in string
		want     string
		warnings []string
	}{
		{name: "ok without media", in: ok},
		{name: "ping nodes stay", in: ok + "ping 10.0.0.254\nping_group gw 10.0.0.253 10.0.0.252\n"},
		{name: "media", in: ok + "bcast eth1\nmcast eth1 239.0.0.1 694 1 0\nucast eth1 10.0.0.2\n",
			want: "ha.cf:6: bcast cannot be used with membership memberlist (line 1): memberlist carries the membership; remove the heartbeat media or use membership classic\n" +
				"ha.cf:7: mcast cannot be used with membership memberlist (line 1): memberlist carries the membership; remove the heartbeat media or use membership classic\n" +
				"ha.cf:8: ucast cannot be used with membership memberlist (line 1): memberlist carries the membership; remove the heartbeat media or use membership classic"},
		{name: "no bind, no seeds", in: mlBase,
			want: `ha.cf:1: membership memberlist needs memberlist_bind: this node's address, e.g. "memberlist_bind 10.0.0.1"` + "\n" +
				"ha.cf:1: membership memberlist needs memberlist_seeds: the address of at least one other node"},
		{name: "wildcard bind", in: mlBase + "memberlist_seeds b\nmemberlist_bind 0.0.0.0\n",
			want: "ha.cf:5: memberlist_bind 0.0.0.0:7946 needs memberlist_advertise: the address other nodes reach this one at"},
		{name: "wildcard bind with advertise", in: mlBase + "memberlist_seeds b\nmemberlist_bind 0.0.0.0\nmemberlist_advertise 10.0.0.1\n"},
		{name: "wildcard advertise", in: ok + "memberlist_advertise ::\n",
			want: "ha.cf:6: memberlist_advertise [::]:7946: want an address other nodes can reach"},
		{name: "probe timeout too long", in: ok + "memberlist_probe_timeout 200ms\n",
			want: "ha.cf:6: memberlist_probe_timeout (200ms) must be smaller than memberlist_probe_interval (200ms)"},
		{name: "probe interval too short", in: ok + "memberlist_probe_interval 50ms\n",
			want: "ha.cf:6: memberlist_probe_timeout (100ms) must be smaller than memberlist_probe_interval (50ms)"},
		{name: "slow gossip warns", in: ok + "memberlist_gossip_interval 1\n",
			warnings: []string{"ha.cf:6: memberlist_gossip_interval (1s) above memberlist_probe_interval (200ms) slows the spreading of failures and meta updates"}},
		{name: "classic still needs media", in: "node a b\nauto_failback on\nquorum on\n",
			want:     "ha.cf: no heartbeat media defined (need a bcast, mcast, mcast6, ucast or ucast6 line)",
			warnings: []string{"ha.cf:3: quorum has no effect with membership classic (two nodes, no quorum)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParseHACF(t, tt.in)
			got := ""
			if err := c.Validate("a"); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate error\n got %s\nwant %s", got, tt.want)
			}
			if diff := cmp.Diff(tt.warnings, c.Warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMemberlistHaresourcesNodes: with memberlist as with classic, every
// haresources preferred node must be a `node` (quorum counts them).
func TestMemberlistHaresourcesNodes(t *testing.T) {
	c := mustParseHACF(t, mlBase+"memberlist_bind 10.0.0.1\nmemberlist_seeds 10.0.0.2\n")
	_, err := ParseHaresources("haresources", strings.NewReader("a 10.0.0.10\nC 10.0.0.11\nd 10.0.0.12\n"), c.Nodes)
	want := `haresources:3: bad node name "d": not a node declared in ha.cf`
	if err == nil || err.Error() != want {
		t.Errorf("ParseHaresources: %v, want %s", err, want)
	}
}
