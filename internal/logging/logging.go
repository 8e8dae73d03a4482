// Package logging sets up logrus for hasuite daemons with heartbeat's classic
// destinations (logfile, debugfile, syslog facility) and line shape.
//
// Lines look like syslog's, for files and the terminal alike:
//
//	Nov 22 00:35:49 nodea heartbeat: [11191]: WARN: node nodeb: is dead
//
// Levels print as debug, info, WARN, ERROR and CRIT. logrus has no critical
// level: Crit and Critf log at Error with a marker field, which the formatter
// prints as CRIT and the syslog sink sends as LOG_CRIT. Fatal and Panic are
// also CRIT. Trace prints as debug.
//
// Routing follows cl_log: the debugfile gets every entry, the logfile every
// entry except debug ones, syslog and the terminal get everything. Which
// entries exist at all is the logger's level (see Level).
//
// Writes never block the caller: entries are formatted on the caller's
// goroutine and handed to one drain goroutine through a bounded queue; when
// it is full the entry is dropped and counted (Dropped), and an ERROR line
// reports the count once the queue drains.
package logging

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// Options selects the destinations, as ha.cf's logging directives do.
type Options struct {
	Ident     string // syslog ident and line tag; "heartbeat" when empty
	Node      string // host name printed in lines; short os.Hostname when empty
	Facility  string // syslog facility (daemon, local0..local7, ...); "" unset, "none" no syslog
	File      string // logfile: every entry except debug
	DebugFile string // debugfile: every entry
	Debug     int    // ha.cf debug level; see Level
	Terminal  bool   // also write everything to stderr (heartbeatd -d)
}

// env is what Setup takes from the process; tests replace it.
type env struct {
	pid           int
	syslogAddrs   []string
	now           func() time.Time
	stderr        io.Writer
	journalStderr bool // stderr is a journald stream (JOURNAL_STREAM matches)
	queue         int
	exit          func(int)
}

func processEnv() env {
	return env{
		pid:           os.Getpid(),
		syslogAddrs:   defaultSyslogAddrs,
		now:           time.Now,
		stderr:        os.Stderr,
		journalStderr: stderrIsJournal(os.Getenv("JOURNAL_STREAM")),
		queue:         defaultQueue,
		exit:          os.Exit,
	}
}

// Setup builds a logger for o. The returned function flushes queued entries
// and closes the files; call it before exiting (Fatal calls it itself). The
// logger's Out and Formatter are unused: output goes through a hook.
//
// With none of Facility, File and DebugFile set (classic heartbeat then
// implies the logging daemon, which logs to syslog), entries go to syslog
// facility daemon, or only to the terminal when Terminal is set.
func Setup(o Options) (*logrus.Logger, func() error, error) {
	return setup(o, processEnv())
}

func setup(o Options, e env) (*logrus.Logger, func() error, error) {
	if o.Ident == "" {
		o.Ident = "heartbeat"
	}
	if o.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, nil, fmt.Errorf("logging: node name: %w", err)
		}
		o.Node, _, _ = strings.Cut(strings.ToLower(h), ".")
	}
	facility := o.Facility
	if facility == "" && o.File == "" && o.DebugFile == "" && !o.Terminal {
		facility = "daemon"
	}

	var routes []*route
	fail := func(err error) (*logrus.Logger, func() error, error) {
		for _, r := range routes {
			r.s.close()
		}
		return nil, nil, fmt.Errorf("logging: %w", err)
	}
	if facility != "" && !strings.EqualFold(facility, "none") {
		code, err := Facility(facility)
		if err != nil {
			return fail(err)
		}
		routes = append(routes, &route{
			name:  "syslog",
			s:     &syslogSink{facility: code, addrs: e.syslogAddrs, now: e.now},
			debug: true,
		})
	}
	for _, fs := range []struct {
		path  string
		debug bool
	}{{o.File, false}, {o.DebugFile, true}} {
		if fs.path == "" {
			continue
		}
		s, err := openFileSink(fs.path)
		if err != nil {
			return fail(err)
		}
		routes = append(routes, &route{name: fs.path, s: s, debug: fs.debug})
	}
	if o.Terminal {
		routes = append(routes, &route{
			name:  "stderr",
			s:     &writerSink{w: e.stderr, journal: e.journalStderr},
			debug: true,
		})
	}

	f := &Formatter{Ident: o.Ident, Node: o.Node, Pid: e.pid}
	d := newDispatcher(f, routes, e.queue, e.stderr)
	l := logrus.New()
	l.Out = io.Discard
	l.Formatter = nopFormatter{}
	l.SetLevel(Level(o.Debug))
	l.AddHook(d)
	l.ExitFunc = func(code int) {
		d.close()
		e.exit(code)
	}
	return l, d.close, nil
}

// Level maps heartbeat's debug level to a logrus level: 0 is Info, 1 is
// Debug, 2 and more Trace (printed as debug). SIGUSR1/SIGUSR2 change the
// debug level; apply it with l.SetLevel(Level(n)).
func Level(debug int) logrus.Level {
	switch {
	case debug <= 0:
		return logrus.InfoLevel
	case debug == 1:
		return logrus.DebugLevel
	default:
		return logrus.TraceLevel
	}
}

// Dropped returns how many entries l has dropped because the log queue was
// full (or arrived after close). It is 0 for loggers not made by Setup.
func Dropped(l *logrus.Logger) uint64 {
	for _, h := range l.Hooks[logrus.ErrorLevel] {
		if d, ok := h.(*dispatcher); ok {
			return d.dropped.Load()
		}
	}
	return 0
}

// nopFormatter keeps logrus from formatting entries a second time.
type nopFormatter struct{}

func (nopFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

// stderrIsJournal reports whether stderr is the journald stream named by
// JOURNAL_STREAM ("device:inode"), as systemd documents for that variable.
func stderrIsJournal(v string) bool { return isJournal(os.Stderr, v) }

// IsJournal reports whether f (stdout or stderr) is connected to journald,
// the stream $JOURNAL_STREAM names: lines written there should carry a
// "<N>" priority (JournalPriority) and no timestamp of their own.
func IsJournal(f *os.File) bool { return isJournal(f, os.Getenv("JOURNAL_STREAM")) }

// JournalPriority is the "<N>" prefix that gives a line written to a
// journald stream the syslog severity of e.
func JournalPriority(e *logrus.Entry) string { return "<" + strconv.Itoa(severity(e)) + ">" }

func isJournal(f *os.File, v string) bool {
	if v == "" {
		return false
	}
	devS, inoS, ok := strings.Cut(v, ":")
	if !ok {
		return false
	}
	dev, err1 := strconv.ParseUint(devS, 10, 64)
	ino, err2 := strconv.ParseUint(inoS, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && uint64(st.Ino) == ino
}
