// fuzz_test.go: fuzz target for hb_standby's and hb_takeover's argument check.

package rsctool

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzArgs runs both tools against a socket that does not exist (the
// arguments split at NULs): only the classic resource words reach the
// daemon; anything else prints the usage and exits 1.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{"", "all", "foreign", "local", "failback", "--help", "all\x00all", "ALL", "all ", "none"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	sock := filepath.Join(f.TempDir(), "no-such-socket")
	f.Fuzz(func(t *testing.T, line string, takeover bool) {
		var args []string
		if line != "" {
			args = strings.Split(line, "\x00")
		}
		tool := Standby
		if takeover {
			tool = Takeover
		}
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tool, args, &stdout, &stderr, Options{Prog: "hb", Socket: sock})
		valid := len(args) == 0 || len(args) == 1 && strings.Contains(" all foreign local failback ", " "+args[0]+" ") ||
			!takeover && len(args) == 1 && args[0] == "none"
		dialed := strings.Contains(stderr.String(), "cannot reach heartbeat")
		usage := strings.HasPrefix(stderr.String(), "hb [all|foreign|local|failback]\n")
		if code != 1 || dialed != valid || usage == valid {
			t.Fatalf("args %q: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	})
}
