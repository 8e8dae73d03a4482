package config

// backend.go: the backend directive (hasuite) and what the nftables data plane cannot do.

import "fmt"

// Backend is the data plane ldirectord programs.
type Backend string

// The backends. IPVS is the default, as classic; Auto is IPVS when the
// kernel has it, else nftables.
const (
	BackendIPVS     Backend = "ipvs"
	BackendNFTables Backend = "nftables"
	BackendAuto     Backend = "auto"
)

func (p *parser) backend(_ *vblock, n int, _, val string) {
	switch b := Backend(unquote(val)); b {
	case BackendIPVS, BackendNFTables, BackendAuto:
		p.c.Backend = b
	default:
		p.el.Add(n, "backend: must be ipvs, nftables or auto, not %q", val)
	}
}

// checkNFTables reports what the nftables data plane cannot do: gate and
// ipip forwarding are errors; what it approximates or ignores is a warning.
// It runs after parsing when backend = nftables.
func (p *parser) checkNFTables() {
	for _, e := range p.c.NFTablesProblems() {
		if e.Warning {
			p.el.Warn(e.Line, "%s", e.Msg)
		} else {
			p.el.Add(e.Line, "%s", e.Msg)
		}
	}
}

// Problem is one finding of NFTablesProblems.
type Problem struct {
	Line    int
	Msg     string
	Warning bool
}

// NFTablesProblems lists what stops c from running on the nftables data
// plane (gate and ipip real servers or fallbacks: it forwards by NAT only)
// and, as warnings, what it runs differently (schedulers other than rr, wrr
// and sh run as wrr; persistence is a hash of the client's address;
// thresholds and ops have no effect). The daemon asks again when backend =
// auto settles on nftables.
func (c *Config) NFTablesProblems() []Problem {
	var out []Problem
	for i := range c.Virtuals {
		v := &c.Virtuals[i]
		for _, r := range v.Reals {
			if r.Method == Gate || r.Method == IPIP {
				out = append(out, Problem{Line: r.Line, Msg: fmt.Sprintf(
					"real: %s forwarding needs IPVS; the nftables backend forwards by NAT (masq) only", r.Method)})
			}
			if r.LThresh != 0 || r.UThresh != 0 {
				out = append(out, Problem{Line: r.Line, Warning: true,
					Msg: "real: connection thresholds have no effect with the nftables backend"})
			}
		}
		if f := v.Fallback; f != nil && (f.Method == Gate || f.Method == IPIP) {
			line := f.Line
			if line == 0 {
				line = v.Line
			}
			out = append(out, Problem{Line: line, Msg: fmt.Sprintf(
				"fallback: %s forwarding needs IPVS; the nftables backend forwards by NAT (masq) only", f.Method)})
		}
		switch v.Scheduler {
		case "rr", "wrr", "sh":
		default:
			out = append(out, Problem{Line: v.Line, Warning: true, Msg: fmt.Sprintf(
				"scheduler: %s runs as wrr with the nftables backend (no connection counts)", v.Scheduler)})
		}
		if v.Persistent > 0 {
			out = append(out, Problem{Line: v.Line, Warning: true, Msg: "persistent: the nftables backend " +
				"keeps a client on one real by a hash of its address (netmask applies) while the set of reals is unchanged"})
		}
		if v.OPS {
			out = append(out, Problem{Line: v.Line, Warning: true, Msg: "ops: no effect with the nftables backend"})
		}
	}
	return out
}
