// auto_failback legacy: groups are requested with ip-request and handed
// over by their holder (req_resource, rc.d/ip-request, rc.d/ip-request-resp).

package rm

import (
	"time"

	"github.com/hasuite/hasuite/heartbeatd/membership"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// legacyStart requests our local groups: granted to ourselves when no
// other node is active, else asked of the holder.
func (r *RM) legacyStart(out *actions) {
	for _, g := range r.groups {
		if !g.local {
			continue
		}
		if r.peerStatus != membership.StatusActive {
			out.send(ipResponse(r.cfg.Local, g.cfg.Key, true))
			r.run(Acquire, g, nil, out)
			continue
		}
		out.send(wire.New("ip-request").Add("ipaddr", g.cfg.Key))
	}
}

// receiveIPRequest gives a group up if we hold it and answers the requester.
func (r *RM) receiveIPRequest(now time.Time, msg *wire.Message, out *actions) {
	key := msg.Get("ipaddr")
	g := find(r.groups, key)
	if g == nil || !g.busy() || r.stopping {
		out.send(ipResponse(r.peer, key, false))
		return
	}
	out.log(membership.Info, "%s requests resource group %s: releasing it", r.peer, key)
	b := &batch{then: func(now time.Time, out *actions) {
		out.send(ipResponse(r.peer, key, true))
	}}
	r.run(Release, g, b, out)
	r.seal(now, b, out)
}

// receiveIPResponse takes a group the holder released (or never had).
func (r *RM) receiveIPResponse(now time.Time, msg *wire.Message, out *actions) {
	key := msg.Get("ipaddr")
	out.log(membership.Info, "received ip-request-resp %s %s %s", key, msg.Get("ok"), msg.Get("weown"))
	g := find(r.groups, key)
	if g == nil || msg.Get("ok") != "OK" || r.stopping || g.acquired() {
		return
	}
	r.run(Acquire, g, nil, out)
}
