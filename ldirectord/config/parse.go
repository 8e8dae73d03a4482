// Line lexer and directive handlers for ldirectord.cf.
package config

import (
	"context"
	"crypto/x509"
	"math"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hasuite/hasuite/internal/conferr"
)

// parser holds the state of one Parse.
type parser struct {
	opts   Options
	el     conferr.List
	c      *Config
	blocks []*vblock
	ctx    context.Context
}

// vblock is a virtual block as read, resolved once the whole file is in.
type vblock struct {
	line     int
	family   int
	host     string // "" for a fwmark service
	portText string
	v        Virtual
	set      map[string]int // line of each per-virtual key given
	quiet    bool           // the virtual= line itself failed
	reals    []rawItem
	fallback *rawItem
}

// rawItem is the text of a real= or fallback= value and its line.
type rawItem struct {
	text string
	line int
}

func newParser(name string, opts Options) *parser {
	return &parser{
		opts: opts,
		el:   conferr.List{File: name},
		ctx:  context.Background(),
		c: &Config{
			File:             name,
			CheckInterval:    DefaultCheckInterval,
			CheckCount:       1,
			FailureCount:     1,
			RiseCount:        1,
			LogFile:          DefaultLogFile,
			CleanStop:        true,
			EmailAlertStatus: StatusAll,
			Backend:          BackendIPVS,
		},
	}
}

// Scopes of a directive.
const (
	global = 1 << iota
	inVirtual
	both = global | inVirtual
)

// directive is one key's handler; b is nil at global level.
type directive struct {
	scope int
	raw   bool // global value taken literally, inline comment included
	fn    func(p *parser, b *vblock, line int, key, val string)
}

var directives map[string]directive

func init() {
	directives = map[string]directive{
		"checktimeout":     {both, false, (*parser).timeoutKey},
		"negotiatetimeout": {both, false, (*parser).timeoutKey},
		"checkinterval":    {both, false, (*parser).timeoutKey},
		"checkcount":       {both, false, (*parser).countKey},
		"failurecount":     {both, false, (*parser).countKey},
		"risecount":        {both, false, (*parser).countKey},
		"connecttimeout": {both, false, func(p *parser, _ *vblock, line int, _, _ string) {
			p.el.Add(line, "connecttimeout: directive deprecated in favour of negotiatetimeout")
		}},
		"timeout": {global, false, func(p *parser, _ *vblock, line int, _, _ string) {
			p.el.Add(line, "timeout: directive deprecated in favour of checktimeout and negotiatetimeout")
		}},
		"autoreload":     {global, false, (*parser).yesNoKey},
		"backend":        {global, false, (*parser).backend},
		"metrics":        {global, false, (*parser).metrics},
		"fork":           {global, false, (*parser).yesNoKey},
		"supervised":     {global, false, (*parser).yesNoKey},
		"readdquiescent": {global, false, (*parser).yesNoKey},
		"quiescent":      {both, false, (*parser).yesNoKey},
		"cleanstop":      {both, false, (*parser).yesNoKey},
		"ops":            {inVirtual, false, (*parser).yesNoKey},
		"tlsverify":      {both, false, (*parser).yesNoKey},
		"checkkeepalive": {both, false, (*parser).yesNoKey},
		"tlscafile":      {both, false, (*parser).tlsCAFile},
		"callback": {global, false, func(p *parser, _ *vblock, line int, key, val string) {
			if s, ok := p.quoted(line, key, val, true); ok {
				p.c.Callback = s
			}
		}},
		"logfile":         {global, false, (*parser).logfile},
		"execute":         {global, true, (*parser).execute},
		"fallback":        {both, false, (*parser).fallbackKey},
		"fallback6":       {both, false, (*parser).fallbackKey},
		"fallbackcommand": {both, true, (*parser).fallbackCommand},
		"emailalert":      {both, false, (*parser).emailAlert},
		"emailalertfreq":  {both, false, (*parser).emailAlertFreq},
		"emailalertstatus": {both, false, func(p *parser, b *vblock, line int, key, val string) {
			if s, ok := p.emailStatus(line, val); ok {
				if b == nil {
					p.c.EmailAlertStatus = s
				} else {
					b.v.EmailAlertStatus = s
				}
			}
		}},
		"emailalertfrom": {global, true, func(p *parser, _ *vblock, line int, key, val string) {
			if val == "" {
				p.el.Add(line, "emailalertfrom: no email from address specified")
				return
			}
			p.c.EmailAlertFrom = val
		}},
		"smtp": {both, false, (*parser).smtp},
		"maintenancedir": {global, true, func(p *parser, _ *vblock, line int, key, val string) {
			if val == "" {
				p.el.Add(line, "maintenancedir: maintenance directory not specified")
				return
			}
			p.c.MaintenanceDir = val
			if !p.opts.DirExists(val) {
				p.el.Warn(line, "maintenancedir: maintenance directory %q does not exist", val)
			}
		}},
		"real":         {inVirtual, false, (*parser).realKey},
		"real6":        {inVirtual, false, (*parser).realKey},
		"request":      {inVirtual, false, (*parser).stringKey},
		"receive":      {inVirtual, false, (*parser).stringKey},
		"login":        {inVirtual, false, (*parser).stringKey},
		"passwd":       {inVirtual, false, (*parser).stringKey},
		"database":     {inVirtual, false, (*parser).stringKey},
		"secret":       {inVirtual, false, (*parser).stringKey},
		"load":         {inVirtual, false, (*parser).stringKey},
		"checktype":    {inVirtual, false, (*parser).checkType},
		"checkcommand": {inVirtual, false, (*parser).optQuotedKey},
		"virtualhost":  {inVirtual, false, (*parser).optQuotedKey},
		"monitorfile":  {inVirtual, false, (*parser).optQuotedKey},
		"servicename":  {inVirtual, false, (*parser).optQuotedKey},
		"comment":      {inVirtual, false, (*parser).optQuotedKey},
		"checkport":    {inVirtual, false, (*parser).checkPort},
		"scheduler":    {inVirtual, false, (*parser).scheduler},
		"persistent":   {inVirtual, false, (*parser).persistent},
		"netmask":      {inVirtual, false, (*parser).netmask},
		"schedflags":   {inVirtual, false, (*parser).schedFlags},
		"protocol":     {inVirtual, false, (*parser).protocol},
		"service":      {inVirtual, false, (*parser).service},
		"httpmethod":   {inVirtual, false, (*parser).httpMethod},
	}
}

