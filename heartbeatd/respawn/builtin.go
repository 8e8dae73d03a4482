// builtin.go: classic ipfail paths in ha.cf run hasuite's ipfail instead.

package respawn

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

// ClassicIpfail are the paths ha.cf files give classic ipfail: the one of
// heartbeat's documentation and Debian's.
var ClassicIpfail = []string{"/usr/lib/heartbeat/ipfail", "/usr/libexec/heartbeat/ipfail"}

// executable is os.Executable; tests replace it.
var executable = os.Executable

// mapBuiltin returns r running hasuite's ipfail when r's program is one of
// ClassicIpfail and an executable named ipfail lies next to the running
// daemon's executable; ok reports the replacement. Arguments are kept.
func mapBuiltin(r config.Respawn) (_ config.Respawn, ok bool) {
	classic := false
	for _, p := range ClassicIpfail {
		classic = classic || filepath.Clean(r.Path) == p
	}
	if !classic {
		return r, false
	}
	self, err := executable()
	if err != nil {
		return r, false
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	ours := filepath.Join(filepath.Dir(self), "ipfail")
	if st, err := os.Stat(ours); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return r, false
	}
	cmd := strings.TrimLeft(r.Command, " \t")
	rest, found := strings.CutPrefix(cmd, r.Path)
	if !found {
		rest = ""
		for _, a := range r.Args {
			rest += " " + shellQuote(a)
		}
	}
	r.Path = ours
	r.Command = shellQuote(ours) + rest
	return r, true
}

// shellQuote quotes s for /bin/sh when it holds anything but safe characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
