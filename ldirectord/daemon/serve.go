// serve.go: running the daemon in this process: logging sinks, pid file, signals.

package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/internal/logging"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// ServeOptions are Serve's dependencies.
type ServeOptions struct {
	IPVS           lvs.Backend // OpenDataPlane's in production
	DataPlane      string      // its name: PlaneIPVS or PlaneNFTables
	Stdout, Stderr io.Writer   // nil: the process's
}

// Serve runs the daemon for inv in this process until SIGTERM, SIGINT or
// SIGQUIT, reloading on SIGHUP. It writes inv.PidFile (when set) and
// removes it at exit.
func Serve(inv Invocation, so ServeOptions) error {
	if so.Stdout == nil {
		so.Stdout = os.Stdout
	}
	if so.Stderr == nil {
		so.Stderr = os.Stderr
	}
	log, closeLog, err := newLogger(inv, so.Stdout, so.Stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	// Signals are caught before the pid file tells anyone where to send them.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloads := make(chan struct{}, 1)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Stop(sigs)
	var sigName string
	go func() {
		for s := range sigs {
			if s == syscall.SIGHUP {
				select {
				case reloads <- struct{}{}:
				default:
				}
				continue
			}
			sigName = strings.ToUpper(strings.TrimPrefix(unixSigName(s), "SIG"))
			cancel()
			return
		}
	}()
	// The data plane must answer before the pid file says we run; a kernel
	// without IPVS is a start failure, not a daemon that fails every change.
	if _, err := so.IPVS.Services(); err != nil {
		err = dataPlaneError(err)
		log.Error(err)
		return err
	}
	if inv.PidFile != "" {
		if err := writePidFile(inv.PidFile); err != nil {
			log.Error(err)
			return err
		}
		defer os.Remove(inv.PidFile)
	}
	log.Infof("Invoking ldirectord invoked as: %s ", strings.Join(os.Args, " "))
	log.Infof("Starting Linux Director v1.186-ha (hasuite) with pid: %d", os.Getpid())
	for _, w := range inv.Config.Warnings {
		log.Warn(w)
	}

	if so.DataPlane == PlaneNFTables {
		log.Infof("Data plane: nftables (table inet %s)", kernel.NFTTable)
	}
	d := New(Options{ConfigPath: inv.ConfigPath, Config: inv.Config, IPVS: so.IPVS, DataPlane: so.DataPlane, Log: log})
	err = d.Run(ctx, reloads)
	log.Infof("Linux Director Daemon terminated on signal: %s", sigName)
	return err
}

// CheckDataPlane opens the data plane cfg asks for and reads its table
// once: the start-up check of Env.CheckDataPlane. On a kernel without IPVS
// (and backend ipvs, the default) it fails with kernel.ErrNoIPVS.
func CheckDataPlane(cfg *config.Config) error {
	dp, _, err := OpenDataPlane(cfg)
	if err != nil {
		return err
	}
	defer dp.Close()
	_, err = dp.Services()
	return err
}

// dataPlaneError explains why the data plane cannot be used at start,
// naming the fix; it wraps err.
func dataPlaneError(err error) error {
	switch {
	case errors.Is(err, kernel.ErrNoIPVS):
		return noIPVSError{err}
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: ldirectord needs root (CAP_NET_ADMIN); nothing was changed", err)
	}
	return fmt.Errorf("%w; nothing was changed", err)
}

// noIPVSError is the start failure on a kernel without IPVS.
type noIPVSError struct{ err error }

func (e noIPVSError) Error() string {
	return `IPVS is not available in this kernel (load the ip_vs module: "modprobe ip_vs", or set backend = nftables or auto); nothing was changed`
}

func (e noIPVSError) Unwrap() error { return e.err }

func unixSigName(s os.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGQUIT:
		return "QUIT"
	}
	return s.String()
}

