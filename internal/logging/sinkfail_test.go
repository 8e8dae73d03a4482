// sinkfail_test.go: a destination that fails (a full disk) is reported once
// and, when it takes lines again, first told how many it missed.

package logging

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// failingSink fails while fail is set, and records what it was given.
type failingSink struct {
	fail  bool
	lines []string
}

func (s *failingSink) write(f *Formatter, ev *event) error {
	if s.fail {
		return errors.New("writing /var/log/ha-log: " + syscall.ENOSPC.Error())
	}
	s.lines = append(s.lines, ev.body)
	return nil
}

func (s *failingSink) close() error { return nil }

func TestFailingSinkReportedOnceThenCountsLoss(t *testing.T) {
	s := &failingSink{}
	var errOut bytes.Buffer
	f := &Formatter{Ident: "heartbeat", Node: "nodea", Pid: 1}
	d := newDispatcher(f, []*route{{name: "/var/log/ha-log", s: s}}, 8, &errOut)
	defer d.close()
	at := stamp
	emit := func(msg string) {
		at = at.Add(time.Second)
		d.emit(&event{t: at, sev: sevInfo, body: "info: " + msg})
	}
	emit("before")
	s.fail = true
	for range 5 {
		emit("lost")
	}
	s.fail = false
	emit("after")
	emit("later")
	want := []string{"info: before",
		"ERROR: logging: 5 lines could not be written to /var/log/ha-log (writing /var/log/ha-log: no space left on device)",
		"info: after", "info: later"}
	if diff := cmp.Diff(want, s.lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if got := strings.Count(errOut.String(), "\n"); got != 1 || !strings.Contains(errOut.String(), "no space left on device") {
		t.Errorf("errOut has %d lines, want 1 naming the error:\n%s", got, errOut.String())
	}

	// Flapping (full again at once) is reported at most once a minute.
	for range 3 {
		s.fail = true
		emit("lost")
		s.fail = false
		emit("ok")
	}
	if got := strings.Count(errOut.String(), "\n"); got != 1 {
		t.Errorf("errOut has %d lines after flapping within a minute, want 1:\n%s", got, errOut.String())
	}
	at = at.Add(failReportEvery)
	s.fail = true
	emit("lost")
	if got := strings.Count(errOut.String(), "\n"); got != 2 {
		t.Errorf("errOut has %d lines after a failure a minute later, want 2:\n%s", got, errOut.String())
	}
}
