// ha.cf parser: directives, defaults and the Params table (spec §2).
//
// Why not go-ini: ha.cf lines are "directive value value..." with no "=" or
// ":" delimiter (go-ini rejects them, or with AllowBooleanKeys hands back the
// whole line as a key, leaving all tokenising to us); "#" starts a comment
// anywhere; values are split on blanks and commas; several directives take
// the rest of the line; and meaning depends on the order of different
// directives (udpport and baud affect only media declared after them). go-ini
// keeps repeated keys only as per-key shadow lists, losing that cross-key
// order, and reports no line numbers, which every error here must carry. A
// small line scanner is simpler and exact.
package config

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hasuite/hasuite/internal/conferr"
	"github.com/hasuite/hasuite/internal/hbtime"
)

// Limits from heartbeat.h.
const (
	MaxNodes    = 100 // MAXNODE: normal plus ping nodes
	MaxNodeName = 100 // HOSTLENG
	MaxMedia    = 64  // MAXMEDIA, ping and serial media included
)

// Medium is one heartbeat communication path.
type Medium struct {
	Kind  string // bcast, mcast, ucast, mcast6, ucast6
	Iface string
	Addr  string // multicast group or unicast peer (IP or host name); "" for bcast
	Port  int    // udpport in force when declared (bcast, ucast, ucast6) or the mcast line's port
	TTL   int    // mcast ttl or mcast6 hops, 0..4
	Loop  bool   // mcast loopback
	Line  int
}

// PingNode is a ping node ("ping", "ping6": one address) or a ping group
// (several addresses; up if any replies).
type PingNode struct {
	Name  string // lower-cased; the address itself for ping/ping6
	Addrs []string
	Group bool
	Line  int
}

// AutoFailback is the auto_failback mode.
type AutoFailback int

// auto_failback modes; Legacy is the default.
const (
	Legacy AutoFailback = iota
	On
	Off
)

