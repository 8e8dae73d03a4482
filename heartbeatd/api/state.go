// State: what the daemon must tell the API server, and the protocol's names.
package api

// Node types and statuses as classic heartbeat reports them.
const (
	NodeNormal = "normal"
	NodePing   = "ping"

	LinkUp   = "up"
	LinkDead = "dead"
)

// Message types, request types, results and field names of the classic API
// (include/hb_api_core.h, ha_msg.h).
const (
	TypeRequest  = "hbapi-req"
	TypeResponse = "hbapi-resp"

	ReqNodeList    = "nodelist"
	ReqNodeStatus  = "nodestatus"
	ReqNodeType    = "nodetype"
	ReqNodeWeight  = "nodeweight"
	ReqNodeSite    = "nodesite"
	ReqNumNodes    = "numnodes"
	ReqIfList      = "iflist"
	ReqIfStatus    = "ifstatus"
	ReqGetParm     = "getparm"
	ReqGetRsc      = "getrsc"
	ReqGetUUID     = "getuuid"
	ReqGetNodeName = "getnodename"
	ReqCounters    = "hasuite-counters" // hasuite extension

	ResultOK     = "OK"
	ResultMore   = "ok/more"
	ResultFail   = "fail"
	ResultBadReq = "badreq"

	FieldType      = "t"
	FieldReqType   = "reqtype"
	FieldResult    = "result"
	FieldInfo      = "info"
	FieldPID       = "pid"
	FieldFromID    = "from_id"
	FieldNode      = "node"
	FieldNodeType  = "nodetype"
	FieldStatus    = "st"
	FieldWeight    = "weight"
	FieldSite      = "site"
	FieldNumNodes  = "numnodes"
	FieldIfName    = "ifname"
	FieldPName     = "pname"
	FieldPValue    = "pvalue"
	FieldResources = "rsc_hold"
	FieldQueryName = "queryname"
	FieldQueryUUID = "queryuuid"
)

// NodeInfo describes one configured node (normal or ping) as the API reports it.
type NodeInfo struct {
	Name   string     // node name as configured (lower case); a ping node's address
	Type   string     // NodeNormal or NodePing
	Status string     // "active", "up", "init", "dead" or "ping"
	Links  []LinkInfo // heartbeat links; a ping node has one link named like the node
	Weight int        // classic default 100
	Site   string     // classic default ""
	UUID   []byte     // 16 bytes, nil when unknown
}

// LinkInfo is the state of one heartbeat link to a node.
type LinkInfo struct {
	Name   string // interface name, e.g. "hb0"
	Status string // LinkUp or LinkDead
}

// State is the daemon's side of the API. Implementations must be safe for
// concurrent use; each request calls each method at most once, so a
// snapshotting implementation gives consistent answers.
type State interface {
	// LocalNode returns the local node name.
	LocalNode() string
	// Nodes returns every configured node in configuration order.
	Nodes() []NodeInfo
	// Param returns a parameter's configured or default string
	// (cl_status hbparameter); ok is false when it has no value.
	// cl_status also asks for "hbversion" (hbstatus -v prints it; classic
	// gives "3.0.6 (node: <hg id>)") and "pacemaker" (unset or a false
	// boolean such as "false" means resources are managed by haresources).
	Param(name string) (value string, ok bool)
	// ResourceStatus returns none, local, foreign, all or transition, or ""
	// when this daemon does not manage resources.
	ResourceStatus() string
	// Counters returns the daemon's counters by name.
	Counters() map[string]uint64
}
