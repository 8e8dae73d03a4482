// fuzz_test.go: fuzz target for the pid file ldirectord reads to find a running daemon.

package daemon

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzPidFile: whatever the pid file holds, runningPid reports a pid only
// when the file holds a positive number, and that number.
func FuzzPidFile(f *testing.F) {
	for _, s := range []string{"1\n", strconv.Itoa(os.Getpid()) + "\n", "0\n", "-1\n", " 42 \n", "abc", "", "99999999999999999999\n", "12\n13\n"} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "ldirectord.pid")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		pid, running := runningPid(path)
		want, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || want <= 0 {
			want = 0
		}
		if pid != want || running && pid <= 0 {
			t.Fatalf("runningPid of %q = %d, %v; want pid %d", data, pid, running, want)
		}
	})
}
