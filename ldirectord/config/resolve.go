// Virtual blocks: addresses, real servers, fallbacks and inherited values.
package config

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	hostPortRE = regexp.MustCompile(`^([0-9A-Za-z._+-]+):([0-9A-Za-z_-]+)$`)
	v6PortRE   = regexp.MustCompile(`^\[([0-9A-Fa-f:.]+)\]:([0-9A-Za-z_-]+)$`)
	hostRE     = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z._-]+)$`)
	portNameRE = regexp.MustCompile(`^[0-9A-Za-z_-]+$`)
)

// tlsServices are the negotiate services tlsverify and tlscafile apply to
// (http for https redirects; smtp and submission when STARTTLS is offered).
var tlsServices = []string{"http", "https", "http_proxy", "imaps", "pops", "ldaps", "smtp", "submission"}

// maxRange caps the reals one a->b range may expand to.
const maxRange = 65536

// openVirtual starts a block for "virtual[6] = value".
func (p *parser) openVirtual(n int, key, val string) *vblock {
	b := &vblock{line: n, family: 4, set: map[string]int{}}
	if key == "virtual6" {
		b.family = 6
	}
	b.v = Virtual{Family: b.family, Line: n, Proto: "tcp", Scheduler: "wrr", CheckType: CheckNegotiate,
		CheckCommand: "/bin/true", Request: "/", HTTPMethod: "GET"}
	p.blocks = append(p.blocks, b)
	switch {
	case val != "" && strings.Trim(val, "0123456789") == "":
		m, err := strconv.ParseUint(val, 10, 32)
		if err != nil || m == 0 {
			p.el.Add(n, "%s: invalid fwmark %q: must be 1..%d", key, val, uint32(math.MaxUint32))
			b.quiet = true
			break
		}
		b.v.FWMark, b.v.Proto, b.v.Service = uint32(m), "fwm", "none"
	case strings.HasPrefix(val, "["):
		m := v6PortRE.FindStringSubmatch(val)
		if b.family == 4 {
			p.el.Add(n, "virtual: cannot specify an IPv6 address here; please use \"virtual6\" instead")
			b.quiet = true
			break
		}
		if m == nil {
			p.el.Add(n, "virtual6: invalid address %q: want [IPv6]:port or a fwmark", val)
			b.quiet = true
			break
		}
		b.host, b.portText = m[1], m[2]
	default:
		m := hostPortRE.FindStringSubmatch(val)
		if m == nil {
			p.el.Add(n, "%s: invalid address for virtual server %q: want host:port or a fwmark", key, val)
			b.quiet = true
			break
		}
		b.host, b.portText = m[1], m[2]
	}
	if b.portText == "53" || b.portText == "domain" {
		b.v.Proto = "udp"
	}
	return b
}

// resolveHost returns host's address of the family: a literal, or the
// first answer of the resolver.
func (p *parser) resolveHost(host string, family int) (netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is4() != (family == 4) || a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("not an IPv%d address", family)
		}
		return a, nil
	}
	if strings.ContainsAny(host, ":[]") {
		return netip.Addr{}, fmt.Errorf("invalid address")
	}
	a, err := p.opts.LookupHost(p.ctx, host, family)
	if err != nil {
		return netip.Addr{}, err
	}
	a = a.Unmap()
	if !a.IsValid() || a.Is4() != (family == 4) {
		return netip.Addr{}, fmt.Errorf("resolver gave no IPv%d address", family)
	}
	return a, nil
}

// resolvePort reads a number 0..65535 or looks up a service name.
func (p *parser) resolvePort(text, proto string) (uint16, error) {
	if strings.Trim(text, "0123456789") == "" && text != "" {
		i, err := strconv.Atoi(text)
		if err != nil || i > 65535 {
			return 0, fmt.Errorf("port out of range 0..65535")
		}
		return uint16(i), nil
	}
	if !portNameRE.MatchString(text) {
		return 0, fmt.Errorf("invalid port")
	}
	i, err := p.opts.LookupPort(p.ctx, text, proto)
	if err != nil {
		return 0, err
	}
	if i < 0 || i > 65535 {
		return 0, fmt.Errorf("port %d out of range", i)
	}
	return uint16(i), nil
}

// finish resolves a block into its Virtual, applying defaults.
func (p *parser) finish(b *vblock) {
	v := &b.v
	id := "virtual " + strconv.Itoa(b.line)
	if b.host != "" && !b.quiet {
		a, err := p.resolveHost(b.host, b.family)
		port, perr := p.resolvePort(b.portText, v.Proto)
		switch {
		case err != nil:
			p.el.Add(b.line, "virtual: invalid address for virtual server %q (could not resolve host: %v)", b.host, err)
			b.quiet = true
		case perr != nil:
			p.el.Add(b.line, "virtual: invalid port %q for virtual server (%v)", b.portText, perr)
			b.quiet = true
		default:
			v.Addr, v.Port = a, port
		}
	}
	if !b.quiet {
		id = v.ID()
	}
	if v.Service == "" {
		v.Service = portService(v.Port)
	}
	switch v.Service {
	case "ftp":
		if v.Login == "" {
			v.Login = "anonymous"
		}
		if v.Passwd == "" {
			v.Passwd = "ldirectord@" + p.opts.Hostname
		}
	case "sip":
		if v.Login == "" {
			v.Login = "ldirectord@" + p.opts.Hostname
		}
	}
	c := p.c
	// §2.4: a virtual-level value beats both global ones.
	ct, nt := v.CheckTimeout, v.NegotiateTimeout
	v.CheckTimeout = firstSet(ct, nt, c.CheckTimeout, c.NegotiateTimeout, DefaultCheckTimeout)
	v.NegotiateTimeout = firstSet(nt, ct, c.NegotiateTimeout, c.CheckTimeout, DefaultNegotiateTimeout)
	if b.set["checkinterval"] != 0 && !c.Fork {
		p.el.Warn(b.set["checkinterval"], "checkinterval in virtual service %s is used although fork=no: hasuite checks every real server on its own timer (classic ldirectord ignored it)", id)
	}
	v.CheckInterval = firstSet(v.CheckInterval, c.CheckInterval)
	if b.set["checkcount"] == 0 {
		v.CheckCount = c.CheckCount
	}
	if b.set["failurecount"] == 0 {
		v.FailureCount = c.FailureCount
	}
	if b.set["risecount"] == 0 {
		v.RiseCount = c.RiseCount
	}
	if b.set["quiescent"] == 0 {
		v.Quiescent = c.Quiescent
	}
	if b.set["cleanstop"] == 0 {
		v.CleanStop = c.CleanStop
	}
	if b.set["emailalert"] == 0 {
		v.EmailAlert = c.EmailAlert
	}
	if b.set["emailalertfreq"] == 0 {
		v.EmailAlertFreq = c.EmailAlertFreq
	}
	if b.set["emailalertstatus"] == 0 {
		v.EmailAlertStatus = c.EmailAlertStatus
	}
	if b.set["smtp"] == 0 {
		v.SMTP = c.SMTP
	}
	if b.set["fallbackcommand"] == 0 {
		v.FallbackCommand = c.FallbackCommand
	}
	if b.set["tlsverify"] == 0 {
		v.TLSVerify = c.TLSVerify
	}
	if b.set["tlscafile"] == 0 {
		v.TLSCAFile = c.TLSCAFile
	}
	for _, key := range []string{"tlsverify", "tlscafile"} {
		if b.set[key] != 0 && !slices.Contains(tlsServices, v.Service) {
			p.el.Warn(b.set[key], "%s in virtual service %s has no effect: service %s does not use TLS", key, id, v.Service)
		}
	}
	if b.set["tlscafile"] != 0 && !v.TLSVerify && slices.Contains(tlsServices, v.Service) {
		p.el.Warn(b.set["tlscafile"], "tlscafile in virtual service %s is unused: tlsverify is no", id)
	}
	if b.set["checkkeepalive"] == 0 {
		v.CheckKeepAlive = c.CheckKeepAlive
	} else if v.CheckKeepAlive && (v.Service != "http" || v.CheckType != CheckNegotiate && v.CheckType != CheckCombined) {
		p.el.Warn(b.set["checkkeepalive"], "checkkeepalive in virtual service %s has no effect: only negotiate checks of service http keep their connection (checktype %s, service %s)", id, v.CheckType, v.Service)
	}
	if v.OPS && v.Proto != "udp" {
		p.el.Warn(b.set["ops"], "ops in virtual service %s ignored: one-packet scheduling applies to udp only", id)
		v.OPS = false
	}
	if v.Netmask != 0 && v.Persistent == 0 {
		p.el.Warn(b.set["netmask"], "netmask in virtual service %s ignored without persistent", id)
	}
	if b.fallback != nil {
		proto := v.Proto
		if proto == "fwm" {
			proto = ""
		}
		if fb, ok := p.parseFallback(b.fallback.line, "fallback", b.fallback.text, b.family, proto); ok {
			if fb.Port == 0 {
				fb.Port = v.Port
			}
			v.Fallback = fb
		}
	} else if v.Proto != "fwm" {
		g := c.Fallback
		if b.family == 6 {
			g = c.Fallback6
		}
		if g != nil {
			fb := *g
			if fb.Port == 0 {
				fb.Port = v.Port
			}
			v.Fallback = &fb
		}
	}
	seen := map[netip.AddrPort]int{}
	for _, r := range b.reals {
		for _, real := range p.parseReal(b, r) {
			k := netip.AddrPortFrom(real.Addr, real.Port)
			if first, dup := seen[k]; dup {
				p.el.Warn(r.line, "real server %s repeats the one of line %d in virtual service %s; ignored", k, first, id)
				continue
			}
			seen[k] = r.line
			v.Reals = append(v.Reals, real)
		}
	}
	if b.quiet {
		return
	}
	c.Virtuals = append(c.Virtuals, *v)
}

// firstSet returns the first non-zero duration.
func firstSet(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d != 0 {
			return d
		}
	}
	return 0
}

// portService is the classic's default service for a virtual port.
func portService(port uint16) string {
	switch port {
	case 21:
		return "ftp"
	case 25:
		return "smtp"
	case 53:
		return "dns"
	case 80:
		return "http"
	case 110:
		return "pop"
	case 119:
		return "nntp"
	case 143:
		return "imap"
	case 389:
		return "ldap"
	case 443:
		return "https"
	case 587:
		return "submission"
	case 636:
		return "ldaps"
	case 993:
		return "imaps"
	case 995:
		return "pops"
	case 1521:
		return "oracle"
	case 1812:
		return "radius"
	case 3128:
		return "http_proxy"
	case 3306:
		return "mysql"
	case 5060:
		return "sip"
	case 5432:
		return "pgsql"
	}
	return "none"
}

// ServicePort is the default port of a service, 0 for none; checks use it
// when neither checkport nor the real's port is set.
func ServicePort(service string) uint16 {
	for _, p := range []uint16{21, 25, 53, 80, 110, 119, 143, 389, 443, 587, 636, 993, 995, 1521, 1812, 3128, 3306, 5060, 5432} {
		if portService(p) == service {
			return p
		}
	}
	return 0
}

// splitHostPort cuts "host[:port]" where host may be "[v6]".
func splitHostPort(s string) (host, port string, hasPort bool) {
	i := strings.LastIndexByte(s, ']')
	j := strings.LastIndexByte(s, ':')
	if j > i {
		return s[:j], s[j+1:], true
	}
	return s, "", false
}

// parseFallback reads "host[:port] [gate|masq|ipip]"; proto "" looks a
// port name up for either protocol.
func (p *parser) parseFallback(n int, key, val string, family int, proto string) (*Fallback, bool) {
	f := strings.Fields(val)
	if len(f) == 0 || len(f) > 2 {
		p.el.Add(n, "%s: invalid fallback server %q: want host[:port] [gate|masq|ipip]", key, val)
		return nil, false
	}
	fb := &Fallback{Method: Gate, Line: n}
	if len(f) == 2 {
		m := Method(f[1])
		if m != Gate && m != Masq && m != IPIP {
			p.el.Add(n, "%s: forward method must be gate, masq or ipip, not %q", key, f[1])
			return nil, false
		}
		fb.Method = m
	}
	host, port, hasPort := splitHostPort(f[0])
	if !hostRE.MatchString(host) {
		p.el.Add(n, "%s: invalid fallback server %q", key, f[0])
		return nil, false
	}
	a, err := p.resolveHost(host, family)
	if err != nil {
		p.el.Add(n, "%s: invalid IPv%d address or could not resolve for fallback server: %s (%v)", key, family, host, err)
		return nil, false
	}
	fb.Addr = a
	if hasPort {
		pt, err := p.resolvePort(port, proto)
		if err != nil {
			p.el.Add(n, "%s: invalid port %q for fallback server (%v)", key, port, err)
			return nil, false
		}
		fb.Port = pt
	}
	return fb, true
}

// token is one word of a real= line after the address.
type token struct {
	s      string
	quoted bool
	comma  bool // a comma came right before it
}

// tokens splits on blanks and commas, keeping "quoted strings" whole.
func tokens(s string) ([]token, error) {
	var out []token
	comma := false
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == ',':
			if comma {
				return nil, fmt.Errorf("two commas")
			}
			comma = true
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			out = append(out, token{s[i+1 : i+1+j], true, comma})
			comma = false
			i += j + 2
		default:
			j := strings.IndexAny(s[i:], " \t,\"")
			if j < 0 {
				j = len(s) - i
			}
			out = append(out, token{s[i : i+j], false, comma})
			comma = false
			i += j
		}
	}
	if comma {
		return nil, fmt.Errorf("trailing comma")
	}
	return out, nil
}

var threshRE = regexp.MustCompile(`^([lu]):(\d+)$`)

// parseReal reads "HOST[->HOST2][:port] method [weight] ["req", "rcv"]
// [l:N] [u:N]" into one real per address.
func (p *parser) parseReal(b *vblock, r rawItem) []Real {
	n := r.line
	spec, rest, _ := strings.Cut(strings.TrimSpace(r.text), " ")
	if i := strings.IndexByte(spec, '\t'); i >= 0 {
		spec, rest = spec[:i], spec[i+1:]+" "+rest
	}
	bad := func(format string, args ...any) []Real {
		p.el.Add(n, "real %q: "+format, append([]any{spec}, args...)...)
		return nil
	}
	hosts, port, hasPort := splitHostPort(spec)
	first, last, isRange := strings.Cut(hosts, "->")
	if !hostRE.MatchString(first) || (isRange && !hostRE.MatchString(last)) {
		return bad("invalid address for real server (wrong format)")
	}
	real := Real{Weight: 1, Line: n, Request: b.v.Request, Receive: b.v.Receive}
	if hasPort {
		pt, err := p.resolvePort(port, "")
		if err != nil {
			return bad("invalid port %q for real server (%v)", port, err)
		}
		real.Port = pt
	}
	toks, err := tokens(rest)
	if err != nil {
		return bad("invalid real server line: %v", err)
	}
	if len(toks) == 0 {
		return bad("forward method must be gate, masq or ipip")
	}
	if m := Method(toks[0].s); toks[0].quoted || (m != Gate && m != Masq && m != IPIP) {
		return bad("forward method must be gate, masq or ipip, not %q", toks[0].s)
	}
	real.Method = Method(toks[0].s)
	toks = toks[1:]
	if len(toks) > 0 && !toks[0].quoted && !toks[0].comma && strings.Trim(toks[0].s, "0123456789") == "" {
		w, err := strconv.Atoi(toks[0].s)
		if err != nil || w > 65535 {
			return bad("weight %q out of range 0..65535", toks[0].s)
		}
		real.Weight = w
		toks = toks[1:]
	}
	if len(toks) > 0 && toks[0].quoted {
		if len(toks) < 2 || !toks[1].quoted {
			return bad("the request must be followed by a quoted receive string")
		}
		real.Request, real.Receive = slashed(toks[0].s), toks[1].s
		toks = toks[2:]
	}
	var gotL, gotU bool
	for _, t := range toks {
		m := threshRE.FindStringSubmatch(t.s)
		switch {
		case m != nil && t.quoted:
			return bad("%q must not be quoted", t.s)
		case m == nil || t.comma:
			return bad("invalid real server line, around %q", t.s)
		}
		v, err := strconv.Atoi(m[2])
		if err != nil || v > math.MaxInt32 {
			return bad("threshold %q out of range", t.s)
		}
		if (m[1] == "l" && gotL) || (m[1] == "u" && gotU) {
			return bad("%s: given twice", m[1])
		}
		if m[1] == "l" {
			real.LThresh, gotL = v, true
		} else {
			real.UThresh, gotU = v, true
		}
	}
	a, err := p.resolveHost(first, b.family)
	if err != nil {
		return bad("invalid address (%s) for real server (could not resolve host: %v)", first, err)
	}
	if !isRange {
		real.Addr = a
		return []Real{real}
	}
	if b.family == 6 {
		return bad("address ranges are IPv4 only")
	}
	z, err := p.resolveHost(last, 4)
	if err != nil {
		return bad("invalid address (%s) for real server (could not resolve end host: %v)", last, err)
	}
	lo, hi := v4int(a), v4int(z)
	if lo > hi {
		return bad("invalid range %s-%s: the first address must not be greater than the last", a, z)
	}
	if hi-lo >= maxRange {
		return bad("range of %d addresses is too large (limit %d)", uint64(hi-lo)+1, maxRange)
	}
	out := make([]Real, 0, hi-lo+1)
	for i := lo; ; i++ {
		real.Addr = netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		out = append(out, real)
		if i == hi {
			break
		}
	}
	return out
}

func v4int(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// checkDuplicates rejects two virtual blocks with the same identity.
func (p *parser) checkDuplicates() {
	seen := map[string]int{}
	for _, v := range p.c.Virtuals {
		id := v.ID()
		if first, dup := seen[id]; dup {
			p.el.Add(v.Line, "virtual: duplicate virtual server %s (first on line %d)", id, first)
			continue
		}
		seen[id] = v.Line
	}
}
