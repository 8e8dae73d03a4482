// conf.go: the demo's addresses and the /etc/ha.d trees it generates for each director (ha.cf, authkeys, haresources, ldirectord.cf).

package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// The demo's networks, all inside its namespaces (documentation and
// private ranges):
//
//	client 203.0.113.10 ── router 203.0.113.1 / 192.0.2.254 (the ping node)
//	                                   │ public LAN 192.0.2.0/24 (eth0)
//	                director1 192.0.2.1 ┼ director2 192.0.2.2   VIP 192.0.2.100
//	                                   │ internal LAN 10.10.0.0/24 (eth1)
//	                director1 10.10.0.1 ┼ director2 10.10.0.2   gateway 10.10.0.254
//	        web1 10.10.0.11  web2 10.10.0.12  web3 10.10.0.13  sorry 10.10.0.50
//
// The active director holds the VIP and the real servers' gateway
// address; ldirectord on it forwards the client's connections to the
// real servers by NAT (nftables), and their answers come back through it.
const (
	clientAddr  = "203.0.113.10"
	routerOut   = "203.0.113.1"
	routerPub   = "192.0.2.254"
	vip         = "192.0.2.100"
	gateway     = "10.10.0.254"
	sorryAddr   = "10.10.0.50"
	director1   = "director1"
	director2   = "director2"
	pubIface    = "eth0"
	intIface    = "eth1"
	servicePort = 80
)

// directors and their addresses on the public and internal LANs.
var directors = []struct{ name, pub, internal string }{
	{director1, "192.0.2.1", "10.10.0.1"},
	{director2, "192.0.2.2", "10.10.0.2"},
}

// webs are the real servers.
var webs = []struct{ name, addr string }{
	{"web1", "10.10.0.11"}, {"web2", "10.10.0.12"}, {"web3", "10.10.0.13"},
}

// Demo timings, fast so the whole story takes about a minute; the
// comments in the generated files give the usual production values.
const (
	keepaliveMS   = 200
	deadtimeS     = 1
	deadpingS     = 1
	checkInterval = 1 // ldirectord checkinterval, seconds
	checkTimeout  = 1 // ldirectord checktimeout/negotiatetimeout, seconds
)

// tree is one director's configuration directory (its /etc/ha.d).
type tree struct {
	dir string // the director's private directory under workDir
	// forHosts: the files for real machines (demo -configs): written to
	// dir itself, logging to /var/log, ipfail as hacluster.
	forHosts bool
}

func (t tree) etc() string {
	if t.forHosts {
		return t.dir
	}
	return filepath.Join(t.dir, "etc", "ha.d")
}

func (t tree) haLog() string {
	if t.forHosts {
		return "/var/log/ha-log"
	}
	return filepath.Join(t.dir, "ha-log")
}

func (t tree) ldLog() string {
	if t.forHosts {
		return "/var/log/ldirectord.log"
	}
	return filepath.Join(t.dir, "ldirectord.log")
}

// ipfailUser is the user heartbeatd runs ipfail as: hacluster, as the
// classic packages do, when this machine has it; root otherwise.
func ipfailUser() string {
	if _, err := user.Lookup("hacluster"); err == nil {
		return "hacluster"
	}
	return "root"
}

// write generates the director's tree. The files are the same on both
// directors but for the log file paths.
func (t tree) write(authKey string) error {
	if err := os.MkdirAll(t.etc(), 0o755); err != nil {
		return err
	}
	files := []struct {
		name, text string
		mode       os.FileMode
	}{
		{"ha.cf", t.haCF(), 0o644},
		{"authkeys", authKeys(authKey), 0o600},
		{"haresources", haresources(), 0o644},
		{"ldirectord.cf", t.ldirectordCF(), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(t.etc(), f.name), []byte(f.text), f.mode); err != nil {
			return err
		}
	}
	return nil
}

