// pgsql_test.go: the pgsql check against a real PostgreSQL server.

package check

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

func TestPgSQLReal(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		netns.Skip(t, "needs root: runs a PostgreSQL server as user postgres")
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	u, err := user.Lookup("postgres")
	if len(bins) == 0 || err != nil {
		netns.Skip(t, "needs PostgreSQL and its postgres user (apt-get install postgresql)")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	dir := serverTempDir(t, uid, gid)
	data := filepath.Join(dir, "data")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("admin-pw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwFile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = cred
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// TLS with httptest's certificate, so the check's first (TLS) try works.
	cfg, _ := testTLS(t)
	key, err := x509.MarshalPKCS8PrivateKey(cfg.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: cfg.Certificates[0].Certificate[0]},
		keyFile:  {Type: "PRIVATE KEY", Bytes: key},
	} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(f, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	// In postgresql.conf, not on the command line, so ALTER SYSTEM can undo it.
	conf, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conf, "ssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n", certFile, keyFile)
	if err := conf.Close(); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(freePort(t))
	logFile := filepath.Join(dir, "postgres.log")
	srv := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", port, "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	srv.SysProcAttr = cred
	srv.Dir = dir
	startServer(t, srv, syscall.SIGINT, logFile)
	admin := waitSQL(t, "postgres", "host=127.0.0.1 port="+port+" user=postgres password=admin-pw sslmode=disable", logFile)
	for _, q := range []string{
		"CREATE DATABASE hc",
		"CREATE USER checker PASSWORD 'pw'",
		`CREATE USER "o'dd" PASSWORD 'it''s \ odd'`,
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	hc := waitSQL(t, "postgres", "host=127.0.0.1 port="+port+" user=postgres password=admin-pw dbname=hc sslmode=disable", logFile)
	for _, q := range []string{
		"CREATE TABLE t (x int)",
		"INSERT INTO t VALUES (1)",
		"CREATE TABLE empty (x int)",
		"GRANT SELECT ON t, empty TO checker",
		`GRANT SELECT ON t TO "o'dd"`,
	} {
		if _, err := hc.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	p, _ := strconv.Atoi(port)
	real := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p))
	ok := Target{Service: "pgsql", Login: "checker", Passwd: "pw", Database: "hc", Request: "/SELECT x FROM t"}
	with := func(f func(*Target)) Target { tg := ok; f(&tg); return tg }
	const overTLS = "/SELECT 1 FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl"
	runSQLCases(t, PgSQL{}, real, []sqlCase{
		{"a row", ok, true, ""},
		{"over TLS", with(func(t *Target) { t.Request = overTLS }), true, ""},
		{"no rows", with(func(t *Target) { t.Request = "/SELECT x FROM empty" }), false, `query "SELECT x FROM empty" returned no rows`},
		{"bad password", with(func(t *Target) { t.Passwd = "wrong" }), false, `password authentication failed for user "checker"`},
		{"unknown database", with(func(t *Target) { t.Database = "nope" }), false, `database "nope" does not exist`},
		{"odd characters", with(func(t *Target) { t.Login = "o'dd"; t.Passwd = `it's \ odd` }), true, ""},
		{"bad query", with(func(t *Target) { t.Request = "/SELEKT 1" }), false, `syntax error at or near "SELEKT"`},
	})
	// Without TLS on the server the check falls back to a plain connection.
	if _, err := admin.Exec("ALTER SYSTEM SET ssl = off"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	plain := waitSQL(t, "postgres", "host=127.0.0.1 port="+port+" user=postgres password=admin-pw sslmode=disable", logFile)
	plain.SetMaxIdleConns(0)
	for i := 0; ; i++ { // the postmaster rereads its configuration asynchronously
		var ssl string
		if err := plain.QueryRow("SHOW ssl").Scan(&ssl); err != nil {
			t.Fatal(err)
		}
		if ssl == "off" {
			break
		}
		if i == 200 {
			t.Fatal("the server kept ssl on after the reload")
		}
		time.Sleep(25 * time.Millisecond)
	}
	runSQLCases(t, PgSQL{}, real, []sqlCase{
		{"a row without TLS", ok, true, ""},
		{"not over TLS", with(func(t *Target) { t.Request = overTLS }), false, "returned no rows"},
	})
}
