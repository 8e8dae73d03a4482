// Tests for the classic line shape.

package logging

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
)

var stamp = time.Date(2026, time.November, 22, 0, 35, 49, 0, time.UTC)

func entry(level logrus.Level, msg string, fields logrus.Fields) *logrus.Entry {
	e := logrus.NewEntry(logrus.New())
	e.Time = stamp
	e.Level = level
	e.Message = msg
	if fields != nil {
		e.Data = fields
	}
	return e
}

func TestFormatterGolden(t *testing.T) {
	f := &Formatter{Ident: "heartbeat", Node: "nodea", Pid: 11191}
	tests := []struct {
		name string
		e    *logrus.Entry
		want string
	}{
		{"warn", entry(logrus.WarnLevel, "node nodeb: is dead", nil),
			"Nov 22 00:35:49 nodea heartbeat: [11191]: WARN: node nodeb: is dead\n"},
		{"info", entry(logrus.InfoLevel, "Link nodeb:hb0 up.", nil),
			"Nov 22 00:35:49 nodea heartbeat: [11191]: info: Link nodeb:hb0 up.\n"},
		{"debug", entry(logrus.DebugLevel, "x", nil),
			"Nov 22 00:35:49 nodea heartbeat: [11191]: debug: x\n"},
		{"trace is debug", entry(logrus.TraceLevel, "x", nil),
			"Nov 22 00:35:49 nodea heartbeat: [11191]: debug: x\n"},
		{"error", entry(logrus.ErrorLevel, "x", nil),
			"Nov 22 00:35:49 nodea heartbeat: [11191]: ERROR: x\n"},
		{"crit marker", entry(logrus.ErrorLevel, "x", logrus.Fields{critField: true}),
			"Nov 22 00:35:49 nodea heartbeat: [11191]: CRIT: x\n"},
		{"fatal", entry(logrus.FatalLevel, "x", nil),
			"Nov 22 00:35:49 nodea heartbeat: [11191]: CRIT: x\n"},
		{"fields sorted and quoted",
			entry(logrus.InfoLevel, "bad packet", logrus.Fields{
				"src": "nodeb", "err": errors.New("bad auth"), "n": 3, "empty": "", "q": `a"b`, "eq": "a=b",
			}),
			`Nov 22 00:35:49 nodea heartbeat: [11191]: info: bad packet empty="" eq="a=b" err="bad auth" n=3 q="a\"b" src=nodeb` + "\n"},
		{"newline escaped", entry(logrus.InfoLevel, "a\nb\r\n", nil),
			`Nov 22 00:35:49 nodea heartbeat: [11191]: info: a\nb` + "\n"},
		{"day padded", func() *logrus.Entry {
			e := entry(logrus.InfoLevel, "x", nil)
			e.Time = time.Date(2026, time.March, 5, 7, 8, 9, 0, time.UTC)
			return e
		}(), "Mar  5 07:08:09 nodea heartbeat: [11191]: info: x\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Format(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Format() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCritKeepsFields(t *testing.T) {
	l := logrus.New()
	var got *logrus.Entry
	l.AddHook(hookFunc(func(e *logrus.Entry) { got = e }))
	l.Out = discard{}
	Critf(l.WithField("node", "nodeb"), "%s died", "peer")
	if got == nil {
		t.Fatal("no entry")
	}
	if !IsCrit(got) || got.Level != logrus.ErrorLevel || got.Message != "peer died" || got.Data["node"] != "nodeb" {
		t.Errorf("got level %v crit %v msg %q data %v", got.Level, IsCrit(got), got.Message, got.Data)
	}
	if b := body(got); b != "CRIT: peer died node=nodeb" {
		t.Errorf("body = %q", b)
	}
}

type hookFunc func(*logrus.Entry)

func (hookFunc) Levels() []logrus.Level       { return logrus.AllLevels }
func (h hookFunc) Fire(e *logrus.Entry) error { h(e); return nil }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func FuzzFormatOneLine(f *testing.F) {
	f.Add("node nodeb: is dead", "k", "v")
	f.Add("a\nb", "key", "with space")
	f.Add("", "", "\x00\r\n")
	fm := &Formatter{Ident: "heartbeat", Node: "n", Pid: 1}
	f.Fuzz(func(t *testing.T, msg, k, v string) {
		e := entry(logrus.InfoLevel, msg, logrus.Fields{k: v})
		out, err := fm.Format(e)
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
			t.Fatalf("not exactly one line: %q", s)
		}
	})
}
