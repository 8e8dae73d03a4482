// Messages the daemon delivers to clients for status changes, as classic builds them.
package api

import (
	"strconv"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// NodeDeadMessage is the message classic delivers to clients when it
// declares a node dead (hb_rsc_recover_dead_resources):
// `t=status seq=1 ts=<hex unix time> src=<node> st=dead`, plus `info=ping`
// for a ping node. Deliver it with Deliver.
func NodeDeadMessage(node string, ping bool, now time.Time) *wire.Message {
	m := wire.New(TypeStatus).
		Add(FieldSeq, "1").
		Add(FieldTime, strconv.FormatInt(now.Unix(), 16)).
		Add(FieldSrc, node).
		Add(FieldStatus, "dead")
	if ping {
		m.Add(FieldInfo, "ping")
	}
	return m
}

// LinkStatusMessage is the message classic delivers to clients when a
// heartbeat link to node changes state (change_link_status):
// `t=ifstat node=<node> ifname=<link> st=<up|dead>`. It never goes on the
// wire. Deliver it with Deliver.
func LinkStatusMessage(node, ifname, status string) *wire.Message {
	return wire.New(TypeIfStatus).
		Add(FieldNode, node).
		Add(FieldIfName, ifname).
		Add(FieldStatus, status)
}

// clientStatusMessage is hbapi-clstat for a named client joining or leaving
// (api_send_client_status).
func clientStatusMessage(status, id, local, reason string, gen int) *wire.Message {
	return wire.New(TypeClientStatus).
		Add(FieldStatus, status).
		Add(FieldFromID, id).
		Add(FieldToID, id).
		Add(FieldSrc, local).
		Add(FieldInfo, reason).
		Add(FieldClientGen, strconv.Itoa(gen))
}

// syslogFacilities are the facility numbers of syslog.h by ha.cf name.
var syslogFacilities = map[string]int{
	"kern": 0 << 3, "user": 1 << 3, "mail": 2 << 3, "daemon": 3 << 3,
	"auth": 4 << 3, "syslog": 5 << 3, "lpr": 6 << 3, "news": 7 << 3,
	"uucp": 8 << 3, "cron": 9 << 3, "authpriv": 10 << 3, "ftp": 11 << 3,
	"local0": 16 << 3, "local1": 17 << 3, "local2": 18 << 3, "local3": 19 << 3,
	"local4": 20 << 3, "local5": 21 << 3, "local6": 22 << 3, "local7": 23 << 3,
}

// facilityNumber is the signon reply's logfacility for an ha.cf
// logfacility value: the syslog number, or -1 for none, unset or unknown.
func facilityNumber(name string) int {
	if n, ok := syslogFacilities[name]; ok {
		return n
	}
	return -1
}