// String gives the ha.cf spelling.
func (a AutoFailback) String() string {
	switch a {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "legacy"
}

// Respawn is a "respawn" or "failfast" child process.
type Respawn struct {
	User     string
	Path     string
	Args     []string
	Line     int
	Failfast bool   // declared with failfast: abnormal death reboots the node
	Command  string // the command as written (classic runs "exec <Command>" with /bin/sh)
}

// APIAuth authorises a client API name for some users and groups.
type APIAuth struct {
	Client     string
	UIDs, GIDs []string
}

// Stonith is a "stonith <type> <cfgfile>" line.
type Stonith struct {
	Type, ConfigFile string
	Line             int
}

// StonithHost is a "stonith_host <host|*> <type> <params...>" line; it
// applies only on Host, or everywhere when Host is "*".
type StonithHost struct {
	Host, Type, Params string
	Line               int
}

// ARP is a gratuitous ARP schedule: Repeats request+reply pairs, Interval
// apart (send_arp -r and -i).
type ARP struct {
	Repeats  int
	Interval time.Duration
}

// Defaults of the hasuite directives.
const (
	DefaultResourceTimeout = 120 * time.Second
)

// Classic gratuitous ARP schedules: IPaddr 10 repeats 500 ms apart (20
// frames 250 ms apart), IPaddr2 5 repeats 200 ms apart (10 frames 100 ms apart).
var (
	DefaultIPaddrARP  = ARP{Repeats: 10, Interval: 500 * time.Millisecond}
	DefaultIPaddr2ARP = ARP{Repeats: 5, Interval: 200 * time.Millisecond}
)

// HACF is a parsed ha.cf with classic defaults filled in.
type HACF struct {
	File string

	Keepalive, Deadtime, Warntime, Initdead, Deadping, MaxRexmitDelay time.Duration
	UDPPort                                                           int // last udpport, else the default

	Media []Medium
	Nodes []string // lower-cased normal nodes, in order
	Ping  []PingNode

	AutoFailback AutoFailback
	Respawn      []Respawn // respawn and failfast, in file order
	APIAuth      []APIAuth // configured ones, then classic defaults for unconfigured clients

	LogFacility  string // syslog facility name, "none", or "" when unset
	LogFile      string // "/dev/null" when only logfacility is set
	DebugFile    string
	UseLogd      bool // explicit, or implied when no logging is configured
	ConnLogdTime time.Duration
	Debug        int
	SyslogMsgFmt bool
	LogBadPack   bool

	Hopfudge int
	Msgfmt   string // classic or netstring
	Cluster  string

	Compression            string // zlib or bz2
	CompressionThreshold   int    // KiB
	TraditionalCompression bool

	Watchdog    string
	Realtime    bool
	RTPrio      int // 0 = unset (midpoint of the SCHED_FIFO range)
	Coredumps   bool
	CoreRoot    string
	MemReserve  int // KiB
	UseApphbd   bool
	HBGenMethod string // file or time
	UUIDFrom    string // file or nodename
	AutoJoin    string // none, other or any (lower-cased)

	Env []string // "HA_NAME=value" for respawned children

	Stonith      []Stonith
	StonithHosts []StonithHost

	Baud   int      // serial speed (serial media are parsed but not supported)
	Serial []string // serial ports

	Pacemaker bool // pacemaker/crm asked for Pacemaker; ignored (R1 mode is used)

	// hasuite extensions (docs/compat.md).
	ResourceMonitor   time.Duration // resource_monitor: status check interval of held groups; 0 = off (classic)
	ResourceTimeout   time.Duration // resource_timeout: bound on one start/stop/status run
	StopFailureAction string        // stop_failure_action: block (default) or reboot (classic)
	IPaddrARP         ARP           // ipaddr_arp: gratuitous ARP of IPaddr
	IPaddr2ARP        ARP           // ipaddr2_arp: gratuitous ARP of IPaddr2
	MetricsListen     string        // metrics_listen: host:port of the Prometheus endpoint; "" = off
	Memberlist        *Memberlist   // membership memberlist (memberlist.go); nil = classic media
	Quorum            string        // quorum: auto, on or off with memberlist; "" with classic

	Params   map[string]string // directive -> raw configured string or classic default (cl_status hbparameter)
	Warnings []string          // non-fatal findings, each "file[:line]: ..."

	lines  map[string]int  // directive -> line of its last occurrence
	warned map[string]bool // Warnings already given
}

// directive describes how one ha.cf keyword is read.
type directive struct {
	whole  bool // takes the rest of the line as one value
	record bool // raw value kept in Params, as classic SetParameterValue
	multi  bool // several values on a line are normal (node a b); else the last wins with a warning
	set    func(p *hacfParser, v string) error
}

var directives map[string]directive

func init() {
	word := func(f func(*hacfParser, string) error) directive { return directive{record: true, set: f} }
	whole := func(f func(*hacfParser, string) error) directive { return directive{whole: true, set: f} }
	list := func(f func(*hacfParser, string) error) directive { return directive{multi: true, set: f} }
	directives = map[string]directive{
		"cluster":                 word(func(p *hacfParser, v string) error { p.c.Cluster = v; return nil }),
		"node":                    list((*hacfParser).addNode),
		"hopfudge":                word(intTo(func(p *hacfParser) *int { return &p.c.Hopfudge }, 0, 255)),
		"keepalive":               word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.Keepalive }, true)),
		"deadtime":                word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.Deadtime }, false)),
		"deadping":                word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.Deadping }, false)),
		"initdead":                word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.Initdead }, false)),
		"warntime":                word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.Warntime }, true)),
		"conn_logd_time":          word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.ConnLogdTime }, true)),
		"watchdog":                word((*hacfParser).setWatchdog),
		"baud":                    word((*hacfParser).setBaud),
		"udpport":                 word((*hacfParser).setUDPPort),
		"logfacility":             word((*hacfParser).setFacility),
		"logfile":                 word(func(p *hacfParser, v string) error { p.c.LogFile = v; return nil }),
		"debugfile":               word(func(p *hacfParser, v string) error { p.c.DebugFile = v; return nil }),
		"nice_failback":           {set: (*hacfParser).setNiceFailback},
		"auto_failback":           word((*hacfParser).setAutoFailback),
		"rtprio":                  word(intTo(func(p *hacfParser) *int { return &p.c.RTPrio }, 1, 99)),
		"hbgenmethod":             word(oneOf(func(p *hacfParser) *string { return &p.c.HBGenMethod }, false, "file", "time")),
		"realtime":                word(boolTo(func(p *hacfParser) *bool { return &p.c.Realtime })),
		"debug":                   word(intTo(func(p *hacfParser) *int { return &p.c.Debug }, 0, 255)),
		"msgfmt":                  word(oneOf(func(p *hacfParser) *string { return &p.c.Msgfmt }, false, "classic", "netstring")),
		"use_logd":                word(boolTo(func(p *hacfParser) *bool { return &p.c.UseLogd })),
		"use_apphbd":              {set: (*hacfParser).setUseApphbd},
		"log_badpack":             word(boolTo(func(p *hacfParser) *bool { return &p.c.LogBadPack })),
		"syslogmsgfmt":            word(boolTo(func(p *hacfParser) *bool { return &p.c.SyslogMsgFmt })),
		"coredumps":               word(boolTo(func(p *hacfParser) *bool { return &p.c.Coredumps })),
		"coreroot":                word(func(p *hacfParser, v string) error { p.c.CoreRoot = v; return nil }),
		"autojoin":                word(oneOf(func(p *hacfParser) *string { return &p.c.AutoJoin }, true, "none", "other", "any")),
		"uuidfrom":                word(oneOf(func(p *hacfParser) *string { return &p.c.UUIDFrom }, false, "file", "nodename")),
		"compression":             word(oneOf(func(p *hacfParser) *string { return &p.c.Compression }, false, "zlib", "bz2")),
		"compression_threshold":   word(intTo(func(p *hacfParser) *int { return &p.c.CompressionThreshold }, 1, 1<<20)),
		"traditional_compression": word(boolTo(func(p *hacfParser) *bool { return &p.c.TraditionalCompression })),
		"env":                     list((*hacfParser).addEnv),
		"max_rexmit_delay":        word((*hacfParser).setMaxRexmitDelay),
		"memreserve":              word(intTo(func(p *hacfParser) *int { return &p.c.MemReserve }, 1, 1<<30)),
		"pacemaker":               {set: (*hacfParser).setPacemaker},
		"crm":                     {set: (*hacfParser).setPacemaker},
		"crm_daemon_dir":          word(pacemakerOnly(nil)),
		"crmd_spawns_pengine":     word(pacemakerOnly(checkBool)),
		"record_config_changes":   word(pacemakerOnly(checkBool)),
		"record_pengine_inputs":   word(pacemakerOnly(checkBool)),
		"enable_config_writes":    word(pacemakerOnly(checkBool)),
		"quorum_server":           word(pacemakerOnly(nil)),

		// hasuite extensions.
		"resource_monitor":    word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.ResourceMonitor }, false)),
		"resource_timeout":    word(timeTo(func(p *hacfParser) *time.Duration { return &p.c.ResourceTimeout }, true)),
		"stop_failure_action": word(oneOf(func(p *hacfParser) *string { return &p.c.StopFailureAction }, true, "block", "reboot")),
		"ipaddr_arp":          whole(arpTo(func(p *hacfParser) *ARP { return &p.c.IPaddrARP })),
		"ipaddr2_arp":         whole(arpTo(func(p *hacfParser) *ARP { return &p.c.IPaddr2ARP })),
		"metrics_listen":      word((*hacfParser).setMetricsListen),

		// Whole-line directives.
		"stonith":      whole((*hacfParser).addStonith),
		"stonith_host": whole((*hacfParser).addStonithHost),
		"apiauth":      whole((*hacfParser).addAPIAuth),
		"respawn":      whole(func(p *hacfParser, v string) error { return p.addRespawn(v, false) }),
		"failfast":     whole(func(p *hacfParser, v string) error { return p.addRespawn(v, true) }),

		// Media (plugins in classic): whole-line ones take one medium per line.
		"mcast":      whole(func(p *hacfParser, v string) error { return p.addMcast("mcast", v) }),
		"mcast6":     whole(func(p *hacfParser, v string) error { return p.addMcast("mcast6", v) }),
		"ucast":      whole(func(p *hacfParser, v string) error { return p.addUcast("ucast", v) }),
		"ucast6":     whole(func(p *hacfParser, v string) error { return p.addUcast("ucast6", v) }),
		"ping_group": whole((*hacfParser).addPingGroup),
		"bcast":      list((*hacfParser).addBcast),
		"ping":       list(func(p *hacfParser, v string) error { return p.addPing("ping", v) }),
		"ping6":      list(func(p *hacfParser, v string) error { return p.addPing("ping6", v) }),
		"serial":     list((*hacfParser).addSerial),
	}
	addMemberlistDirectives(directives)
}

