// memberlist.go: the `membership memberlist` directives (N-node membership
// over hashicorp/memberlist, issue 9), their defaults and start-up checks.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hasuite/hasuite/internal/conferr"
	"github.com/hasuite/hasuite/internal/hbtime"
)

// Memberlist is the configuration of `membership memberlist`: addresses
// are normalised to "addr:port" (seeds "host:port", IPv6 in brackets).
type Memberlist struct {
	Bind      string   // memberlist_bind: this node's listen address (TCP and UDP)
	Advertise string   // memberlist_advertise: address peers use; "" = Bind
	Seeds     []string // memberlist_seeds: peers to join

	ProbeInterval  time.Duration // memberlist_probe_interval
	ProbeTimeout   time.Duration // memberlist_probe_timeout
	GossipInterval time.Duration // memberlist_gossip_interval
	SuspicionMult  int           // memberlist_suspicion_mult
}

// Memberlist defaults (docs/ha.cf.5.md, MEMBERSHIP FOR MORE THAN TWO NODES).
const (
	DefaultMemberlistPort  = 7946
	DefaultProbeInterval   = 200 * time.Millisecond
	DefaultProbeTimeout    = 100 * time.Millisecond
	DefaultGossipInterval  = 50 * time.Millisecond
	DefaultSuspicionMult   = 3
	DefaultQuorum          = "auto"
	membershipClassic      = "classic"
	membershipMemberlist   = "memberlist"
	memberlistDirectiveTag = "memberlist_"
)

// addMemberlistDirectives registers the directives of this file.
func addMemberlistDirectives(d map[string]directive) {
	word := func(f func(*hacfParser, string) error) directive { return directive{record: true, set: f} }
	ml := func(p *hacfParser) *Memberlist {
		if p.c.Memberlist == nil {
			p.c.Memberlist = &Memberlist{}
		}
		return p.c.Memberlist
	}
	d["membership"] = word(func(p *hacfParser, v string) error {
		switch w := strings.ToLower(v); w {
		case membershipClassic, membershipMemberlist:
			p.c.Params["membership"] = w
			return nil
		}
		return fmt.Errorf("invalid value %q: want classic, memberlist", v)
	})
	d["memberlist_bind"] = word(func(p *hacfParser, v string) error {
		a, err := parseIPPort(v)
		if err == nil {
			ml(p).Bind = a
		}
		return err
	})
	d["memberlist_advertise"] = word(func(p *hacfParser, v string) error {
		a, err := parseIPPort(v)
		if err == nil {
			ml(p).Advertise = a
		}
		return err
	})
	d["memberlist_seeds"] = directive{multi: true, set: func(p *hacfParser, v string) error {
		s, err := parseHostPort(v)
		if err != nil {
			return err
		}
		m := ml(p)
		if !slices.Contains(m.Seeds, s) {
			m.Seeds = append(m.Seeds, s)
		}
		return nil
	}}
	d["memberlist_probe_interval"] = word(timeTo(func(p *hacfParser) *time.Duration { return &ml(p).ProbeInterval }, true))
	d["memberlist_probe_timeout"] = word(timeTo(func(p *hacfParser) *time.Duration { return &ml(p).ProbeTimeout }, true))
	d["memberlist_gossip_interval"] = word(timeTo(func(p *hacfParser) *time.Duration { return &ml(p).GossipInterval }, true))
	d["memberlist_suspicion_mult"] = word(intTo(func(p *hacfParser) *int { return &ml(p).SuspicionMult }, 1, 20))
	d["quorum"] = word(oneOf(func(p *hacfParser) *string { return &p.c.Quorum }, true, "auto", "on", "off"))
}

// MembershipMemberlist reports whether ha.cf selected `membership memberlist`.
func (c *HACF) MembershipMemberlist() bool { return c.Memberlist != nil }

// finishMemberlist fills the memberlist defaults, or with classic
// membership rejects memberlist_* directives.
func (p *hacfParser) finishMemberlist() {
	c := p.c
	if c.Params["membership"] != membershipMemberlist {
		if c.Memberlist != nil {
			name, line := c.firstMemberlistDirective()
			p.errs.Add(line, "%s needs membership memberlist (the default is membership classic)", name)
			c.Memberlist = nil
		}
		if c.set("quorum") {
			p.warn(c.lines["quorum"], "quorum has no effect with membership classic (two nodes, no quorum)")
		}
		return
	}
	m := c.Memberlist
	if m == nil {
		m = &Memberlist{}
		c.Memberlist = m
	}
	if m.ProbeInterval == 0 {
		m.ProbeInterval = DefaultProbeInterval
	}
	if m.ProbeTimeout == 0 {
		m.ProbeTimeout = DefaultProbeTimeout
	}
	if m.GossipInterval == 0 {
		m.GossipInterval = DefaultGossipInterval
	}
	if m.SuspicionMult == 0 {
		m.SuspicionMult = DefaultSuspicionMult
	}
	if c.Quorum == "" {
		c.Quorum = DefaultQuorum
	}
	// An advertise address without a port takes the bind port.
	if a, err := netip.ParseAddrPort(m.Advertise); err == nil && !c.advertisePortGiven() {
		if b, err := netip.ParseAddrPort(m.Bind); err == nil {
			m.Advertise = netip.AddrPortFrom(a.Addr(), b.Port()).String()
		}
	}
}