// parse reads every line, then resolves the virtual blocks.
func (p *parser) parse(text string) {
	var cur *vblock
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		body := strings.TrimLeft(line, " \t")
		if strings.TrimRight(body, " \t\f\v\r") == "" || body[0] == '#' {
			continue // blank and comment lines never end a block
		}
		indented := len(body) < len(line)
		if indented {
			if cur == nil {
				p.el.Add(n, "indented line outside a virtual block: %q", strings.TrimSpace(body))
				continue
			}
			key, val, hasEq, ok := p.split(n, stripComment(body, false))
			if ok {
				p.directive(cur, n, key, val)
			} else if key == "supervised" && !hasEq {
				p.el.Add(n, "supervised: global directive inside the virtual block of line %d (global lines start in column 0)", cur.line)
			}
			continue
		}
		cur = nil
		stripped := stripComment(body, true)
		key, val, hasEq, ok := p.split(n, stripped)
		if !ok {
			if key == "supervised" && !hasEq {
				p.c.Supervised = true
				p.el.Warn(n, "supervised: please update your config not to use a bare supervised directive")
			}
			continue
		}
		if key == "virtual" || key == "virtual6" {
			cur = p.openVirtual(n, key, val)
			continue
		}
		raw := val
		if d, found := directives[key]; found && d.raw {
			_, rv, _ := strings.Cut(strings.TrimRight(body, " \t\f\v\r"), "=")
			raw = strings.TrimSpace(rv)
			if raw != val {
				p.el.Warn(n, "%s: inline comment kept as part of the value, as classic ldirectord does; put comments on their own line", key)
			}
		}
		p.directive(nil, n, key, raw)
	}
	for _, b := range p.blocks {
		p.finish(b)
	}
	p.checkDuplicates()
}

