// lab.go: the lab of this benchmark and bench/daemons: two directors and a
// client probing the VIP, the ha.cf, and either heartbeat started on them.

package outage

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/interop"
	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/probe"
)

// The lab's addresses and the VIP, nodea's only resource.
const (
	addrA      = "10.77.0.1/24"
	addrB      = "10.77.0.2/24"
	addrClient = "10.77.0.10/24"
	VIP        = "10.77.0.100"
	port       = 7000
	haresource = "nodea IPaddr2::" + VIP + "/24/hb0\n"
	authkeys   = "auth 1\n1 sha1 benchS3cret\n"
)

// Lab is directors nodea and nodeb (responders on both) and a client
// probing the VIP.
type Lab struct {
	*netns.Lab
	A, B, Client *netns.Host
	Probe        *probe.Prober
}

// NewLab builds the lab and starts the client's probes.
func NewLab(b testing.TB) *Lab {
	l := &Lab{Lab: netns.NewLab(b)}
	l.A, l.B, l.Client = l.AddHost("nodea", addrA), l.AddHost("nodeb", addrB), l.AddHost("client", addrClient)
	probe.StartResponder(b, l.A, port)
	probe.StartResponder(b, l.B, port)
	l.Probe = probe.NewProber(b, l.Client, netip.AddrPortFrom(netip.MustParseAddr(VIP), port), probe.DefaultEvery)
	return l
}

// HACF is the ha.cf both implementations get: times in ms (heartbeat
// 3.0.6 rejects "1s"), warntime its default deadtime/2, initdead at least
// 10 s (no start-up warning) and twice deadtime, then auto_failback, the
// nodes and extra lines as given.
func HACF(s Setting, failback string, nodes []string, extra string) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }
	return fmt.Sprintf(`# hasuite benchmark, %s
keepalive %s
deadtime %s
warntime %s
initdead %s
udpport 694
bcast hb0
auto_failback %s
node %s
crm no
%s`, s, ms(s.Keepalive), ms(s.Deadtime), ms(s.Deadtime/2), ms(max(2*s.Deadtime, 10*time.Second)), failback, strings.Join(nodes, " "), extra)
}

// Node is one running heartbeat of either implementation.
type Node struct {
	Ours    *hbnode.Node
	Classic *interop.Classic
}

// StartNode starts heartbeat 3.0.6 (classic) or heartbeatd on h as name
// with hacf and the VIP's haresources.
func StartNode(b testing.TB, classic bool, h *netns.Host, name, hacf string) *Node {
	if classic {
		return &Node{Classic: interop.StartClassic(b, h, interop.ClassicOptions{Node: name, HACF: hacf, AuthKeys: authkeys, Haresources: haresource})}
	}
	return &Node{Ours: hbnode.Start(b, h, hbnode.Options{Node: name, HACF: "logfile " + hbnode.LogPlaceholder + "\n" + hacf, AuthKeys: authkeys, Haresources: haresource})}
}

// Kill ends the node at once (a graceful stop takes seconds).
func (n *Node) Kill(b testing.TB) {
	if n.Ours != nil {
		n.Ours.Kill(b)
	} else if n.Classic.Pid() != 0 {
		n.Classic.Kill(b)
	}
}
