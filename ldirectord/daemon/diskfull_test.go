// diskfull_test.go: a log file or run directory that cannot be written: start refuses, a running daemon's log degrades.

package daemon

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// devFull is a file every write to fails with ENOSPC, as on a full disk.
const devFull = "/dev/full"

func needDevFull(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(devFull); err != nil {
		t.Skipf("no %s: %v", devFull, err)
	}
}

// The log file's disk fills up and frees again: no write error reaches
// logrus (it would print each line on stderr), one warning goes to warn,
// and the first line written afterwards is preceded by a note counting
// the lost lines.
func TestAppendFileFullDisk(t *testing.T) {
	needDevFull(t)
	dir := t.TempDir()
	real, link := filepath.Join(dir, "ld.log.real"), filepath.Join(dir, "ld.log")
	point := func(target string) {
		t.Helper()
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	point(real)
	var warn bytes.Buffer
	at := time.Date(2026, 11, 22, 8, 0, 0, 0, time.Local)
	a := &appendFile{path: link, warn: &warn, prefix: func(time.Time) string { return "[P] " }, now: func() time.Time { return at }}
	write := func(line string) {
		t.Helper()
		if n, err := a.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", line, n, err, len(line))
		}
	}
	write("one\n")
	point(devFull)
	write("two\n")
	write("three\n")
	write("four\n")
	wantWarn := "ldirectord: cannot write log file: write " + link + ": no space left on device; log lines are lost until it can be written\n"
	if warn.String() != wantWarn {
		t.Errorf("warnings %q, want one: %q", warn.String(), wantWarn)
	}
	point(real)
	write("five\n")
	b, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	want := "one\n[P] Log file " + link + " could not be written from Sun Nov 22 08:00:00 2026: 3 lines lost (write " + link + ": no space left on device)\nfive\n"
	if string(b) != want {
		t.Errorf("log file:\n%s\nwant:\n%s", b, want)
	}
	if strings.Count(warn.String(), "\n") != 1 {
		t.Errorf("more than one warning: %q", warn.String())
	}
}

// start checks that the pid file and the log file can be written before
// anything runs: full or unopenable, it says why, exits 1 and starts
// nothing.
func TestCLIStartUnwritable(t *testing.T) {
	needDevFull(t)
	for _, tc := range []struct {
		name  string
		setup func(c *cliEnv) (cfgText, want string)
	}{
		{"run directory full", func(c *cliEnv) (string, string) {
			tmp := filepath.Join(c.run, "ldirectord.ldirectord.pid.tmp")
			if err := os.Symlink(devFull, tmp); err != nil {
				t.Fatal(err)
			}
			return goodCfg, "pid file: write " + tmp + ": no space left on device"
		}},
		{"log directory missing", func(c *cliEnv) (string, string) {
			log := filepath.Join(c.other, "gone", "ld.log")
			return strings.Replace(goodCfg, `"LOG"`, `"`+log+`"`, 1), "logfile: open " + log + ": no such file or directory"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			text, want := tc.setup(c)
			cf := c.write(filepath.Join(c.etc, "ldirectord.cf"), text)
			code, stdout, stderr := c.main("start")
			want = "ldirectord: cannot start for " + cf + ": " + want + "; nothing was changed\n"
			if code != 1 || stdout != "" || stderr != want {
				t.Errorf("start: exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, want)
			}
			if len(c.served) != 0 {
				t.Errorf("the daemon ran: %+v", c.served)
			}
		})
	}
}
