// Validated model of ldirectord.cf and the Load/Parse entry points.
package config

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"
)

// Defaults of the global directives (spec §2.1, set_defaults).
const (
	DefaultCheckInterval    = 10 * time.Second
	DefaultCheckTimeout     = 5 * time.Second
	DefaultNegotiateTimeout = 30 * time.Second
	DefaultLogFile          = "/var/log/ldirectord.log"
)

// Method is a real server's forwarding method.
type Method string

// Forwarding methods, named as in ldirectord.cf.
const (
	Gate Method = "gate" // direct routing (ipvsadm -g)
	Masq Method = "masq" // NAT (ipvsadm -m)
	IPIP Method = "ipip" // tunnelling (ipvsadm -i)
)

// Status is a set of daemon states for emailalertstatus.
type Status uint8

// Daemon states an e-mail alert may be sent in.
const (
	Starting Status = 1 << iota
	Running
	Stopping
	Reloading

	StatusAll  = Starting | Running | Stopping | Reloading
	StatusNone = Status(0)
)

// Check types (spec §2.2); Combined is "checktype = N".
const (
	CheckConnect      = "connect"
	CheckNegotiate    = "negotiate"
	CheckPing         = "ping"
	CheckOff          = "off"
	CheckOn           = "on"
	CheckExternal     = "external"
	CheckExternalPerl = "external-perl"
	CheckCombined     = "combined"
)

// Config is a parsed and validated ldirectord.cf.
type Config struct {
	File string // the path or name given to Load or Parse

	// Global timeouts; zero means unset (each virtual resolves its own,
	// spec §2.4).
	CheckTimeout, NegotiateTimeout time.Duration
	CheckInterval                  time.Duration // default 10s
	CheckCount                     int           // deprecated; default 1
	FailureCount                   int           // default 1
	RiseCount                      int           // hasuite: successes before up; default 1

	AutoReload      bool
	Callback        string    // "" = none
	Fallback        *Fallback // global IPv4 fallback; Port 0 = the virtual's port
	Fallback6       *Fallback // global IPv6 fallback
	FallbackCommand string
	LogFile         string   // "/path" = file, else a syslog facility
	Execute         []string // other configs to run, in file order, no duplicates
	Fork            bool     // accepted; unnecessary in hasuite
	Supervised      bool
	Quiescent       bool // default no, as the classic code (its man page says yes)
	ReaddQuiescent  bool
	CleanStop       bool // default yes

	EmailAlert       string
	EmailAlertFreq   time.Duration // 0 = no reminders
	EmailAlertStatus Status        // default StatusAll
	EmailAlertFrom   string
	SMTP             string // alert relay: host, host:port or [v6]:port; port 25 when omitted
	MaintenanceDir   string

	// TLS checks (https, imaps, pops, ldaps, smtp/submission STARTTLS).
	TLSVerify bool   // tlsverify: verify the certificate and its name; default no
	TLSCAFile string // tlscafile: absolute path of a PEM CA bundle; "" = system roots

	// CheckKeepAlive (checkkeepalive, hasuite): http negotiate checks reuse
	// one connection per real; default no, a connection per check.
	CheckKeepAlive bool

	// Backend is the data plane (hasuite): ipvs (default), nftables or auto.
	Backend Backend
	// Metrics is the host:port of the Prometheus endpoint (hasuite); "" = off.
	Metrics string

	Virtuals []Virtual
	Warnings []string // non-fatal findings, each "file[:line]: ..."
}

// Fallback is a fallback server: the real used when no real is up.
type Fallback struct {
	Addr   netip.Addr
	Port   uint16 // 0 = the virtual's port
	Method Method
	Line   int
}

// Virtual is one virtual service with every value resolved: per-virtual
// settings override the globals, and §2.4's timeout rules are applied.
type Virtual struct {
	Addr   netip.Addr // invalid for a fwmark service
	Port   uint16
	Proto  string // "tcp", "udp" or "fwm"
	FWMark uint32 // non-zero for a fwmark service
	Family int    // 4 or 6

	Scheduler  string
	Persistent time.Duration // 0 = not persistent
	Netmask    int           // persistence prefix length; 0 = unset
	SchedFlags []string      // ipvsadm -b flags
	OPS        bool          // one-packet scheduling (udp only)

	Service          string // dns ftp http ... none
	CheckType        string // one of the Check* constants
	CombinedN        int    // connects between negotiates for CheckCombined
	CheckCommand     string
	Request, Receive string
	Login, Passwd    string
	Database, Secret string
	HTTPMethod       string // GET or HEAD
	VirtualHost      string
	CheckPort        uint16 // 0 = the real's port, else the service's
	TLSVerify        bool   // own, else the global
	TLSCAFile        string // own, else the global
	CheckKeepAlive   bool   // own, else the global
	CheckTimeout     time.Duration
	NegotiateTimeout time.Duration
	CheckInterval    time.Duration
	CheckCount       int
	FailureCount     int
	RiseCount        int

	Reals            []Real
	Fallback         *Fallback // own, else the global of the family (not for fwmark)
	FallbackCommand  string
	Quiescent        bool
	CleanStop        bool
	EmailAlert       string
	EmailAlertFreq   time.Duration
	EmailAlertStatus Status
	MonitorFile      string
	SMTP             string
	ServiceName      string
	Comment          string
	Line             int // line of the virtual= directive
}