// stripComment cuts an inline comment and trailing blanks. Inside a block
// any '#' outside double quotes starts a comment (as the classic, which
// also cut inside quotes); at global level the '#' must follow a blank,
// since the classic kept global values whole.
func stripComment(s string, global bool) string {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote && (!global || i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
				s = s[:i]
				return strings.TrimRight(s, " \t\f\v\r")
			}
		}
	}
	return strings.TrimRight(s, " \t\f\v\r")
}

var keyRE = regexp.MustCompile(`^[a-z0-9]+$`)

// split cuts "key = value"; ok is false (with an error, except for a bare
// word, which the caller may accept) when the line is not of that form.
func (p *parser) split(n int, s string) (key, val string, hasEq, ok bool) {
	k, v, hasEq := strings.Cut(s, "=")
	key = strings.TrimSpace(k)
	if !hasEq {
		if key != "supervised" {
			p.el.Add(n, "unknown directive %q (expected key = value)", key)
		}
		return key, "", false, false
	}
	if !keyRE.MatchString(key) {
		p.el.Add(n, "unknown directive %q", key)
		return key, "", true, false
	}
	return key, strings.TrimSpace(v), true, true
}

// directive dispatches one key to its handler, checking its scope.
func (p *parser) directive(b *vblock, n int, key, val string) {
	d, ok := directives[key]
	switch {
	case key == "virtual" || key == "virtual6":
		p.el.Add(n, "%s: a virtual block cannot be indented", key)
		return
	case !ok:
		p.el.Add(n, "unknown directive %q", key)
		return
	case b == nil && d.scope&global == 0:
		p.el.Add(n, "%s: only allowed inside a virtual block (indent it below virtual=)", key)
		return
	case b != nil && d.scope&inVirtual == 0:
		p.el.Add(n, "%s: global directive inside the virtual block of line %d (global lines start in column 0)", key, b.line)
		return
	}
	if b != nil {
		b.set[key] = n
	}
	d.fn(p, b, n, key, val)
}

// seconds parses a positive time in seconds, fractions allowed. Like the
// classic, a value with other text around its digits is read as the
// first run of digits, with a warning.
func (p *parser) seconds(n int, key, val string, zeroOK bool) (time.Duration, bool) {
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(val, "xXpPeE_") {
		i, ok := p.lenientInt(n, key, val)
		if !ok {
			p.el.Add(n, "%s: invalid value %q: want seconds", key, val)
			return 0, false
		}
		f = float64(i)
	}
	if f < 0 || (f == 0 && !zeroOK) {
		p.el.Add(n, "%s: invalid value %q: must be greater than 0", key, val)
		return 0, false
	}
	if f > 31*24*3600 {
		p.el.Add(n, "%s: invalid value %q: more than 31 days", key, val)
		return 0, false
	}
	d := time.Duration(math.Round(f * float64(time.Second)))
	if d == 0 && !zeroOK {
		p.el.Add(n, "%s: invalid value %q: less than a nanosecond", key, val)
		return 0, false
	}
	return d, true
}

var digitsRE = regexp.MustCompile(`\d+`)

// lenientInt reads the first run of digits of a value that is not a plain
// number, warning that the classic did the same.
func (p *parser) lenientInt(n int, key, val string) (int, bool) {
	m := digitsRE.FindString(val)
	if m == "" {
		return 0, false
	}
	i, err := strconv.Atoi(m)
	if err != nil || i > math.MaxInt32 {
		return 0, false
	}
	p.el.Warn(n, "%s: %q read as %d, as classic ldirectord does; write %d", key, val, i, i)
	return i, true
}

// integer parses a whole number ≥ min, leniently like the classic.
func (p *parser) integer(n int, key, val string, min, max int) (int, bool) {
	i, err := strconv.Atoi(val)
	if err != nil {
		var ok bool
		if i, ok = p.lenientInt(n, key, val); !ok {
			p.el.Add(n, "%s: invalid value %q: want a whole number", key, val)
			return 0, false
		}
	}
	if i < min || i > max {
		p.el.Add(n, "%s: invalid value %q: must be %d..%d", key, val, min, max)
		return 0, false
	}
	return i, true
}