// advertisePortGiven reports whether memberlist_advertise named a port.
func (c *HACF) advertisePortGiven() bool {
	_, _, err := net.SplitHostPort(c.Params["memberlist_advertise"])
	return err == nil
}

// firstMemberlistDirective returns the memberlist_* directive on the
// earliest line.
func (c *HACF) firstMemberlistDirective() (string, int) {
	name, line := "", 0
	for n, l := range c.lines {
		if strings.HasPrefix(n, memberlistDirectiveTag) && (line == 0 || l < line) {
			name, line = n, l
		}
	}
	return name, line
}

// validateMemberlist adds the start-up checks of `membership memberlist`.
func (c *HACF) validateMemberlist(errs *conferr.List) {
	m := c.Memberlist
	if m == nil {
		return
	}
	at := c.lines["membership"]
	for _, md := range c.Media {
		errs.Add(md.Line, "%s cannot be used with membership memberlist (line %d): memberlist carries the membership; remove the heartbeat media or use membership classic", md.Kind, at)
	}
	if m.Bind == "" {
		errs.Add(at, "membership memberlist needs memberlist_bind: this node's address, e.g. \"memberlist_bind 10.0.0.1\"")
	} else if a, err := netip.ParseAddrPort(m.Bind); err == nil && a.Addr().IsUnspecified() && m.Advertise == "" {
		errs.Add(c.lineOf("memberlist_bind"), "memberlist_bind %s needs memberlist_advertise: the address other nodes reach this one at", m.Bind)
	}
	if a, err := netip.ParseAddrPort(m.Advertise); err == nil && a.Addr().IsUnspecified() {
		errs.Add(c.lineOf("memberlist_advertise"), "memberlist_advertise %s: want an address other nodes can reach", m.Advertise)
	}
	if len(m.Seeds) == 0 {
		errs.Add(at, "membership memberlist needs memberlist_seeds: the address of at least one other node")
	}
	if m.ProbeTimeout >= m.ProbeInterval {
		errs.Add(c.lineOf("memberlist_probe_timeout", "memberlist_probe_interval"),
			"memberlist_probe_timeout (%s) must be smaller than memberlist_probe_interval (%s)",
			hbtime.Format(m.ProbeTimeout), hbtime.Format(m.ProbeInterval))
	}
	if m.GossipInterval > m.ProbeInterval {
		c.warn(c.lineOf("memberlist_gossip_interval"), "memberlist_gossip_interval (%s) above memberlist_probe_interval (%s) slows the spreading of failures and meta updates",
			hbtime.Format(m.GossipInterval), hbtime.Format(m.ProbeInterval))
	}
}

// parseIPPort reads "ip", "ip:port", "[ipv6]:port" or a bare IPv6 address
// into "ip:port" (default port 7946).
func parseIPPort(v string) (string, error) {
	host, port, err := splitPort(v)
	if err != nil {
		return "", err
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("%q: want an IP address with an optional :port (host names are not allowed here)", v)
	}
	return netip.AddrPortFrom(a.Unmap(), port).String(), nil
}

// parseHostPort reads "host[:port]" (IP or DNS name) into "host:port".
func parseHostPort(v string) (string, error) {
	host, port, err := splitPort(v)
	if err != nil {
		return "", err
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a.Unmap(), port).String(), nil
	}
	if !isHostName(host) {
		return "", fmt.Errorf("%q: want an IP address or host name with an optional :port", v)
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(int(port))), nil
}

// splitPort splits off an optional port (1..65535, default 7946).
func splitPort(v string) (string, uint16, error) {
	if _, err := netip.ParseAddr(v); err == nil { // bare IPv6 has colons
		return v, DefaultMemberlistPort, nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		if strings.Contains(v, ":") && !strings.HasPrefix(v, "[") {
			return "", 0, fmt.Errorf("%q: bad address or port", v)
		}
		return strings.Trim(v, "[]"), DefaultMemberlistPort, nil
	}
	n, err := parseInt(port, 1, 65535)
	if err != nil {
		return "", 0, fmt.Errorf("%q: bad port: %v", v, err)
	}
	return host, uint16(n), nil
}

// isHostName accepts DNS names: dot-separated labels of letters, digits
// and inner hyphens, at most 253 bytes.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