// Real is one real server of a virtual.
type Real struct {
	Addr             netip.Addr
	Port             uint16 // 0 = not given
	Method           Method
	Weight           int
	LThresh, UThresh int    // 0 = none
	Request, Receive string // the real's own pair, else the virtual's
	Line             int
}

// ID is the classic identity of the virtual: "tcp:10.0.0.1:80",
// "udp:[2001:db8::1]:53", "fwm:5" or "fwm6:5".
func (v *Virtual) ID() string {
	if v.Proto == "fwm" {
		if v.Family == 6 {
			return "fwm6:" + strconv.FormatUint(uint64(v.FWMark), 10)
		}
		return "fwm:" + strconv.FormatUint(uint64(v.FWMark), 10)
	}
	return v.Proto + ":" + netip.AddrPortFrom(v.Addr, v.Port).String()
}

// Options are the parser's lookups; the zero value uses the system's.
type Options struct {
	// LookupHost resolves a host name to its first address of family 4
	// or 6. Nil uses the system resolver.
	LookupHost func(ctx context.Context, host string, family int) (netip.Addr, error)
	// LookupPort resolves a service name for "tcp", "udp" or "" (either)
	// as /etc/services does. Nil uses net.LookupPort.
	LookupPort func(ctx context.Context, name, proto string) (int, error)
	// Hostname fills in the ftp and sip logins; "" means $HOSTNAME, else
	// os.Hostname.
	Hostname string
	// DirExists reports whether maintenancedir exists; nil stats it.
	DirExists func(path string) bool
	// ReadFile reads a tlscafile; nil reads a regular file of at most
	// maxCAFile bytes.
	ReadFile func(path string) ([]byte, error)
}

// maxCAFile bounds a tlscafile (Debian's whole system bundle is ~200 KiB).
const maxCAFile = 16 << 20

// Load parses the file at path; errors and warnings name path as given.
func Load(path string, opts Options) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load ldirectord config: %w", err)
	}
	defer f.Close()
	return Parse(path, f, opts)
}

// Parse reads an ldirectord.cf from r, naming it name in messages. On any
// error it returns nil and every error found, joined.
func Parse(name string, r io.Reader, opts Options) (*Config, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	p := newParser(name, opts.withDefaults())
	p.parse(string(b))
	if p.c.Backend == BackendNFTables {
		p.checkNFTables()
	}
	p.el.SortByLine()
	if err := p.el.Err(); err != nil {
		return nil, err
	}
	p.c.Warnings = p.el.Warnings()
	return p.c, nil
}

// withDefaults fills in the system lookups.
func (o Options) withDefaults() Options {
	if o.LookupHost == nil {
		o.LookupHost = systemLookupHost
	}
	if o.LookupPort == nil {
		o.LookupPort = systemLookupPort
	}
	if o.Hostname == "" {
		o.Hostname = os.Getenv("HOSTNAME")
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.ReadFile == nil {
		o.ReadFile = readRegularFile
	}
	if o.DirExists == nil {
		o.DirExists = func(p string) bool {
			fi, err := os.Stat(p)
			return err == nil && fi.IsDir()
		}
	}
	return o
}

// readRegularFile reads path, refusing what is not a regular file (a FIFO
// or a device would block or never end) or is larger than maxCAFile.
func readRegularFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case fi.Size() > maxCAFile:
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxCAFile>>20)
	}
	return os.ReadFile(path)
}

// systemLookupHost returns the first address of the family, as the
// classic's getaddrinfo does.
func systemLookupHost(ctx context.Context, host string, family int) (netip.Addr, error) {
	network := "ip4"
	if family == 6 {
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("no %s address for %s", network, host)
	}
	return addrs[0].Unmap(), nil
}

// systemLookupPort looks name up in /etc/services; proto "" tries tcp
// then udp.
func systemLookupPort(ctx context.Context, name, proto string) (int, error) {
	if proto != "" {
		return net.DefaultResolver.LookupPort(ctx, proto, name)
	}
	p, err := net.DefaultResolver.LookupPort(ctx, "tcp", name)
	if err != nil {
		p, err = net.DefaultResolver.LookupPort(ctx, "udp", name)
	}
	return p, err
}
