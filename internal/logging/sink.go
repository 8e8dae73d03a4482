// Log destinations: files (rotation-safe), a plain writer (the terminal), syslog.

package logging

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
)

// sink is one destination. Only the drain goroutine calls its methods.
type sink interface {
	write(f *Formatter, ev *event) error
	close() error
}

// fileSink appends lines to a file that stays open. Before each line it
// checks that the path still names the open file and reopens it otherwise,
// so logrotate's rename-and-create works without signals (classic heartbeat
// opened the file for every line, which gave the same result).
type fileSink struct {
	path string
	f    *os.File
	buf  bytes.Buffer
	// torn is set when a failed write (a full disk) left a partial line
	// at the end of the file: the next line starts on a new one.
	torn bool
}

// logFileMode is the mode new log files are created with (before umask),
// as fopen(3) "a" did for classic heartbeat.
const logFileMode = 0o644

func openFileSink(path string) (*fileSink, error) {
	s := &fileSink{path: path}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *fileSink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, logFileMode)
	if err != nil {
		return fmt.Errorf("opening log file: %w", err)
	}
	s.f, s.torn = f, false
	return nil
}

// rotated reports whether the path no longer names the open file.
func (s *fileSink) rotated() bool {
	pst, err := os.Stat(s.path)
	if err != nil {
		return true
	}
	fst, err := s.f.Stat()
	if err != nil {
		return true
	}
	return !os.SameFile(pst, fst)
}

func (s *fileSink) write(f *Formatter, ev *event) error {
	if s.f == nil || s.rotated() {
		if s.f != nil {
			s.f.Close()
			s.f = nil
		}
		if err := s.open(); err != nil {
			return err
		}
	}
	s.buf.Reset()
	if s.torn {
		s.buf.WriteByte('\n')
	}
	f.appendLine(&s.buf, ev.t, ev.body)
	b := s.buf.Bytes()
	n, err := s.f.Write(b)
	if n > 0 {
		s.torn = b[n-1] != '\n'
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.path, err)
	}
	return nil
}

func (s *fileSink) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// writerSink writes lines to an io.Writer such as stderr. In journal mode
// (stderr connected to journald) it drops the timestamp, host and pid, which
// the journal records itself, and prefixes the syslog severity as "<N>" so
// journald stores the right priority.
type writerSink struct {
	w       io.Writer
	journal bool
	buf     bytes.Buffer
}

func (s *writerSink) write(f *Formatter, ev *event) error {
	s.buf.Reset()
	if s.journal {
		s.buf.WriteByte('<')
		s.buf.WriteString(strconv.Itoa(ev.sev))
		s.buf.WriteByte('>')
		s.buf.WriteString(ev.body)
		s.buf.WriteByte('\n')
	} else {
		f.appendLine(&s.buf, ev.t, ev.body)
	}
	_, err := s.w.Write(s.buf.Bytes())
	return err
}

func (s *writerSink) close() error { return nil }

// syslogSink implements sink.
var _ sink = (*syslogSink)(nil)
