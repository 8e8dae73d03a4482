// Request dispatch: one function per classic query, answering from a State.
package api

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// einval is classic heartbeat's failreason for an unknown node or interface.
const einval = "EINVAL"

// handler answers one request; it returns the reply messages in order.
type handler func(st State, req *wire.Message, extra func() map[string]uint64) []*wire.Message

var handlers = map[string]handler{
	ReqNodeList:    nodeList,
	ReqNodeStatus:  nodeStatus,
	ReqNodeType:    nodeType,
	ReqNodeWeight:  nodeWeight,
	ReqNodeSite:    nodeSite,
	ReqNumNodes:    numNodes,
	ReqIfList:      ifList,
	ReqIfStatus:    ifStatus,
	ReqGetParm:     getParm,
	ReqGetRsc:      getRsc,
	ReqGetUUID:     getUUID,
	ReqGetNodeName: getNodeName,
	ReqCounters:    counters,
	ReqGroups:      groupList,
}

// dispatch answers req; extra returns the server's own counters for
// hasuite-counters. bad reports whether the answer is a badreq.
func dispatch(st State, req *wire.Message, extra func() map[string]uint64) (replies []*wire.Message, bad bool) {
	reqtype, _ := req.Lookup(FieldReqType)
	if t := req.Type(); t != TypeRequest {
		return []*wire.Message{badReq(reqtype, "unsupported message type "+strconv.Quote(t))}, true
	}
	h, known := handlers[reqtype]
	if !known {
		return []*wire.Message{badReq(reqtype, "unknown request type "+strconv.Quote(reqtype))}, true
	}
	replies = h(st, req, extra)
	return replies, len(replies) == 1 && replies[0].Get(FieldResult) == ResultBadReq
}

// reply starts a response the way classic does: t, then the echoed reqtype.
func reply(reqtype string) *wire.Message {
	return wire.New(TypeResponse).Add(FieldReqType, reqtype)
}

func badReq(reqtype, reason string) *wire.Message {
	return reply(reqtype).Add(FieldResult, ResultBadReq).Add(FieldInfo, reason)
}

func okReply(m *wire.Message) []*wire.Message {
	return []*wire.Message{m.Add(FieldResult, ResultOK)}
}