// newLogger builds the classic sinks (spec §6): -d → stderr; supervised →
// stdout "[ctime] msg"; logfile "/path" → that file, opened per line,
// "[ctime|CFGNAME|pid] msg"; else syslog with that facility.
func newLogger(inv Invocation, stdout, stderr io.Writer) (*logrus.Logger, func(), error) {
	l := logrus.New()
	l.SetLevel(logrus.InfoLevel)
	pid := os.Getpid()
	switch {
	case inv.Debug:
		l.Out = stderr
		l.Formatter = &classicFormatter{prefix: journalPrefix(stderr, nil)}
		l.SetLevel(logrus.DebugLevel)
	case inv.Config.Supervised:
		l.Out = stdout
		l.Formatter = &classicFormatter{prefix: journalPrefix(stdout, func(e *logrus.Entry) string {
			return "[" + ctime(e.Time) + "] "
		})}
	case strings.HasPrefix(inv.Config.LogFile, "/"):
		prefix := func(t time.Time) string { return fmt.Sprintf("[%s|%s|%d] ", ctime(t), inv.CfgName, pid) }
		l.Out = &appendFile{path: inv.Config.LogFile, warn: stderr, prefix: prefix}
		l.Formatter = &classicFormatter{prefix: func(e *logrus.Entry) string { return prefix(e.Time) }}
	default:
		sl, closeFn, err := logging.Setup(logging.Options{Ident: "ldirectord", Facility: inv.Config.LogFile})
		if err != nil {
			return nil, nil, fmt.Errorf("logfile %q: %w", inv.Config.LogFile, err)
		}
		return sl, func() { closeFn() }, nil
	}
	return l, func() {}, nil
}

func ctime(t time.Time) string { return t.Format("Mon Jan _2 15:04:05 2006") }

// classicFormatter prints the bare message, an error after ": ", and
// "DEBUG: " before debug lines.
type classicFormatter struct {
	prefix func(*logrus.Entry) string
}

// journalPrefix is classic's prefix, unless w is a journald stream (run
// under systemd): then the line gets its priority as "<N>" and no time, which
// the journal records itself.
func journalPrefix(w io.Writer, classic func(*logrus.Entry) string) func(*logrus.Entry) string {
	if f, ok := w.(*os.File); ok && logging.IsJournal(f) {
		return logging.JournalPriority
	}
	return classic
}

// Format renders one line.
func (f *classicFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	if f.prefix != nil {
		b.WriteString(f.prefix(e))
	}
	if e.Level >= logrus.DebugLevel {
		b.WriteString("DEBUG: ")
	}
	b.WriteString(e.Message)
	if err, ok := e.Data[logrus.ErrorKey].(error); ok && err != nil {
		b.WriteString(": ")
		b.WriteString(err.Error())
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// appendFile opens, appends to and closes its file on every write, so
// logrotate needs no signal (as classic). A write that fails (disk full,
// read-only or vanished directory) never stops the daemon nor changes what
// it does: the first failure is reported once on warn (stderr: the journal
// under systemd), the lines are dropped meanwhile, and once the file can
// be written again a line there says how many were lost, since when and
// why.
type appendFile struct {
	mu     sync.Mutex
	path   string
	warn   io.Writer              // nil: no report
	prefix func(time.Time) string // the log line prefix, for the note
	now    func() time.Time       // nil: time.Now
	lost   int                    // lines dropped since lostAt
	lostAt time.Time
	err    error // the first failure since lostAt
}

func (a *appendFile) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	if a.lost > 0 {
		note := fmt.Sprintf("Log file %s could not be written from %s: %d lines lost (%v)\n", a.path, ctime(a.lostAt), a.lost, a.err)
		if a.prefix != nil {
			note = a.prefix(now()) + note
		}
		if a.append([]byte(note)) != nil {
			a.lost++
			return len(p), nil
		}
		a.lost = 0
	}
	if err := a.append(p); err != nil {
		if a.lost == 0 {
			a.lostAt, a.err = now(), err
			if a.warn != nil {
				fmt.Fprintf(a.warn, "ldirectord: cannot write log file: %v; log lines are lost until it can be written\n", err)
			}
		}
		a.lost++
	}
	return len(p), nil // logrus would print every failed line on stderr
}

func (a *appendFile) append(p []byte) error {
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(p)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
