// Package api is heartbeatd's client API: the unix stream socket that
// cl_status, ipfail and other local clients talk to (spec §8.4).
//
// # Socket
//
// The socket lives at DefaultSocket (/run/heartbeat/register) unless the
// daemon is told otherwise. NewServer removes a stale socket left by a dead
// daemon, refuses to start when another daemon still answers on it, and
// creates the new one with mode 0666 (classic: 0777): signon checks the
// peer's credentials against apiauth, and the directory's permissions keep
// other users out.
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
// # Signon and access control
//
// A connection may query without signing on (a hasuite extension: classic
// drops every message before a signon). Signing on makes it a client:
//
//	t=hbapi-req reqtype=signon pid=<pid> from_id=<name> uid=<euid> gid=<egid>
//	t=hbapi-resp reqtype=signon [info=<why>] result=OK|badreq deadtime=<hex ms>
//	    keepalive=<hex ms> node=<local node> hbversion=<...> pacemaker=<...> logfacility=<n>
//
// The reply carries the cluster fields even when the signon is refused, so
// that cl_status can tell "refuses my connection" from "stopped"; a refused
// client is then disconnected. A client is casual when from_id is missing or
// starts with its pid (C atoi); its id is then the pid. The checks, with
// classic's reasons, in order: pid > 0 and alive ("bad pid"), name not
// signed on already ("duplicate add request"), uid and gid present ("invalid
// id info") and equal to the socket peer's SO_PEERCRED ("incorrect/false
// credentials"), apiauth, and pid equal to the peer's ("pid mismatch").
//
// apiauth (Server.SetAuth, Server.SetConfig): a casual client needs the
// "anon" entry, a named one its own entry or else a "default" entry
// ("apiauth anon missing", "no default client auth"); it passes when its
// peer uid is in the entry's uid list or its peer gid in the gid list
// ("client failed authorization"). Classic's defaults (ipfail and ccm
// uid=hacluster, ping gid=haclient, lha-snmpagent uid=root, anon uid=root
// gid=haclient) come from config; hasuite adds hb_standby and hb_takeover
// uid=root unless ha.cf names them. Users and groups may be names or numbers.
//
// Signed-on clients also have:
//
//	signoff       -                     no reply; a named client gets its own leave message, then EOF
//	setfilter     fmask (hex)           -; EINVAL without a known bit, EPERM for debug bits unless root/our uid
//	setsignal     signal (decimal)      -; EINVAL for SIGKILL, SIGSTOP, >= 32; sent after each queued message
//	set_sendqlen  sendqlen              no reply; delivery queue length (default 64, at most 4096)
//	clientstatus  node cn from_id       subt=respond-cstatus cs=online|offline (local node, or a node not active)
//
// clientstatus for an active remote node sends `t=query-cstatus dest=<node>
// cn=<client> from_id=<asker>` to the cluster and does not reply; the
// node's `t=respond-cstatus dest=<us> result=OK cn= to_id=<asker> cs=`
// comes back through Deliver. The server answers peers' query-cstatus the
// same way (Deliver hands them to it).
//
// A named client joining or leaving sends `t=hbapi-clstat st=join|leave
// from_id=<name> to_id=<name> src=<node> info=signon|<reason> client_gen=<n>`
// to the cluster; reasons for leaving are signoff, EOF, badframe, sendfail,
// badclient. client_gen counts signon attempts since the server started.
//
// # Cluster messages and delivery
//
// Any other message type from a named client goes to the cluster through
// State.SendClusterMessage with from_id and to_id set to the client's name
// and client_gen added, as classic does (so it reaches only same-named
// clients on other nodes). A casual client that sends one is disconnected;
// an unsigned connection gets a badreq.
//
// The daemon hands accepted cluster messages and status changes
// (NodeDeadMessage, LinkStatusMessage) to Deliver. Signed-on clients get a
// message when their setfilter mask includes its Treatment (TreatKeep for
// Deliver); a message with to_id goes only to the client of that name.
// Each client has a bounded queue; when it is full, further messages are
// dropped and counted (api_delivery_dropped), never waited for.
//
// Not implemented: classic's per-client sequence snapshot (messages
// retransmitted from before a client's signon are not withheld from it),
// and the leave message classic sends when a named client fails its signon.
package api
