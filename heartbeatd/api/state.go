// State: what the daemon must tell the API server, and the protocol's names.
package api

import "github.com/hasuite/hasuite/heartbeatd/wire"

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

	ReqSignon       = "signon"
	ReqSignoff      = "signoff"
	ReqSetFilter    = "setfilter"
	ReqSetSignal    = "setsignal"
	ReqClientStatus = "clientstatus"
	ReqSetSendQLen  = "set_sendqlen"

	// Cluster message types the API produces or answers (ha_msg.h).
	TypeStatus         = "status"
	TypeNSStatus       = "NS_st"
	TypeIfStatus       = "ifstat"
	TypeClientStatus   = "hbapi-clstat"
	TypeQueryCStatus   = "query-cstatus"
	TypeRespondCStatus = "respond-cstatus"

	// Client states in hbapi-clstat (st) and respond-cstatus (cs).
	ClientJoin    = "join"
	ClientLeave   = "leave"
	ClientOnline  = "online"
	ClientOffline = "offline"

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

	FieldSubType      = "subt"
	FieldSrc          = "src"
	FieldDest         = "dest"
	FieldSeq          = "seq"
	FieldTime         = "ts"
	FieldToID         = "to_id"
	FieldClientGen    = "client_gen"
	FieldUID          = "uid"
	FieldGID          = "gid"
	FieldFilterMask   = "fmask"
	FieldSignal       = "signal"
	FieldSendQLen     = "sendqlen"
	FieldClientName   = "cn"
	FieldClientStatus = "cs"
	FieldDeadtime     = "deadtime"    // signon reply: milliseconds in hex
	FieldKeepalive    = "keepalive"   // signon reply: milliseconds in hex
	FieldLogFacility  = "logfacility" // signon reply: syslog facility number, -1 for none
	FieldHBVersion    = "hbversion"   // signon reply
	FieldPacemaker    = "pacemaker"   // signon reply
)

// Treatment says how the daemon treated a message; a client's setfilter mask
// selects the treatments it wants to see (hb_api_core.h). Clients start with
// TreatKeep; the other bits are debugging aids only root (or the daemon's
// user) may ask for.
type Treatment uint32

// Treatments.
const (
	TreatKeep      Treatment = 0x01 // accepted and processed: what clients normally see
	TreatNoChange  Treatment = 0x02 // a status message that changed nothing
	TreatDrop      Treatment = 0x04 // dropped (not for us, replayed, ...)
	TreatDuplicate Treatment = 0x08 // a duplicate
	TreatAPICall   Treatment = 0x10 // a message a client sent to the API
	TreatProtocol  Treatment = 0x20 // retransmission protocol traffic

	debugTreatments = TreatNoChange | TreatDrop | TreatDuplicate | TreatAPICall | TreatProtocol
	allTreatments   = debugTreatments | TreatKeep
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
	// SendClusterMessage transmits a message a client (or the API itself:
	// hbapi-clstat, query-cstatus answers) wants sent to the cluster. The
	// daemon stamps src, seq, hg, ts and the other standard fields, sends it
	// and processes it locally like any accepted message, which includes
	// handing it to Server.Deliver. A message with dest goes to that node
	// only. It is called from client goroutines, never with a Server lock
	// held, and may call Deliver synchronously.
	SendClusterMessage(msg *wire.Message) error
}
