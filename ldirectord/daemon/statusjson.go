// statusjson.go: the JSON form of the status action (--json / -o json).

package daemon

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/hasuite/hasuite/ldirectord/config"
)

// statusJSON is what status --json prints. The daemon publishes no live
// per-real state, so the virtual services are the configuration's (as the
// config file reads now), not what the checks found.
type statusJSON struct {
	Config      string        `json:"config"`
	ConfigName  string        `json:"config_name"`
	PidFile     string        `json:"pid_file,omitempty"`
	State       string        `json:"state"` // running, stale (pid file of a dead process) or stopped
	Running     bool          `json:"running"`
	Pid         int           `json:"pid,omitempty"`
	ConfigError string        `json:"config_error,omitempty"`
	Virtuals    []virtualJSON `json:"configured_virtuals,omitempty"`
}

type virtualJSON struct {
	ID        string     `json:"id"` // classic identity: tcp:10.0.0.1:80, fwm:5
	Scheduler string     `json:"scheduler"`
	Service   string     `json:"service"`
	Check     string     `json:"checktype"`
	Quiescent bool       `json:"quiescent"`
	Reals     []realJSON `json:"reals"`
}

type realJSON struct {
	Address string `json:"address"` // addr or addr:port
	Method  string `json:"method"`
	Weight  int    `json:"weight"`
}

// statusJSON prints status as JSON on stdout; the exit code is the text form's.
func (c *cli) statusJSON(inv Invocation, found bool) int {
	st := statusJSON{Config: inv.ConfigPath, ConfigName: inv.CfgName, PidFile: inv.PidFile, State: "stopped"}
	code := exitNotRunning
	pid, ok := runningPid(inv.PidFile)
	switch {
	case ok:
		st.State, st.Running, st.Pid, code = "running", true, pid, exitOK
	case pid > 0:
		st.State, st.Pid, code = "stale", pid, exitFail
	}
	if !found {
		st.ConfigError = "config file not found"
	} else if cfg, err := config.Load(inv.ConfigPath, c.env.ConfigOpts); err != nil {
		st.ConfigError = strings.TrimPrefix(err.Error(), "load ldirectord config: ")
	} else {
		for i := range cfg.Virtuals {
			v := &cfg.Virtuals[i]
			vj := virtualJSON{ID: v.ID(), Scheduler: v.Scheduler, Service: v.Service, Check: v.CheckType,
				Quiescent: v.Quiescent, Reals: []realJSON{}}
			for _, r := range v.Reals {
				addr := r.Addr.String()
				if r.Port != 0 {
					addr = netip.AddrPortFrom(r.Addr, r.Port).String()
				}
				vj.Reals = append(vj.Reals, realJSON{Address: addr, Method: string(r.Method), Weight: r.Weight})
			}
			st.Virtuals = append(st.Virtuals, vj)
		}
	}
	b, _ := json.Marshal(st) // plain strings, ints and bools
	c.env.Stdout.Write(append(b, '\n'))
	return code
}
