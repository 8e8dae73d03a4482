// tlsverify_test.go: tlsverify/tlscafile across every TLS check (https, pops, imaps, ldaps, smtp STARTTLS) against loopback servers.

package check

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
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

// otherCA writes the certificate of a fresh CA, which signed nothing the
// test servers use, to a PEM file.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "another test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return writeCA(t, der)
}

// smtpServer is an SMTP server on 127.0.0.1 (see serveSMTP).
func smtpServer(t *testing.T, cfg *tls.Config) (netip.AddrPort, chan []string) {
	t.Helper()
	return serveSMTP(t, listen(t), cfg)
}

// serveSMTP serves SMTP on ln, offering STARTTLS when cfg is set. It
// records each session's commands ("EHLO" without its argument); after
// STARTTLS it records "TLS" once the handshake succeeded or "TLS failed".
func serveSMTP(t *testing.T, ln net.Listener, cfg *tls.Config) (netip.AddrPort, chan []string) {
	t.Helper()
	seen := make(chan []string, 20)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			seen <- smtpSession(c, cfg)
			c.Close()
		}
	}()
	return addrPort(t, ln.Addr()), seen
}

func smtpSession(c net.Conn, cfg *tls.Config) []string {
	var got []string
	r := bufio.NewReader(c)
	var w io.Writer = c
	secure := false
	fmt.Fprint(w, "220 mx ESMTP\r\n")
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return got
		}
		cmd := strings.ToUpper(strings.Fields(l + " x")[0])
		got = append(got, cmd)
		switch cmd {
		case "EHLO":
			if cfg != nil && !secure {
				fmt.Fprint(w, "250-mx\r\n250 STARTTLS\r\n")
			} else {
				fmt.Fprint(w, "250 mx\r\n")
			}
		case "STARTTLS":
			fmt.Fprint(w, "220 go ahead\r\n")
			tc := tls.Server(c, cfg)
			if err := tc.Handshake(); err != nil {
				return append(got, "TLS failed")
			}
			got = append(got, "TLS")
			r, w, secure = bufio.NewReader(tc), tc, true
		case "QUIT":
			fmt.Fprint(w, "221 bye\r\n")
			return got
		default:
			fmt.Fprint(w, "502 no\r\n")
		}
	}
}

// TestTLSVerify runs the tlsverify/tlscafile cases against each TLS check:
// with verification the right CA and name pass, a wrong CA or a wrong name
// fail; without it any certificate passes and the CA file is not used.
func TestTLSVerify(t *testing.T) {
	cfg, caFile := testTLS(t) // names example.com and 127.0.0.1
	wrongCA := otherCA(t)

	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	web.TLS = cfg.Clone()
	web.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes that fail on purpose
	web.StartTLS()
	defer web.Close()
	pops, popsSeen := serveTLSScript(t, cfg, "+OK ready\r\n", script(map[string]string{"QUIT": "+OK\r\n"}))
	imaps, imapsSeen := serveTLSScript(t, cfg, "* OK ready\r\n", script(map[string]string{"LOGOUT": "* BYE\r\na2 OK\r\n"}))
	ldaps, ldapsSeen := ldapServer(t, cfg)
	smtps, smtpSeen := smtpServer(t, cfg)

	servers := []struct {
		name string
		c    Checker
		real netip.AddrPort
		seen chan []string // nil: not observed
		t    Target
	}{
		{"https", HTTP{Service: "https"}, addrPort(t, web.Listener.Addr()), nil, Target{Request: "/"}},
		{"pops", POPS{}, pops, popsSeen, Target{}},
		{"imaps", IMAPS{}, imaps, imapsSeen, Target{}},
		{"ldaps", LDAP{TLS: true}, ldaps, ldapsSeen, Target{Request: "/dc=example,dc=com"}},
		{"smtp starttls", SMTP{}, smtps, smtpSeen, Target{}},
	}
	cases := []struct {
		name   string
		vhost  string
		tls    TLSOptions
		ok     bool
		errHas string
	}{
		{"verify, right CA, IP", "", TLSOptions{Verify: true, CAFile: caFile}, true, ""},
		{"verify, right CA, name", "example.com", TLSOptions{Verify: true, CAFile: caFile}, true, ""},
		{"verify, wrong CA", "example.com", TLSOptions{Verify: true, CAFile: wrongCA}, false, "certificate signed by unknown authority"},
		{"verify, wrong name", "www.example.org", TLSOptions{Verify: true, CAFile: caFile}, false, "not www.example.org"},
		{"no verify, wrong CA file unused", "www.example.org", TLSOptions{CAFile: wrongCA}, true, ""},
	}
	for _, s := range servers {
		for _, tt := range cases {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				target := s.t
				target.Real, target.VirtualHost, target.TLS = s.real, tt.vhost, tt.tls
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				r := s.c.Check(ctx, target)
				if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
					t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
				}
				if s.seen == nil {
					return
				}
				select {
				case got := <-s.seen:
					if s.name == "smtp starttls" {
						want := []string{"EHLO", "STARTTLS", "TLS", "EHLO", "QUIT"}
						if !tt.ok {
							want = []string{"EHLO", "STARTTLS", "TLS failed"}
						} else if !tt.tls.Verify {
							want = []string{"EHLO", "QUIT"} // no STARTTLS without verification, as classic
						}
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("server saw (-want +got):\n%s", diff)
						}
					}
				case <-time.After(5 * time.Second):
					t.Fatal("server session did not end")
				}
			})
		}
	}
}

