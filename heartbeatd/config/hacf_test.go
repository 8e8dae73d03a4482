// Tests for the ha.cf parser: every directive, every error, warnings.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMain(m *testing.M) {
	// Keep the udpport default independent of the machine's /etc/services.
	servicesFile = filepath.Join("testdata", "no-such-services-file")
	os.Exit(m.Run())
}

const legacyWarning = "ha.cf: auto_failback legacy is deprecated (it is the default when auto_failback is not set); use auto_failback on or off"

func mustParseHACF(t *testing.T, text string) *HACF {
	t.Helper()
	c, err := ParseHACF("ha.cf", strings.NewReader(text))
	if err != nil {
		t.Fatalf("ParseHACF(%q): %v", text, err)
	}
	return c
}

var hacfCmp = cmp.Options{cmpopts.IgnoreUnexported(HACF{}), cmpopts.EquateEmpty()}

func TestHACFDefaults(t *testing.T) {
	got := mustParseHACF(t, "# nothing but a comment\n\n   \n")
	want := &HACF{
		File:                 "ha.cf",
		Keepalive:            time.Second,
		Deadtime:             30 * time.Second,
		Warntime:             15 * time.Second,
		Initdead:             30 * time.Second,
		Deadping:             30 * time.Second,
		MaxRexmitDelay:       250 * time.Millisecond,
		UDPPort:              694,
		APIAuth:              defaultAPIAuth,
		UseLogd:              true,
		ConnLogdTime:         60 * time.Second,
		SyslogMsgFmt:         true,
		LogBadPack:           true,
		Hopfudge:             1,
		Msgfmt:               "classic",
		Cluster:              "linux-ha",
		Compression:          "zlib",
		CompressionThreshold: 2,
		Realtime:             true,
		Coredumps:            true,
		MemReserve:           6500,
		HBGenMethod:          "file",
		UUIDFrom:             "file",
		AutoJoin:             "none",
		Baud:                 19200,
		ResourceTimeout:      DefaultResourceTimeout,
		StopFailureAction:    "block",
		IPaddrARP:            DefaultIPaddrARP,
		IPaddr2ARP:           DefaultIPaddr2ARP,
		Params: map[string]string{
			// heartbeat -D's table ...
			"cluster": "linux-ha", "hopfudge": "1", "keepalive": "1000ms", "deadtime": "30000ms",
			"baud": "19200", "auto_failback": "legacy", "hbgenmethod": "file", "realtime": "true",
			"msgfmt": "classic", "conn_logd_time": "60", "log_badpack": "true", "syslogmsgfmt": "true",
			"coredumps": "true", "pacemaker": "false", "autojoin": "none", "uuidfrom": "file",
			"compression": "zlib", "compression_threshold": "2", "traditional_compression": "no",
			"max_rexmit_delay": "250", "record_config_changes": "on", "record_pengine_inputs": "on",
			"enable_config_writes": "on", "memreserve": "6500",
			// ... and the values computed at start-up.
			"warntime": "15000ms", "initdead": "30000ms", "deadping": "30000ms", "udpport": "694",
			"debug": "0", "use_logd": "yes",
		},
		Warnings: []string{legacyWarning},
	}
	if diff := cmp.Diff(want, got, hacfCmp); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

// TestHACFDirectives parses each directive on its own and compares the
// whole result with the defaults plus the expected change.
func TestHACFDirectives(t *testing.T) {
	noLegacy := func(c *HACF) { c.Warnings = c.Warnings[1:] }
	syslogOnly := func(c *HACF) {
		c.LogFile, c.DebugFile, c.UseLogd = "/dev/null", "/dev/null", false
		c.Params["logfile"], c.Params["debugfile"] = "/dev/null", "/dev/null"
		delete(c.Params, "use_logd")
	}
	noLogd := func(c *HACF) { c.UseLogd = false; delete(c.Params, "use_logd") }
	tests := []struct {
		in  string
		mod func(c *HACF)
	}{
		{"keepalive 2", func(c *HACF) { c.Keepalive = 2 * time.Second; c.Params["keepalive"] = "2" }},
		{"keepalive 500ms", func(c *HACF) { c.Keepalive = 500 * time.Millisecond; c.Params["keepalive"] = "500ms" }},
		{"keepalive 1500us", func(c *HACF) { c.Keepalive = 2 * time.Millisecond; c.Params["keepalive"] = "1500us" }},
		{"keepalive 0.25", func(c *HACF) { c.Keepalive = 250 * time.Millisecond; c.Params["keepalive"] = "0.25" }},
		{"deadtime 10", func(c *HACF) {
			c.Deadtime, c.Warntime, c.Initdead, c.Deadping = 10*time.Second, 5*time.Second, 20*time.Second, 10*time.Second
			c.Params["deadtime"], c.Params["warntime"], c.Params["initdead"], c.Params["deadping"] = "10", "5000ms", "20000ms", "10000ms"
		}},
		{"deadtime 5", func(c *HACF) {
			c.Deadtime, c.Warntime, c.Initdead, c.Deadping = 5*time.Second, 2500*time.Millisecond, 12*time.Second, 5*time.Second
			c.Params["deadtime"], c.Params["warntime"], c.Params["initdead"], c.Params["deadping"] = "5", "2500ms", "12000ms", "5000ms"
		}},
		{"deadtime 8", func(c *HACF) { // the spec's deadping example: 8000ms
			c.Deadtime, c.Warntime, c.Initdead, c.Deadping = 8*time.Second, 4*time.Second, 16*time.Second, 8*time.Second
			c.Params["deadtime"], c.Params["warntime"], c.Params["initdead"], c.Params["deadping"] = "8", "4000ms", "16000ms", "8000ms"
		}},
		{"deadtime 60", func(c *HACF) {
			c.Deadtime, c.Warntime, c.Initdead, c.Deadping = time.Minute, 30*time.Second, time.Minute, time.Minute
			c.Params["deadtime"], c.Params["warntime"], c.Params["initdead"], c.Params["deadping"] = "60", "30000ms", "60000ms", "60000ms"
		}},
		{"deadtime 10001ms", func(c *HACF) {
			c.Deadtime, c.Warntime, c.Initdead, c.Deadping = 10001*time.Millisecond, 5000*time.Millisecond, 10001*time.Millisecond, 10001*time.Millisecond
			c.Params["deadtime"], c.Params["warntime"], c.Params["initdead"], c.Params["deadping"] = "10001ms", "5000ms", "10001ms", "10001ms"
		}},
		{"warntime 7", func(c *HACF) { c.Warntime = 7 * time.Second; c.Params["warntime"] = "7" }},
		{"initdead 120", func(c *HACF) { c.Initdead = 2 * time.Minute; c.Params["initdead"] = "120" }},
		{"deadping 40", func(c *HACF) { c.Deadping = 40 * time.Second; c.Params["deadping"] = "40" }},
		{"udpport 1694", func(c *HACF) { c.UDPPort = 1694; c.Params["udpport"] = "1694" }},
		{"bcast hb0 hb1,hb2", func(c *HACF) {
			c.Media = []Medium{{Kind: "bcast", Iface: "hb0", Port: 694, Line: 1}, {Kind: "bcast", Iface: "hb1", Port: 694, Line: 1}, {Kind: "bcast", Iface: "hb2", Port: 694, Line: 1}}
		}},
		{"mcast hb0 239.0.0.1 694 1 0", func(c *HACF) {
			c.Media = []Medium{{Kind: "mcast", Iface: "hb0", Addr: "239.0.0.1", Port: 694, TTL: 1, Line: 1}}
		}},
		{"mcast  eth1   225.0.0.1 1694 4 1", func(c *HACF) {
			c.Media = []Medium{{Kind: "mcast", Iface: "eth1", Addr: "225.0.0.1", Port: 1694, TTL: 4, Loop: true, Line: 1}}
		}},
		{"mcast6 hb0 ff02::1:2 694 0 1", func(c *HACF) {
			c.Media = []Medium{{Kind: "mcast6", Iface: "hb0", Addr: "ff02::1:2", Port: 694, TTL: 0, Loop: true, Line: 1}}
		}},
		{"ucast hb0 10.0.0.2", func(c *HACF) {
			c.Media = []Medium{{Kind: "ucast", Iface: "hb0", Addr: "10.0.0.2", Port: 694, Line: 1}}
		}},
		{"ucast hb0 peer.example", func(c *HACF) {
			c.Media = []Medium{{Kind: "ucast", Iface: "hb0", Addr: "peer.example", Port: 694, Line: 1}}
		}},
		{"ucast6 hb0 fd00::2", func(c *HACF) {
			c.Media = []Medium{{Kind: "ucast6", Iface: "hb0", Addr: "fd00::2", Port: 694, Line: 1}}
		}},
		{"serial /dev/ttyS0", func(c *HACF) {
			c.Serial = []string{"/dev/ttyS0"}
			c.Warnings = append([]string{"ha.cf:1: serial media are not supported by hasuite; ignoring /dev/ttyS0"}, c.Warnings...)
		}},
		{"baud 38400", func(c *HACF) { c.Baud = 38400; c.Params["baud"] = "38400" }},
		{"node NodeA nodeb,nodec", func(c *HACF) { c.Nodes = []string{"nodea", "nodeb", "nodec"} }},
		{"ping 10.0.0.254 10.0.0.253", func(c *HACF) {
			c.Ping = []PingNode{{Name: "10.0.0.254", Addrs: []string{"10.0.0.254"}, Line: 1}, {Name: "10.0.0.253", Addrs: []string{"10.0.0.253"}, Line: 1}}
		}},
		{"ping6 FD00::1", func(c *HACF) {
			c.Ping = []PingNode{{Name: "fd00::1", Addrs: []string{"FD00::1"}, Line: 1}}
		}},
		{"ping_group Routers 10.0.0.1 10.0.0.2", func(c *HACF) {
			c.Ping = []PingNode{{Name: "routers", Addrs: []string{"10.0.0.1", "10.0.0.2"}, Group: true, Line: 1}}
		}},
		{"auto_failback on", func(c *HACF) { c.AutoFailback = On; c.Params["auto_failback"] = "on"; noLegacy(c) }},
		{"auto_failback yes", func(c *HACF) { c.AutoFailback = On; c.Params["auto_failback"] = "yes"; noLegacy(c) }},
		{"auto_failback off", func(c *HACF) { c.AutoFailback = Off; c.Params["auto_failback"] = "off"; noLegacy(c) }},
		{"auto_failback FALSE", func(c *HACF) { c.AutoFailback = Off; c.Params["auto_failback"] = "FALSE"; noLegacy(c) }},
		{"auto_failback Legacy", func(c *HACF) {
			c.Params["auto_failback"] = "Legacy"
			c.Warnings = []string{strings.Replace(legacyWarning, "ha.cf:", "ha.cf:1:", 1)}
		}},
		{"nice_failback on", func(c *HACF) {
			c.AutoFailback = Off
			c.Params["auto_failback"] = "off"
			c.Warnings = []string{`ha.cf:1: nice_failback is obsolete: "nice_failback on" taken as "auto_failback off"; use auto_failback on, off or legacy`}
		}},
		{"auto_failback on\nnice_failback off", func(c *HACF) {
			// Classic would map this to "off" (its bug); we take the intended legacy.
			c.Params["auto_failback"] = "legacy"
			c.Warnings = []string{
				`ha.cf:2: nice_failback is obsolete: "nice_failback off" taken as "auto_failback legacy"; use auto_failback on, off or legacy`,
				strings.Replace(legacyWarning, "ha.cf:", "ha.cf:2:", 1),
			}
		}},
		{"respawn hacluster /usr/lib/heartbeat/ipfail -p 5", func(c *HACF) {
			c.Respawn = []Respawn{{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Args: []string{"-p", "5"}, Line: 1, Command: "/usr/lib/heartbeat/ipfail -p 5"}}
		}},
		{"failfast root /usr/sbin/watcher", func(c *HACF) {
			c.Respawn = []Respawn{{User: "root", Path: "/usr/sbin/watcher", Line: 1, Failfast: true, Command: "/usr/sbin/watcher"}}
		}},
		{"apiauth ipfail uid=root,hacluster gid=haclient", func(c *HACF) {
			c.APIAuth = append([]APIAuth{{Client: "ipfail", UIDs: []string{"root", "hacluster"}, GIDs: []string{"haclient"}}}, defaultAPIAuth[1:]...)
		}},
		{"apiauth mon gid=haclient", func(c *HACF) {
			c.APIAuth = append([]APIAuth{{Client: "mon", GIDs: []string{"haclient"}}}, defaultAPIAuth...)
		}},
		{"stonith baytech /etc/ha.d/conf/stonith.baytech", func(c *HACF) {
			c.Stonith = []Stonith{{Type: "baytech", ConfigFile: "/etc/ha.d/conf/stonith.baytech", Line: 1}}
		}},
		{"stonith_host * baytech 10.0.0.3 mylogin mysecretpassword", func(c *HACF) {
			c.StonithHosts = []StonithHost{{Host: "*", Type: "baytech", Params: "10.0.0.3 mylogin mysecretpassword", Line: 1}}
		}},
		{"stonith_host NodeA null", func(c *HACF) {
			c.StonithHosts = []StonithHost{{Host: "nodea", Type: "null", Line: 1}}
		}},
		{"watchdog /dev/watchdog", func(c *HACF) { c.Watchdog = "/dev/watchdog"; c.Params["watchdog"] = "/dev/watchdog" }},
		{"logfacility local0", func(c *HACF) { c.LogFacility = "local0"; c.Params["logfacility"] = "local0"; syslogOnly(c) }},
		{"logfacility none", func(c *HACF) { c.LogFacility = "none"; c.Params["logfacility"] = "none" }},
		{"logfacility kern", func(c *HACF) { c.LogFacility = "kern"; c.Params["logfacility"] = "kern" }}, // 0 = off in classic
		{"logfile /var/log/ha-log", func(c *HACF) { c.LogFile = "/var/log/ha-log"; c.Params["logfile"] = "/var/log/ha-log"; noLogd(c) }},
		{"debugfile /var/log/ha-debug", func(c *HACF) {
			c.DebugFile = "/var/log/ha-debug"
			c.Params["debugfile"] = "/var/log/ha-debug"
			noLogd(c)
		}},
		{"logfacility daemon\nlogfile /var/log/ha-log", func(c *HACF) {
			c.LogFacility, c.LogFile, c.DebugFile = "daemon", "/var/log/ha-log", "/dev/null"
			c.Params["logfacility"], c.Params["logfile"], c.Params["debugfile"] = "daemon", "/var/log/ha-log", "/dev/null"
			noLogd(c)
		}},
		{"use_logd yes", func(c *HACF) { c.Params["use_logd"] = "yes" }},
		{"use_logd on\nlogfacility daemon", func(c *HACF) {
			c.LogFacility = "daemon"
			c.Params["logfacility"] = "daemon"
			syslogOnly(c)
			c.UseLogd = true
			c.Params["use_logd"] = "on"
		}},
		{"conn_logd_time 30", func(c *HACF) { c.ConnLogdTime = 30 * time.Second; c.Params["conn_logd_time"] = "30" }},
		{"debug 3", func(c *HACF) { c.Debug = 3; c.Params["debug"] = "3" }},
		{"realtime off", func(c *HACF) { c.Realtime = false; c.Params["realtime"] = "off" }},
		{"rtprio 50", func(c *HACF) { c.RTPrio = 50; c.Params["rtprio"] = "50" }},
		{"hopfudge 3", func(c *HACF) { c.Hopfudge = 3; c.Params["hopfudge"] = "3" }},
		{"msgfmt netstring", func(c *HACF) { c.Msgfmt = "netstring"; c.Params["msgfmt"] = "netstring" }},
		{"compression bz2", func(c *HACF) { c.Compression = "bz2"; c.Params["compression"] = "bz2" }},
		{"compression_threshold 4", func(c *HACF) { c.CompressionThreshold = 4; c.Params["compression_threshold"] = "4" }},
		{"traditional_compression yes", func(c *HACF) { c.TraditionalCompression = true; c.Params["traditional_compression"] = "yes" }},
		{"max_rexmit_delay 500", func(c *HACF) { c.MaxRexmitDelay = 500 * time.Millisecond; c.Params["max_rexmit_delay"] = "500" }},
		{"max_rexmit_delay 100ms", func(c *HACF) { c.MaxRexmitDelay = 100 * time.Millisecond; c.Params["max_rexmit_delay"] = "100ms" }},
		{"hbgenmethod time", func(c *HACF) { c.HBGenMethod = "time"; c.Params["hbgenmethod"] = "time" }},
		{"uuidfrom nodename", func(c *HACF) { c.UUIDFrom = "nodename"; c.Params["uuidfrom"] = "nodename" }},
		{"autojoin Other", func(c *HACF) { c.AutoJoin = "other"; c.Params["autojoin"] = "Other" }},
		{"coredumps false", func(c *HACF) { c.Coredumps = false; c.Params["coredumps"] = "false" }},
		{"coreroot /var/lib/heartbeat/cores", func(c *HACF) {
			c.CoreRoot = "/var/lib/heartbeat/cores"
			c.Params["coreroot"] = "/var/lib/heartbeat/cores"
		}},
		{"log_badpack off", func(c *HACF) { c.LogBadPack = false; c.Params["log_badpack"] = "off" }},
		{"syslogmsgfmt n", func(c *HACF) { c.SyslogMsgFmt = false; c.Params["syslogmsgfmt"] = "n" }},
		{"use_apphbd 0", func(c *HACF) {}},
		{"use_apphbd Y", func(c *HACF) {
			c.UseApphbd = true
			c.Warnings = append([]string{"ha.cf:1: use_apphbd: apphbd is not supported; ignored"}, c.Warnings...)
		}},
		{"memreserve 1000", func(c *HACF) { c.MemReserve = 1000; c.Params["memreserve"] = "1000" }},
		{"env FOO=bar, EMPTY= X=a=b", func(c *HACF) { c.Env = []string{"HA_FOO=bar", "HA_EMPTY=", "HA_X=a=b"} }},
		{"cluster mycluster", func(c *HACF) { c.Cluster = "mycluster"; c.Params["cluster"] = "mycluster" }},
		{"pacemaker off", func(c *HACF) { c.Params["pacemaker"] = "off" }},
		{"pacemaker on", func(c *HACF) {
			c.Pacemaker = true
			c.Params["pacemaker"] = "on"
			c.Warnings = append([]string{"ha.cf:1: pacemaker on: Pacemaker is not supported; haresources (R1) resource management is used anyway"}, c.Warnings...)
		}},
		{"crm respawn", func(c *HACF) {
			c.Pacemaker = true
			c.Params["pacemaker"] = "respawn"
			c.Warnings = append([]string{"ha.cf:1: crm respawn: Pacemaker is not supported; haresources (R1) resource management is used anyway"}, c.Warnings...)
		}},
		{"crm_daemon_dir /usr/lib/pacemaker", func(c *HACF) {
			c.Params["crm_daemon_dir"] = "/usr/lib/pacemaker"
			c.Warnings = append([]string{"ha.cf:1: crm_daemon_dir is a Pacemaker-only directive; ignored"}, c.Warnings...)
		}},
		{"crmd_spawns_pengine off", func(c *HACF) {
			c.Params["crmd_spawns_pengine"] = "off"
			c.Warnings = append([]string{"ha.cf:1: crmd_spawns_pengine is a Pacemaker-only directive; ignored"}, c.Warnings...)
		}},
		{"record_config_changes off", func(c *HACF) {
			c.Params["record_config_changes"] = "off"
			c.Warnings = append([]string{"ha.cf:1: record_config_changes is a Pacemaker-only directive; ignored"}, c.Warnings...)
		}},
		{"record_pengine_inputs off", func(c *HACF) {
			c.Params["record_pengine_inputs"] = "off"
			c.Warnings = append([]string{"ha.cf:1: record_pengine_inputs is a Pacemaker-only directive; ignored"}, c.Warnings...)
		}},
		{"enable_config_writes no", func(c *HACF) {
			c.Params["enable_config_writes"] = "no"
			c.Warnings = append([]string{"ha.cf:1: enable_config_writes is a Pacemaker-only directive; ignored"}, c.Warnings...)
		}},
		{"quorum_server qs.example", func(c *HACF) {
			c.Params["quorum_server"] = "qs.example"
			c.Warnings = append([]string{"ha.cf:1: quorum_server is a Pacemaker-only directive; ignored"}, c.Warnings...)
		}},
		// Syntax: comments anywhere, leading blanks, CRLF, commas after the directive.
		{"  keepalive 2 # two seconds\r\n", func(c *HACF) { c.Keepalive = 2 * time.Second; c.Params["keepalive"] = "2" }},
		{"node ,a,,b", func(c *HACF) { c.Nodes = []string{"a", "b"} }},
		{"#keepalive 2\n\tnode\ta # b\n", func(c *HACF) { c.Nodes = []string{"a"} }},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			want := mustParseHACF(t, "")
			tt.mod(want)
			got := mustParseHACF(t, tt.in)
			if diff := cmp.Diff(want, got, hacfCmp); diff != "" {
				t.Errorf("ParseHACF(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestHACFDirectiveTable checks that the directive table above covers the
// whole table of spec §2 plus the media and whole-line directives.
func TestHACFDirectiveTable(t *testing.T) {
	spec := strings.Fields(`keepalive deadtime warntime initdead deadping udpport bcast mcast
		mcast6 ucast ucast6 serial baud node ping ping6 ping_group auto_failback nice_failback
		respawn failfast apiauth stonith stonith_host watchdog logfacility logfile debugfile
		use_logd conn_logd_time debug realtime rtprio hopfudge msgfmt compression
		compression_threshold traditional_compression max_rexmit_delay hbgenmethod uuidfrom
		autojoin coredumps coreroot log_badpack syslogmsgfmt use_apphbd memreserve env cluster
		pacemaker crm crm_daemon_dir crmd_spawns_pengine record_config_changes
		record_pengine_inputs enable_config_writes quorum_server`)
	// hasuite extensions (docs/compat.md).
	spec = append(spec, strings.Fields("resource_monitor resource_timeout stop_failure_action ipaddr_arp ipaddr2_arp metrics_listen")...)
	// membership memberlist (memberlist.go).
	spec = append(spec, strings.Fields(`membership memberlist_bind memberlist_advertise memberlist_seeds
		memberlist_probe_interval memberlist_probe_timeout memberlist_gossip_interval
		memberlist_suspicion_mult quorum`)...)
	for _, d := range spec {
		if _, ok := directives[d]; !ok {
			t.Errorf("directive %q is not recognised", d)
		}
	}
	if len(directives) != len(spec) {
		t.Errorf("parser knows %d directives, spec lists %d", len(directives), len(spec))
	}
	for _, d := range strings.Fields("mcast mcast6 ucast ucast6 ping_group stonith stonith_host apiauth respawn failfast") {
		if !directives[d].whole {
			t.Errorf("%s should take the whole line", d)
		}
	}
}

func TestHACFErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"frobnicate 1", `ha.cf:1: unknown directive "frobnicate"`},
		{"\n\nnormalpoll on", `ha.cf:3: unknown directive "normalpoll"`},
		{"hbaping hb0", `ha.cf:1: unknown directive "hbaping"`},
		{"node,a", `ha.cf:1: unknown directive "node,a"`},
		{"keepalive", `ha.cf:1: keepalive: missing value`},
		{"keepalive # 2", `ha.cf:1: keepalive: missing value`},
		{"mcast", `ha.cf:1: mcast: missing value`},
		{"keepalive 2000 ms", `ha.cf:1: keepalive: invalid time value: "ms": expected a decimal number (write the unit right after the number, e.g. "2000ms")`},
		{"keepalive 2s", ""}, // hasuite accepts "s" (see hbtime)
		{"keepalive 2sec", `ha.cf:1: keepalive: invalid time value: "2sec": unknown unit "sec" (want none, ms or us)`},
		{"keepalive 0", `ha.cf:1: keepalive: "0" must be at least 1ms`},
		{"keepalive 499us", `ha.cf:1: keepalive: "499us" must be at least 1ms`},
		{"warntime 0", `ha.cf:1: warntime: "0" must be at least 1ms`},
		{"conn_logd_time 0ms", `ha.cf:1: conn_logd_time: "0ms" must be at least 1ms`},
		{"deadtime -1", `ha.cf:1: deadtime: invalid time value: "-1": expected a decimal number`},
		{"initdead x", `ha.cf:1: initdead: invalid time value: "x": expected a decimal number`},
		{"deadping 1.2.3", `ha.cf:1: deadping: invalid time value: "1.2.3": expected a decimal number`},
		{"hopfudge 256", `ha.cf:1: hopfudge: invalid value "256": want an integer 0..255`},
		{"debug -1", `ha.cf:1: debug: invalid value "-1": want an integer 0..255`},
		{"debug +1", `ha.cf:1: debug: invalid value "+1": want an integer 0..255`},
		{"rtprio 0", `ha.cf:1: rtprio: invalid value "0": want an integer 1..99`},
		{"compression_threshold 0", `ha.cf:1: compression_threshold: invalid value "0": want an integer 1..1048576`},
		{"memreserve lots", `ha.cf:1: memreserve: invalid value "lots": want an integer 1..1073741824`},
		{"udpport 0", `ha.cf:1: udpport: invalid value "0": want an integer 1..65535`},
		{"udpport 65536", `ha.cf:1: udpport: invalid value "65536": want an integer 1..65535`},
		{"udpport ha-cluster", `ha.cf:1: udpport: invalid value "ha-cluster": want an integer 1..65535`},
		{"baud 1234", `ha.cf:1: baud: invalid baud rate "1234": want 9600, 19200, 38400, 57600, 115200, 230400 or 460800`},
		{"baud 9600\nbaud 9600", `ha.cf:2: baud: baud rate specified more than once`},
		{"watchdog /dev/a\nwatchdog /dev/b", `ha.cf:2: watchdog: watchdog device specified more than once`},
		{"logfacility LOCAL0", `ha.cf:1: logfacility: invalid syslog facility "LOCAL0"`},
		{"auto_failback maybe", `ha.cf:1: auto_failback: invalid value "maybe": want on, off or legacy`},
		{"nice_failback legacy", `ha.cf:1: nice_failback: invalid value "legacy": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"realtime enabled", `ha.cf:1: realtime: invalid value "enabled": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"use_logd 2", `ha.cf:1: use_logd: invalid value "2": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"use_apphbd maybe", `ha.cf:1: use_apphbd: invalid value "maybe": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"msgfmt xml", `ha.cf:1: msgfmt: invalid value "xml": want classic, netstring`},
		{"msgfmt Classic", `ha.cf:1: msgfmt: invalid value "Classic": want classic, netstring`},
		{"hbgenmethod random", `ha.cf:1: hbgenmethod: invalid value "random": want file, time`},
		{"uuidfrom mac", `ha.cf:1: uuidfrom: invalid value "mac": want file, nodename`},
		{"autojoin all", `ha.cf:1: autojoin: invalid value "all": want none, other, any`},
		{"compression gzip", `ha.cf:1: compression: invalid value "gzip": want zlib, bz2`},
		{"env FOO", `ha.cf:1: env: invalid value "FOO": want NAME=value`},
		{"env =x", `ha.cf:1: env: invalid value "=x": want NAME=value`},
		{"max_rexmit_delay 0", `ha.cf:1: max_rexmit_delay: invalid value "0": want a positive number of milliseconds`},
		{"max_rexmit_delay 1s", `ha.cf:1: max_rexmit_delay: invalid value "1s": want a positive number of milliseconds`},
		{"pacemaker off\ncrm off", `ha.cf:2: crm: pacemaker/crm directive used more than once (first at line 1)`},
		{"pacemaker auto", `ha.cf:1: pacemaker: invalid value "auto": want off, on, respawn, minimal, manual, ccm-only or valgrind`},
		{"crmd_spawns_pengine sometimes", `ha.cf:1: crmd_spawns_pengine: invalid value "sometimes": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"record_config_changes x", `ha.cf:1: record_config_changes: invalid value "x": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"record_pengine_inputs x", `ha.cf:1: record_pengine_inputs: invalid value "x": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"enable_config_writes x", `ha.cf:1: enable_config_writes: invalid value "x": want on or off (true/false, yes/no, y/n, 1/0)`},
		{"mcast hb0", `ha.cf:1: mcast: hb0: missing multicast group (want <interface> <group> <port> <ttl> <loop>)`},
		{"mcast hb0 239.0.0.1", `ha.cf:1: mcast: hb0: missing port (want <interface> <group> <port> <ttl> <loop>)`},
		{"mcast hb0 239.0.0.1 694", `ha.cf:1: mcast: hb0: missing ttl (want <interface> <group> <port> <ttl> <loop>)`},
		{"mcast hb0 239.0.0.1 694 1", `ha.cf:1: mcast: hb0: missing loop (want <interface> <group> <port> <ttl> <loop>)`},
		{"mcast hb0 10.0.0.1 694 1 0", `ha.cf:1: mcast: hb0: bad multicast group "10.0.0.1"`},
		{"mcast hb0 group 694 1 0", `ha.cf:1: mcast: hb0: bad multicast group "group"`},
		{"mcast hb0 ff02::1 694 1 0", `ha.cf:1: mcast: hb0: "ff02::1" is not an IPv4 multicast group (use mcast6)`},
		{"mcast hb0 239.0.0.1 0 1 0", `ha.cf:1: mcast: hb0: bad port: invalid value "0": want an integer 1..65535`},
		{"mcast hb0 239.0.0.1 694 5 0", `ha.cf:1: mcast: hb0: bad ttl: invalid value "5": want an integer 0..4`},
		{"mcast hb0 239.0.0.1 694 1 2", `ha.cf:1: mcast: hb0: bad loop: invalid value "2": want an integer 0..1`},
		{"mcast6 hb0 ff02::1 694 1", `ha.cf:1: mcast6: hb0: missing loop (want <interface> <group> <port> <hops> <loop>)`},
		{"mcast6 hb0 239.0.0.1 694 1 0", `ha.cf:1: mcast6: hb0: "239.0.0.1" is not an IPv6 multicast group (use mcast)`},
		{"mcast6 hb0 ff02::1 694 9 0", `ha.cf:1: mcast6: hb0: bad hops: invalid value "9": want an integer 0..4`},
		{"ucast hb0", `ha.cf:1: ucast: hb0: missing peer address (want <interface> <peer>)`},
		{"ucast hb0 fd00::1", `ha.cf:1: ucast: hb0: "fd00::1" is not an IPv4 address (use ucast6)`},
		{"ucast6 hb0 10.0.0.1", `ha.cf:1: ucast6: hb0: "10.0.0.1" is not an IPv6 address (use ucast)`},
		{"ucast6 hb0 ::ffff:10.0.0.1", `ha.cf:1: ucast6: hb0: "::ffff:10.0.0.1" is not an IPv6 address (use ucast)`},
		{"ping fd00::1", `ha.cf:1: ping: "fd00::1" is not an IPv4 address (use ping6)`},
		{"ping6 10.0.0.1", `ha.cf:1: ping6: "10.0.0.1" is not an IPv6 address (use ping)`},
		{"ping_group routers", `ha.cf:1: ping_group: group routers has no addresses (want <name> <ip>...)`},
		{"serial ttyS0", `ha.cf:1: serial: serial port "ttyS0" is not a full path name`},
		{"node " + strings.Repeat("n", 101), `ha.cf:1: node: node name "nnnnnnnnnnnnnnnnnnnn"... is longer than 100 characters`},
		{"apiauth ipfail", `ha.cf:1: apiauth: client ipfail: need uid=list and/or gid=list`},
		{"apiauth ipfail users=root", `ha.cf:1: apiauth: client ipfail: want uid=list or gid=list, got "users=root"`},
		{"apiauth ipfail uid=a uid=b", `ha.cf:1: apiauth: client ipfail: duplicate uid list`},
		{"apiauth ipfail gid=,", `ha.cf:1: apiauth: client ipfail: empty gid list`},
		{"apiauth x uid=a\napiauth x gid=b", `ha.cf:2: apiauth: duplicate apiauth for client "x" (first at line 1)`},
		{"respawn hacluster", `ha.cf:1: respawn: want <user> <absolute-path> [args...]`},
		{"respawn hacluster ipfail", `ha.cf:1: respawn: command "ipfail" is not an absolute path`},
		{"failfast root", `ha.cf:1: failfast: want <user> <absolute-path> [args...]`},
		{"stonith baytech", `ha.cf:1: stonith: want <type> <config-file>`},
		{"stonith_host *", `ha.cf:1: stonith_host: want <host|*> <type> <params...>`},
		// All errors are reported, in order.
		{"keepalive x\nfoo\nnode", "ha.cf:1: keepalive: invalid time value: \"x\": expected a decimal number\nha.cf:2: unknown directive \"foo\"\nha.cf:3: node: missing value"},
	}
	for _, tt := range tests {
		_, err := ParseHACF("ha.cf", strings.NewReader(tt.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("ParseHACF(%q) error\n got %s\nwant %s", tt.in, got, tt.want)
		}
		var cerr *Error
		if err != nil && !errors.As(err, &cerr) {
			t.Errorf("ParseHACF(%q) error %T is not a *config.Error", tt.in, err)
		}
	}
}

func TestHACFLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < MaxNodes; i++ {
		fmt.Fprintf(&b, "node n%d\n", i)
	}
	mustParseHACF(t, b.String())
	b.WriteString("ping 10.0.0.1\n")
	_, err := ParseHACF("ha.cf", strings.NewReader(b.String()))
	want := `ha.cf:101: ping: too many nodes (ping nodes included): the limit is 100`
	if err == nil || err.Error() != want {
		t.Errorf("101 nodes: error %v, want %s", err, want)
	}

	b.Reset()
	b.WriteString("ping 10.0.0.1\nserial /dev/ttyS0\nbcast")
	for i := 0; i < MaxMedia-2; i++ {
		fmt.Fprintf(&b, " hb%d", i)
	}
	mustParseHACF(t, b.String())
	b.WriteString("\nucast hb0 10.0.0.2\n")
	_, err = ParseHACF("ha.cf", strings.NewReader(b.String()))
	want = `ha.cf:4: ucast: too many media (the limit is 64)`
	if err == nil || err.Error() != want {
		t.Errorf("65 media: error %v, want %s", err, want)
	}
}

func TestHACFWarnings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"bcast hb0\nudpport 1694\nbcast hb1", []string{"ha.cf:2: udpport setting must precede media statements; media declared above keep port 694"}},
		{"mcast hb0 239.0.0.1 694 1 0\nudpport 1694", nil}, // mcast has its own port
		{"ucast hb0 10.0.0.2 10.0.0.3", []string{`ha.cf:1: ucast takes one peer per line; ignoring "10.0.0.3"`}},
		{"mcast hb0 239.0.0.1 694 1 0 extra", []string{`ha.cf:1: mcast: ignoring extra values "extra"`}},
		{"keepalive 1 2", []string{`ha.cf:1: keepalive has 2 values; each is applied in turn, so "2" wins`}},
		{"node a\nnode b A", []string{`ha.cf:2: node "a" already declared at line 1; ignoring the repeat`}},
		{"node a\nping A", []string{`ha.cf:2: node "a" already declared at line 1; ignoring the repeat`}},
		{"serial /dev/ttyS0\nbaud 9600", []string{
			"ha.cf:1: serial media are not supported by hasuite; ignoring /dev/ttyS0",
			"ha.cf:2: baud setting must precede serial media; earlier serial ports keep the previous speed",
		}},
		{"crm_daemon_dir a b", []string{ // one warning per line
			`ha.cf:1: crm_daemon_dir has 2 values; each is applied in turn, so "b" wins`,
			"ha.cf:1: crm_daemon_dir is a Pacemaker-only directive; ignored",
		}},
	}
	for _, tt := range tests {
		// auto_failback on (appended) keeps the legacy warning out.
		c := mustParseHACF(t, tt.in+"\nauto_failback on")
		want := tt.want
		if diff := cmp.Diff(want, c.Warnings, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ParseHACF(%q) warnings (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestHACFUDPPortOrder(t *testing.T) {
	c := mustParseHACF(t, "bcast hb0\nucast hb0 10.0.0.2\nudpport 1001\nbcast hb1\nucast6 hb1 fd00::2\nudpport 1002\nucast hb2 10.0.0.3\nmcast hb3 239.1.1.1 5000 1 0\n")
	var got []string
	for _, m := range c.Media {
		got = append(got, fmt.Sprintf("%s %s %d", m.Kind, m.Iface, m.Port))
	}
	want := []string{"bcast hb0 694", "ucast hb0 694", "bcast hb1 1001", "ucast6 hb1 1001", "ucast hb2 1002", "mcast hb3 5000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("media ports (-want +got):\n%s", diff)
	}
	if c.UDPPort != 1002 || c.Params["udpport"] != "1002" {
		t.Errorf("UDPPort = %d, Params[udpport] = %q; want 1002", c.UDPPort, c.Params["udpport"])
	}
}

func TestHACFServicesPort(t *testing.T) {
	dir := t.TempDir()
	services := filepath.Join(dir, "services")
	text := "# test services\nhttp 80/tcp www\nha-cluster 1694/tcp\nhbeat 1695/udp ha-cluster # alias\n"
	if err := os.WriteFile(services, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	old := servicesFile
	servicesFile = services
	defer func() { servicesFile = old }()
	c := mustParseHACF(t, "bcast hb0\n")
	if c.UDPPort != 1695 || c.Media[0].Port != 1695 || c.Params["udpport"] != "1695" {
		t.Errorf("port from services: UDPPort %d, medium %d, param %q; want 1695", c.UDPPort, c.Media[0].Port, c.Params["udpport"])
	}
}

func TestAutoFailbackString(t *testing.T) {
	for a, want := range map[AutoFailback]string{Legacy: "legacy", On: "on", Off: "off"} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", a, got, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	if got := (&Error{File: "f", Line: 3, Msg: "m"}).Error(); got != "f:3: m" {
		t.Errorf("with line: %q", got)
	}
	if got := (&Error{File: "f", Msg: "m"}).Error(); got != "f: m" {
		t.Errorf("without line: %q", got)
	}
}

func TestLoadHACF(t *testing.T) {
	if _, err := LoadHACF(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadHACF(missing) = %v, want ErrNotExist", err)
	}
}

func TestMetricsListen(t *testing.T) {
	c, err := ParseHACF("ha.cf", strings.NewReader("node a\n"))
	if err != nil || c.MetricsListen != "" {
		t.Fatalf("default: %q, %v; want off", c.MetricsListen, err)
	}
	c, err = ParseHACF("ha.cf", strings.NewReader("node a\nmetrics_listen 127.0.0.1:9707\n"))
	if err != nil || c.MetricsListen != "127.0.0.1:9707" {
		t.Fatalf("metrics_listen: %q, %v", c.MetricsListen, err)
	}
}

func TestHasuiteDirectiveErrors(t *testing.T) {
	for in, want := range map[string]string{
		"ipaddr_arp 5":             `invalid value "5": want <repeats> <interval>`,
		"ipaddr2_arp x 100ms":      `invalid value "x": want an integer 0..1000`,
		"ipaddr2_arp 5 0ms":        `invalid interval "0ms": want 1ms..60s`,
		"stop_failure_action halt": `invalid value "halt": want block, reboot`,
		"resource_timeout 0":       `"0" must be at least 1ms`,
		"resource_monitor soon":    `soon`,
		"metrics_listen 9707":      `metrics_listen "9707": want host:port`,
	} {
		_, err := ParseHACF("ha.cf", strings.NewReader(in+"\n"))
		if err == nil || !strings.Contains(err.Error(), "ha.cf:1: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHACF(%q) = %v, want ha.cf:1: ...%s", in, err, want)
		}
	}
}
