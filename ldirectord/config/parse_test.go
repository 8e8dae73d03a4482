// Tests of the ldirectord.cf parser: the full model and exact messages.
package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeHosts and fakePorts stand in for DNS and /etc/services.
var (
	fakeHosts = map[string]string{
		"www.example.com/4":  "192.0.2.80",
		"web5.example.com/4": "10.0.0.15",
		"app6.example.com/6": "2001:db8:0:1::6",
		"sql01/4":            "10.9.0.1",
		"sql03/4":            "10.9.0.3",
		"localhost/4":        "127.0.0.1",
		"localhost/6":        "::1",
	}
	fakePorts = map[string]int{"http": 80, "domain": 53, "https": 443, "smtp": 25}
)

func testOptions() Options {
	return Options{
		LookupHost: func(_ context.Context, host string, family int) (netip.Addr, error) {
			if s, ok := fakeHosts[fmt.Sprintf("%s/%d", host, family)]; ok {
				return netip.MustParseAddr(s), nil
			}
			return netip.Addr{}, errors.New("no such host")
		},
		LookupPort: func(_ context.Context, name, proto string) (int, error) {
			if p, ok := fakePorts[name]; ok {
				return p, nil
			}
			return 0, errors.New("unknown port")
		},
		Hostname:  "lb1",
		DirExists: func(p string) bool { return p == "/srv/maint" },
		ReadFile: func(p string) ([]byte, error) {
			if b, ok := fakeFiles[p]; ok {
				return b, nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
	}
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// addrs lets cmp compare netip.Addr values.
var addrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestFullFile(t *testing.T) {
	c, err := Load("testdata/full.cf", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	web := func(a string, port uint16, m Method, w, l, u int, line int) Real {
		return Real{Addr: ip(a), Port: port, Method: m, Weight: w, LThresh: l, UThresh: u,
			Request: "/index.html", Receive: "Welcome", Line: line}
	}
	alerts := "ops@example.com, oncall@example.com"
	want := &Config{
		File: "testdata/full.cf", CheckTimeout: 2500 * time.Millisecond, NegotiateTimeout: 7 * time.Second,
		CheckInterval: 3 * time.Second, CheckCount: 1, FailureCount: 2, RiseCount: 2,
		AutoReload: true, Callback: "/usr/local/bin/cf-changed", Backend: BackendIPVS,
		Fallback:        &Fallback{Addr: ip("127.0.0.1"), Port: 80, Method: Masq, Line: 9},
		Fallback6:       &Fallback{Addr: ip("::1"), Method: Gate, Line: 10},
		FallbackCommand: "/usr/local/bin/sorry", LogFile: "local0", Execute: []string{"other.cf"},
		Quiescent: true, CleanStop: false,
		EmailAlert: alerts, EmailAlertFreq: time.Hour, EmailAlertStatus: Starting | Running,
		EmailAlertFrom: "ldirectord@lb1.example.com", SMTP: "mail.example.com",
		Virtuals: []Virtual{{
			Addr: ip("192.0.2.10"), Port: 80, Proto: "tcp", Family: 4,
			Scheduler: "wlc", Persistent: 600 * time.Second, Netmask: 24, SchedFlags: []string{"sh-fallback", "sh-port"},
			Service: "http", CheckType: CheckCombined, CombinedN: 3, CheckCommand: "/bin/true",
			Request: "/index.html", Receive: "Welcome", HTTPMethod: "HEAD", VirtualHost: "www.example.com",
			CheckPort: 80, CheckTimeout: 2500 * time.Millisecond, NegotiateTimeout: 7 * time.Second,
			CheckInterval: 3 * time.Second, CheckCount: 1, FailureCount: 2, RiseCount: 2,
			Reals: []Real{
				web("10.0.0.11", 80, Gate, 5, 10, 100, 27),
				web("10.0.0.12", 8080, Masq, 1, 0, 0, 28),
				web("10.0.0.13", 8080, Masq, 1, 0, 0, 28),
				web("10.0.0.14", 8080, Masq, 1, 0, 0, 28),
				{Addr: ip("10.0.0.15"), Port: 80, Method: IPIP, Weight: 0, Request: "/health.html", Receive: "OK#1", Line: 31},
			},
			Fallback:        &Fallback{Addr: ip("127.0.0.1"), Port: 80, Method: Masq, Line: 9},
			FallbackCommand: "/usr/local/bin/sorry", Quiescent: false, CleanStop: true,
			EmailAlert: "web@example.com", EmailAlertFreq: time.Hour, EmailAlertStatus: Starting | Running,
			MonitorFile: "/var/log/ldirectord/web.monitor", SMTP: "mail.example.com",
			ServiceName: "Web Site", Comment: "Main site", Line: 24,
		}, {
			Addr: ip("192.0.2.80"), Port: 53, Proto: "udp", Family: 4, Scheduler: "wrr", OPS: true,
			Service: "dns", CheckType: CheckNegotiate, CheckCommand: "/bin/true",
			Request: "/example.com", Receive: "192.0.2.53", HTTPMethod: "GET",
			CheckTimeout: time.Second, NegotiateTimeout: time.Second, CheckInterval: 500 * time.Millisecond,
			CheckCount: 1, FailureCount: 4, RiseCount: 2,
			Reals: []Real{
				{Addr: ip("10.0.1.1"), Method: Gate, Weight: 1, Request: "/example.com", Receive: "192.0.2.53", Line: 50},
				{Addr: ip("10.0.1.2"), Port: 53, Method: Gate, Weight: 1, Request: "/example.com", Receive: "192.0.2.53", Line: 51},
			},
			Fallback:        &Fallback{Addr: ip("127.0.0.1"), Port: 80, Method: Masq, Line: 9},
			FallbackCommand: "/usr/local/bin/sorry", Quiescent: true,
			EmailAlert: alerts, EmailAlertFreq: time.Hour, EmailAlertStatus: Starting | Running,
			SMTP: "mail.example.com", Line: 49,
		}, {
			Proto: "fwm", FWMark: 42, Family: 4, Scheduler: "wrr",
			Service: "none", CheckType: CheckExternal, CheckCommand: "/usr/local/bin/check-app",
			Request: "/", HTTPMethod: "GET",
			CheckTimeout: 2500 * time.Millisecond, NegotiateTimeout: 7 * time.Second, CheckInterval: 3 * time.Second,
			CheckCount: 1, FailureCount: 2, RiseCount: 2,
			Reals: []Real{
				{Addr: ip("10.0.2.1"), Method: Gate, Weight: 1, Request: "/", Line: 61},
				{Addr: ip("10.0.2.2"), Method: Gate, Weight: 1, Request: "/", Line: 62},
			},
			Fallback:        &Fallback{Addr: ip("10.0.2.100"), Port: 8000, Method: Gate, Line: 66},
			FallbackCommand: "/usr/local/bin/sorry", Quiescent: true,
			EmailAlert: alerts, EmailAlertFreq: time.Hour, EmailAlertStatus: Starting | Running,
			SMTP: "mail.example.com", Line: 60,
		}, {
			Addr: ip("2001:db8::5"), Port: 119, Proto: "tcp", Family: 6, Scheduler: "wrr",
			Persistent: 300 * time.Second, Netmask: 64,
			Service: "nntp", CheckType: CheckConnect, CheckCommand: "/bin/true",
			Request: "/", HTTPMethod: "GET",
			CheckTimeout: 2500 * time.Millisecond, NegotiateTimeout: 7 * time.Second, CheckInterval: 3 * time.Second,
			CheckCount: 1, FailureCount: 2, RiseCount: 2,
			Reals: []Real{
				{Addr: ip("2001:db8:0:1::4"), Port: 119, Method: Masq, Weight: 1, Request: "/", Line: 69},
				{Addr: ip("2001:db8:0:1::6"), Port: 119, Method: Masq, Weight: 1, Request: "/", Line: 70},
			},
			Fallback:        &Fallback{Addr: ip("::1"), Port: 119, Method: Gate, Line: 10},
			FallbackCommand: "/usr/local/bin/sorry", Quiescent: true,
			EmailAlert: alerts, EmailAlertFreq: time.Hour, EmailAlertStatus: Starting | Running,
			SMTP: "mail.example.com", Line: 68,
		}, {
			Addr: ip("192.0.2.20"), Port: 21, Proto: "tcp", Family: 4, Scheduler: "wrr",
			Service: "ftp", CheckType: CheckNegotiate, CheckCommand: "/bin/true",
			Request: "/welcome.msg", Receive: "test", Login: "anonymous", Passwd: "ldirectord@lb1", HTTPMethod: "GET",
			// §2.4: the virtual's negotiatetimeout beats the global checktimeout.
			CheckTimeout: 9 * time.Second, NegotiateTimeout: 9 * time.Second, CheckInterval: 3 * time.Second,
			CheckCount: 1, FailureCount: 2, RiseCount: 2,
			Reals: []Real{
				{Addr: ip("10.0.3.1"), Port: 21, Method: Masq, Weight: 1, Request: "/welcome.msg", Receive: "test", Line: 77},
			},
			Fallback:        &Fallback{Addr: ip("127.0.0.1"), Port: 80, Method: Masq, Line: 9},
			FallbackCommand: "/usr/local/bin/sorry", Quiescent: true,
			EmailAlert: alerts, EmailAlertFreq: time.Hour, EmailAlertStatus: Starting | Running,
			SMTP: "mail.example.com", Line: 76,
		}},
		Warnings: []string{
			"testdata/full.cf:58: checkinterval in virtual service udp:192.0.2.80:53 is used although fork=no: hasuite checks every real server on its own timer (classic ldirectord ignored it)",
		},
	}
	if diff := cmp.Diff(want, c, addrs); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	ids := []string{}
	for _, v := range c.Virtuals {
		ids = append(ids, v.ID())
	}
	if diff := cmp.Diff([]string{"tcp:192.0.2.10:80", "udp:192.0.2.80:53", "fwm:42", "tcp:[2001:db8::5]:119", "tcp:192.0.2.20:21"}, ids); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
}

// TestDefaults pins the defaults of spec §2.1, §2.2 and §2.4.
func TestDefaults(t *testing.T) {
	c, err := Parse("ldirectord.cf", strings.NewReader("virtual=10.0.0.1:80\n\treal=10.0.0.2 gate\n"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: "ldirectord.cf", CheckInterval: 10 * time.Second, CheckCount: 1, FailureCount: 1, RiseCount: 1,
		LogFile: "/var/log/ldirectord.log", CleanStop: true, EmailAlertStatus: StatusAll, Backend: BackendIPVS,
		Virtuals: []Virtual{{
			Addr: ip("10.0.0.1"), Port: 80, Proto: "tcp", Family: 4, Scheduler: "wrr",
			Service: "http", CheckType: CheckNegotiate, CheckCommand: "/bin/true", Request: "/", HTTPMethod: "GET",
			CheckTimeout: 5 * time.Second, NegotiateTimeout: 30 * time.Second, CheckInterval: 10 * time.Second,
			CheckCount: 1, FailureCount: 1, RiseCount: 1, CleanStop: true, EmailAlertStatus: StatusAll,
			Reals: []Real{{Addr: ip("10.0.0.2"), Method: Gate, Weight: 1, Request: "/", Line: 2}},
			Line:  1,
		}},
	}
	if diff := cmp.Diff(want, c, addrs); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

// TestTimeouts pins §2.4's resolution order.
func TestTimeouts(t *testing.T) {
	for _, tc := range []struct {
		global, virtual string
		check, neg      time.Duration
	}{
		{"", "", 5 * time.Second, 30 * time.Second},
		{"checktimeout=3\n", "", 3 * time.Second, 3 * time.Second},
		{"negotiatetimeout=8\n", "", 8 * time.Second, 8 * time.Second},
		{"checktimeout=3\nnegotiatetimeout=8\n", "", 3 * time.Second, 8 * time.Second},
		{"checktimeout=3\nnegotiatetimeout=8\n", "\tnegotiatetimeout=20\n", 20 * time.Second, 20 * time.Second},
		{"checktimeout=3\nnegotiatetimeout=8\n", "\tchecktimeout=0.25\n", 250 * time.Millisecond, 250 * time.Millisecond},
		{"negotiatetimeout=8\n", "\tchecktimeout=1\n\tnegotiatetimeout=2\n", time.Second, 2 * time.Second},
	} {
		text := tc.global + "virtual=10.0.0.1:80\n" + tc.virtual
		c, err := Parse("t.cf", strings.NewReader(text), testOptions())
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		v := c.Virtuals[0]
		if v.CheckTimeout != tc.check || v.NegotiateTimeout != tc.neg {
			t.Errorf("%q: got check %v negotiate %v, want %v %v", text, v.CheckTimeout, v.NegotiateTimeout, tc.check, tc.neg)
		}
	}
}

// errorLines returns every error's text, in order.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// TestMessages pins exact errors and warnings.
func TestMessages(t *testing.T) {
	const v = "virtual=10.0.0.1:80\n"
	for _, tc := range []struct {
		name, text string
		errs       []string
		warns      []string
	}{
		{name: "unknown global", text: "foo=1\n", errs: []string{`x.cf:1: unknown directive "foo"`}},
		{name: "no equals", text: "foo\n", errs: []string{`x.cf:1: unknown directive "foo" (expected key = value)`}},
		{name: "include", text: "include=/etc/x\n", errs: []string{`x.cf:1: unknown directive "include"`}},
		{name: "deprecated", text: "timeout=5\nconnecttimeout=3\n" + v + "\tconnecttimeout=1\n", errs: []string{
			"x.cf:1: timeout: directive deprecated in favour of checktimeout and negotiatetimeout",
			"x.cf:2: connecttimeout: directive deprecated in favour of negotiatetimeout",
			"x.cf:4: connecttimeout: directive deprecated in favour of negotiatetimeout"}},
		{name: "indented outside", text: "  checktimeout=3\n", errs: []string{`x.cf:1: indented line outside a virtual block: "checktimeout=3"`}},
		{name: "global in block", text: v + "\tautoreload=yes\n\tsupervised\n", errs: []string{
			"x.cf:2: autoreload: global directive inside the virtual block of line 1 (global lines start in column 0)",
			"x.cf:3: supervised: global directive inside the virtual block of line 1 (global lines start in column 0)"}},
		{name: "virtual key at global", text: "scheduler=rr\nreal=10.0.0.2 gate\n", errs: []string{
			"x.cf:1: scheduler: only allowed inside a virtual block (indent it below virtual=)",
			"x.cf:2: real: only allowed inside a virtual block (indent it below virtual=)"}},
		{name: "yes/no", text: "quiescent=maybe\nautoreload = yes # fine\nfork=YES\n", errs: []string{
			`x.cf:1: quiescent: must be 'yes' or 'no', not "maybe"`,
			`x.cf:3: fork: must be 'yes' or 'no', not "YES"`}},
		{name: "trailing blanks fixed", text: "quiescent = yes  \t\ncleanstop=no\r\n" + v + "\tquiescent = no # c\n"},
		{name: "fork", text: "fork=yes\n", warns: []string{
			"x.cf:1: fork: unnecessary in hasuite, which checks every real server concurrently on its own timer; accepted and ignored"}},
		{name: "bare supervised", text: "supervised\n", warns: []string{
			"x.cf:1: supervised: please update your config not to use a bare supervised directive"}},
		{name: "timeouts", text: "checktimeout=0\nnegotiatetimeout=-1\ncheckinterval=x\nchecktimeout=9999999\n", errs: []string{
			`x.cf:1: checktimeout: invalid value "0": must be greater than 0`,
			`x.cf:2: negotiatetimeout: invalid value "-1": must be greater than 0`,
			`x.cf:3: checkinterval: invalid value "x": want seconds`,
			`x.cf:4: checktimeout: invalid value "9999999": more than 31 days`}},
		{name: "lenient number", text: "checkinterval=abc5\nfailurecount=2x\n", warns: []string{
			`x.cf:1: checkinterval: "abc5" read as 5, as classic ldirectord does; write 5`,
			`x.cf:2: failurecount: "2x" read as 2, as classic ldirectord does; write 2`}},
		{name: "counts", text: "failurecount=0\ncheckcount=2\nrisecount=none\n", errs: []string{
			`x.cf:1: failurecount: invalid value "0": must be 1..2147483647`,
			`x.cf:3: risecount: invalid value "none": want a whole number`}, warns: []string{
			"x.cf:2: checkcount: option is deprecated and slated for removal; please see 'failurecount'"}},
		{name: "quoted", text: "callback=/bin/cb\nlogfile=local0\nlogfile=\"relative\"\n" + v + "\trequest=index.html\n\treceive=\"\"\n\tlogin=\"x\" y\n", errs: []string{
			"x.cf:1: callback: the value must be in double quotes",
			"x.cf:2: logfile: the value must be in double quotes",
			`x.cf:3: logfile: "relative" is neither an absolute path nor a syslog facility`,
			"x.cf:5: request: the value must be in double quotes",
			"x.cf:6: receive: empty value"}, warns: []string{
			`x.cf:7: login: text after the closing quote ignored: "y"`}},
		{name: "hash in quotes and inline comments", text: v + "\treceive=\"a#b\" # c\n\tservicename=s#1\n"},
		{name: "raw global keeps comment", text: "fallbackcommand=/bin/sorry # note\nmaintenancedir=/srv/maint\n", warns: []string{
			"x.cf:1: fallbackcommand: inline comment kept as part of the value, as classic ldirectord does; put comments on their own line"}},
		{name: "maintenancedir", text: "maintenancedir=/nonexistent\nmaintenancedir=\n", errs: []string{
			"x.cf:2: maintenancedir: maintenance directory not specified"}, warns: []string{
			`x.cf:1: maintenancedir: maintenance directory "/nonexistent" does not exist`}},
		{name: "email", text: "emailalert=\"\"\nemailalertstatus=none,running\nemailalertstatus=sometimes\nemailalertfreq=-1\nsmtp=mail host\nemailalertfrom=\nsmtp=:25\n", errs: []string{
			"x.cf:1: emailalert: no email address specified",
			`x.cf:2: emailalertstatus: invalid email alert status: "running" specified with "none"`,
			`x.cf:3: emailalertstatus: invalid email alert status at: "sometimes"`,
			`x.cf:4: emailalertfreq: invalid value "-1": must be 0..2147483647`,
			"x.cf:6: emailalertfrom: no email from address specified",
			`x.cf:7: smtp: invalid SMTP server address ":25"`}},
		{name: "virtual addresses", text: "virtual=10.0.0.1\nvirtual=[::1]:80\nvirtual6=[zz]:80\nvirtual6=[::1]\nvirtual=0\nvirtual=nosuch.example:80\nvirtual=10.0.0.1:nosuchport\nvirtual6=10.0.0.1:80\nvirtual=10.0.0.1:99999\n", errs: []string{
			`x.cf:1: virtual: invalid address for virtual server "10.0.0.1": want host:port or a fwmark`,
			`x.cf:2: virtual: cannot specify an IPv6 address here; please use "virtual6" instead`,
			`x.cf:3: virtual6: invalid address "[zz]:80": want [IPv6]:port or a fwmark`,
			`x.cf:4: virtual6: invalid address "[::1]": want [IPv6]:port or a fwmark`,
			`x.cf:5: virtual: invalid fwmark "0": must be 1..4294967295`,
			`x.cf:6: virtual: invalid address for virtual server "nosuch.example" (could not resolve host: no such host)`,
			`x.cf:7: virtual: invalid port "nosuchport" for virtual server (unknown port)`,
			`x.cf:8: virtual: invalid address for virtual server "10.0.0.1" (could not resolve host: not an IPv6 address)`,
			`x.cf:9: virtual: invalid port "99999" for virtual server (port out of range 0..65535)`}},
		{name: "duplicate virtual", text: v + "virtual=10.0.0.1:http\nvirtual=7\nvirtual6=7\nvirtual=7\n", errs: []string{
			"x.cf:2: virtual: duplicate virtual server tcp:10.0.0.1:80 (first on line 1)",
			"x.cf:5: virtual: duplicate virtual server fwm:7 (first on line 3)"}},
		{name: "real and fallback family", text: v + "\treal6=[::1]:80 gate\n\tfallback6=[::1]\nvirtual6=[::1]:80\n\treal=10.0.0.1 gate\n", errs: []string{
			`x.cf:2: cannot specify "real6" here; please use "real" instead`,
			`x.cf:3: cannot specify "fallback6" here; please use "fallback" instead`,
			`x.cf:5: cannot specify "real" here; please use "real6" instead`}},
		{name: "reals", text: v + strings.Join([]string{
			"\treal=10.0.0.2:80 route",
			"\treal=10.0.0.2:80",
			"\treal=10.0.0.2:80 gate 70000",
			"\treal=10.0.0.2:80 gate 1 \"a\"",
			"\treal=10.0.0.2:80 gate \"a\", \"b\" \"l:5\"",
			"\treal=10.0.0.2:80 gate l:5 l:6",
			"\treal=10.0.0.2:80 gate w:5",
			"\treal=10.0.0.2::80 gate",
			"\treal=10.0.0.9->10.0.0.2 gate",
			"\treal=10.0.0.2:nosuch gate",
			"\treal=nosuch.example gate",
			"\treal=10.0.0.2 gate \"a",
			"\treal=10.0.0.0->10.1.0.0 gate",
		}, "\n") + "\nvirtual6=[::1]:80\n\treal6=[::2]->[::3] gate\n", errs: []string{
			`x.cf:2: real "10.0.0.2:80": forward method must be gate, masq or ipip, not "route"`,
			`x.cf:3: real "10.0.0.2:80": forward method must be gate, masq or ipip`,
			`x.cf:4: real "10.0.0.2:80": weight "70000" out of range 0..65535`,
			`x.cf:5: real "10.0.0.2:80": the request must be followed by a quoted receive string`,
			`x.cf:6: real "10.0.0.2:80": "l:5" must not be quoted`,
			`x.cf:7: real "10.0.0.2:80": l: given twice`,
			`x.cf:8: real "10.0.0.2:80": invalid real server line, around "w:5"`,
			`x.cf:9: real "10.0.0.2::80": invalid address for real server (wrong format)`,
			`x.cf:10: real "10.0.0.9->10.0.0.2": invalid range 10.0.0.9-10.0.0.2: the first address must not be greater than the last`,
			`x.cf:11: real "10.0.0.2:nosuch": invalid port "nosuch" for real server (unknown port)`,
			`x.cf:12: real "nosuch.example": invalid address (nosuch.example) for real server (could not resolve host: no such host)`,
			`x.cf:13: real "10.0.0.2": invalid real server line: unterminated quote`,
			`x.cf:14: real "10.0.0.0->10.1.0.0": range of 65537 addresses is too large (limit 65536)`,
			`x.cf:16: real "[::2]->[::3]": address ranges are IPv4 only`}},
		{name: "duplicate real", text: v + "\treal=10.0.0.2:80 gate\n\treal=10.0.0.1->10.0.0.3:80 masq\n", warns: []string{
			"x.cf:3: real server 10.0.0.2:80 repeats the one of line 2 in virtual service tcp:10.0.0.1:80; ignored"}},
		{name: "virtual keys", text: v + strings.Join([]string{
			"\tchecktype=negotiate_connect",
			"\tcheckport=0",
			"\tscheduler=WRR",
			"\tpersistent=0",
			"\tnetmask=255.0.255.0",
			"\tschedflags=flag-9",
			"\tprotocol=sctp",
			"\tservice=gopher",
			"\thttpmethod=POST",
			"\tops=on",
			"\tcheckcommand=",
			"\tfallback=10.0.0.5:80 route",
			"\tfallbackcommand=\"\"",
		}, "\n") + "\nvirtual=5\n\tprotocol=tcp\nvirtual6=[::1]:80\n\tnetmask=129\n\tfallback6=nosuch.example\n", errs: []string{
			`x.cf:2: checktype: must be "connect", "negotiate", "on", "off", "ping", "external", "external-perl" or a positive number, not "negotiate_connect"`,
			`x.cf:3: checkport: invalid value "0": must be 1..65535`,
			`x.cf:4: scheduler: invalid scheduler "WRR", should be only lowercase letters (a-z)`,
			`x.cf:5: persistent: invalid value "0": must be 1..2678400`,
			`x.cf:6: netmask: invalid netmask "255.0.255.0": a contiguous dotted quad is required`,
			`x.cf:7: schedflags: unknown flag "flag-9" (want flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback, mh-port)`,
			`x.cf:8: protocol: must be tcp or udp if the virtual service is an address and port, not "sctp"`,
			`x.cf:9: service: must be dns, ftp, http, https, http_proxy, imap, imaps, ldap, ldaps, mysql, nntp, none, oracle, pop, pops, radius, pgsql, simpletcp, sip, smtp or submission, not "gopher"`,
			`x.cf:10: httpmethod: must be GET or HEAD, not "POST"`,
			`x.cf:11: ops: must be 'yes' or 'no', not "on"`,
			`x.cf:12: checkcommand: empty value`,
			`x.cf:13: fallback: forward method must be gate, masq or ipip, not "route"`,
			`x.cf:14: fallbackcommand: invalid fallback command (empty)`,
			`x.cf:16: protocol: must be fwm if the virtual service is a fwmark (a number), not "tcp"`,
			`x.cf:18: netmask: invalid netmask "129": a prefix length between 1 and 128 is required`,
			`x.cf:19: fallback: invalid IPv6 address or could not resolve for fallback server: nosuch.example (no such host)`}},
		{name: "virtual warnings", text: "virtual=10.0.0.1:80\n\tops=yes\n\tnetmask=255.255.255.255\n\tcheckinterval=2\n", warns: []string{
			"x.cf:2: ops in virtual service tcp:10.0.0.1:80 ignored: one-packet scheduling applies to udp only",
			"x.cf:3: netmask in virtual service tcp:10.0.0.1:80 ignored without persistent",
			"x.cf:4: checkinterval in virtual service tcp:10.0.0.1:80 is used although fork=no: hasuite checks every real server on its own timer (classic ldirectord ignored it)"}},
		{name: "indented virtual", text: v + "\tvirtual=10.0.0.2:80\n", errs: []string{
			"x.cf:2: virtual: a virtual block cannot be indented"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("x.cf", strings.NewReader(tc.text), testOptions())
			if diff := cmp.Diff(tc.errs, errorLines(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.warns, c.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBlockTraps checks spec §8.6's traps are fixed without changing the
// meaning of lines the classic accepts.
func TestBlockTraps(t *testing.T) {
	text := "virtual=10.0.0.1:80\n" +
		"\treal=10.0.0.2 gate\n" +
		"\n" + // a blank line no longer ends the block
		"        \n" + // nor does a line of blanks
		"# a comment in column 0\n" +
		"    real=10.0.0.3 gate # inline\n" +
		"\treceive=\"a#b\"\n" +
		"\tquiescent = yes \n" +
		"\tservicename = web#1\n" + // the classic cut at '#' here too
		"  comment=two spaces are enough\n" +
		"quiescent=no\n" // column 0 ends the block
	c, err := Parse("x.cf", strings.NewReader(text), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	v := c.Virtuals[0]
	got := []string{v.Receive, v.ServiceName, v.Comment, fmt.Sprint(v.Quiescent, c.Quiescent, len(v.Reals))}
	want := []string{"a#b", "web", "two spaces are enough", "true false 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDebianExample loads the Debian package's sample, then the same file
// with its commented-out samples enabled.
func TestDebianExample(t *testing.T) {
	c, err := Load("testdata/debian-example.cf", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Virtuals) != 1 || len(c.Virtuals[0].Reals) != 3 || c.Virtuals[0].VirtualHost != "www.x.y.z" ||
		c.CheckInterval != time.Second || !c.AutoReload || c.Virtuals[0].CheckTimeout != 3*time.Second {
		t.Errorf("unexpected model %+v", c)
	}
	b, err := os.ReadFile("testdata/debian-example.cf")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "#virtual") || strings.HasPrefix(l, "#\t") {
			lines[i] = l[1:]
		}
	}
	_, err = Parse("ldirectord.cf", strings.NewReader(strings.Join(lines, "\n")), testOptions())
	want := []string{
		"ldirectord.cf:63: virtual: duplicate virtual server tcp:192.168.6.240:80 (first on line 25)",
		`ldirectord.cf:319: real "192.168.6.2::5060": invalid address for real server (wrong format)`,
		`ldirectord.cf:320: real "192.168.6.3::5060": invalid address for real server (wrong format)`,
		`ldirectord.cf:321: real "192.168.6.6::5060": invalid address for real server (wrong format)`,
	}
	if diff := cmp.Diff(want, errorLines(err)); diff != "" {
		t.Errorf("uncommented sample errors (-want +got):\n%s", diff)
	}
}

// TestSystemServices resolves port names through /etc/services when no
// LookupPort is given; literal addresses need no resolver.
func TestSystemServices(t *testing.T) {
	if _, err := os.Stat("/etc/services"); err != nil {
		t.Skip("no /etc/services")
	}
	text := "virtual=192.0.2.1:http\n\treal=192.0.2.2:https masq\nvirtual=192.0.2.1:domain\n\treal=192.0.2.3 gate\n"
	c, err := Parse("s.cf", strings.NewReader(text), Options{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Virtuals[0].ID(), fmt.Sprint(c.Virtuals[0].Reals[0].Port), c.Virtuals[1].ID(), c.Virtuals[1].Service}
	if diff := cmp.Diff([]string{"tcp:192.0.2.1:80", "443", "udp:192.0.2.1:53", "dns"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
