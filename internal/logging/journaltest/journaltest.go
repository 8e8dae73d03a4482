// Package journaltest fakes the journald stream systemd hands a service:
// a file that $JOURNAL_STREAM names, for tests of journal-mode output.
package journaltest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Stream creates a file and points JOURNAL_STREAM at it for the test.
func Stream(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	return f
}