func (p *parser) timeoutKey(b *vblock, n int, key, val string) {
	d, ok := p.seconds(n, key, val, false)
	if !ok {
		return
	}
	var t *time.Duration
	switch {
	case b == nil && key == "checktimeout":
		t = &p.c.CheckTimeout
	case b == nil && key == "negotiatetimeout":
		t = &p.c.NegotiateTimeout
	case b == nil:
		t = &p.c.CheckInterval
	case key == "checktimeout":
		t = &b.v.CheckTimeout
	case key == "negotiatetimeout":
		t = &b.v.NegotiateTimeout
	default:
		t = &b.v.CheckInterval
	}
	*t = d
}

func (p *parser) countKey(b *vblock, n int, key, val string) {
	i, ok := p.integer(n, key, val, 1, math.MaxInt32)
	if !ok {
		return
	}
	if key == "checkcount" {
		p.el.Warn(n, "checkcount: option is deprecated and slated for removal; please see 'failurecount'")
	}
	var t *int
	switch {
	case b == nil && key == "checkcount":
		t = &p.c.CheckCount
	case b == nil && key == "failurecount":
		t = &p.c.FailureCount
	case b == nil:
		t = &p.c.RiseCount
	case key == "checkcount":
		t = &b.v.CheckCount
	case key == "failurecount":
		t = &b.v.FailureCount
	default:
		t = &b.v.RiseCount
	}
	*t = i
}

func (p *parser) yesNoKey(b *vblock, n int, key, val string) {
	var v bool
	switch val {
	case "yes":
		v = true
	case "no":
	default:
		p.el.Add(n, "%s: must be 'yes' or 'no', not %q", key, val)
		return
	}
	if b != nil {
		switch key {
		case "quiescent":
			b.v.Quiescent = v
		case "cleanstop":
			b.v.CleanStop = v
		case "ops":
			b.v.OPS = v
		case "tlsverify":
			b.v.TLSVerify = v
		case "checkkeepalive":
			b.v.CheckKeepAlive = v
		}
		return
	}
	switch key {
	case "autoreload":
		p.c.AutoReload = v
	case "fork":
		p.c.Fork = v
		if v {
			p.el.Warn(n, "fork: unnecessary in hasuite, which checks every real server concurrently on its own timer; accepted and ignored")
		}
	case "supervised":
		p.c.Supervised = v
	case "readdquiescent":
		p.c.ReaddQuiescent = v
	case "quiescent":
		p.c.Quiescent = v
	case "cleanstop":
		p.c.CleanStop = v
	case "tlsverify":
		p.c.TLSVerify = v
	case "checkkeepalive":
		p.c.CheckKeepAlive = v
	}
}

