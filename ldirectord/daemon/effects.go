// effects.go: what state changes cause besides IPVS: log lines, fallbackcommand, monitor files, e-mail, autoreload.

package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/internal/proc"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// hookTimeout bounds fallbackcommand and callback runs.
const hookTimeout = 5 * time.Minute

// logOps logs each IPVS change as classic ldirectord words it (spec §6) and
// mails the real and fallback ones. phase is "start" or "stop" for purges.
func (d *Daemon) logOps(res lvs.Result, phase string) {
	d.metrics.dataplaneOps(d.plane(), res)
	for _, op := range res.Ops {
		key := op.Service.ServiceKey
		v := virtualName(key)
		entry := d.log.WithField("vip", key.String())
		if op.Err != nil {
			entry.WithError(op.Err).Errorf("IPVS %s failed", op)
			continue
		}
		kind := "real"
		if op.Action >= lvs.AddReal && op.Action <= lvs.DelReal {
			entry = entry.WithField("real", op.Real.String())
			if d.isFallback(key, op.Real) {
				kind = "fallback"
			}
		}
		var msg string
		switch op.Action {
		case lvs.AddService:
			msg = "Added virtual server: " + v
		case lvs.EditService:
			msg = "Changed virtual server: " + v
		case lvs.DelService:
			msg = fmt.Sprintf("Purged virtual server (%s): %s", phase, v)
		case lvs.AddReal:
			if op.Real.Weight == 0 {
				msg = fmt.Sprintf("Added quiescent %s server: %s (%s) (Weight set to 0)", kind, op.Real, v)
			} else {
				msg = fmt.Sprintf("Added %s server: %s (%s) (Weight set to %d)", kind, op.Real, v, op.Real.Weight)
			}
		case lvs.EditReal:
			if op.Real.Weight == 0 {
				msg = fmt.Sprintf("Quiescent %s server: %s (%s) (Weight set to 0)", kind, op.Real, v)
			} else {
				msg = fmt.Sprintf("Restored %s server: %s (%s) (Weight set to %d)", kind, op.Real, v, op.Real.Weight)
			}
		case lvs.DelReal:
			msg = fmt.Sprintf("Deleted %s server: %s (%s)", kind, op.Real, v)
		}
		entry.Info(msg)
		if op.Action >= lvs.AddReal && op.Action <= lvs.DelReal {
			d.noteDown(key, op)
			d.alert(d.virtual(key.String()), msg)
		}
	}
	for _, err := range res.Errs {
		d.log.WithError(err).Error("IPVS update incomplete")
	}
}

// isFallback reports whether real d of svc is the virtual's fallback server.
func (d *Daemon) isFallback(svc kernel.ServiceKey, r kernel.Dest) bool {
	v := d.virtual(svc.String())
	if v == nil || v.Fallback == nil || v.Fallback.Addr.Unmap() != r.Addr.Unmap() {
		return false
	}
	for _, cr := range v.Reals {
		if cr.Addr.Unmap() == r.Addr.Unmap() {
			return false
		}
	}
	return true
}

// noteDown keeps the reminder state: a real deleted or quiesced is
// inaccessible until it is added or restored.
func (d *Daemon) noteDown(svc kernel.ServiceKey, op lvs.Op) {
	k := svc.String() + "|" + op.Real.String()
	if op.Action == lvs.DelReal || op.Real.Weight == 0 {
		d.downAt[k] = time.Now()
	} else {
		delete(d.downAt, k)
	}
}

// remind resends "Inaccessible real server" alerts every emailalertfreq.
func (d *Daemon) remind(now time.Time) {
	for k, last := range d.downAt {
		vid, real, _ := strings.Cut(k, "|")
		v := d.virtual(vid)
		if v == nil {
			delete(d.downAt, k)
			continue
		}
		if v.EmailAlertFreq <= 0 || v.EmailAlert == "" || now.Sub(last) < v.EmailAlertFreq {
			continue
		}
		d.downAt[k] = now
		d.alert(v, fmt.Sprintf("Inaccessible real server: %s (%s)", real, virtualName(serviceKey(v))))
	}
}

