package logging

import (
	"os"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/logging/journaltest"
)

func TestIsJournal(t *testing.T) {
	f := journaltest.Stream(t)
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