// tlsCAFile takes an absolute path (quotes optional) to a PEM bundle with at
// least one certificate; it is read here so a bad file fails at start or
// reload, not at every check.
func (p *parser) tlsCAFile(b *vblock, n int, key, val string) {
	path := unquote(val)
	switch {
	case path == "":
		p.el.Add(n, "tlscafile: empty value")
		return
	case !strings.HasPrefix(path, "/"):
		p.el.Add(n, "tlscafile: %q is not an absolute path", path)
		return
	}
	pem, err := p.opts.ReadFile(path)
	if err != nil {
		p.el.Add(n, "tlscafile: cannot read the CA file: %v", err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		p.el.Add(n, "tlscafile: %s holds no PEM certificate", path)
		return
	}
	if b == nil {
		p.c.TLSCAFile = path
	} else {
		b.v.TLSCAFile = path
	}
}

// quoted returns the text between the first and the last double quote
// of val, which must start with one.
func (p *parser) quoted(n int, key, val string, nonEmpty bool) (string, bool) {
	if !strings.HasPrefix(val, `"`) || strings.Count(val, `"`) < 2 {
		p.el.Add(n, "%s: the value must be in double quotes", key)
		return "", false
	}
	last := strings.LastIndexByte(val, '"')
	s := val[1:last]
	if rest := strings.TrimSpace(val[last+1:]); rest != "" {
		p.el.Warn(n, "%s: text after the closing quote ignored: %q", key, rest)
	}
	if nonEmpty && s == "" {
		p.el.Add(n, "%s: empty value", key)
		return "", false
	}
	return s, true
}

// unquote strips one pair of enclosing double quotes.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

var facilities = []string{"auth", "authpriv", "cron", "daemon", "ftp", "kern", "local0", "local1",
	"local2", "local3", "local4", "local5", "local6", "local7", "lpr", "mail", "news", "syslog", "user", "uucp"}

func (p *parser) logfile(_ *vblock, n int, key, val string) {
	s, ok := p.quoted(n, key, val, true)
	if !ok {
		return
	}
	if !strings.HasPrefix(s, "/") && !slices.Contains(facilities, s) {
		p.el.Add(n, "logfile: %q is neither an absolute path nor a syslog facility", s)
		return
	}
	p.c.LogFile = s
}

func (p *parser) execute(_ *vblock, n int, key, val string) {
	if val == "" {
		p.el.Add(n, "execute: no configuration named")
		return
	}
	if !slices.Contains(p.c.Execute, val) {
		p.c.Execute = append(p.c.Execute, val)
	}
}

func (p *parser) fallbackKey(b *vblock, n int, key, val string) {
	if b == nil {
		fam := 4
		if key == "fallback6" {
			fam = 6
		}
		fb, ok := p.parseFallback(n, key, val, fam, "")
		if !ok {
			return
		}
		if fam == 4 {
			p.c.Fallback = fb
		} else {
			p.c.Fallback6 = fb
		}
		return
	}
	if (b.family == 4) != (key == "fallback") {
		want := "fallback"
		if b.family == 6 {
			want = "fallback6"
		}
		p.el.Add(n, "cannot specify %q here; please use %q instead", key, want)
		return
	}
	b.fallback = &rawItem{val, n}
}

func (p *parser) fallbackCommand(b *vblock, n int, key, val string) {
	if b != nil {
		val = unquote(val)
	}
	if val == "" {
		p.el.Add(n, "fallbackcommand: invalid fallback command (empty)")
		return
	}
	if b == nil {
		p.c.FallbackCommand = val
	} else {
		b.v.FallbackCommand = val
	}
}

var emailRE = regexp.MustCompile(`^"([^"]*)"$`)

func (p *parser) emailAlert(b *vblock, n int, key, val string) {
	if m := emailRE.FindStringSubmatch(val); m != nil {
		val = m[1]
	}
	if val == "" {
		p.el.Add(n, "emailalert: no email address specified")
		return
	}
	if b == nil {
		p.c.EmailAlert = val
	} else {
		b.v.EmailAlert = val
	}
}

func (p *parser) emailAlertFreq(b *vblock, n int, key, val string) {
	i, ok := p.integer(n, key, val, 0, math.MaxInt32)
	if !ok {
		return
	}
	d := time.Duration(i) * time.Second
	if b == nil {
		p.c.EmailAlertFreq = d
	} else {
		b.v.EmailAlertFreq = d
	}
}

// emailStatus parses all, none or a comma list of daemon states.
func (p *parser) emailStatus(n int, val string) (Status, bool) {
	items := regexp.MustCompile(`\s*,\s*`).Split(val, -1)
	var s Status
	ok := true
	none := slices.Contains(items, "none")
	for _, it := range items {
		switch it {
		case "none":
			if len(items) > 1 {
				ok = false
			}
			continue
		case "all":
			s = StatusAll
		case "starting":
			s |= Starting
		case "running":
			s |= Running
		case "stopping":
			s |= Stopping
		case "reloading":
			s |= Reloading
		default:
			p.el.Add(n, "emailalertstatus: invalid email alert status at: %q", it)
			ok = false
			continue
		}
		if none {
			p.el.Add(n, "emailalertstatus: invalid email alert status: %q specified with \"none\"", it)
		}
	}
	return s, ok
}

var (
	smtpHostRE   = regexp.MustCompile(`^[0-9A-Za-z._+-]+$`)
	smtpPrefixRE = regexp.MustCompile(`^[0-9A-Za-z._+-]+`)
)

// smtp takes the alert relay: host, host:port, [v6]:port or an IPv6
// address (port 25 when omitted). Classic took only the leading run of
// host characters and dropped the rest, port included; other values with
// such a prefix are read that way, with a warning.
func (p *parser) smtp(b *vblock, n int, key, val string) {
	relay, ok := smtpRelay(val)
	if !ok {
		prefix := smtpPrefixRE.FindString(val)
		if prefix == "" {
			p.el.Add(n, "smtp: invalid SMTP server address %q", val)
			return
		}
		p.el.Warn(n, "smtp: %q read as %q, as classic ldirectord does; write host or host:port", val, prefix)
		relay = prefix
	}
	if b == nil {
		p.c.SMTP = relay
	} else {
		b.v.SMTP = relay
	}
}

// smtpRelay checks a relay address: "host", "host:port" or "[v6]:port"
// are kept; an IPv6 address alone, bracketed or not, becomes the bare
// address (the daemon adds ":25" as "[v6]:25").
func smtpRelay(val string) (string, bool) {
	if smtpHostRE.MatchString(val) {
		return val, true
	}
	bracketed := strings.HasPrefix(val, "[") && strings.HasSuffix(val, "]")
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(val, "["), "]")); err == nil && a.Is6() && a.Zone() == "" &&
		(bracketed || !strings.ContainsAny(val, "[]")) {
		return a.String(), true
	}
	host, port, err := net.SplitHostPort(val)
	if err != nil || !portNameRE.MatchString(port) {
		return "", false
	}
	if i, err := strconv.Atoi(port); err == nil && (i < 1 || i > 65535) {
		return "", false
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" && strings.HasPrefix(val, "[") == a.Is6() {
		return val, true
	}
	return val, smtpHostRE.MatchString(host) && !strings.HasPrefix(val, "[")
}

