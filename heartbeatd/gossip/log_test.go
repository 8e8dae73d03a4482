// log_test.go: memberlist log lines to logrus levels, rate limiting and
// the decrypt counter.

package gossip

import (
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func TestLogBridge(t *testing.T) {
	lg, hook := logtest.NewNullLogger()
	lg.SetLevel(logrus.DebugLevel)
	decrypts := 0
	l := newLogger(lg, func() { decrypts++ })
	for _, tc := range []struct {
		line  string
		level logrus.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:1", logrus.DebugLevel, "Stream connection from=127.0.0.1:1"},
		{"[INFO] memberlist: Suspect node2 has failed, no acks received", logrus.InfoLevel, "Suspect node2 has failed, no acks received"},
		{"[WARN] memberlist: Was able to connect to node2 over TCP but UDP probes failed", logrus.WarnLevel, "Was able to connect to node2 over TCP but UDP probes failed"},
		{"[ERR] memberlist: Decrypt packet failed: no installed keys could decrypt the message from=x", logrus.ErrorLevel, "Decrypt packet failed: no installed keys could decrypt the message from=x"},
		{"[ERROR] memberlist: other", logrus.ErrorLevel, "other"},
		{"untagged", logrus.InfoLevel, "untagged"},
	} {
		hook.Reset()
		l.Print(tc.line)
		e := hook.LastEntry()
		if e == nil || e.Level != tc.level || e.Message != tc.msg || e.Data["subsystem"] != "memberlist" {
			t.Errorf("%q logged as %+v", tc.line, e)
		}
	}
	if decrypts != 1 {
		t.Errorf("decrypt failures counted %d, want 1", decrypts)
	}

	// The same failure about different peers: a burst of 3, then nothing
	// within 10 s; every one is still counted.
	hook.Reset()
	for i := range 10 {
		l.Printf("[ERR] memberlist: failed to receive: no installed keys could decrypt the message from=10.0.0.%d:7946", i)
	}
	if n := len(hook.AllEntries()); n != 3 {
		t.Errorf("%d lines logged of 10 repeated ones, want 3", n)
	}
	if decrypts != 11 {
		t.Errorf("decrypt failures counted %d, want 11", decrypts)
	}
}
