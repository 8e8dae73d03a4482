package daemon

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/hasuite/hasuite/internal/logging/journaltest"
	"github.com/hasuite/hasuite/ldirectord/config"
)

// TestSupervisedUnderJournald: supervised output to a journald stream
// carries priorities and no ctime; to anything else, classic's ctime.
func TestSupervisedUnderJournald(t *testing.T) {
	f := journaltest.Stream(t)
	inv := Invocation{CfgName: "ldirectord", Config: &config.Config{Supervised: true}}
	l, done, err := newLogger(inv, f, f)
	if err != nil {
		t.Fatal(err)
	}
	l.Warn("Deleted real server")
	done()
	got, _ := os.ReadFile(f.Name())
	if string(got) != "<4>Deleted real server\n" {
		t.Errorf("journal line %q, want %q", got, "<4>Deleted real server\n")
	}
	var buf bytes.Buffer
	l, done, _ = newLogger(inv, &buf, &buf)
	l.Info("Added real server")
	done()
	if s := buf.String(); !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "] Added real server\n") {
		t.Errorf("classic supervised line %q", s)
	}
}
