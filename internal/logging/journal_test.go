package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestIsJournal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	if !IsJournal(f) {
		t.Error("IsJournal = false for the stream JOURNAL_STREAM names")
	}
	if IsJournal(os.Stdin) {
		t.Error("IsJournal = true for another file")
	}
	t.Setenv("JOURNAL_STREAM", "")
	if IsJournal(f) {
		t.Error("IsJournal = true without JOURNAL_STREAM")
	}
	for lvl, want := range map[logrus.Level]string{logrus.ErrorLevel: "<3>", logrus.WarnLevel: "<4>",
		logrus.InfoLevel: "<6>", logrus.DebugLevel: "<7>"} {
		if got := JournalPriority(&logrus.Entry{Level: lvl}); got != want {
			t.Errorf("JournalPriority(%s) = %q, want %q", lvl, got, want)
		}
	}
}
