// parse_test.go: the block parser over whole streams.

package fifo

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// feed runs stream through a parser line by line, returning the messages
// (String form) and the drop reasons.
func feed(stream string) (msgs, errs []string) {
	var p parser
	for _, l := range strings.SplitAfter(stream, "\n") {
		if l == "" {
			continue
		}
		tooLong := len(l) > wire.MaxMessage
		if tooLong {
			l = l[:wire.MaxMessage]
		}
		m, err := p.line([]byte(l), tooLong)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if m != nil {
			msgs = append(msgs, m.String())
		}
	}
	return msgs, errs
}

func TestParser(t *testing.T) {
	standby := ">>>\nt=ask_resources\nrsc_hold=all\ninfo=me\n<<<\n"
	const standbyMsg = "t=ask_resources rsc_hold=all info=me"
	tests := []struct {
		name   string
		stream string
		msgs   []string
		errs   []string // substrings, in order
	}{
		{"one block", standby, []string{standbyMsg}, nil},
		{"two blocks", standby + ">>>\nt=hb_takeover\nrsc_hold=local\n<<<\n", []string{standbyMsg, "t=hb_takeover rsc_hold=local"}, nil},
		{"empty value", ">>>\nt=x\nempty=\n<<<\n", []string{`t=x empty=""`}, nil},
		{"value with = and spaces", ">>>\nt=x\ninfo=a=b c\n<<<\n", []string{`t=x info="a=b c"`}, nil},
		{"empty lines between blocks", "\n\n" + standby + "\n" + standby, []string{standbyMsg, standbyMsg}, nil},
		{"Marshal output with its NUL", string(wire.Marshal(wire.New("x").Add("a", "1"))) + string(wire.Marshal(wire.New("y"))),
			[]string{"t=x a=1", "t=y"}, nil},
		{"text before a block", "hello\nworld\n" + standby, []string{standbyMsg}, []string{`text outside a >>> ... <<< block: "hello"`}},
		{"two runs of junk", "a\n" + standby + "b\n", []string{standbyMsg}, []string{`"a"`, `"b"`}},
		{"truncated block then a good one", ">>>\nt=ask_resources\n" + standby, []string{standbyMsg}, []string{"unfinished message"}},
		{"line without =", ">>>\nt=x\nnonsense\n<<<\n" + standby, []string{standbyMsg}, []string{"malformed"}},
		{"no type", ">>>\nrsc_hold=all\n<<<\n", nil, []string{"without a t= field"}},
		{"empty block", ">>>\n<<<\n", nil, []string{"without a t= field"}},
		{"stray end marker", "<<<\n" + standby, []string{standbyMsg}, []string{`"<<<"`}},
		{"netstring", "###\n8:(0)t=x,\n%%%\n" + standby, []string{standbyMsg}, []string{"netstring"}},
		{"marker with trailing space is text", ">>> \nt=x\n<<<\n", nil, []string{`">>> "`}},
		{"NUL inside a block", ">>>\nt=x\x00y\n<<<\n", nil, []string{"NUL"}},
		{"too long line", ">>>\nt=x\nbig=" + strings.Repeat("v", wire.MaxMessage) + "\n<<<\n" + standby,
			[]string{standbyMsg}, []string{"line longer than"}},
		{"too big block", ">>>\nt=x\n" + strings.Repeat("f="+strings.Repeat("v", 1000)+"\n", 300) + "<<<\n" + standby,
			[]string{standbyMsg}, []string{"message longer than"}},
		{"unfinished at the end", standby + ">>>\nt=x\n", []string{standbyMsg}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, errs := feed(tt.stream)
			if diff := cmp.Diff(tt.msgs, msgs); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("drops = %q, want %d matching %q", errs, len(tt.errs), tt.errs)
			}
			for i := range errs {
				if !strings.Contains(errs[i], tt.errs[i]) {
					t.Errorf("drop %d = %q, want it to contain %q", i, errs[i], tt.errs[i])
				}
			}
		})
	}
}

func FuzzParser(f *testing.F) {
	f.Add([]byte(">>>\nt=x\na=b\n<<<\n"))
	f.Add([]byte("junk\n>>>\nt=x\n>>>\n<<<\n###\n"))
	f.Add(wire.Marshal(wire.New("ask_resources").Add("rsc_hold", "all")))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p parser
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			m, err := p.line(l, false)
			if m != nil && err != nil {
				t.Fatal("both a message and an error")
			}
			if m != nil && m.Type() == "" {
				t.Fatalf("message without type: %s", m)
			}
		}
	})
}