// lookupNode finds a node the way classic lookup_node does: the query is
// lower-cased (ASCII) before comparing.
func lookupNode(nodes []NodeInfo, name string) (NodeInfo, bool) {
	q := asciiLower(name)
	for _, n := range nodes {
		if asciiLower(n.Name) == q {
			return n, true
		}
	}
	return NodeInfo{}, false
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// requestedNode resolves the request's node field or builds the badreq.
func requestedNode(st State, req *wire.Message) (NodeInfo, *wire.Message) {
	reqtype := req.Get(FieldReqType)
	name, present := req.Lookup(FieldNode)
	if !present {
		return NodeInfo{}, badReq(reqtype, einval)
	}
	n, found := lookupNode(st.Nodes(), name)
	if !found {
		return NodeInfo{}, badReq(reqtype, einval)
	}
	return n, nil
}

func nodeList(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	nodes := st.Nodes()
	if len(nodes) == 0 {
		return okReply(reply(ReqNodeList))
	}
	out := make([]*wire.Message, 0, len(nodes))
	for i, n := range nodes {
		result := ResultMore
		if i == len(nodes)-1 {
			result = ResultOK
		}
		out = append(out, reply(ReqNodeList).
			Add(FieldNode, n.Name).
			Add(FieldNodeType, n.Type).
			Add(FieldStatus, n.Status).
			Add(FieldResult, result))
	}
	return out
}

func nodeStatus(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	n, bad := requestedNode(st, req)
	if bad != nil {
		return []*wire.Message{bad}
	}
	return okReply(reply(ReqNodeStatus).Add(FieldStatus, n.Status))
}

func nodeType(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	n, bad := requestedNode(st, req)
	if bad != nil {
		return []*wire.Message{bad}
	}
	return okReply(reply(ReqNodeType).Add(FieldNodeType, n.Type))
}

func nodeWeight(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	n, bad := requestedNode(st, req)
	if bad != nil {
		return []*wire.Message{bad}
	}
	return okReply(reply(ReqNodeWeight).Add(FieldWeight, strconv.Itoa(n.Weight)))
}

func nodeSite(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	n, bad := requestedNode(st, req)
	if bad != nil {
		return []*wire.Message{bad}
	}
	return okReply(reply(ReqNodeSite).Add(FieldSite, n.Site))
}

// numNodes counts normal nodes only, like classic api_num_nodes.
func numNodes(st State, _ *wire.Message, _ func() map[string]uint64) []*wire.Message {
	count := 0
	for _, n := range st.Nodes() {
		if n.Type == NodeNormal {
			count++
		}
	}
	return okReply(reply(ReqNumNodes).Add(FieldNumNodes, strconv.Itoa(count)))
}

func ifList(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	n, bad := requestedNode(st, req)
	if bad != nil {
		return []*wire.Message{bad}
	}
	if len(n.Links) == 0 {
		return okReply(reply(ReqIfList))
	}
	out := make([]*wire.Message, 0, len(n.Links))
	for i, l := range n.Links {
		result := ResultMore
		if i == len(n.Links)-1 {
			result = ResultOK
		}
		out = append(out, reply(ReqIfList).
			Add(FieldIfName, l.Name).
			Add(FieldStatus, l.Status).
			Add(FieldResult, result))
	}
	return out
}

func ifStatus(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	n, bad := requestedNode(st, req)
	if bad != nil {
		return []*wire.Message{bad}
	}
	name, _ := req.Lookup(FieldIfName)
	for _, l := range n.Links {
		if l.Name == name {
			return okReply(reply(ReqIfStatus).Add(FieldStatus, l.Status))
		}
	}
	return []*wire.Message{badReq(ReqIfStatus, einval)}
}

// getParm answers OK without pvalue for an unset parameter, like classic.
func getParm(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	name, present := req.Lookup(FieldPName)
	if !present {
		return []*wire.Message{badReq(ReqGetParm, einval)}
	}
	if name == "crm" { // classic: deprecated alias of "pacemaker"
		name = "pacemaker"
	}
	m := reply(ReqGetParm)
	if v, set := st.Param(name); set {
		m.Add(FieldPValue, v)
	}
	return okReply(m)
}

func getRsc(st State, _ *wire.Message, _ func() map[string]uint64) []*wire.Message {
	rs := st.ResourceStatus()
	if rs == "" {
		return []*wire.Message{badReq(ReqGetRsc, "resources are not managed by this heartbeatd")}
	}
	return okReply(reply(ReqGetRsc).Add(FieldResources, rs))
}

// getUUID answers OK without queryuuid for an unknown node, like classic.
func getUUID(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	name, present := req.Lookup(FieldQueryName)
	if !present {
		return []*wire.Message{badReq(ReqGetUUID, "no query node name found")}
	}
	m := reply(ReqGetUUID)
	if n, found := lookupNode(st.Nodes(), name); found && len(n.UUID) > 0 {
		m.AddBinary(FieldQueryUUID, n.UUID)
	}
	return okReply(m)
}

// getNodeName maps queryuuid to a node name; without queryuuid (hasuite
// extension) it answers the local node name.
func getNodeName(st State, req *wire.Message, _ func() map[string]uint64) []*wire.Message {
	m := reply(ReqGetNodeName)
	uuid, present := req.Binary(FieldQueryUUID)
	if !present {
		return okReply(m.Add(FieldQueryName, st.LocalNode()))
	}
	for _, n := range st.Nodes() {
		if len(n.UUID) > 0 && bytes.Equal(n.UUID, uuid) {
			m.Add(FieldQueryName, n.Name)
			break
		}
	}
	return okReply(m)
}

// counters answers every counter of the daemon and of the API server,
// sorted by name. Names that cannot be a classic field name are skipped.
func counters(st State, _ *wire.Message, extra func() map[string]uint64) []*wire.Message {
	all := make(map[string]uint64)
	maps.Copy(all, st.Counters()) // never write into the daemon's map
	maps.Copy(all, extra())
	m := reply(ReqCounters)
	for _, name := range slices.Sorted(maps.Keys(all)) {
		if !validFieldName(name) {
			continue
		}
		m.Add(name, strconv.FormatUint(all[name], 10))
	}
	return okReply(m)
}

// validFieldName reports whether name survives the classic text form and
// does not collide with the reply's own fields.
func validFieldName(name string) bool {
	switch name {
	case "", FieldType, FieldReqType, FieldResult, FieldInfo:
		return false
	}
	return !strings.ContainsAny(name, "=\n\x00()")
}