func (t tree) haCF() string {
	u := ipfailUser()
	if t.forHosts {
		u = "hacluster"
	}
	auth := ""
	if u != "hacluster" {
		auth = "# No hacluster user on this machine: ipfail runs as root, which apiauth\n" +
			"# must then allow (the default allows hacluster only).\napiauth\t\tipfail uid=root\n"
	}
	return fmt.Sprintf(`#
#	/etc/ha.d/ha.cf: the hasuite demo's two LVS directors, %[1]s and %[2]s.
#	The same file on both (heartbeat 3.0.6 reads it too). The demo's timers
#	are fast; usual production values are in the comments.
#
logfile		%[3]s

# Timing. keepalive: our heartbeat interval (production: 1 s). deadtime:
# a peer silent this long is dead (production: 10 s; must exceed
# 2 x keepalive). initdead: deadtime until the link first comes up.
keepalive	%[4]dms
deadtime	%[5]d
warntime	500ms
initdead	10

# Heartbeats on the internal LAN (eth1; a dedicated link is better still),
# so a director that loses the public LAN (eth0) stays alive for its peer
# and ipfail (below) moves the VIP.
udpport		694
bcast		%[6]s

# Node names must equal "uname -n" on each director.
node		%[1]s %[2]s

# on: the VIP goes back to %[1]s, its preferred node, whenever
# %[1]s is healthy (a second, graceful hand-over); off: it stays.
auto_failback	on

# The router is the ping node: a director that cannot reach it while its
# peer can hands the VIP over (ipfail). deadping: the ping node is dead
# after this long without a reply (production: 5 s or more; it must
# exceed 2 x keepalive).
ping		%[7]s
deadping	%[8]d
respawn		%[9]s /usr/lib/heartbeat/ipfail
%[10]s%[11]s`, director1, director2, t.haLog(), keepaliveMS, deadtimeS, intIface,
		routerPub, deadpingS, u, auth, metricsLine("metrics_listen\t", hbMetrics))
}

func authKeys(key string) string {
	return fmt.Sprintf(`#
#	/etc/ha.d/authkeys: the key both directors sign their heartbeats with.
#	Mode 0600, owned by root. Make your own: openssl rand -hex 32
#
auth 1
1 sha1 %s
`, key)
}

func haresources() string {
	return fmt.Sprintf(`#
#	/etc/ha.d/haresources: what moves between the directors (the same file
#	on both). %[1]s is the preferred node of the group:
#	  - the virtual IP the clients connect to, on the public LAN (eth0);
#	  - the real servers' default gateway, on the internal LAN (eth1):
#	    with NAT forwarding their answers must come back through the
#	    director that holds the VIP.
#	IPaddr2 adds each address and announces it with gratuitous ARP.
#
#	ldirectord is not a resource here: it runs on both directors all the
#	time (started by the init system), so the standby's table is checked
#	and ready when the VIP arrives. The classic alternative appends
#	"ldirectord::ldirectord.cf" to the line, starting it on takeover.
#
%[1]s	IPaddr2::%[2]s/24/%[3]s IPaddr2::%[4]s/24/%[5]s
`, director1, vip, pubIface, gateway, intIface)
}

func (t tree) ldirectordCF() string {
	var reals strings.Builder
	for _, w := range webs {
		fmt.Fprintf(&reals, "\treal = %s:%d masq 1\n", w.addr, servicePort)
	}
	return fmt.Sprintf(`#
#	/etc/ha.d/ldirectord.cf: the demo's web service on both directors.
#
# Global directives.
# backend (hasuite): nftables programs NAT rules in the table
# "inet ldirectord" for kernels without IPVS; ipvs (the default) needs the
# ip_vs module; auto takes IPVS when the kernel has it.
backend = nftables
# Check every real server each checkinterval seconds (production: 5-10),
# giving up on one check after checktimeout seconds.
checkinterval = %[1]d
checktimeout = %[2]d
negotiatetimeout = %[2]d
# One failed check takes a real server out (production: 2-3).
failurecount = 1
# quiescent: a failed real server keeps its entry at weight 0: no new
# connections, while open ones finish.
quiescent = yes
# Remove the service from the table when ldirectord stops.
cleanstop = yes
autoreload = no
logfile = "%[3]s"
%[10]s
# The virtual service: the VIP's port 80, round robin over three web
# servers forwarded by NAT (masq), weight 1 each. A real server is up while
# GET /%[4]s answers 2xx with "%[5]s" in the body. When none is up, the
# fallback (a "sorry" server) takes the connections.
virtual = %[6]s:%[7]d
%[8]s	fallback = %[9]s:%[7]d masq
	service = http
	scheduler = rr
	protocol = tcp
	checktype = negotiate
	request = "%[4]s"
	receive = "%[5]s"
`, checkInterval, checkTimeout, t.ldLog(), healthPage, healthOK, vip, servicePort,
		reals.String(), sorryAddr, metricsLine("metrics = ", ldMetrics))
}

// The directors' metrics endpoints (inside their namespaces), written
// only when HASUITE_DEMO_METRICS=1 (bench/soak reads them).
const (
	hbMetrics = "127.0.0.1:9707"
	ldMetrics = "127.0.0.1:9708"
)

// metricsLine is the directive "key addr" and a newline, or "" unless
// HASUITE_DEMO_METRICS=1.
func metricsLine(key, addr string) string {
	if os.Getenv("HASUITE_DEMO_METRICS") != "1" {
		return ""
	}
	return key + addr + "\n"
}
