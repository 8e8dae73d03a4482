// Line formatting in the classic heartbeat shape, and the CRIT level.

package logging

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// critField is the marker field that Crit sets. It never appears in output.
const critField = "logging.crit"

// stampLayout is the syslog timestamp: "Nov 22 00:35:49" (day space-padded).
const stampLayout = "Jan _2 15:04:05"

// Syslog severities (RFC 5424), as sent in the PRI part of a datagram.
const (
	sevCrit    = 2
	sevErr     = 3
	sevWarning = 4
	sevInfo    = 6
	sevDebug   = 7
)

// Crit logs args at logrus.ErrorLevel, marked so that hasuite's formatter
// prints the level as CRIT and the syslog sink sends it as LOG_CRIT.
// l is a *logrus.Logger or a *logrus.Entry (fields are kept).
func Crit(l logrus.FieldLogger, args ...any) {
	l.WithField(critField, true).Error(args...)
}

// Critf is Crit with a format string.
func Critf(l logrus.FieldLogger, format string, args ...any) {
	l.WithField(critField, true).Errorf(format, args...)
}

// IsCrit reports whether e was logged through Crit or Critf.
func IsCrit(e *logrus.Entry) bool {
	v, ok := e.Data[critField].(bool)
	return ok && v
}

// severity maps an entry to its syslog severity.
func severity(e *logrus.Entry) int {
	if IsCrit(e) {
		return sevCrit
	}
	switch e.Level {
	case logrus.PanicLevel, logrus.FatalLevel:
		return sevCrit
	case logrus.ErrorLevel:
		return sevErr
	case logrus.WarnLevel:
		return sevWarning
	case logrus.InfoLevel:
		return sevInfo
	default:
		return sevDebug
	}
}

// levelName is the classic cl_log priority string for a syslog severity.
func levelName(sev int) string {
	switch sev {
	case sevCrit:
		return "CRIT"
	case sevErr:
		return "ERROR"
	case sevWarning:
		return "WARN"
	case sevInfo:
		return "info"
	default:
		return "debug"
	}
}

// Formatter renders entries as classic heartbeat syslog-shaped lines:
//
//	Nov 22 00:35:49 nodea heartbeat: [11191]: WARN: node nodeb: is dead
//
// Fields follow the message as " key=value", sorted by key; values with
// spaces, quotes, '=' or control characters (or empty ones) are quoted.
// Newlines in the message are escaped so one entry is always one line.
type Formatter struct {
	Ident string // syslog ident, e.g. "heartbeat"
	Node  string // host name printed after the timestamp
	Pid   int    // process id printed in brackets
}

// Format implements logrus.Formatter.
func (f *Formatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	f.appendLine(&b, e.Time, body(e))
	return b.Bytes(), nil
}

// appendLine writes one full file line, newline included.
func (f *Formatter) appendLine(b *bytes.Buffer, t time.Time, body string) {
	b.WriteString(t.Format(stampLayout))
	b.WriteByte(' ')
	b.WriteString(f.Node)
	b.WriteByte(' ')
	f.appendTagged(b, body)
	b.WriteByte('\n')
}

// appendTagged writes "ident: [pid]: body", the part classic heartbeat hands
// to syslog(3).
func (f *Formatter) appendTagged(b *bytes.Buffer, body string) {
	b.WriteString(f.Ident)
	b.WriteString(": [")
	b.WriteString(strconv.Itoa(f.Pid))
	b.WriteString("]: ")
	b.WriteString(body)
}

// body renders "LEVEL: message key=value...".
func body(e *logrus.Entry) string {
	var b strings.Builder
	b.WriteString(levelName(severity(e)))
	b.WriteString(": ")
	b.WriteString(escapeMessage(e.Message))
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		if k != critField {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte(' ')
		b.WriteString(quoteValue(k))
		b.WriteByte('=')
		b.WriteString(quoteValue(fieldString(e.Data[k])))
	}
	return b.String()
}

// fieldString renders a field value.
func fieldString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(v)
	}
}

// quoteValue quotes s (a field value, or an odd key) when it would not
// survive as one bare token.
func quoteValue(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '=' || r == 0x7f
	}) {
		return strconv.Quote(s)
	}
	return s
}

// escapeMessage keeps one entry on one line.
func escapeMessage(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
