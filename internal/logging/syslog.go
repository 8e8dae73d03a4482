// Local syslog client: the datagram shape classic heartbeat sends via syslog(3).

package logging

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// facilities are the syslog facility names heartbeat's logfacility accepts
// (those of <syslog.h>), with their codes.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5,
	"lpr": 6, "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Facility returns the syslog facility code for name (case-insensitive), or
// an error naming the accepted values.
func Facility(name string) (int, error) {
	code, ok := facilities[strings.ToLower(name)]
	if !ok {
		return 0, fmt.Errorf("unknown log facility %q (want none, daemon, user, auth, authpriv, local0..local7, ...)", name)
	}
	return code, nil
}

// defaultSyslogAddrs are the local syslog sockets tried in order.
var defaultSyslogAddrs = []string{"/dev/log", "/var/run/syslog", "/var/run/log"}

// syslogRetry is how long the sink waits after a failed connect before it
// tries again, so a missing syslog daemon costs one connect per second, not
// one per message.
const syslogRetry = time.Second

// maxSyslogPayload caps one datagram; longer bodies are truncated.
const maxSyslogPayload = 8192

// syslogSink writes "<PRI>Mmm dd hh:mm:ss ident: [pid]: LEVEL: msg" datagrams,
// exactly what glibc's syslog(3) sends for classic heartbeat (openlog without
// LOG_PID; the pid is part of heartbeat's message). Only the drain goroutine
// uses it.
type syslogSink struct {
	facility int
	addrs    []string
	now      func() time.Time
	conn     net.Conn
	nextTry  time.Time
	buf      bytes.Buffer
}

// write sends one entry; errors mean the entry was lost.
func (s *syslogSink) write(f *Formatter, ev *event) error {
	if s.conn == nil {
		if err := s.connect(); err != nil {
			return err
		}
	}
	s.buf.Reset()
	s.buf.WriteByte('<')
	s.buf.WriteString(strconv.Itoa(s.facility<<3 | ev.sev))
	s.buf.WriteByte('>')
	s.buf.WriteString(ev.t.Format(stampLayout))
	s.buf.WriteByte(' ')
	f.appendTagged(&s.buf, ev.body)
	p := s.buf.Bytes()
	if len(p) > maxSyslogPayload {
		p = p[:maxSyslogPayload]
	}
	if _, err := s.conn.Write(p); err != nil {
		// The syslog daemon may have restarted: reconnect once.
		s.conn.Close()
		s.conn = nil
		if cerr := s.connect(); cerr != nil {
			return fmt.Errorf("syslog: %w", err)
		}
		if _, err := s.conn.Write(p); err != nil {
			return fmt.Errorf("syslog: %w", err)
		}
	}
	return nil
}

// connect dials the first syslog socket that answers, at most once per
// syslogRetry.
func (s *syslogSink) connect() error {
	now := s.now()
	if now.Before(s.nextTry) {
		return fmt.Errorf("syslog: not connected")
	}
	var errs []string
	for _, a := range s.addrs {
		c, err := net.Dial("unixgram", a)
		if err == nil {
			s.conn = c
			return nil
		}
		errs = append(errs, err.Error())
	}
	s.nextTry = now.Add(syslogRetry)
	return fmt.Errorf("syslog: connecting: %s", strings.Join(errs, "; "))
}

func (s *syslogSink) close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
