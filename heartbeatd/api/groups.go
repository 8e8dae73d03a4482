// groups.go: hasuite-rscgroups, the holder of every resource group
// (cl_status rscgroups), answered by daemons that place groups on N nodes
// (membership memberlist).

package api

import (
	"strings"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// ReqGroups lists the resource groups (hasuite extension).
const ReqGroups = "hasuite-rscgroups"

// Fields of a hasuite-rscgroups reply, one reply per group.
const (
	FieldGroup     = "group"     // the haresources group key
	FieldPreferred = "preferred" // its preferred node
	FieldHolders   = "holders"   // node:state (held, starting, stopping), comma-separated
	FieldPlaced    = "placed"    // where placement wants it; "" = nowhere
)

// GroupInfo is one resource group as ReqGroups reports it.
type GroupInfo struct {
	Group     string
	Preferred string
	Holders   []string // "node:held", "node:starting" or "node:stopping"
	Placed    string   // the node placement picks now; "" = none (no quorum)
}

// GroupLister is the optional part of State that answers ReqGroups; ok is
// false when this daemon does not place groups on N nodes.
type GroupLister interface {
	ResourceGroups() (groups []GroupInfo, ok bool)
}

// groupList answers one reply per group (ok/more until the last), like
// nodelist; an empty list is one OK reply without a group field.
func groupList(st State, _ *wire.Message, _ func() map[string]uint64) []*wire.Message {
	gl, ok := st.(GroupLister)
	var groups []GroupInfo
	if ok {
		groups, ok = gl.ResourceGroups()
	}
	if !ok {
		return []*wire.Message{badReq(ReqGroups, "resource groups are listed with membership memberlist only; see rscstatus")}
	}
	if len(groups) == 0 {
		return okReply(reply(ReqGroups))
	}
	out := make([]*wire.Message, 0, len(groups))
	for i, g := range groups {
		result := ResultMore
		if i == len(groups)-1 {
			result = ResultOK
		}
		out = append(out, reply(ReqGroups).
			Add(FieldGroup, g.Group).
			Add(FieldPreferred, g.Preferred).
			Add(FieldHolders, strings.Join(g.Holders, ",")).
			Add(FieldPlaced, g.Placed).
			Add(FieldResult, result))
	}
	return out
}
