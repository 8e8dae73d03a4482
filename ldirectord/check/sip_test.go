// sip_test.go: the sip check against loopback SIP responders over TCP and UDP.

package check

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// sipServer answers each OPTIONS with answer over TCP and UDP on one port
// and sends the request's first lines (request line, Via transport, From
// URI) to seen.
func sipServer(t *testing.T, answer string) (netip.AddrPort, chan []string) {
	t.Helper()
	seen := make(chan []string, 10)
	summary := func(req string) []string {
		var out []string
		for _, l := range strings.Split(req, "\r\n") {
			switch {
			case strings.HasPrefix(l, "OPTIONS "), strings.HasPrefix(l, "To: "), strings.HasPrefix(l, "CSeq: "):
				out = append(out, l)
			case strings.HasPrefix(l, "Via: "), strings.HasPrefix(l, "From: "):
				out = append(out, strings.SplitN(l, " ", 3)[:2]...)
			}
		}
		return out
	}
	ln := listen(t)
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			seen <- summary(string(buf[:n]))
			for _, msg := range strings.SplitAfter(answer, "\r\n\r\n") {
				if msg != "" {
					pc.WriteTo([]byte(msg), from)
				}
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			r := bufio.NewReader(c)
			var req strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					break
				}
				req.WriteString(l)
				if l == "\r\n" {
					break
				}
			}
			seen <- summary(req.String())
			c.Write([]byte(answer))
			c.Close()
		}
	}()
	return addrPort(t, ln.Addr()), seen
}

func TestSIP(t *testing.T) {
	const trying = "SIP/2.0 100 Trying\r\nVia: x\r\nContent-Length: 0\r\n\r\n"
	ok, okSeen := sipServer(t, trying+"SIP/2.0 200 OK\r\nAllow: INVITE, OPTIONS\r\nContent-Length: 0\r\n\r\n")
	notFound, _ := sipServer(t, "SIP/2.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
	http, _ := sipServer(t, "HTTP/1.1 400 Bad Request\r\n\r\n")
	for _, tt := range []struct {
		name   string
		real   netip.AddrPort
		t      Target
		ok     bool
		errHas string
		want   string // what okSeen must show
	}{
		{"tcp 200 after 100", ok, Target{Protocol: "tcp", Login: "ping@example.com"}, true, "", "OPTIONS sip:ping@example.com SIP/2.0|Via: SIP/2.0/TCP|To: <sip:ping@example.com>|From: <sip:ping@example.com>;tag=|CSeq: 1 OPTIONS"},
		{"udp 200 after 100", ok, Target{Protocol: "udp", Login: "sip:ping@example.com"}, true, "", "OPTIONS sip:ping@example.com SIP/2.0|Via: SIP/2.0/UDP|To: <sip:ping@example.com>|From: <sip:ping@example.com>;tag=|CSeq: 1 OPTIONS"},
		{"fwm is tcp", ok, Target{Protocol: "fwm", Login: "u"}, true, "", "OPTIONS sip:u SIP/2.0|Via: SIP/2.0/TCP|To: <sip:u>|From: <sip:u>;tag=|CSeq: 1 OPTIONS"},
		{"404 tcp", notFound, Target{Protocol: "tcp", Login: "u"}, false, `sip: "SIP/2.0 404 Not Found"`, ""},
		{"404 udp", notFound, Target{Protocol: "udp", Login: "u"}, false, `sip: "SIP/2.0 404 Not Found"`, ""},
		{"not SIP", http, Target{Protocol: "tcp", Login: "u"}, false, `not a SIP answer: "HTTP/1.1 400 Bad Request"`, ""},
		{"no login", ok, Target{Protocol: "tcp"}, false, "sip: no login", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.t.Real = tt.real
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := SIP{}.Check(ctx, tt.t)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
			if tt.want != "" {
				got := strings.Join(<-okSeen, "|")
				got = strings.Replace(got, "Via:|", "Via: ", 1)
				got = strings.Replace(got, "From:|", "From: ", 1)
				if i := strings.Index(got, ";tag="); i >= 0 {
					got = got[:i+5] + got[strings.Index(got[i:], "|")+i:]
				}
				if got != tt.want {
					t.Errorf("server saw %q, want %q", got, tt.want)
				}
			}
		})
	}
}
