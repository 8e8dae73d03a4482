// tools_test.go: hb_standby, hb_takeover and cl_status against three
// directors, and a director with the wrong authkeys that must not get in.

package nway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
)

// TestStandbyTakeover walks hb_standby and hb_takeover through their
// classes with auto_failback on, checking after each step who holds what,
// that nothing else moved and cl_status rscgroups agrees.
func TestStandbyTakeover(t *testing.T) {
	t.Parallel()
	l := NewLab(t, Opts{N: 3, Failback: "on", Extra: 1})
	pref := l.Preferred()
	l.WaitExactly(t, pref, 15*time.Second, "every group on its preferred director")
	l.checkGroups(t, "b", pref)

	// with returns pref with the groups preferring any of from on to.
	with := func(to string, from ...string) map[string]string {
		out := map[string]string{}
		for _, g := range l.Groups {
			out[g.VIP] = g.Pref
			for _, f := range from {
				if g.Pref == f {
					out[g.VIP] = to
				}
			}
		}
		return out
	}
	steps := []struct {
		host, tool, arg string
		want            map[string]string // nil: only check nodea holds nothing
		rsc             string            // rscstatus of host afterwards
	}{
		{"a", "hb_standby", "all", nil, "none"},
		{"a", "hb_standby", "none", pref, "local"},
		{"a", "hb_takeover", "all", with("a", "b", "c"), "all"},
		{"a", "hb_standby", "foreign", pref, "local"}, // a stays standby for foreign groups
		{"c", "hb_takeover", "foreign", with("c", "a", "b"), "all"},
		{"c", "hb_standby", "foreign", pref, "local"},
		{"c", "hb_standby", "none", pref, "local"},
		{"b", "hb_standby", "local", with("c", "b"), "none"}, // not to a: it is standby for foreign groups
		{"b", "hb_standby", "none", pref, "local"},
	}
	for _, s := range steps {
		before := l.WaitSettled(t, 5*time.Second)
		at := time.Now()
		if out, rc := l.Nodes[s.host].RunTool(t, s.tool, s.arg); rc != 0 {
			t.Fatalf("%s %s on %s: exit %d: %s", s.tool, s.arg, s.host, rc, out)
		}
		var got map[string]string
		if s.want != nil {
			l.WaitExactly(t, s.want, 10*time.Second, fmt.Sprintf("the holders after %s %s on %s", s.tool, s.arg, s.host))
			got = s.want
		} else {
			got = l.WaitHolders(t, 10*time.Second, "no group on "+s.host, func(h map[string][]string) bool {
				for _, g := range l.Groups {
					if len(h[g.VIP]) != 1 || h[g.VIP][0] == s.host {
						return false
					}
				}
				return true
			})
		}
		l.Nodes[s.host].WaitRsc(t, s.rsc, 3*time.Second)
		t.Logf("%s %s on node%s: %v in %v", s.tool, s.arg, s.host, got, time.Since(at).Round(time.Millisecond))
		for _, g := range l.Groups {
			if before[g.VIP] == got[g.VIP] {
				if gap, from, to := l.Probers[g.VIP].Outage(at); gap > 500*time.Millisecond {
					t.Errorf("%s stayed on %s but had a %v outage (%s -> %s)", g.VIP, got[g.VIP], gap, from, to)
				}
			}
		}
		l.checkGroups(t, "a", got)
	}
	l.CheckOverlap(t, overlapBound)
}

// checkGroups checks cl_status rscgroups (text and --json) on host against
// the holders want (VIP -> host).
func (l *Lab) checkGroups(t *testing.T, host string, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		text, rc := l.Nodes[host].ClStatus(t, "rscgroups")
		js, rcj := l.Nodes[host].ClStatus(t, "rscgroups", "--json")
		var parsed struct {
			Groups []struct {
				Group, Preferred, Placed string
				Holders                  []string
			}
		}
		err := json.Unmarshal([]byte(js), &parsed)
		bad := ""
		lines := strings.Split(strings.TrimSpace(text), "\n")
		switch {
		case rc != 0 || rcj != 0 || err != nil:
			bad = fmt.Sprintf("exit %d/%d, json error %v", rc, rcj, err)
		case len(lines) != len(l.Groups) || len(parsed.Groups) != len(l.Groups):
			bad = "wrong number of groups"
		}
		for i, g := range l.Groups {
			if bad != "" {
				break
			}
			holder := NodeName(want[g.VIP])
			wantLine := fmt.Sprintf("IPaddr2::%s/24/hb0\t%s\t%s:held\t%s", g.VIP, NodeName(g.Pref), holder, holder)
			p := parsed.Groups[i]
			if lines[i] != wantLine {
				bad = fmt.Sprintf("line %d %q, want %q", i, lines[i], wantLine)
			} else if p.Preferred != NodeName(g.Pref) || p.Placed != holder || len(p.Holders) != 1 || p.Holders[0] != holder+":held" {
				bad = fmt.Sprintf("json group %d: %+v", i, p)
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("cl_status rscgroups on %s: %s:\n%s\n%s", host, bad, text, js)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWrongKeyNotAdmitted: a fourth director whose authkeys differs seeds
// itself with the three others. Nobody admits it: it never shows up in
// their node lists, they count the packets they could not decrypt, it
// sees the others dead, takes no group, and no group moves.
func TestWrongKeyNotAdmitted(t *testing.T) {
	t.Parallel()
	l := NewLab(t, Opts{N: 3, Failback: "on"})
	pref := l.Preferred()
	l.WaitExactly(t, pref, 15*time.Second, "every group on its preferred director")
	x := l.Net.AddHost("x", "10.79.0.50/24")
	cfg := strings.Replace(HACF(l.Opts, 0), "memberlist_bind "+HostAddr(0), "memberlist_bind 10.79.0.50\nmemberlist_seeds "+HostAddr(0), 1)
	cfg = strings.Replace(cfg, "node nodea nodeb nodec", "node nodea nodeb nodec nodex", 1)
	intruder := hbnode.Start(t, x, hbnode.Options{Node: "nodex", HACF: cfg,
		AuthKeys: hbnode.AuthKeys("sha1", "another-secret"), Haresources: l.Haresources()})
	drops := func() uint64 { return l.Nodes["a"].Counters(t)["gossip_dropped_decrypt"] }
	deadline := time.Now().Add(10 * time.Second)
	for drops() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nodea counted no undecryptable packet in 10s; counters %v", l.Nodes["a"].Counters(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // several join retries
	for _, h := range l.Order {
		if out, _ := l.Nodes[h].ClStatus(t, "listnodes"); strings.Contains(out, "nodex") {
			t.Errorf("node%s lists the intruder: %q", h, out)
		}
	}
	for _, n := range []string{"nodea", "nodeb", "nodec"} {
		if st := intruder.NodeStatus(n); st != "dead" {
			t.Errorf("the intruder sees %s %q, want dead", n, st)
		}
	}
	if rs := intruder.RscStatus(); rs != "none" {
		t.Errorf("the intruder's rscstatus is %q, want none", rs)
	}
	if !strings.Contains(intruder.Log(), "waiting for quorum: 1 of 4") {
		t.Errorf("the intruder did not log that it waits for quorum")
	}
	l.WaitExactly(t, pref, time.Second, "every group still on its preferred director")
	t.Logf("nodea dropped %d undecryptable memberlist packets", drops())
}