// An SMTP server without STARTTLS passes a verifying check in plain text
// (a global tlsverify=yes does not fail plain relays).
func TestSMTPVerifyWithoutSTARTTLS(t *testing.T) {
	real, seen := smtpServer(t, nil)
	r := SMTP{}.Check(context.Background(), Target{Real: real, TLS: TLSOptions{Verify: true}})
	if !r.OK {
		t.Errorf("Check = %+v, want OK", r)
	}
	if diff := cmp.Diff([]string{"EHLO", "QUIT"}, <-seen); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
}

// An http check redirected to https follows the same policy: not verified
// unless asked (Go's default would verify).
func TestHTTPRedirectVerifyPolicy(t *testing.T) {
	secure := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }))
	secure.Config.ErrorLog = log.New(io.Discard, "", 0)
	secure.StartTLS()
	defer secure.Close()
	plain := httptest.NewServer(http.RedirectHandler(secure.URL+"/", http.StatusFound))
	defer plain.Close()
	target := Target{Request: "/", Receive: "hello", Real: addrPort(t, plain.Listener.Addr())}
	if r := (HTTP{Service: "http"}).Check(context.Background(), target); !r.OK {
		t.Errorf("no verify: Check = %+v, want OK", r)
	}
	target.TLS = TLSOptions{Verify: true, CAFile: otherCA(t)}
	if r := (HTTP{Service: "http"}).Check(context.Background(), target); r.OK || !strings.Contains(errString(r.Err), "unknown authority") {
		t.Errorf("verify, wrong CA: Check = %+v, want an unknown-authority failure", r)
	}
}

// A CA file replaced on disk is reread at the next check, without a reload.
func TestCAFileReread(t *testing.T) {
	cfg, caFile := testTLS(t)
	real, seen := serveTLSScript(t, cfg, "+OK ready\r\n", script(map[string]string{"QUIT": "+OK\r\n"}))
	f := filepath.Join(t.TempDir(), "ca.pem")
	copyFile := func(from string, mod time.Time) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	target := Target{Real: real, TLS: TLSOptions{Verify: true, CAFile: f}}
	now := time.Now()
	copyFile(otherCA(t), now.Add(-time.Minute))
	if r := (POPS{}).Check(context.Background(), target); r.OK {
		t.Errorf("wrong CA: Check = %+v, want a failure", r)
	}
	<-seen
	copyFile(caFile, now)
	if r := (POPS{}).Check(context.Background(), target); !r.OK {
		t.Errorf("after replacing the CA file: Check = %+v, want OK", r)
	}
	if diff := cmp.Diff([]string{"QUIT"}, <-seen, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
	os.Remove(f)
	if r := (POPS{}).Check(context.Background(), target); r.OK || !strings.Contains(errString(r.Err), "reading CA file") {
		t.Errorf("CA file removed: Check = %+v, want a reading-CA-file failure", r)
	}
}