// alert mails msg for virtual v when its emailalert settings ask for it.
func (d *Daemon) alert(v *config.Virtual, msg string) {
	if v == nil || v.EmailAlert == "" || v.EmailAlertStatus&d.status == 0 {
		return
	}
	if v.SMTP == "" {
		d.log.Warnf("emailalert: %s: not sent: set smtp (sendmail is not supported)", msg)
		return
	}
	subject := msg
	if v.ServiceName != "" {
		subject = "[" + v.ServiceName + "] " + msg
	}
	var to []string
	for _, a := range strings.Split(v.EmailAlert, ",") {
		if a = strings.TrimSpace(a); a != "" {
			to = append(to, a)
		}
	}
	from := d.cfg.EmailAlertFrom
	if from == "" {
		user := os.Getenv("USER")
		if user == "" {
			user = "root"
		}
		from = user + "@" + d.o.Hostname
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n\r\n", from, strings.Join(to, ", "), subject, time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&body, "ldirectord host: %s\r\nLog-Message: %s\r\nDaemon-Status: %s\r\n", d.o.Hostname, msg, statusName(d.status))
	if v.ServiceName != "" {
		fmt.Fprintf(&body, "Service name: %s\r\n", v.ServiceName)
	}
	if v.Comment != "" {
		fmt.Fprintf(&body, "Comment: %s\r\n", v.Comment)
	}
	addr := v.SMTP
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "25")
	}
	send := d.o.SendMail
	if send == nil {
		send = func(addr, from string, to []string, msg []byte) error { return smtp.SendMail(addr, nil, from, to, msg) }
	}
	d.log.Infof("emailalert: %s", subject)
	d.hooks.Add(1)
	go func() {
		defer d.hooks.Done()
		if err := send(addr, from, to, body.Bytes()); err != nil {
			d.log.WithError(err).Errorf("emailalert to %s via %s failed", strings.Join(to, ","), addr)
		}
	}()
}

func statusName(s config.Status) string {
	switch s {
	case config.Starting:
		return "starting"
	case config.Stopping:
		return "stopping"
	case config.Reloading:
		return "reloading"
	}
	return "running"
}

// fallbackCommand runs "cmd start|stop VIP:VPORT PROTO" through the shell.
func (d *Daemon) fallbackCommand(v *config.Virtual, arg string) {
	vip := virtualName(serviceKey(v))
	cmdline := fmt.Sprintf("%s %s %s %s", v.FallbackCommand, arg, vip, v.Proto)
	d.runShell(cmdline)
}

// runShell runs cmdline with the shell in the background, after the
// commands run before it have finished (a fallbackcommand "stop" never
// overtakes its "start"), logging failures as classic "system(cmd)
// failed". It is called from the daemon's loop only.
func (d *Daemon) runShell(cmdline string) {
	d.log.Infof("Running: %s", cmdline)
	d.hooks.Add(1)
	prev, done := d.lastShell, make(chan struct{})
	d.lastShell = done
	go func() {
		defer d.hooks.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		ctx, cancel := context.WithTimeout(context.Background(), hookTimeout)
		defer cancel()
		if err := proc.Command(ctx, d.o.Shell, "-c", cmdline).Run(); err != nil {
			d.log.WithError(err).Errorf("system(%s) failed: %v", cmdline, err)
		}
	}()
}

// writeMonitor appends one transition line to a monitor file:
// "[ctime] [pid] VIRTUAL REAL [up|down] message".
func writeMonitor(path string, t time.Time, pid int, virtual, real, state string, err error) error {
	msg := "-"
	if err != nil {
		msg = monitorEscape(err.Error())
	}
	f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if ferr != nil {
		return ferr
	}
	_, werr := fmt.Fprintf(f, "[%s] [%d] %s %s [%s] %s\n", t.Format("Mon Jan _2 15:04:05 2006"), pid, virtual, real, state, msg)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// monitorEscape %-escapes %, |, CR and LF as classic does.
func monitorEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "|", "%7C", "\r", "%0D", "\n", "%0A")
	return r.Replace(s)
}

// fileStamp is what autoreload compares: mtime, then content hash.
type fileStamp struct {
	mtime time.Time
	sum   [32]byte
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), sha256.Sum256(b)}, nil
}

// configChanged reports a change of the config file's content (a different
// mtime, then a different hash, as classic's mtime + MD5), logs it and runs
// callback.
func (d *Daemon) configChanged() bool {
	fi, err := os.Stat(d.o.ConfigPath)
	if err != nil || fi.ModTime().Equal(d.cfgStamp.mtime) {
		return false
	}
	s, err := stamp(d.o.ConfigPath)
	if err != nil {
		return false
	}
	old := d.cfgStamp
	d.cfgStamp = s
	if s.sum == old.sum {
		return false
	}
	what := " - ignore new configuration"
	if d.cfg.AutoReload {
		what = " - reread new configuration"
	}
	d.log.WithFields(logrus.Fields{"file": d.o.ConfigPath}).Infof("Configuration file '%s' has changed on disk%s", d.o.ConfigPath, what)
	if cb := d.cfg.Callback; cb != "" {
		if prog, _, _ := strings.Cut(cb, " "); proc.IsExecutableFile(prog) {
			d.runShell(cb + " " + d.o.ConfigPath)
		} else {
			d.log.Warnf("callback %s is not executable", prog)
		}
	}
	return true
}