func (p *parser) realKey(b *vblock, n int, key, val string) {
	if (b.family == 4) != (key == "real") {
		want := "real"
		if b.family == 6 {
			want = "real6"
		}
		p.el.Add(n, "cannot specify %q here; please use %q instead", key, want)
		return
	}
	b.reals = append(b.reals, rawItem{val, n})
}

// stringKey handles the values that must be quoted.
func (p *parser) stringKey(b *vblock, n int, key, val string) {
	s, ok := p.quoted(n, key, val, true)
	if !ok {
		return
	}
	switch key {
	case "request":
		b.v.Request = slashed(s)
	case "receive":
		b.v.Receive = s
	case "login":
		b.v.Login = s
	case "passwd":
		b.v.Passwd = s
	case "database":
		b.v.Database = s
	case "secret":
		b.v.Secret = s
	case "load":
		// Accepted and unused, as in the classic.
	}
}

// slashed gives a request its leading '/', unless it is a full URL.
func slashed(s string) string {
	if strings.HasPrefix(s, "/") || strings.Contains(s, "://") {
		return s
	}
	return "/" + s
}

// optQuotedKey handles the values whose enclosing quotes are optional.
func (p *parser) optQuotedKey(b *vblock, n int, key, val string) {
	s := unquote(val)
	if s == "" && key != "servicename" && key != "comment" {
		p.el.Add(n, "%s: empty value", key)
		return
	}
	switch key {
	case "checkcommand":
		b.v.CheckCommand = s
	case "virtualhost":
		b.v.VirtualHost = s
	case "monitorfile":
		b.v.MonitorFile = s
	case "servicename":
		b.v.ServiceName = val
	case "comment":
		b.v.Comment = val
	}
}

var checkTypes = []string{CheckConnect, CheckNegotiate, CheckPing, CheckOff, CheckOn, CheckExternal, CheckExternalPerl}

func (p *parser) checkType(b *vblock, n int, key, val string) {
	if slices.Contains(checkTypes, val) {
		b.v.CheckType = val
		return
	}
	if digitsRE.MatchString(val) {
		i, ok := p.integer(n, key, val, 0, math.MaxInt32)
		if ok {
			b.v.CheckType, b.v.CombinedN = CheckCombined, i
		}
		return
	}
	p.el.Add(n, `checktype: must be "connect", "negotiate", "on", "off", "ping", "external", "external-perl" or a positive number, not %q`, val)
}

