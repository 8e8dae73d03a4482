// Package fifo is heartbeat's message FIFO, /var/lib/heartbeat/fifo,
// through which shell tools (ha_clustermsg in /etc/ha.d/shellfuncs, used by
// hb_standby and hb_takeover) inject cluster messages: each a block
// ">>>\n" name=value lines "<<<\n". The daemon adds the standard fields
// (src, seq, auth, ...) and sends the message to the cluster.
//
// Facts kept from heartbeat 3.0.6 (heartbeat.c, cluster-glue cl_msg.c):
//   - the FIFO is created with mode 0600 when missing; something else at
//     the path is removed and replaced by a FIFO; an existing FIFO is
//     chmod'ed to 0600;
//   - the reader also opens the FIFO for writing and keeps it open, so it
//     never sees end-of-file between two writers;
//   - a block with a bad line is dropped whole.
//
// Differences (the parser's comment has the details): bad input is
// counted and logged at a limited rate; a new ">>>" inside a block starts a
// new block; a symlink at the path is replaced rather than followed.
package fifo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/internal/ratelimit"
)

// DefaultPath is the classic FIFO (HA_FIFO in the shell functions).
const DefaultPath = "/var/lib/heartbeat/fifo"

// Mode is the FIFO's permission (classic FIFOMODE): only root writes.
const Mode fs.FileMode = 0o600

// Bad input is logged at most badBurst times at once, then once per badEvery.
const (
	badEvery = 10 * time.Second
	badBurst = 5
)

// Stats counts what a Reader has seen.
type Stats struct {
	Messages uint64 // delivered
	Dropped  uint64 // bad blocks and runs of stray text
}

// Reader reads messages from the FIFO.
type Reader struct {
	path string
	log  logrus.FieldLogger
	rd   *os.File // read end
	wr   *os.File // our own write end: keeps readers from seeing EOF
	lim  *ratelimit.Limiter

	messages, dropped atomic.Uint64
	closeOnce         sync.Once
	closeErr          error
}

// Open makes sure path is a FIFO with mode 0600 (creating or replacing it
// as classic heartbeat does) and opens it for reading, and for writing so
// that readers never see end-of-file. A directory at path is an error.
func Open(path string, log logrus.FieldLogger) (*Reader, error) {
	if log == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		log = l
	}
	log = log.WithField("fifo", path)
	if err := ensure(path, log); err != nil {
		return nil, err
	}
	rd, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("opening FIFO %s for reading: %w", path, err)
	}
	// Re-check what was opened: the path could have been swapped meanwhile.
	if fi, err := rd.Stat(); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		rd.Close()
		return nil, fmt.Errorf("opening FIFO %s: not a FIFO any more", path)
	}
	wr, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		rd.Close()
		return nil, fmt.Errorf("opening FIFO %s for writing: %w", path, err)
	}
	return &Reader{path: path, log: log, rd: rd, wr: wr, lim: ratelimit.New(badEvery, badBurst, nil)}, nil
}

// ensure creates path as a FIFO, or replaces whatever else is there.
func ensure(path string, log logrus.FieldLogger) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("FIFO %s: %w", path, err)
	case fi.Mode().Type() == fs.ModeNamedPipe:
		if fi.Mode().Perm() != Mode {
			if err := os.Chmod(path, Mode); err != nil {
				return fmt.Errorf("FIFO %s: %w", path, err)
			}
		}
		return nil
	case fi.IsDir():
		return fmt.Errorf("FIFO %s: is a directory", path)
	default:
		log.Warnf("%s is not a FIFO (%s): replacing it", path, fi.Mode().Type())
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("FIFO %s: removing non-FIFO: %w", path, err)
		}
	}
	log.Infof("Creating FIFO %s.", path)
	if err := unix.Mkfifo(path, uint32(Mode)); err != nil {
		return fmt.Errorf("creating FIFO %s: %w", path, err)
	}
	if err := os.Chmod(path, Mode); err != nil { // mkfifo applied the umask
		return fmt.Errorf("FIFO %s: %w", path, err)
	}
	return nil
}

// Run reads blocks until ctx ends, calling deliver for each good message
// from Run's goroutine. Bad blocks are dropped, counted in Stats and logged
// at a limited rate. Run closes the Reader when it returns; it returns nil
// when ctx ended, or the read error that stopped it.
func (r *Reader) Run(ctx context.Context, deliver func(*wire.Message)) error {
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	defer r.Close()
	br := bufio.NewReaderSize(r.rd, 64<<10)
	var (
		p    parser
		line []byte
	)
	for {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(br, line[:0])
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("reading FIFO %s: %w", r.path, err)
		}
		m, bad := p.line(line, tooLong)
		switch {
		case bad != nil:
			r.dropped.Add(1)
			if ok, n := r.lim.Allow("bad"); ok {
				r.log.WithError(bad).Warnf("FIFO %s: dropped bad input (%d similar suppressed)", r.path, n)
			}
		case m != nil:
			r.messages.Add(1)
			r.log.WithField("type", m.Type()).Debugf("FIFO message: %s", m)
			deliver(m)
		}
	}
}

// readLine appends the next line, '\n' included, to buf. A line longer
// than wire.MaxMessage is consumed whole but only its start is returned,
// with tooLong set.
func readLine(br *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > wire.MaxMessage {
			tooLong = true
			chunk = chunk[:max(0, wire.MaxMessage-len(buf))]
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, tooLong, err
	}
}

// Stats returns the counters.
func (r *Reader) Stats() Stats {
	return Stats{Messages: r.messages.Load(), Dropped: r.dropped.Load()}
}

// Path returns the FIFO's path.
func (r *Reader) Path() string { return r.path }

// Close closes both ends; a running Run returns. The FIFO stays in place.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() {
		r.closeErr = errors.Join(r.rd.Close(), r.wr.Close())
	})
	return r.closeErr
}

// Send writes m to the FIFO at path in classic text form, in one write, as
// ha_clustermsg does. It fails at once when no daemon has the FIFO open.
// Messages up to PIPE_BUF (4096) bytes never interleave with other writers.
func Send(path string, m *wire.Message) error {
	if m.Type() == "" {
		return errors.New("fifo: message without a t= field")
	}
	b := wire.Marshal(m)
	b = b[:len(b)-1] // no NUL: the stream is line-based
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return fmt.Errorf("writing FIFO %s: nobody reads it (is heartbeat running?): %w", path, err)
	}
	if err != nil {
		return fmt.Errorf("writing FIFO %s: %w", path, err)
	}
	if fi, err := f.Stat(); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		f.Close()
		return fmt.Errorf("writing FIFO %s: not a FIFO", path)
	}
	_, werr := f.Write(b)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("writing FIFO %s: %w", path, err)
	}
	return nil
}
