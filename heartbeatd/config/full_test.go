// Tests over whole files: a realistic ha.cf, the spec's lab files and examples.
package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFullHACF(t *testing.T) {
	got, err := LoadHACF("testdata/full-ha.cf")
	if err != nil {
		t.Fatalf("LoadHACF: %v", err)
	}
	want := &HACF{
		File:      "testdata/full-ha.cf",
		Keepalive: 500 * time.Millisecond, Deadtime: 8 * time.Second, Warntime: 4 * time.Second,
		Initdead: 30 * time.Second, Deadping: 6 * time.Second, MaxRexmitDelay: 300 * time.Millisecond,
		UDPPort: 694,
		Media: []Medium{
			{Kind: "bcast", Iface: "hb0", Port: 694, Line: 19},
			{Kind: "mcast", Iface: "hb1", Addr: "239.0.0.43", Port: 694, TTL: 1, Line: 20},
			{Kind: "ucast", Iface: "hb2", Addr: "10.77.0.2", Port: 694, Line: 21},
			{Kind: "ucast", Iface: "hb2", Addr: "10.77.0.1", Port: 694, Line: 22},
		},
		Nodes: []string{"nodea", "nodeb"},
		Ping: []PingNode{
			{Name: "10.77.0.254", Addrs: []string{"10.77.0.254"}, Line: 30},
			{Name: "uplinks", Addrs: []string{"10.77.1.1", "10.77.2.1"}, Group: true, Line: 31},
		},
		AutoFailback: On,
		Respawn: []Respawn{
			{User: "hacluster", Path: "/usr/lib/heartbeat/ipfail", Line: 33, Command: "/usr/lib/heartbeat/ipfail"},
			{User: "root", Path: "/usr/sbin/keepalive-check", Args: []string{"--strict"}, Line: 34, Failfast: true, Command: "/usr/sbin/keepalive-check --strict"},
		},
		APIAuth: append([]APIAuth{
			{Client: "ipfail", UIDs: []string{"hacluster"}, GIDs: []string{"haclient"}},
			{Client: "mon", UIDs: []string{"root", "mon"}},
		}, defaultAPIAuth[1:]...),
		LogFacility: "local0", LogFile: "/var/log/ha-log", DebugFile: "/var/log/ha-debug",
		ConnLogdTime: 30 * time.Second, Debug: 1,
		Hopfudge: 2, Msgfmt: "netstring", Cluster: "lvs-east",
		Compression: "bz2", CompressionThreshold: 4,
		Watchdog: "/dev/watchdog", Realtime: true, RTPrio: 40, Coredumps: true,
		CoreRoot: "/var/lib/heartbeat/cores", MemReserve: 10000,
		HBGenMethod: "file", UUIDFrom: "nodename", AutoJoin: "none",
		Env:             []string{"HA_TAG=blue", "HA_ROLE=director"},
		Baud:            19200,
		ResourceMonitor: 2 * time.Second, ResourceTimeout: 30 * time.Second, StopFailureAction: "reboot",
		IPaddrARP: DefaultIPaddrARP, IPaddr2ARP: ARP{Repeats: 3, Interval: 100 * time.Millisecond},
		Params: map[string]string{
			"debugfile": "/var/log/ha-debug", "logfile": "/var/log/ha-log", "logfacility": "local0",
			"use_logd": "off", "keepalive": "500ms", "deadtime": "8", "warntime": "4000ms",
			"initdead": "30", "deadping": "6", "udpport": "694", "baud": "19200",
			"auto_failback": "on", "watchdog": "/dev/watchdog", "hopfudge": "2",
			"msgfmt": "netstring", "realtime": "on", "rtprio": "40", "debug": "1",
			"coredumps": "true", "coreroot": "/var/lib/heartbeat/cores", "log_badpack": "false",
			"syslogmsgfmt": "false", "conn_logd_time": "30", "compression": "bz2",
			"compression_threshold": "4", "traditional_compression": "no",
			"max_rexmit_delay": "300", "hbgenmethod": "file", "uuidfrom": "nodename",
			"autojoin": "none", "memreserve": "10000", "cluster": "lvs-east", "pacemaker": "off",
			"record_config_changes": "on", "record_pengine_inputs": "on", "enable_config_writes": "on",
			"resource_monitor": "2s", "resource_timeout": "30", "stop_failure_action": "reboot",
		},
	}
	if diff := cmp.Diff(want, got, hacfCmp); diff != "" {
		t.Errorf("full ha.cf mismatch (-want +got):\n%s", diff)
	}
	for _, node := range []string{"nodea", "NODEB"} {
		if err := got.Validate(node); err != nil {
			t.Errorf("Validate(%q): %v", node, err)
		}
	}
}

