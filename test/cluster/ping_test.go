// Root-only: ping nodes end to end: two heartbeatd directors and routers
// in namespaces that answer (or stop answering) their ICMP probes.

package cluster

import (
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

const (
	pingKeepalive = 250 * time.Millisecond
	pingDeadping  = 1500 * time.Millisecond
	routerIP      = "10.77.0.254"
)

// watchAPI signs on to n's API as a casual client and returns the messages
// the daemon delivers to it.
func watchAPI(t *testing.T, n *hbnode.Node) <-chan *wire.Message {
	t.Helper()
	conn, err := net.Dial("unix", n.Socket())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	pid := strconv.Itoa(os.Getpid())
	req := wire.New(api.TypeRequest).Add(api.FieldReqType, api.ReqSignon).Add(api.FieldPID, pid).
		Add(api.FieldFromID, pid).Add(api.FieldUID, "0").Add(api.FieldGID, "0")
	if err := api.WriteMessage(conn, req); err != nil {
		t.Fatal(err)
	}
	out := make(chan *wire.Message, 256)
	go func() {
		defer close(out)
		for {
			m, err := api.ReadMessage(conn)
			if err != nil {
				return
			}
			select {
			case out <- m:
			default:
			}
		}
	}()
	return out
}

// awaitMsg waits for a delivered message for which match is true.
func awaitMsg(t *testing.T, msgs <-chan *wire.Message, what string, within time.Duration, match func(*wire.Message) bool) *wire.Message {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("API connection closed while waiting for %s", what)
			}
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s delivered within %v", what, within)
		}
	}
}

func TestPingNodes(t *testing.T) {
	lab := netns.NewLab(t)
	ha := lab.AddHost("a", "10.77.0.1/24")
	hb := lab.AddHost("b", "10.77.0.2/24")
	router := lab.AddHost("router", routerIP+"/24")
	lab.AddHost("router2", "10.77.0.253/24")
	ha.AddAddr(t, "fd77::1/64")
	hb.AddAddr(t, "fd77::2/64")
	router.AddAddr(t, "fd77::fe/64")
	hacf := hbnode.HACF("250ms", "2", "4", []string{"bcast hb0"}, "nodea", "nodeb") +
		"deadping 1500ms\nping " + routerIP + "\nping_group routers 10.77.0.253 " + routerIP + "\nping6 fd77::fe\n"
	start := func(h *netns.Host, name string) *hbnode.Node {
		return hbnode.Start(t, h, hbnode.Options{Node: name, HACF: hacf, AuthKeys: hbnode.AuthKeys("md5", testKey)})
	}
	a, b := start(ha, "nodea"), start(hb, "nodeb")
	msgs := watchAPI(t, a)

	a.WaitStatus(t, "nodeb", "active", 8*time.Second)
	b.WaitStatus(t, "nodea", "active", 2*time.Second)
	for _, n := range []*hbnode.Node{a, b} {
		n.WaitStatus(t, routerIP, "ping", 2*time.Second)
		n.WaitStatus(t, "routers", "ping", 2*time.Second)
		n.WaitStatus(t, "fd77::fe", "ping", 2*time.Second)
	}
	cl := func(want string, args ...string) {
		t.Helper()
		out, rc := a.ClStatus(t, args...)
		wantRC := 0
		if want == "dead" {
			wantRC = 1 // cl_status's exit code for a dead node or link
		}
		if rc != wantRC || strings.TrimSpace(out) != want {
			t.Errorf("cl_status %s = %q rc %d, want %q rc %d", strings.Join(args, " "), out, rc, want, wantRC)
		}
	}
	cl("ping", "nodestatus", routerIP)
	cl("ping", "nodetype", routerIP)
	cl("ping", "nodetype", "routers")
	cl("normal", "nodetype", "nodeb")
	cl(routerIP, "listhblinks", routerIP)
	cl("up", "hblinkstatus", routerIP, routerIP)
	out, rc := a.ClStatus(t, "listnodes")
	got := strings.Fields(out)
	slices.Sort(got)
	if rc != 0 || strings.Join(got, " ") != routerIP+" fd77::fe nodea nodeb routers" {
		t.Errorf("cl_status listnodes = %q rc %d", out, rc)
	}

	// Blackhole the router for nodea only: dead after deadping (+ the
	// keepalive before the first lost probe), and only there.
	ha.Run(t, "ip", "route", "add", "blackhole", routerIP+"/32")
	took := a.WaitStatus(t, routerIP, "dead", pingDeadping+pingKeepalive+time.Second)
	if took < pingDeadping-pingKeepalive-100*time.Millisecond {
		t.Errorf("declared dead %v after the blackhole, before deadping %v", took, pingDeadping)
	}
	t.Logf("ping node dead %v after the blackhole (deadping %v, keepalive %v)", took, pingDeadping, pingKeepalive)
	dead := awaitMsg(t, msgs, "ping node death", time.Second, func(m *wire.Message) bool {
		return m.Type() == "status" && m.Get("src") == routerIP && m.Get("st") == "dead"
	})
	if dead.Get("info") != "ping" {
		t.Errorf("death delivered as %s, want info=ping", dead)
	}
	cl("dead", "hblinkstatus", routerIP, routerIP)
	cl("ping", "nodestatus", "routers") // 10.77.0.253 still answers for the group
	cl("ping", "nodestatus", "fd77::fe")
	cl("ping", "nodetype", routerIP)
	if got := b.NodeStatus(routerIP); got != "ping" {
		t.Errorf("nodeb sees %s %q: the blackhole is nodea's", routerIP, got)
	}
	if got := a.NodeStatus("nodeb"); got != "active" {
		t.Errorf("nodeb is %q on nodea after a ping node died", got)
	}

	// Restored: back to ping with the next probe.
	ha.Run(t, "ip", "route", "del", "blackhole", routerIP+"/32")
	a.WaitStatus(t, routerIP, "ping", pingKeepalive+time.Second)
	back := awaitMsg(t, msgs, "ping node return", time.Second, func(m *wire.Message) bool {
		return m.Get("src") == routerIP && m.Get("st") == "ping"
	})
	if back.Type() != "NS_st" || back.Get("info") != "ping" {
		t.Errorf("return delivered as %s, want the NS_st echo with info=ping", back)
	}
	cl("up", "hblinkstatus", routerIP, routerIP)
	if c := a.Counters(t); c["ping_replies_accepted"] == 0 || c["packets_auth_failed"] != 0 {
		t.Errorf("counters: %v", c)
	}
}
