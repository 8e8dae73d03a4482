// tls_test.go: tlsverify and tlscafile reach the checks' targets, and split a shared real's check.

package engine

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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/ldirectord/check"
)

func TestTLSOptionsReachTarget(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same real in two virtuals, verified in one only: two checks.
	e := newEngine(t, Options{}, "tlsverify=yes", "tlscafile="+ca,
		"virtual=10.0.0.1:443", "\treal=10.0.1.1:443 masq", "\tservice=https",
		"virtual=10.0.0.2:443", "\treal=10.0.1.1:443 masq", "\tservice=https", "\ttlsverify=no")
	jobs := e.Due(t0.Add(time.Minute))
	if len(jobs) != 2 {
		t.Errorf("%d checks, want 2 (TLS options are part of a check's identity)", len(jobs))
	}
	got := map[string]check.TLSOptions{}
	for _, j := range jobs {
		for _, v := range j.Virtuals {
			got[v] = j.Target.TLS
		}
	}
	want := map[string]check.TLSOptions{
		"tcp:10.0.0.1:443": {Verify: true, CAFile: ca},
		"tcp:10.0.0.2:443": {Verify: false, CAFile: ca},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TLS options by virtual (-want +got):\n%s", diff)
	}
}
