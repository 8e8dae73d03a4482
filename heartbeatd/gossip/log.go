// log.go: memberlist's log.Logger output routed to logrus, by level, rate
// limited, with decryption failures counted.

package gossip

import (
	"bytes"
	"log"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/ratelimit"
)

// logBridge is the io.Writer behind memberlist's *log.Logger: each write is
// one line "[LEVEL] memberlist: text". Lines are keyed by their text up to
// the first ':' (e.g. "Failed to send ping"), so repeated failures about
// one or many peers log a burst of 3, then one per 10 s per key, with the
// number suppressed.
type logBridge struct {
	log       logrus.FieldLogger
	lim       *ratelimit.Limiter
	onDecrypt func()
}

func newLogger(l logrus.FieldLogger, onDecrypt func()) *log.Logger {
	b := &logBridge{log: l, lim: ratelimit.New(10*time.Second, 3, nil), onDecrypt: onDecrypt}
	return log.New(b, "", 0)
}

// Write handles one memberlist log line.
func (b *logBridge) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\r\n"))
	level, text := splitLevel(line)
	text = strings.TrimPrefix(text, "memberlist: ")
	// "Decrypt packet failed" (UDP) and "failed to receive: no installed
	// keys could decrypt the message" (TCP): a peer with another key.
	if strings.Contains(text, "decrypt") && b.onDecrypt != nil {
		b.onDecrypt()
	}
	key := text
	if i := strings.IndexByte(key, ':'); i >= 0 {
		key = key[:i]
	}
	ok, n := b.lim.Allow(level.String() + key)
	if !ok {
		return len(p), nil
	}
	e := b.log.WithField("subsystem", "memberlist")
	if n > 0 {
		e = e.WithField("suppressed", n)
	}
	e.Log(level, text)
	return len(p), nil
}

// splitLevel maps memberlist's "[DEBUG]", "[INFO]", "[WARN]", "[ERR]" and
// "[ERROR]" prefixes to logrus levels; untagged lines are Info.
func splitLevel(line string) (logrus.Level, string) {
	if !strings.HasPrefix(line, "[") {
		return logrus.InfoLevel, line
	}
	i := strings.IndexByte(line, ']')
	if i < 0 {
		return logrus.InfoLevel, line
	}
	tag, rest := line[1:i], strings.TrimLeft(line[i+1:], " ")
	switch tag {
	case "DEBUG", "TRACE":
		return logrus.DebugLevel, rest
	case "WARN", "WARNING":
		return logrus.WarnLevel, rest
	case "ERR", "ERROR":
		return logrus.ErrorLevel, rest
	}
	return logrus.InfoLevel, rest
}
