// Ping node configuration as the daemon hands it to membership and media.

package daemon

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/media"
	"github.com/hasuite/hasuite/heartbeatd/membership"
)

func TestPingNodesFromConfig(t *testing.T) {
	cfg := []config.PingNode{
		{Name: "10.77.0.254", Addrs: []string{"10.77.0.254"}, Line: 7},
		{Name: "fd77::fe", Addrs: []string{"fd77::fe"}, Line: 8},
		{Name: "router.example", Addrs: []string{"router.example"}, Line: 9},
		{Name: "routers", Addrs: []string{"10.77.0.253", "fd77::fd"}, Group: true, Line: 10},
	}
	wantMem := []membership.PingNode{
		{Name: "10.77.0.254", Kind: "ping"},
		{Name: "fd77::fe", Kind: "ping6"},
		{Name: "router.example", Kind: "ping"},
		{Name: "routers", Kind: "ping_group"},
	}
	if diff := cmp.Diff(wantMem, pingNodes(cfg)); diff != "" {
		t.Errorf("pingNodes (-want +got):\n%s", diff)
	}
	wantSpec := media.PingSpec{Targets: []media.PingTarget{
		{Name: "10.77.0.254", Addrs: []string{"10.77.0.254"}},
		{Name: "fd77::fe", Addrs: []string{"fd77::fe"}},
		{Name: "router.example", Addrs: []string{"router.example"}},
		{Name: "routers", Addrs: []string{"10.77.0.253", "fd77::fd"}},
	}}
	if diff := cmp.Diff(wantSpec, pingSpec(cfg), cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".OnError"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("pingSpec (-want +got):\n%s", diff)
	}
	moved := append([]config.PingNode(nil), cfg...)
	moved[0].Line = 20
	if !samePing(cfg, moved) {
		t.Error("a ping line that only moved counts as a change")
	}
	moved[3] = config.PingNode{Name: "routers", Addrs: []string{"10.77.0.253"}, Group: true}
	if samePing(cfg, moved) {
		t.Error("a changed ping_group counts as the same")
	}
}
