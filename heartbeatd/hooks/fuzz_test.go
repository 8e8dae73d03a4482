// fuzz_test.go: fuzz target for the hook environment built from a cluster message.

package hooks

import (
	"os"
	"strings"
	"testing"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// FuzzEnviron: whatever a peer's message holds, every environment entry it
// adds is HA_<name>=<value> without NUL, and heartbeatd's own variables
// come last, so a message cannot override them.
func FuzzEnviron(f *testing.F) {
	f.Add(wire.Marshal(wire.New("ip-request").Add("info", "x").Add("HA_CURHOST", "evil")))
	f.Add(wire.Marshal(wire.New("status").Add("st", "dead").Add("a=b", "c")))
	f.Add([]byte(">>>\nt=x\nCURHOST=nodeb\nDIR=/tmp\n<<<\n"))
	r := &Runner{cfg: Config{CurHost: "nodea", ConfDir: "/etc/ha.d", RCDir: "/etc/ha.d/rc.d"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := wire.Unmarshal(data)
		if err != nil {
			return
		}
		env := r.environ(msg)
		tail := env[len(env)-6:]
		if tail[0] != "HA_CURHOST=nodea" || tail[1] != "HA_DIR=/etc/ha.d" {
			t.Fatalf("own variables not last: %q", tail)
		}
		for _, e := range env[len(os.Environ()) : len(env)-6] {
			name, _, ok := strings.Cut(e, "=")
			if !ok || !strings.HasPrefix(name, "HA_") || len(name) == 3 || strings.ContainsRune(e, 0) {
				t.Fatalf("bad entry %q", e)
			}
		}
	})
}
