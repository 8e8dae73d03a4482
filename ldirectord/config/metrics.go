package config

// metrics.go: the metrics directive (hasuite): the Prometheus endpoint's address.

import "net"

func (p *parser) metrics(_ *vblock, n int, _, val string) {
	addr := unquote(val)
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		p.el.Add(n, "metrics: want host:port (e.g. 127.0.0.1:9708), not %q", val)
		return
	}
	p.c.Metrics = addr
}
