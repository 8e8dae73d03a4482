// tls_test.go: tlsverify and tlscafile (global, per virtual, errors) and the smtp relay address forms.
package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeFiles are the files testOptions' ReadFile knows.
var fakeFiles = map[string][]byte{
	"/etc/ssl/ca.pem":      testCAPEM(),
	"/etc/ssl/other.pem":   testCAPEM(),
	"/etc/ssl/garbage.pem": []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
	"/etc/ssl/key.pem":     []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
}

// testCAPEM is a fresh self-signed CA certificate in PEM.
func testCAPEM() []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestTLSDirectives(t *testing.T) {
	text := "tlsverify = yes\n" +
		"tlscafile = /etc/ssl/ca.pem\n" +
		"virtual=10.0.0.1:443\n" + // inherits both
		"\treal=10.0.0.2 masq\n" +
		"virtual=10.0.0.1:993\n" + // own CA file, quoted
		"\treal=10.0.0.2 masq\n" +
		"\ttlscafile = \"/etc/ssl/other.pem\"\n" +
		"virtual=10.0.0.1:636\n" + // verification off for this one
		"\treal=10.0.0.2 masq\n" +
		"\ttlsverify = no\n"
	c, err := Parse("x.cf", strings.NewReader(text), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLSVerify || c.TLSCAFile != "/etc/ssl/ca.pem" {
		t.Errorf("globals: TLSVerify %v, TLSCAFile %q", c.TLSVerify, c.TLSCAFile)
	}
	type tlsOf struct {
		Service string
		Verify  bool
		CAFile  string
	}
	var got []tlsOf
	for _, v := range c.Virtuals {
		got = append(got, tlsOf{v.Service, v.TLSVerify, v.TLSCAFile})
	}
	want := []tlsOf{
		{"https", true, "/etc/ssl/ca.pem"},
		{"imaps", true, "/etc/ssl/other.pem"},
		{"ldaps", false, "/etc/ssl/ca.pem"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("virtuals (-want +got):\n%s", diff)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q, want none", c.Warnings)
	}

	// The defaults: no verification, system roots.
	c, err = Parse("x.cf", strings.NewReader("virtual=10.0.0.1:443\n\treal=10.0.0.2 masq\n"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Virtuals[0]; c.TLSVerify || c.TLSCAFile != "" || v.TLSVerify || v.TLSCAFile != "" {
		t.Errorf("defaults: global %v %q, virtual %v %q; want no and none", c.TLSVerify, c.TLSCAFile, v.TLSVerify, v.TLSCAFile)
	}
}

func TestTLSMessages(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		errs       []string
		warns      []string
	}{
		{name: "bad values", text: "tlsverify=maybe\ntlscafile=\ntlscafile=ca.pem\ntlscafile=/etc/ssl/none.pem\n" +
			"virtual=10.0.0.1:443\n\ttlscafile=/etc/ssl/garbage.pem\n\ttlscafile=/etc/ssl/key.pem\n\ttlsverify=on\n", errs: []string{
			`x.cf:1: tlsverify: must be 'yes' or 'no', not "maybe"`,
			"x.cf:2: tlscafile: empty value",
			`x.cf:3: tlscafile: "ca.pem" is not an absolute path`,
			"x.cf:4: tlscafile: cannot read the CA file: open /etc/ssl/none.pem: file does not exist",
			"x.cf:6: tlscafile: /etc/ssl/garbage.pem holds no PEM certificate",
			"x.cf:7: tlscafile: /etc/ssl/key.pem holds no PEM certificate",
			`x.cf:8: tlsverify: must be 'yes' or 'no', not "on"`}},
		{name: "no effect", text: "tlsverify=yes\nvirtual=10.0.0.1:80\n\ttlsverify=yes\nvirtual=10.0.0.1:3306\n\ttlsverify=yes\n\ttlscafile=/etc/ssl/ca.pem\n" +
			"virtual=10.0.0.1:993\n\ttlsverify=no\n\ttlscafile=/etc/ssl/ca.pem\n", warns: []string{
			"x.cf:5: tlsverify in virtual service tcp:10.0.0.1:3306 has no effect: service mysql does not use TLS",
			"x.cf:6: tlscafile in virtual service tcp:10.0.0.1:3306 has no effect: service mysql does not use TLS",
			"x.cf:9: tlscafile in virtual service tcp:10.0.0.1:993 is unused: tlsverify is no"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("x.cf", strings.NewReader(tc.text), testOptions())
			if diff := cmp.Diff(tc.errs, errorLines(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.warns, c.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// The default ReadFile reads a real CA file and refuses what is not a
// regular file.
func TestTLSCAFileOnDisk(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, testCAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.ReadFile = nil
	c, err := Parse("x.cf", strings.NewReader("tlscafile="+ca+"\n"), opts)
	if err != nil || c.TLSCAFile != ca {
		t.Fatalf("Parse = %v, %v; want TLSCAFile %s", c, err, ca)
	}
	_, err = Parse("x.cf", strings.NewReader("tlscafile="+dir+"\n"), opts)
	if diff := cmp.Diff([]string{"x.cf:1: tlscafile: cannot read the CA file: " + dir + " is not a regular file"}, errorLines(err)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	if err := os.Chmod(ca, 0); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 { // root reads it anyway
		_, err = Parse("x.cf", strings.NewReader("tlscafile="+ca+"\n"), opts)
		if diff := cmp.Diff([]string{"x.cf:1: tlscafile: cannot read the CA file: open " + ca + ": permission denied"}, errorLines(err)); diff != "" {
			t.Errorf("unreadable (-want +got):\n%s", diff)
		}
	}
}

// TestSMTPRelay: the alert relay's address forms. host:port is used as
// given (classic silently dropped the port and used 25); what classic read
// as its leading host characters still loads, with a warning.
func TestSMTPRelay(t *testing.T) {
	for _, tc := range []struct {
		val, want string
		warn      string
	}{
		{val: "mail.example.com", want: "mail.example.com"},
		{val: "mail.example.com:2525", want: "mail.example.com:2525"},
		{val: "mail:submission", want: "mail:submission"},
		{val: "10.0.0.9:587", want: "10.0.0.9:587"},
		{val: "[2001:db8::25]:2525", want: "[2001:db8::25]:2525"},
		{val: "2001:db8::25", want: "2001:db8::25"},
		{val: "[2001:db8::25]", want: "2001:db8::25"},
		{val: "mail host", want: "mail", warn: `x.cf:1: smtp: "mail host" read as "mail", as classic ldirectord does; write host or host:port`},
		{val: "mail:0", want: "mail", warn: `x.cf:1: smtp: "mail:0" read as "mail", as classic ldirectord does; write host or host:port`},
		{val: "mail:99999", want: "mail", warn: `x.cf:1: smtp: "mail:99999" read as "mail", as classic ldirectord does; write host or host:port`},
		{val: "10.0.0.9:25:25", want: "10.0.0.9", warn: `x.cf:1: smtp: "10.0.0.9:25:25" read as "10.0.0.9", as classic ldirectord does; write host or host:port`},
	} {
		t.Run(tc.val, func(t *testing.T) {
			text := "smtp=" + tc.val + "\nvirtual=10.0.0.1:80\n\tsmtp=" + tc.val + "\n"
			c, err := Parse("x.cf", strings.NewReader(text), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if c.SMTP != tc.want || c.Virtuals[0].SMTP != tc.want {
				t.Errorf("SMTP global %q, virtual %q; want %q", c.SMTP, c.Virtuals[0].SMTP, tc.want)
			}
			var want []string
			if tc.warn != "" {
				want = []string{tc.warn, strings.Replace(tc.warn, "x.cf:1:", "x.cf:3:", 1)}
			}
			if diff := cmp.Diff(want, c.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
	for _, val := range []string{":25", "[2001:db8::25", "[10.0.0.9]:25", "@mail"} {
		_, err := Parse("x.cf", strings.NewReader("smtp="+val+"\n"), testOptions())
		if diff := cmp.Diff([]string{`x.cf:1: smtp: invalid SMTP server address "` + val + `"`}, errorLines(err)); diff != "" {
			t.Errorf("smtp=%s (-want +got):\n%s", val, diff)
		}
	}
}
