// tlsmail_test.go: the pops and imaps checks against scripted loopback TLS servers.

package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testTLS is httptest's certificate (for example.com and 127.0.0.1) as a
// server config, and a CA file that trusts it.
func testTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	srv := httptest.NewTLSServer(nil)
	cert := srv.TLS.Certificates[0]
	ca := srv.Certificate()
	srv.Close()
	return &tls.Config{Certificates: []tls.Certificate{cert}}, writeCA(t, ca.Raw)
}

// writeCA writes a CA certificate (DER) to a PEM file and returns its
// path.
func writeCA(t *testing.T, der []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// serveTLSScript is serveScript over TLS; it serves any number of sessions
// and sends each session's lines to the returned channel.
func serveTLSScript(t *testing.T, cfg *tls.Config, greeting string, reply func(string) (string, bool)) (netip.AddrPort, chan []string) {
	t.Helper()
	ln := tls.NewListener(listen(t), cfg)
	got := make(chan []string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var lines []string
			fmt.Fprint(c, greeting) // fails when the client rejects the certificate
			r := bufio.NewReader(c)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					break
				}
				l = strings.TrimRight(l, "\r\n")
				lines = append(lines, l)
				out, closing := reply(l)
				fmt.Fprint(c, out)
				if closing {
					break
				}
			}
			c.Close()
			got <- lines
		}
	}()
	return addrPort(t, ln.Addr()), got
}

func TestTLSMail(t *testing.T) {
	cfg, caFile := testTLS(t)
	pops, popsSeen := serveTLSScript(t, cfg, "+OK ready\r\n", script(map[string]string{"USER": "+OK\r\n", "PASS": "+OK in\r\n", "QUIT": "+OK\r\n"}))
	popsBad, popsBadSeen := serveTLSScript(t, cfg, "+OK ready\r\n", script(map[string]string{"USER": "+OK\r\n", "PASS": "-ERR no\r\n", "QUIT": "+OK\r\n"}))
	imaps, imapsSeen := serveTLSScript(t, cfg, "* OK IMAP4rev1 ready\r\n", script(map[string]string{"LOGIN": "a1 OK done\r\n", "LOGOUT": "* BYE\r\na2 OK\r\n"}))
	imapsBad, imapsBadSeen := serveTLSScript(t, cfg, "* BYE go away\r\n", script(nil))
	for _, tt := range []struct {
		name   string
		c      Checker
		real   netip.AddrPort
		seen   chan []string
		t      Target
		ok     bool
		errHas string
		want   []string
	}{
		{"pops", POPS{}, pops, popsSeen, Target{}, true, "", []string{"QUIT"}},
		{"pops login", POPS{}, pops, popsSeen, Target{Login: "u", Passwd: "p"}, true, "", []string{"USER u", "PASS p", "QUIT"}},
		{"pops bad password", POPS{}, popsBad, popsBadSeen, Target{Login: "u", Passwd: "p"}, false, `pop PASS: "-ERR no"`, []string{"USER u", "PASS p"}},
		{"pops verify with CA", POPS{}, pops, popsSeen, Target{TLS: TLSOptions{Verify: true, CAFile: caFile}}, true, "", []string{"QUIT"}},
		{"pops verify, system roots", POPS{}, pops, popsSeen, Target{TLS: TLSOptions{Verify: true}}, false, "certificate signed by unknown authority", []string{}},
		{"imaps login", IMAPS{}, imaps, imapsSeen, Target{Login: "u", Passwd: `p"q`}, true, "", []string{`a1 LOGIN "u" "p\"q"`, "a2 LOGOUT"}},
		{"imaps verify, wrong name", IMAPS{}, imaps, imapsSeen, Target{VirtualHost: "www.example.org", TLS: TLSOptions{Verify: true, CAFile: caFile}}, false, "not www.example.org", []string{}},
		{"imaps verify, good name", IMAPS{}, imaps, imapsSeen, Target{TLS: TLSOptions{Verify: true, CAFile: caFile, ServerName: "example.com"}}, true, "", []string{"a2 LOGOUT"}},
		{"imaps BYE greeting", IMAPS{}, imapsBad, imapsBadSeen, Target{}, false, `imap greeting: "* BYE go away"`, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.t.Real = tt.real
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := tt.c.Check(ctx, tt.t)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
			var got []string
			select {
			case got = <-tt.seen:
			case <-time.After(5 * time.Second):
				t.Fatal("server session did not end")
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("server got (-want +got):\n%s", diff)
			}
		})
	}
}
