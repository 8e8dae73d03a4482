// Package api is heartbeatd's client API: the unix stream socket that
// cl_status, ipfail and other local clients talk to (spec §8.4).
//
// # Socket
//
// The socket lives at DefaultSocket (/run/heartbeat/register) unless the
// daemon is told otherwise. NewServer removes a stale socket left by a dead
// daemon, refuses to start when another daemon still answers on it, and
// creates the new one with mode 0660.
//
// # Framing
//
// Every message, in both directions, is an 8-byte header followed by a body,
// exactly as cluster-glue's IPC socket layer frames it:
//
//	int32  length of the body, host byte order
//	uint32 magic 0xabcd, host byte order
//	body   the message in classic text form without auth (wire.Marshal)
//
// A frame whose length is negative or larger than MaxFrame (256 KiB, MAXMSG),
// whose magic is wrong, or whose body does not parse closes that connection;
// the server counts it and keeps serving everyone else.
//
// # Requests and replies
//
// A request is `t=hbapi-req reqtype=<req> [pid=<pid> from_id=<id>] ...`. The
// reply is `t=hbapi-resp reqtype=<req> <fields...> result=<result>`, fields
// in the order classic heartbeat writes them; result is OK, ok/more, fail or
// badreq, and a badreq carries the reason in `info`. Field names are classic
// (include/hb_api_core.h and ha_msg.h), which differ in places from the names
// used in loose descriptions: node status travels in `st`, a parameter name in
// `pname`, the resource state in `rsc_hold`.
//
//	reqtype      request fields        reply fields
//	nodelist     -                     node nodetype st  (one reply per node)
//	nodestatus   node                  st
//	nodetype     node                  nodetype
//	nodeweight   node                  weight (decimal)
//	nodesite     node                  site
//	numnodes     -                     numnodes (normal nodes only, decimal)
//	iflist       node                  ifname st          (one reply per link)
//	ifstatus     node ifname           st (up|dead)
//	getparm      pname                 pvalue (absent when the parameter is unset)
//	getrsc       -                     rsc_hold (none|local|foreign|all|transition)
//	getuuid      queryname             (1)queryuuid      (absent when unknown)
//	getnodename  [(1)queryuuid]        queryname         (absent when unknown)
//	hasuite-counters  -                <counter>=<decimal> for every counter, sorted by name
//
// nodelist and iflist answer like classic: one reply per entry, every reply
// but the last with result=ok/more, the last with result=OK. Where classic
// would send nothing at all for an empty list (and leave its client hanging),
// this server sends a single result=OK reply without the entry fields.
//
// Unknown nodes and interfaces get result=badreq info=EINVAL, as in classic.
// An unknown reqtype gets result=badreq. getnodename without queryuuid is a
// hasuite extension answering the local node name; hasuite-counters is a
// hasuite extension.
//
// Not implemented yet (next issue): signon, signoff, setfilter, setsignal,
// clientstatus, set_sendqlen, apiauth access control and client-originated
// cluster messages. Until then any client may query without signing on, and
// a message whose type is not hbapi-req gets result=badreq.
package api