// classicDefaults are the fixed default strings of classic heartbeat's
// directive table, shown by "heartbeat -D" and "cl_status hbparameter".
var classicDefaults = map[string]string{
	"cluster":                 "linux-ha",
	"hopfudge":                "1",
	"keepalive":               "1000ms",
	"deadtime":                "30000ms",
	"baud":                    "19200",
	"auto_failback":           "legacy",
	"hbgenmethod":             "file",
	"realtime":                "true",
	"msgfmt":                  "classic",
	"conn_logd_time":          "60",
	"log_badpack":             "true",
	"syslogmsgfmt":            "true",
	"coredumps":               "true",
	"pacemaker":               "false",
	"autojoin":                "none",
	"uuidfrom":                "file",
	"compression":             "zlib",
	"compression_threshold":   "2",
	"traditional_compression": "no",
	"max_rexmit_delay":        "250",
	"record_config_changes":   "on",
	"record_pengine_inputs":   "on",
	"enable_config_writes":    "on",
	"memreserve":              "6500",
}

// hacfParser holds the state of one ParseHACF call.
type hacfParser struct {
	c         *HACF
	errs      conferr.List
	line      int
	directive string
	port      int  // udpport in force for the next bcast/ucast medium
	portMedia bool // a medium using udpport was declared
	nodeSeen  map[string]int
	apiSeen   map[string]int
	pacemaker int // line of the first pacemaker/crm directive
}

// LoadHACF reads and parses the ha.cf file at path.
func LoadHACF(path string) (*HACF, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading ha.cf: %w", err)
	}
	defer f.Close()
	return ParseHACF(path, f)
}