func (p *parser) checkPort(b *vblock, n int, key, val string) {
	if i, ok := p.integer(n, key, val, 1, 65535); ok {
		b.v.CheckPort = uint16(i)
	}
}

var schedRE = regexp.MustCompile(`^[a-z]+$`)

func (p *parser) scheduler(b *vblock, n int, key, val string) {
	if !schedRE.MatchString(val) {
		p.el.Add(n, "scheduler: invalid scheduler %q, should be only lowercase letters (a-z)", val)
		return
	}
	b.v.Scheduler = val
}

func (p *parser) persistent(b *vblock, n int, key, val string) {
	if i, ok := p.integer(n, key, val, 1, 31*24*3600); ok {
		b.v.Persistent = time.Duration(i) * time.Second
	}
}

func (p *parser) netmask(b *vblock, n int, key, val string) {
	if b.family == 6 {
		i, err := strconv.Atoi(val)
		if err != nil || i < 1 || i > 128 {
			p.el.Add(n, "netmask: invalid netmask %q: a prefix length between 1 and 128 is required", val)
			return
		}
		b.v.Netmask = i
		return
	}
	bits, ok := dottedMask(val)
	if !ok {
		p.el.Add(n, "netmask: invalid netmask %q: a contiguous dotted quad is required", val)
		return
	}
	b.v.Netmask = bits
}

// dottedMask returns the prefix length of a contiguous dotted-quad mask.
func dottedMask(s string) (int, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, false
	}
	var m uint32
	for _, part := range parts {
		if part == "" || len(part) > 3 || strings.Trim(part, "0123456789") != "" {
			return 0, false
		}
		o, _ := strconv.Atoi(part)
		if o > 255 {
			return 0, false
		}
		m = m<<8 | uint32(o)
	}
	bits := 0
	for m&(1<<31) != 0 {
		bits++
		m <<= 1
	}
	if m != 0 || bits == 0 {
		return 0, false
	}
	return bits, true
}

var schedFlagNames = []string{"flag-1", "flag-2", "flag-3", "sh-fallback", "sh-port", "mh-fallback", "mh-port"}

func (p *parser) schedFlags(b *vblock, n int, key, val string) {
	if val == "" {
		p.el.Add(n, "schedflags: invalid sched-flags (empty)")
		return
	}
	var flags []string
	for _, f := range strings.Split(val, ",") {
		if !slices.Contains(schedFlagNames, f) {
			p.el.Add(n, "schedflags: unknown flag %q (want %s)", f, strings.Join(schedFlagNames, ", "))
			return
		}
		flags = append(flags, f)
	}
	b.v.SchedFlags = flags
}

func (p *parser) protocol(b *vblock, n int, key, val string) {
	if b.host == "" {
		if val != "fwm" {
			p.el.Add(n, "protocol: must be fwm if the virtual service is a fwmark (a number), not %q", val)
		}
		return
	}
	if val != "tcp" && val != "udp" {
		p.el.Add(n, "protocol: must be tcp or udp if the virtual service is an address and port, not %q", val)
		return
	}
	b.v.Proto = val
}

var services = []string{"dns", "ftp", "http", "https", "http_proxy", "imap", "imaps", "ldap", "ldaps",
	"mysql", "nntp", "none", "oracle", "pop", "pops", "radius", "pgsql", "simpletcp", "sip", "smtp", "submission"}

func (p *parser) service(b *vblock, n int, key, val string) {
	if !slices.Contains(services, val) {
		p.el.Add(n, "service: must be dns, ftp, http, https, http_proxy, imap, imaps, ldap, ldaps, mysql, nntp, none, oracle, pop, pops, radius, pgsql, simpletcp, sip, smtp or submission, not %q", val)
		return
	}
	b.v.Service = val
}

func (p *parser) httpMethod(b *vblock, n int, key, val string) {
	m := strings.ToUpper(val)
	if m != "GET" && m != "HEAD" {
		p.el.Add(n, "httpmethod: must be GET or HEAD, not %q", val)
		return
	}
	b.v.HTTPMethod = m
}
