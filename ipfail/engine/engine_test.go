// Tests of the ipfail state machine: every reaction, the giveup timer, stability.
package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// msg builds a message from "name=value" words.
func msg(s string) *wire.Message {
	m := &wire.Message{}
	for _, w := range strings.Fields(s) {
		name, value, _ := strings.Cut(w, "=")
		m.Add(name, value)
	}
	return m
}

// step is one event: a message (or "" for Timer) at t0+at.
type step struct {
	at   time.Duration
	ping int
	rsc  string // getrsc; "local" when empty
	msg  string // "" = Timer
	want []string
}

// render shows actions as "node <dest>: <message>" or "cluster: <message>".
func render(acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch a := a.(type) {
		case SendNode:
			out = append(out, "node "+a.Node+": "+a.Msg.String())
		case SendCluster:
			out = append(out, "cluster: "+a.Msg.String())
		}
	}
	return out
}

const (
	numPing0    = "node nodeb: t=num_ping_nodes src=nodea num_ping=0"
	numPing1    = "node nodeb: t=num_ping_nodes src=nodea num_ping=1"
	numPing2    = "node nodeb: t=num_ping_nodes src=nodea num_ping=2"
	youAreDead  = "node nodeb: t=you_are_dead"
	abortGiveup = "node nodeb: t=abort_giveup src=nodea"
	askAll      = "cluster: t=ask_resources rsc_hold=all src=nodea info=me"
	askForeign  = "cluster: t=ask_resources rsc_hold=foreign src=nodea info=me"
)