// ParseHACF parses ha.cf text from r; file names it in errors and warnings.
// It fills every default (warntime, initdead, deadping, udpport, logging,
// apiauth) but leaves the start-up checks to Validate.
func ParseHACF(file string, r io.Reader) (*HACF, error) {
	c := &HACF{
		File:                 file,
		Keepalive:            time.Second,
		Deadtime:             30 * time.Second,
		MaxRexmitDelay:       250 * time.Millisecond,
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
		Params:               map[string]string{},
		lines:                map[string]int{},
	}
	p := &hacfParser{
		c:        c,
		errs:     conferr.List{File: file},
		port:     defaultUDPPort(),
		nodeSeen: map[string]int{},
		apiSeen:  map[string]int{},
	}
	br := bufio.NewReader(r)
	for {
		text, err := br.ReadString('\n')
		if text != "" {
			p.line++
			p.parseLine(text)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
	}
	p.finish()
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseLine handles one physical line.
func (p *hacfParser) parseLine(text string) {
	bp := strings.TrimLeft(text, whitespace)
	if i := strings.IndexByte(bp, '#'); i >= 0 {
		bp = bp[:i]
	}
	if i := strings.IndexAny(bp, "\r\n"); i >= 0 {
		bp = bp[:i]
	}
	if bp == "" {
		return
	}
	name := bp
	if i := strings.IndexAny(bp, whitespace); i >= 0 {
		name = bp[:i]
	}
	d, ok := directives[name]
	if !ok {
		p.errs.Add(p.line, "unknown directive %q", name)
		return
	}
	p.directive = name
	p.c.lines[name] = p.line
	rest := strings.TrimLeft(bp[len(name):], delims)
	if d.whole {
		rest = strings.TrimRight(rest, whitespace)
		if rest == "" {
			p.errs.Add(p.line, "%s: missing value", name)
			return
		}
		if err := d.set(p, rest); err != nil {
			p.errs.Add(p.line, "%s: %v", name, err)
		}
		return
	}
	values := splitAny(rest, delims)
	if len(values) == 0 {
		p.errs.Add(p.line, "%s: missing value", name)
		return
	}
	if len(values) > 1 && !d.multi {
		p.warn(p.line, "%s has %d values; each is applied in turn, so %q wins", name, len(values), values[len(values)-1])
	}
	for _, v := range values {
		if err := d.set(p, v); err != nil {
			p.errs.Add(p.line, "%s: %v", name, err)
			continue
		}
		if d.record {
			p.c.Params[name] = v
		}
	}
}

// warn records a non-fatal finding once.
func (p *hacfParser) warn(line int, format string, args ...any) {
	p.c.warn(line, format, args...)
}

// warn appends a warning unless the same one was already given.
func (c *HACF) warn(line int, format string, args ...any) {
	w := position(c.File, line) + ": " + fmt.Sprintf(format, args...)
	if c.warned == nil {
		c.warned = map[string]bool{}
		for _, old := range c.Warnings {
			c.warned[old] = true
		}
	}
	if !c.warned[w] {
		c.warned[w] = true
		c.Warnings = append(c.Warnings, w)
	}
}

// Value setters shared by several directives.

func timeTo(field func(*hacfParser) *time.Duration, positive bool) func(*hacfParser, string) error {
	return func(p *hacfParser, v string) error {
		d, err := hbtime.Parse(v)
		if err != nil {
			if u := strings.ToLower(v); strings.HasPrefix(u, "ms") || strings.HasPrefix(u, "us") {
				return fmt.Errorf("%w (write the unit right after the number, e.g. \"2000ms\")", err)
			}
			return err
		}
		d = hbtime.RoundMS(d) // classic keeps whole milliseconds
		if positive && d <= 0 {
			return fmt.Errorf("%q must be at least 1ms", v)
		}
		*field(p) = d
		return nil
	}
}

// arpTo reads "<repeats> <interval>" (e.g. "5 200ms"); 0 repeats sends none.
func arpTo(field func(*hacfParser) *ARP) func(*hacfParser, string) error {
	return func(p *hacfParser, v string) error {
		f := strings.Fields(v)
		if len(f) != 2 {
			return fmt.Errorf("invalid value %q: want <repeats> <interval>, e.g. \"5 200ms\"", v)
		}
		n, err := parseInt(f[0], 0, 1000)
		if err != nil {
			return err
		}
		d, err := hbtime.Parse(f[1])
		if err != nil {
			return err
		}
		if d < time.Millisecond || d > time.Minute {
			return fmt.Errorf("invalid interval %q: want 1ms..60s", f[1])
		}
		*field(p) = ARP{Repeats: n, Interval: d}
		return nil
	}
}

func intTo(field func(*hacfParser) *int, lo, hi int) func(*hacfParser, string) error {
	return func(p *hacfParser, v string) error {
		n, err := parseInt(v, lo, hi)
		if err != nil {
			return err
		}
		*field(p) = n
		return nil
	}
}

func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf("invalid value %q: want an integer %d..%d", v, lo, hi)
	}
	return n, nil
}

func boolTo(field func(*hacfParser) *bool) func(*hacfParser, string) error {
	return func(p *hacfParser, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*field(p) = b
		return nil
	}
}

// parseBool accepts cl_str_to_boolean's words, case-insensitively.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "on", "yes", "y", "1":
		return true, nil
	case "false", "off", "no", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid value %q: want on or off (true/false, yes/no, y/n, 1/0)", v)
}

func checkBool(_ *hacfParser, v string) error {
	_, err := parseBool(v)
	return err
}

