// check_test.go: the registry, ports, and helpers shared by the checker tests.

package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFor(t *testing.T) {
	for _, tt := range []struct {
		checktype, service string
		want               Checker
		err                string
		notImpl            bool
	}{
		{"connect", "", Connect{}, "", false},
		{"on", "http", On{}, "", false},
		{"off", "", Off{}, "", false},
		{"external", "", External{}, "", false},
		{"external-perl", "", ExternalPerl{}, "", false},
		{"negotiate", "", None{}, "", false},
		{"negotiate", "none", None{}, "", false},
		{"negotiate", "http", HTTP{Service: "http"}, "", false},
		{"negotiate", "https", HTTP{Service: "https"}, "", false},
		{"negotiate", "http_proxy", HTTP{Service: "http_proxy"}, "", false},
		{"negotiate", "smtp", SMTP{}, "", false},
		{"negotiate", "submission", SMTP{}, "", false},
		{"negotiate", "pop", POP{}, "", false},
		{"negotiate", "imap", IMAP{}, "", false},
		{"negotiate", "nntp", NNTP{}, "", false},
		{"negotiate", "ftp", FTP{}, "", false},
		{"negotiate", "simpletcp", SimpleTCP{}, "", false},
		{"negotiate", "dns", DNS{}, "", false},
		{"negotiate", "radius", RADIUS{}, "", false},
		{"negotiate", "sip", SIP{}, "", false},
		{"negotiate", "ldap", LDAP{}, "", false},
		{"negotiate", "ldaps", LDAP{TLS: true}, "", false},
		{"negotiate", "imaps", IMAPS{}, "", false},
		{"negotiate", "pops", POPS{}, "", false},
		{"negotiate", "mysql", MySQL{}, "", false},
		{"negotiate", "pgsql", PgSQL{}, "", false},
		{"negotiate", "oracle", Oracle{}, "", false},
		{"negotiate", "gopher", nil, `unknown negotiate service "gopher"`, false},
		{"ping", "", Ping{}, "", false},
		{"combined", "http", nil, "checktype combined (combined): not implemented", true},
		{"3", "http", nil, "checktype 3 (combined): not implemented", true},
		{"bogus", "", nil, `unknown checktype "bogus"`, false},
	} {
		got, err := For(tt.checktype, tt.service)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("For(%q, %q) (-want +got):\n%s", tt.checktype, tt.service, diff)
		}
		if msg := errString(err); msg != tt.err {
			t.Errorf("For(%q, %q) error %q, want %q", tt.checktype, tt.service, msg, tt.err)
		}
		if errors.Is(err, ErrNotImplemented) != tt.notImpl {
			t.Errorf("For(%q, %q) error %v: is ErrNotImplemented = %v, want %v", tt.checktype, tt.service, err, !tt.notImpl, tt.notImpl)
		}
	}
}

func TestPort(t *testing.T) {
	rip := netip.MustParseAddr("10.0.0.2")
	for _, tt := range []struct {
		t    Target
		want uint16
	}{
		{Target{Real: netip.AddrPortFrom(rip, 8080), CheckPort: 81, Service: "http"}, 81},
		{Target{Real: netip.AddrPortFrom(rip, 8080), Service: "http"}, 8080},
		{Target{Real: netip.AddrPortFrom(rip, 0), Service: "http"}, 80},
		{Target{Real: netip.AddrPortFrom(rip, 0), Service: "submission"}, 587},
		{Target{Real: netip.AddrPortFrom(rip, 0), Service: "none"}, 0},
	} {
		if got := tt.t.Port(); got != tt.want {
			t.Errorf("%+v.Port() = %d, want %d", tt.t, got, tt.want)
		}
	}
}

func TestOnOffNone(t *testing.T) {
	ctx := context.Background()
	if r := (On{}).Check(ctx, Target{}); !r.OK || r.Err != nil {
		t.Errorf("On: %+v", r)
	}
	if r := (None{}).Check(ctx, Target{}); !r.OK || r.Err != nil {
		t.Errorf("None: %+v", r)
	}
	if r := (Off{}).Check(ctx, Target{}); r.OK || !errors.Is(r.Err, ErrOff) {
		t.Errorf("Off: %+v", r)
	}
}

// silentServer listens on loopback, accepts every connection and never
// says a word; connections are closed when the test ends.
func silentServer(t *testing.T) net.Listener {
	ln := listen(t)
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln
}

// Every socket checker must give up at the deadline against a server that
// accepts and then says nothing (TLS ones during the handshake).
func TestDeadlineSilentServer(t *testing.T) {
	ln := silentServer(t)
	for _, tt := range []struct {
		name string
		c    Checker
		t    Target
	}{
		{"http", HTTP{Service: "http"}, Target{}},
		{"https", HTTP{Service: "https"}, Target{}},
		{"http_proxy", HTTP{Service: "http_proxy"}, Target{Request: "/http://example.com/"}},
		{"smtp", SMTP{}, Target{}},
		{"pop", POP{}, Target{}},
		{"imap", IMAP{}, Target{}},
		{"nntp", NNTP{}, Target{}},
		{"ftp", FTP{}, Target{}},
		{"simpletcp", SimpleTCP{}, Target{Request: "/x", Receive: "y"}},
		{"dns tcp", DNS{}, Target{Protocol: "tcp", Request: "/www.example.com"}},
		{"sip tcp", SIP{}, Target{Protocol: "tcp", Login: "u"}},
		{"ldap", LDAP{}, Target{Request: "/dc=example,dc=com"}},
		{"ldaps", LDAP{TLS: true}, Target{Request: "/dc=example,dc=com"}},
		{"imaps", IMAPS{}, Target{}},
		{"pops", POPS{}, Target{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.t.Real = addrPort(t, ln.Addr())
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			r := tt.c.Check(ctx, tt.t)
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("Check took %s, want about 200ms", el)
			}
			if r.OK || !errors.Is(r.Err, context.DeadlineExceeded) {
				t.Errorf("Check = %+v, want a deadline error", r)
			}
		})
	}
}

// listen opens a loopback TCP listener closed at the end of the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func addrPort(t testing.TB, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// serveScript runs a line server: it sends greeting, then answers each line
// received with reply(line) (nothing when ""), and closes when reply says so. It records the lines it got.
func serveScript(t *testing.T, greeting string, reply func(line string) (string, bool)) (netip.AddrPort, func() []string) {
	t.Helper()
	ln := listen(t)
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var lines []string
		defer func() { got <- lines }()
		fmt.Fprint(c, greeting)
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			lines = append(lines, l)
			out, closing := reply(l)
			fmt.Fprint(c, out)
			if closing {
				return
			}
		}
	}()
	return addrPort(t, ln.Addr()), func() []string {
		select {
		case l := <-got:
			return l
		case <-time.After(5 * time.Second):
			t.Error("server session did not end")
			return nil
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
