// ftp.go: negotiate ftp: log in, cwd /, binary, passive, retrieve request, match receive.

package check

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// FTP logs in with Login/Passwd (anonymous when Login is empty), changes to
// /, sets binary mode, retrieves Request over a passive data connection and
// passes when every step succeeded and the content matches Receive (any
// content when empty). The data connection goes to the real's address.
type FTP struct{}

// Check runs the session.
func (FTP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error { return ftpCheck(ctx, t) })
}

func ftpCheck(ctx context.Context, t Target) error {
	re, err := receiveRE(t.Receive)
	if err != nil {
		return err
	}
	c, stop, err := dial(ctx, t)
	if err != nil {
		return err
	}
	defer stop()
	lc := newLineConn(c)
	if _, _, err := ftpReply(lc, "greeting", 2); err != nil {
		return err
	}
	login := t.Login
	if login == "" {
		login = "anonymous"
	}
	code, _, err := ftpCmd(lc, "USER "+login, 2, 3)
	if err != nil {
		return err
	}
	if code/100 == 3 {
		if _, _, err := ftpCmd(lc, "PASS "+t.Passwd, 2); err != nil {
			return err
		}
	}
	if _, _, err := ftpCmd(lc, "CWD /", 2); err != nil {
		return err
	}
	if _, _, err := ftpCmd(lc, "TYPE I", 2); err != nil {
		return err
	}
	port, err := ftpPassive(lc, t.Real.Addr())
	if err != nil {
		return err
	}
	var d net.Dialer
	addr := net.JoinHostPort(t.Real.Addr().String(), strconv.Itoa(port))
	dc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("ftp data connection to %s: %w", addr, err)
	}
	defer bind(ctx, dc)()
	if _, _, err := ftpCmd(lc, "RETR "+t.Request, 1); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(dc, maxBody)); err != nil {
		return fmt.Errorf("ftp retrieving %s: %w", t.Request, err)
	}
	dc.Close()
	if _, _, err := ftpReply(lc, "RETR "+t.Request, 2); err != nil {
		return err
	}
	lc.send("QUIT")
	if re != nil && !re.Match(buf.Bytes()) {
		return fmt.Errorf("ftp %s does not match %q: %q", t.Request, t.Receive, truncate(buf.String(), 200))
	}
	return nil
}

// ftpPassive asks for a passive data port: EPSV on IPv6, else PASV.
func ftpPassive(lc *lineConn, real netip.Addr) (int, error) {
	if real.Is6() && !real.Is4In6() {
		_, msg, err := ftpCmd(lc, "EPSV", 2)
		if err != nil {
			return 0, err
		}
		i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
		if i < 0 || j < i+4 {
			return 0, fmt.Errorf("ftp EPSV: cannot parse %q", msg)
		}
		p, err := strconv.Atoi(msg[i+4 : j])
		if err != nil || p <= 0 || p > 65535 {
			return 0, fmt.Errorf("ftp EPSV: cannot parse %q", msg)
		}
		return p, nil
	}
	_, msg, err := ftpCmd(lc, "PASV", 2)
	if err != nil {
		return 0, err
	}
	i, j := strings.Index(msg, "("), strings.LastIndex(msg, ")")
	if i < 0 || j < i {
		return 0, fmt.Errorf("ftp PASV: cannot parse %q", msg)
	}
	f := strings.Split(msg[i+1:j], ",")
	if len(f) != 6 {
		return 0, fmt.Errorf("ftp PASV: cannot parse %q", msg)
	}
	hi, err1 := strconv.Atoi(strings.TrimSpace(f[4]))
	lo, err2 := strconv.Atoi(strings.TrimSpace(f[5]))
	if err1 != nil || err2 != nil || hi < 0 || hi > 255 || lo < 0 || lo > 255 || hi|lo == 0 {
		return 0, fmt.Errorf("ftp PASV: cannot parse %q", msg)
	}
	return hi<<8 | lo, nil
}

// ftpCmd sends cmd and reads its reply, which must be in one of the classes.
func ftpCmd(lc *lineConn, cmd string, classes ...int) (int, string, error) {
	if err := lc.send(cmd); err != nil {
		return 0, "", err
	}
	what := cmd
	if strings.HasPrefix(cmd, "PASS ") {
		what = "PASS"
	}
	return ftpReply(lc, what, classes...)
}

// ftpReply reads a (possibly multi-line) reply and checks its class (the
// code's first digit).
func ftpReply(lc *lineConn, what string, classes ...int) (int, string, error) {
	l, err := lc.line()
	if err != nil {
		return 0, "", fmt.Errorf("ftp %s: %w", what, err)
	}
	if len(l) < 3 {
		return 0, "", fmt.Errorf("ftp %s: bad reply %q", what, truncate(l, 200))
	}
	code, err := strconv.Atoi(l[:3])
	if err != nil {
		return 0, "", fmt.Errorf("ftp %s: bad reply %q", what, truncate(l, 200))
	}
	msg := l
	if len(l) > 3 && l[3] == '-' {
		for end := l[:3] + " "; ; {
			l, err = lc.line()
			if err != nil {
				return 0, "", fmt.Errorf("ftp %s: %w", what, err)
			}
			if strings.HasPrefix(l, end) {
				msg = l
				break
			}
		}
	}
	for _, c := range classes {
		if code/100 == c {
			return code, msg, nil
		}
	}
	return code, msg, fmt.Errorf("ftp %s: %q", what, truncate(msg, 200))
}