func oneOf(field func(*hacfParser) *string, fold bool, words ...string) func(*hacfParser, string) error {
	return func(p *hacfParser, v string) error {
		w := v
		if fold {
			w = strings.ToLower(v)
		}
		for _, ok := range words {
			if w == ok {
				*field(p) = w
				return nil
			}
		}
		return fmt.Errorf("invalid value %q: want %s", v, strings.Join(words, ", "))
	}
}

func pacemakerOnly(check func(*hacfParser, string) error) func(*hacfParser, string) error {
	return func(p *hacfParser, v string) error {
		if check != nil {
			if err := check(p, v); err != nil {
				return err
			}
		}
		p.warn(p.line, "%s is a Pacemaker-only directive; ignored", p.directive)
		return nil
	}
}

// Directive-specific setters.

func (p *hacfParser) addNode(v string) error {
	return p.addNodeName(v, func(name string) { p.c.Nodes = append(p.c.Nodes, name) })
}

// addNodeName checks and registers a normal or ping node name.
func (p *hacfParser) addNodeName(v string, add func(string)) error {
	if len(v) > MaxNodeName {
		return fmt.Errorf("node name %.20q... is longer than %d characters", v, MaxNodeName)
	}
	name := asciiLower(v)
	if first, dup := p.nodeSeen[name]; dup {
		// Classic adds the node twice; one entry is what was meant.
		p.warn(p.line, "node %q already declared at line %d; ignoring the repeat", name, first)
		return nil
	}
	if len(p.nodeSeen) >= MaxNodes {
		return fmt.Errorf("too many nodes (ping nodes included): the limit is %d", MaxNodes)
	}
	p.nodeSeen[name] = p.line
	add(name)
	return nil
}

func (p *hacfParser) setWatchdog(v string) error {
	if p.c.Watchdog != "" {
		return fmt.Errorf("watchdog device specified more than once")
	}
	p.c.Watchdog = v
	return nil
}

func (p *hacfParser) setBaud(v string) error {
	if _, dup := p.c.Params["baud"]; dup {
		return fmt.Errorf("baud rate specified more than once")
	}
	switch v {
	case "9600", "19200", "38400", "57600", "115200", "230400", "460800":
	default:
		return fmt.Errorf("invalid baud rate %q: want 9600, 19200, 38400, 57600, 115200, 230400 or 460800", v)
	}
	p.c.Baud, _ = strconv.Atoi(v)
	if len(p.c.Serial) > 0 {
		p.warn(p.line, "baud setting must precede serial media; earlier serial ports keep the previous speed")
	}
	return nil
}

// setMetricsListen takes the Prometheus endpoint's host:port.
func (p *hacfParser) setMetricsListen(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("metrics_listen %q: want host:port, e.g. 127.0.0.1:9707", v)
	}
	p.c.MetricsListen = v
	return nil
}

// setUDPPort changes the port of bcast/ucast/ucast6 media declared after it.
// Classic prints "udpport setting must precede media statements" on every
// udpport line; we warn only when a medium that uses udpport came first.
// (Classic also fixes each plugin's port at its first medium, so a second
// udpport line never changes later media of the same kind; here every
// medium takes the udpport in force where it is declared.)
func (p *hacfParser) setUDPPort(v string) error {
	n, err := parseInt(v, 1, 65535)
	if err != nil {
		return err
	}
	if p.portMedia {
		p.warn(p.line, "udpport setting must precede media statements; media declared above keep port %d", p.port)
	}
	p.port = n
	return nil
}

// syslogFacilities are the names glibc's facilitynames table accepts.
var syslogFacilities = map[string]bool{
	"auth": true, "authpriv": true, "cron": true, "daemon": true, "ftp": true,
	"kern": true, "lpr": true, "mail": true, "mark": true, "news": true,
	"security": true, "syslog": true, "user": true, "uucp": true,
	"local0": true, "local1": true, "local2": true, "local3": true,
	"local4": true, "local5": true, "local6": true, "local7": true,
}

func (p *hacfParser) setFacility(v string) error {
	if v != "none" && !syslogFacilities[v] {
		return fmt.Errorf("invalid syslog facility %q", v)
	}
	p.c.LogFacility = v
	return nil
}

// syslogEnabled reports whether logfacility turns syslog on. Classic treats
// a facility value of 0 as off, which covers "none" and also "kern".
func (c *HACF) syslogEnabled() bool {
	return c.LogFacility != "" && c.LogFacility != "none" && c.LogFacility != "kern"
}

// setNiceFailback maps the obsolete nice_failback to auto_failback.
//
// Classic heartbeat means "nice_failback on" = "auto_failback off" and
// "nice_failback off" = "auto_failback legacy", but its code tests the
// global set by an earlier auto_failback line instead of the value given: it
// maps to legacy unless an auto_failback on/off line came first, in which
// case it maps to off, whatever the nice_failback value. We implement the
// intended mapping and warn.
func (p *hacfParser) setNiceFailback(v string) error {
	b, err := parseBool(v)
	if err != nil {
		return err
	}
	p.c.AutoFailback = Legacy
	if b {
		p.c.AutoFailback = Off
	}
	p.c.Params["auto_failback"] = p.c.AutoFailback.String()
	p.warn(p.line, "nice_failback is obsolete: \"nice_failback %s\" taken as \"auto_failback %s\"; use auto_failback on, off or legacy", v, p.c.AutoFailback)
	return nil
}