func TestEngine(t *testing.T) {
	tests := []struct {
		name        string
		noFailback  bool
		steps       []step
		wantPending string // giveup pending at the end: "", "all", "foreign"
		wantLog     []string
	}{
		{name: "more ping nodes here: you_are_dead", steps: []step{
			{ping: 2, msg: "t=num_ping_nodes src=nodeb num_ping=1", want: []string{youAreDead}},
		}, wantLog: []string{"Telling other node that we have more visible ping nodes."}},
		{name: "fewer here: delayed giveup of all, fired while stable", steps: []step{
			{ping: 0, msg: "t=num_ping_nodes src=nodeb num_ping=1"},
			{at: 1999 * time.Millisecond, ping: 0},
			{at: 2 * time.Second, ping: 0, want: []string{askAll}},
			{at: 10 * time.Second, ping: 0},
		}, wantLog: []string{"Giving up because we have less visible ping nodes.", "Delayed giveup in 2 seconds.",
			"giveup() called (timeout worked)"}},
		{name: "fewer here, not fired yet", steps: []step{
			{ping: 0, msg: "t=num_ping_nodes src=nodeb num_ping=1"},
		}, wantPending: All},
		{name: "balanced, nothing pending, auto_failback on, stable: giveup foreign", steps: []step{
			{ping: 1, msg: "t=num_ping_nodes src=nodeb num_ping=1", want: []string{abortGiveup}},
			{at: 2 * time.Second, ping: 1, want: []string{askForeign}},
		}, wantLog: []string{"Ping node count is balanced.", "Giving up foreign resources (auto_failback).",
			"Delayed giveup in 2 seconds."}},
		{name: "balanced, auto_failback off: only abort_giveup", noFailback: true, steps: []step{
			{ping: 1, msg: "t=num_ping_nodes src=nodeb num_ping=1", want: []string{abortGiveup}},
		}},
		{name: "balanced, auto_failback on, resources in transition: only abort_giveup", steps: []step{
			{ping: 1, rsc: "transition", msg: "t=num_ping_nodes src=nodeb num_ping=1", want: []string{abortGiveup}},
		}},
		{name: "balanced, getrsc failed: counted as stable", steps: []step{
			{ping: 1, rsc: "-", msg: "t=num_ping_nodes src=nodeb num_ping=1", want: []string{abortGiveup}},
		}, wantPending: Foreign},
		{name: "balanced with a giveup pending: cancelled, no failback", steps: []step{
			{ping: 0, msg: "t=num_ping_nodes src=nodeb num_ping=1"},
			{at: time.Second, ping: 1, msg: "t=num_ping_nodes src=nodeb num_ping=1", want: []string{abortGiveup}},
			{at: 5 * time.Second, ping: 1},
		}, wantLog: []string{"Aborted delayed giveup (1)"}},
		{name: "you_are_dead: delayed giveup of all", steps: []step{
			{ping: 0, msg: "t=you_are_dead"},
			{at: 2 * time.Second, ping: 0, want: []string{askAll}},
		}, wantLog: []string{"Giving up because we were told that we have less ping nodes."}},
		{name: "abort_giveup cancels the timer", steps: []step{
			{ping: 0, msg: "t=you_are_dead"},
			{at: time.Second, msg: "t=abort_giveup src=nodeb"},
			{at: 3 * time.Second},
		}, wantLog: []string{"Aborted delayed giveup (1)"}},
		{name: "abort_giveup without a timer", steps: []step{
			{msg: "t=abort_giveup src=nodeb"},
		}, wantLog: []string{"No giveup timer to abort."}},
		{name: "a second giveup overrides the first", steps: []step{
			{ping: 0, msg: "t=you_are_dead"},
			{at: 1500 * time.Millisecond, ping: 0, msg: "t=num_ping_nodes src=nodeb num_ping=2"},
			{at: 2 * time.Second},
			{at: 3500 * time.Millisecond, want: []string{askAll}},
		}},
		{name: "giveup while unstable waits for the peer's stability, 10 s, then asks again", steps: []step{
			{ping: 0, msg: "t=you_are_dead"},
			{at: 2 * time.Second, rsc: "transition"},
			{at: 3 * time.Second, msg: "t=resource rsc_hold=all rtype=full isstable=1 info=healed src=nodeb"},
			{at: 4 * time.Second, msg: "t=resource rsc_hold=all rtype=full isstable=1 src=nodea"},
			{at: 5 * time.Second, msg: "t=resource rsc_hold=all rtype=full isstable=0 src=nodeb"},
			{at: 6 * time.Second, msg: "t=resource rsc_hold=all rtype=full isstable=1 src=nodeb"},
			{at: 15999 * time.Millisecond},
			{at: 16 * time.Second, ping: 1, want: []string{numPing1}},
			{at: 17 * time.Second, msg: "t=resource rsc_hold=all rtype=full isstable=1 src=nodeb"},
			{at: 30 * time.Second},
		}},
		{name: "peer stability without a pending standby does nothing", steps: []step{
			{msg: "t=resource rsc_hold=all rtype=full isstable=1 src=nodeb"},
			{at: 20 * time.Second},
		}},
		{name: "link dead sends the count", steps: []step{
			{ping: 1, msg: "t=ifstat node=10.0.0.254 ifname=10.0.0.254 st=dead", want: []string{numPing1}},
			{ping: 0, msg: "t=ifstat node=nodeb ifname=hb0 st=dead", want: []string{numPing0}},
			{ping: 1, msg: "t=ifstat node=nodeb ifname=hb0 st=up"},
		}, wantLog: []string{"Link Status update: Link 10.0.0.254/10.0.0.254 now has status dead",
			"Checking remote count of ping nodes.", "We are dead. :<"}},
		{name: "a ping node coming back sends the count; a dead node is only logged", steps: []step{
			{ping: 2, msg: "t=NS_st st=ping info=ping src=10.0.0.254 ts=1", want: []string{numPing2}},
			{ping: 1, msg: "t=status seq=1 ts=10 src=10.0.0.253 st=dead info=ping"},
			{ping: 0, msg: "t=status seq=1 ts=10 src=10.0.0.254 st=dead info=ping"},
			{ping: 2, msg: "t=status src=nodeb st=active"},
		}, wantLog: []string{"A ping node just came up.", "Status update: Node 10.0.0.253 now has status dead",
			"NS: We are still alive!", "NS: We are dead. :<"}},
		{name: "the peer's ipfail joining sends the count", steps: []step{
			{ping: 1, msg: "t=hbapi-clstat st=join from_id=ipfail to_id=ipfail src=nodeb info=signon client_gen=3",
				want: []string{numPing1}},
			{ping: 1, msg: "t=hbapi-clstat st=join from_id=ipfail to_id=ipfail src=nodea info=signon client_gen=0"},
			{ping: 1, msg: "t=hbapi-clstat st=leave from_id=ipfail to_id=ipfail src=nodeb info=EOF client_gen=3"},
			{ping: 1, msg: "t=hbapi-clstat st=join from_id=mon to_id=mon src=nodeb info=signon client_gen=4"},
		}},
		{name: "a count that is not a number is 0", steps: []step{
			{ping: 1, msg: "t=num_ping_nodes src=nodeb num_ping=x", want: []string{youAreDead}},
			{ping: 0, msg: "t=num_ping_nodes src=nodeb", want: []string{abortGiveup}},
		}, wantPending: Foreign},
		{name: "messages addressed to another node are ignored", steps: []step{
			{ping: 1, msg: "t=num_ping_nodes src=nodea num_ping=0 dest=nodeb from_id=ipfail to_id=ipfail"},
			{ping: 1, msg: "t=abort_giveup src=nodea dest=nodeb"},
			{ping: 1, msg: "t=you_are_dead dest=NodeB"},
			{ping: 0, msg: "t=num_ping_nodes src=nodeb num_ping=1 dest=NODEA", want: nil},
		}, wantPending: All},
		{name: "unrelated messages are ignored", steps: []step{
			{ping: 1, msg: "t=ask_resources rsc_hold=all src=nodeb info=me"},
			{ping: 1, msg: "t=starting src=nodeb"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, hook := logtest.NewNullLogger()
			log.SetLevel(logrus.DebugLevel)
			e := New(Config{Local: "nodea", Peer: "nodeb", AutoFailback: !tt.noFailback, Keepalive: time.Second, Log: log})
			for i, s := range tt.steps {
				snap := Snapshot{PingNodes: s.ping, Resources: s.rsc}
				switch s.rsc {
				case "":
					snap.Resources = "local"
				case "-":
					snap.Resources = ""
				}
				var ev Event = Timer{}
				if s.msg != "" {
					ev = Message{Msg: msg(s.msg)}
				}
				if d := cmp.Diff(s.want, render(e.Step(t0.Add(s.at), snap, ev))); d != "" {
					t.Errorf("step %d (%s) actions (-want +got):\n%s", i, s.msg, d)
				}
			}
			rsc, pending := e.GiveupPending()
			if !pending {
				rsc = ""
			}
			if rsc != tt.wantPending {
				t.Errorf("giveup pending at the end: %q, want %q", rsc, tt.wantPending)
			}
			logged := map[string]bool{}
			for _, en := range hook.AllEntries() {
				logged[en.Message] = true
			}
			for _, l := range tt.wantLog {
				if !logged[l] {
					t.Errorf("not logged: %q", l)
				}
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	e := New(Config{Local: "nodea", Peer: "nodeb", AutoFailback: true, Keepalive: 500 * time.Millisecond})
	if _, ok := e.Deadline(); ok {
		t.Error("a deadline before any event")
	}
	e.Step(t0, Snapshot{Resources: "all"}, Message{Msg: msg("t=you_are_dead")})
	if at, ok := e.Deadline(); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("Deadline = %v, %v; want t0+1s", at, ok)
	}
	e.Step(t0.Add(time.Second), Snapshot{Resources: "transition"}, Timer{})
	if _, ok := e.Deadline(); ok {
		t.Error("a deadline while waiting for the peer")
	}
	e.Step(t0.Add(2*time.Second), Snapshot{}, Message{Msg: msg("t=resource isstable=1 src=nodeb")})
	if at, ok := e.Deadline(); !ok || !at.Equal(t0.Add(12*time.Second)) {
		t.Errorf("Deadline = %v, %v; want t0+12s", at, ok)
	}
}

func TestGiveupDelayLog(t *testing.T) {
	log, hook := logtest.NewNullLogger()
	e := New(Config{Local: "nodea", Peer: "nodeb", Keepalive: 500 * time.Millisecond, Log: log})
	e.Step(t0, Snapshot{}, Message{Msg: msg("t=you_are_dead")})
	found := false
	for _, en := range hook.AllEntries() {
		found = found || en.Message == "Delayed giveup in 1 seconds."
	}
	if !found {
		t.Error(`"Delayed giveup in 1 seconds." not logged`)
	}
}
