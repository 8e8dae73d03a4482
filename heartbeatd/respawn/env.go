// env.go: the environment classic heartbeat gives its children.

package respawn

import (
	"path/filepath"
	"strconv"
	"strings"
)

// Vars are the values heartbeat 3.0.6 exports into the environment that its
// respawned children (and resource scripts) inherit.
type Vars struct {
	Node        string   // HA_CURHOST: the local node name
	ConfDir     string   // HA_DIR, and HA_FUNCS=<ConfDir>/shellfuncs; "" = /etc/ha.d
	FIFO        string   // HA_FIFO (hasuite addition, for -statedir); "" = unset
	LogFile     string   // HA_LOGFILE; "" = unset
	DebugFile   string   // HA_DEBUGLOG; "" = unset
	LogFacility string   // HA_LOGFACILITY; "" and "none" = unset
	Debug       int      // HA_debug when above 0
	Env         []string // ha.cf "env" values, "HA_NAME=value" (config.HACF.Env)
}

// classicDateFmt is HA_DATEFMT, the date(1) format of ha_log lines.
const classicDateFmt = "%Y/%m/%d_%T\t"

// List returns v as NAME=value entries, the env directive values last.
func (v Vars) List() []string {
	dir := v.ConfDir
	if dir == "" {
		dir = "/etc/ha.d"
	}
	out := []string{
		"HA_DIR=" + dir,
		"HA_FUNCS=" + filepath.Join(dir, "shellfuncs"),
		"HA_DATEFMT=" + classicDateFmt,
		"OCF_ROOT=/usr/lib/ocf",
	}
	add := func(name, value string) {
		if value != "" {
			out = append(out, name+"="+value)
		}
	}
	add("HA_CURHOST", v.Node)
	add("HA_FIFO", v.FIFO)
	add("HA_LOGFILE", v.LogFile)
	add("HA_DEBUGLOG", v.DebugFile)
	if !strings.EqualFold(v.LogFacility, "none") {
		add("HA_LOGFACILITY", v.LogFacility)
	}
	if v.Debug > 0 {
		add("HA_debug", strconv.Itoa(v.Debug))
	}
	return append(out, v.Env...)
}

// Environ returns base (usually os.Environ()) with vars set: a variable in
// vars replaces the same name in base, and a later entry of vars replaces an
// earlier one, as successive setenv calls do. Order is kept otherwise.
func Environ(base, vars []string) []string {
	out := make([]string, 0, len(base)+len(vars))
	index := make(map[string]int, len(base)+len(vars))
	for _, list := range [][]string{base, vars} {
		for _, kv := range list {
			name, _, _ := strings.Cut(kv, "=")
			if i, ok := index[name]; ok {
				out[i] = kv
				continue
			}
			index[name] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