// TestLabFiles parses the three files of the spec's two-node lab together.
func TestLabFiles(t *testing.T) {
	c, err := LoadHACF("testdata/lab-ha.cf")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate("nodeb"); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	groups, err := LoadHaresources("testdata/lab-haresources", c.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, g := range groups {
		keys = append(keys, g.Node+" "+g.Key)
	}
	if diff := cmp.Diff([]string{"nodea IPaddr::10.77.0.100/24/hb0", "nodeb IPaddr::10.77.0.200/24/hb0"}, keys); diff != "" {
		t.Errorf("group keys (-want +got):\n%s", diff)
	}
	a, err := LoadAuthKeys(private(t, "testdata/lab-authkeys"))
	if err != nil {
		t.Fatal(err)
	}
	if e := a.Entries[a.Active]; e.Method != "sha1" || e.Key != "s3cretKey" {
		t.Errorf("active entry = %+v", e)
	}
}

// private copies a key file to a mode 0600 temporary file: git does not
// keep the mode of checked-in files.
func private(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSpecExamples checks the examples given in spec §2 and §8.2.
func TestSpecExamples(t *testing.T) {
	// "node a b = node a,b = two node lines"; "bcast eth0 eth1 creates two media".
	a := mustParseHACF(t, "node a b\nbcast eth0 eth1")
	b := mustParseHACF(t, "node a,b\nbcast eth0,eth1")
	c := mustParseHACF(t, "node a\nnode b\nbcast eth0\nbcast eth1")
	for _, x := range []*HACF{a, b, c} {
		if diff := cmp.Diff([]string{"a", "b"}, x.Nodes); diff != "" {
			t.Errorf("nodes (-want +got):\n%s", diff)
		}
		if len(x.Media) != 2 || x.Media[0].Iface != "eth0" || x.Media[1].Iface != "eth1" {
			t.Errorf("media = %+v, want bcast eth0 and eth1", x.Media)
		}
	}
	// cl_status hbparameter on the lab pair: keepalive→1, auto_failback→on,
	// deadping→8000ms (deadtime 8, deadping unset), msgfmt→classic; unset → absent.
	lab := mustParseHACF(t, "keepalive 1\ndeadtime 8\nbcast hb0\nauto_failback on\nnode nodea nodeb\n")
	for name, want := range map[string]string{"keepalive": "1", "auto_failback": "on", "deadping": "8000ms", "msgfmt": "classic"} {
		if got, ok := lab.Params[name]; !ok || got != want {
			t.Errorf("hbparameter %s = %q (set %v), want %q", name, got, ok, want)
		}
	}
	for _, unset := range []string{"watchdog", "logfile", "rtprio", "node", "bcast"} {
		if v, ok := lab.Params[unset]; ok {
			t.Errorf("hbparameter %s = %q, want unset", unset, v)
		}
	}
	// "2000 ms" (with a space) becomes two tokens and is an error.
	if _, err := ParseHACF("ha.cf", strings.NewReader("deadtime 2000 ms")); err == nil {
		t.Error(`"deadtime 2000 ms" accepted`)
	}
}