func (p *hacfParser) setAutoFailback(v string) error {
	if strings.EqualFold(v, "legacy") {
		p.c.AutoFailback = Legacy
		return nil
	}
	b, err := parseBool(v)
	if err != nil {
		return fmt.Errorf("invalid value %q: want on, off or legacy", v)
	}
	p.c.AutoFailback = Off
	if b {
		p.c.AutoFailback = On
	}
	return nil
}

func (p *hacfParser) setUseApphbd(v string) error {
	b, err := parseBool(v)
	if err != nil {
		return err
	}
	p.c.UseApphbd = b
	if b {
		p.warn(p.line, "use_apphbd: apphbd is not supported; ignored")
	}
	return nil
}

// addEnv handles "env NAME=value": respawned children get HA_NAME=value.
// (Classic reads past the end of a token without "=".)
func (p *hacfParser) addEnv(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("invalid value %q: want NAME=value", v)
	}
	p.c.Env = append(p.c.Env, "HA_"+name+"="+value)
	return nil
}

// setMaxRexmitDelay reads an integer number of milliseconds; a trailing "ms"
// is tolerated because classic's atoi ignores it.
func (p *hacfParser) setMaxRexmitDelay(v string) error {
	n, err := parseInt(strings.TrimSuffix(v, "ms"), 1, 1<<31-1)
	if err != nil {
		return fmt.Errorf("invalid value %q: want a positive number of milliseconds", v)
	}
	p.c.MaxRexmitDelay = time.Duration(n) * time.Millisecond
	return nil
}

// setPacemaker accepts pacemaker/crm values; hasuite has no Pacemaker and
// always manages haresources (R1), so any "on" value only warns.
func (p *hacfParser) setPacemaker(v string) error {
	if p.pacemaker > 0 {
		return fmt.Errorf("pacemaker/crm directive used more than once (first at line %d)", p.pacemaker)
	}
	p.pacemaker = p.line
	on := true
	switch strings.ToLower(v) {
	case "minimal", "manual", "respawn", "ccm-only", "valgrind":
	default:
		b, err := parseBool(v)
		if err != nil {
			return fmt.Errorf("invalid value %q: want off, on, respawn, minimal, manual, ccm-only or valgrind", v)
		}
		on = b
	}
	p.c.Params["pacemaker"] = v
	if on {
		p.c.Pacemaker = true
		p.warn(p.line, "%s %s: Pacemaker is not supported; haresources (R1) resource management is used anyway", p.directive, v)
	}
	return nil
}

func (p *hacfParser) addStonith(v string) error {
	typ, rest := nextToken(v)
	rest = strings.TrimLeft(rest, whitespace)
	if rest == "" {
		return fmt.Errorf("want <type> <config-file>")
	}
	p.c.Stonith = append(p.c.Stonith, Stonith{Type: typ, ConfigFile: rest, Line: p.line})
	return nil
}

func (p *hacfParser) addStonithHost(v string) error {
	host, rest := nextToken(v)
	typ, rest := nextToken(rest)
	if typ == "" {
		return fmt.Errorf("want <host|*> <type> <params...>")
	}
	if len(host) >= MaxNodeName {
		return fmt.Errorf("host name %.20q... too long", host)
	}
	p.c.StonithHosts = append(p.c.StonithHosts, StonithHost{
		Host: asciiLower(host), Type: typ, Params: strings.TrimLeft(rest, whitespace), Line: p.line,
	})
	return nil
}

// nextToken splits off the first whitespace-separated token of s.
func nextToken(s string) (tok, rest string) {
	s = strings.TrimLeft(s, whitespace)
	i := strings.IndexAny(s, whitespace)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// addAPIAuth handles "apiauth <client> [uid=a,b] [gid=c,d]".
func (p *hacfParser) addAPIAuth(v string) error {
	a, err := parseAPIAuth(v)
	if err != nil {
		return err
	}
	if first, dup := p.apiSeen[a.Client]; dup {
		return fmt.Errorf("duplicate apiauth for client %q (first at line %d)", a.Client, first)
	}
	p.apiSeen[a.Client] = p.line
	p.c.APIAuth = append(p.c.APIAuth, a)
	return nil
}

func parseAPIAuth(v string) (APIAuth, error) {
	fields := splitAny(v, whitespace)
	a := APIAuth{Client: fields[0]}
	var haveUID, haveGID bool
	for _, f := range fields[1:] {
		var list *[]string
		var have *bool
		switch {
		case strings.HasPrefix(f, "uid="):
			list, have = &a.UIDs, &haveUID
		case strings.HasPrefix(f, "gid="):
			list, have = &a.GIDs, &haveGID
		default:
			return a, fmt.Errorf("client %s: want uid=list or gid=list, got %q", a.Client, f)
		}
		if *have {
			return a, fmt.Errorf("client %s: duplicate %s list", a.Client, f[:3])
		}
		*have = true
		*list = splitAny(f[4:], ",")
		if len(*list) == 0 {
			return a, fmt.Errorf("client %s: empty %s list", a.Client, f[:3])
		}
	}
	if !haveUID && !haveGID {
		return a, fmt.Errorf("client %s: need uid=list and/or gid=list", a.Client)
	}
	return a, nil
}

// defaultAPIAuth is classic heartbeat's authorisation for well-known
// clients, used when ha.cf has no apiauth line for them.
var defaultAPIAuth = []APIAuth{
	{Client: "ipfail", UIDs: []string{"hacluster"}},
	{Client: "ccm", UIDs: []string{"hacluster"}},
	{Client: "ping", GIDs: []string{"haclient"}},
	{Client: "lha-snmpagent", UIDs: []string{"root"}},
	{Client: "anon", UIDs: []string{"root"}, GIDs: []string{"haclient"}},
}

// addRespawn handles respawn and failfast: "<user> <abs-path> [args]".
// Whether the user exists and the path is executable is checked by the
// daemon when it starts the child, not here.
func (p *hacfParser) addRespawn(v string, failfast bool) error {
	user, rest := nextToken(v)
	command := strings.Trim(rest, whitespace)
	if command == "" {
		return fmt.Errorf("want <user> <absolute-path> [args...]")
	}
	fields := splitAny(command, whitespace)
	if !strings.HasPrefix(fields[0], "/") {
		return fmt.Errorf("command %q is not an absolute path", fields[0])
	}
	p.c.Respawn = append(p.c.Respawn, Respawn{
		User: user, Path: fields[0], Args: fields[1:], Line: p.line, Failfast: failfast, Command: command,
	})
	return nil
}

// addMedium appends m, enforcing MaxMedia.
func (p *hacfParser) addMedium(m Medium) error {
	if p.mediaCount() >= MaxMedia {
		return fmt.Errorf("too many media (the limit is %d)", MaxMedia)
	}
	m.Line = p.line
	p.c.Media = append(p.c.Media, m)
	return nil
}

func (p *hacfParser) mediaCount() int {
	return len(p.c.Media) + len(p.c.Ping) + len(p.c.Serial)
}

func (p *hacfParser) addBcast(v string) error {
	p.portMedia = true
	return p.addMedium(Medium{Kind: "bcast", Iface: v, Port: p.port})
}

// addUcast handles "ucast <if> <peer>" and "ucast6 <if> <peer>". The peer
// may be a host name (resolved when the medium is opened); an address
// literal must be of the right family.
func (p *hacfParser) addUcast(kind, v string) error {
	f := splitAny(v, whitespace)
	if len(f) < 2 {
		return fmt.Errorf("%s: missing peer address (want <interface> <peer>)", f[0])
	}
	if a, err := netip.ParseAddr(f[1]); err == nil {
		if kind == "ucast" && !a.Unmap().Is4() {
			return fmt.Errorf("%s: %q is not an IPv4 address (use ucast6)", f[0], f[1])
		}
		if kind == "ucast6" && (!a.Is6() || a.Is4In6()) {
			return fmt.Errorf("%s: %q is not an IPv6 address (use ucast)", f[0], f[1])
		}
	}
	if len(f) > 2 {
		// Classic silently ignores the rest: one peer per line.
		p.warn(p.line, "%s takes one peer per line; ignoring %q", kind, strings.Join(f[2:], " "))
	}
	p.portMedia = true
	return p.addMedium(Medium{Kind: kind, Iface: f[0], Addr: f[1], Port: p.port})
}

// addMcast handles "mcast <if> <group> <port> <ttl> <loop>" and mcast6
// (hops instead of ttl). ttl/hops must be 0..4 (the man page's 0-255 is
// wrong) and loop 0 or 1.
func (p *hacfParser) addMcast(kind, v string) error {
	f := splitAny(v, whitespace)
	names := []string{"interface", "multicast group", "port", "ttl", "loop"}
	if kind == "mcast6" {
		names[3] = "hops"
	}
	if len(f) < 5 {
		return fmt.Errorf("%s: missing %s (want <interface> <group> <port> <%s> <loop>)", f[0], names[len(f)], names[3])
	}
	g, err := netip.ParseAddr(f[1])
	switch {
	case err != nil || !g.IsMulticast():
		return fmt.Errorf("%s: bad multicast group %q", f[0], f[1])
	case kind == "mcast" && !g.Is4():
		return fmt.Errorf("%s: %q is not an IPv4 multicast group (use mcast6)", f[0], f[1])
	case kind == "mcast6" && !g.Is6():
		return fmt.Errorf("%s: %q is not an IPv6 multicast group (use mcast)", f[0], f[1])
	}
	port, err := parseInt(f[2], 1, 65535)
	if err != nil {
		return fmt.Errorf("%s: bad port: %v", f[0], err)
	}
	ttl, err := parseInt(f[3], 0, 4)
	if err != nil {
		return fmt.Errorf("%s: bad %s: %v", f[0], names[3], err)
	}
	loop, err := parseInt(f[4], 0, 1)
	if err != nil {
		return fmt.Errorf("%s: bad loop: %v", f[0], err)
	}
	if len(f) > 5 {
		p.warn(p.line, "%s: ignoring extra values %q", kind, strings.Join(f[5:], " "))
	}
	return p.addMedium(Medium{Kind: kind, Iface: f[0], Addr: f[1], Port: port, TTL: ttl, Loop: loop == 1})
}

// addPing handles one "ping"/"ping6" address: one ping node each.
func (p *hacfParser) addPing(kind, v string) error {
	if a, err := netip.ParseAddr(v); err == nil {
		if kind == "ping" && !a.Unmap().Is4() {
			return fmt.Errorf("%q is not an IPv4 address (use ping6)", v)
		}
		if kind == "ping6" && (!a.Is6() || a.Is4In6()) {
			return fmt.Errorf("%q is not an IPv6 address (use ping)", v)
		}
	}
	if p.mediaCount() >= MaxMedia {
		return fmt.Errorf("too many media (the limit is %d)", MaxMedia)
	}
	return p.addNodeName(v, func(name string) {
		p.c.Ping = append(p.c.Ping, PingNode{Name: name, Addrs: []string{v}, Line: p.line})
	})
}

// addPingGroup handles "ping_group <name> <ip>...".
func (p *hacfParser) addPingGroup(v string) error {
	f := splitAny(v, whitespace)
	if len(f) < 2 {
		return fmt.Errorf("group %s has no addresses (want <name> <ip>...)", f[0])
	}
	if p.mediaCount() >= MaxMedia {
		return fmt.Errorf("too many media (the limit is %d)", MaxMedia)
	}
	return p.addNodeName(f[0], func(name string) {
		p.c.Ping = append(p.c.Ping, PingNode{Name: name, Addrs: f[1:], Group: true, Line: p.line})
	})
}

// addSerial records a serial port; hasuite has no serial medium.
func (p *hacfParser) addSerial(v string) error {
	if !strings.HasPrefix(v, "/") {
		return fmt.Errorf("serial port %q is not a full path name", v)
	}
	if p.mediaCount() >= MaxMedia {
		return fmt.Errorf("too many media (the limit is %d)", MaxMedia)
	}
	p.c.Serial = append(p.c.Serial, v)
	p.warn(p.line, "serial media are not supported by hasuite; ignoring %s", v)
	return nil
}

// finish fills in the defaults classic heartbeat computes after parsing.
func (p *hacfParser) finish() {
	c := p.c
	c.UDPPort = p.port
	p.finishMemberlist()
	msParam := func(name string, d time.Duration) {
		c.Params[name] = strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	if !c.set("warntime") {
		c.Warntime = time.Duration(c.Deadtime.Milliseconds()/2) * time.Millisecond
		msParam("warntime", c.Warntime)
	}
	if !c.set("initdead") {
		switch {
		case c.Deadtime > 10*time.Second:
			c.Initdead = c.Deadtime
		case c.Deadtime < 6*time.Second:
			c.Initdead = 12 * time.Second
		default:
			c.Initdead = 2 * c.Deadtime
		}
		msParam("initdead", c.Initdead)
	}
	if !c.set("deadping") {
		c.Deadping = c.Deadtime
		msParam("deadping", c.Deadping)
	}
	if !c.set("udpport") {
		c.Params["udpport"] = strconv.Itoa(c.UDPPort)
	}
	if !c.set("debug") {
		c.Params["debug"] = "0"
	}
	for k, v := range classicDefaults {
		if _, ok := c.Params[k]; !ok {
			c.Params[k] = v
		}
	}
	// Logging: nothing configured implies logd; a facility alone sends
	// the files to /dev/null.
	if c.LogFile == "" && c.DebugFile == "" && !c.syslogEnabled() && !c.set("use_logd") {
		c.UseLogd = true
		c.Params["use_logd"] = "yes"
	}
	if c.syslogEnabled() {
		for _, f := range []*string{&c.LogFile, &c.DebugFile} {
			if *f == "" {
				*f = os.DevNull
			}
		}
		c.Params["logfile"] = c.LogFile
		c.Params["debugfile"] = c.DebugFile
	}
	for _, a := range defaultAPIAuth {
		if _, ok := p.apiSeen[a.Client]; !ok {
			c.APIAuth = append(c.APIAuth, APIAuth{Client: a.Client, UIDs: slices.Clone(a.UIDs), GIDs: slices.Clone(a.GIDs)})
		}
	}
	if c.AutoFailback == Legacy {
		line := c.lines["auto_failback"]
		if nf := c.lines["nice_failback"]; nf > line {
			line = nf
		}
		c.warn(line, "auto_failback legacy is deprecated (it is the default when auto_failback is not set); use auto_failback on or off")
	}
}

// set reports whether ha.cf gave the directive.
func (c *HACF) set(name string) bool {
	_, ok := c.lines[name]
	return ok
}
