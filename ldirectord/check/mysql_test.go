// mysql_test.go: the SQL checks' failure paths (refused, silent server) and mysql against a real MariaDB.

package check

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

// The SQL checks fail fast on a refused connection and give up at the
// deadline against a server that accepts and says nothing; no driver may
// outlive the deadline.
func TestSQLFailurePaths(t *testing.T) {
	t.Parallel()
	silent := silentServer(t)
	closed := listen(t)
	refused := addrPort(t, closed.Addr())
	closed.Close()
	for _, c := range []struct {
		name string
		c    Checker
	}{{"mysql", MySQL{}}, {"pgsql", PgSQL{}}, {"oracle", Oracle{}}} {
		base := Target{Service: c.name, Login: "u", Passwd: "p", Database: "db", Request: "/SELECT 1"}
		t.Run(c.name+" refused", func(t *testing.T) {
			tg := base
			tg.Real = refused
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := c.c.Check(ctx, tg)
			if r.OK || !strings.Contains(errString(r.Err), "connection refused") || r.Latency > time.Second {
				t.Errorf("Check = %+v, want a quick connection refused", r)
			}
		})
		t.Run(c.name+" silent", func(t *testing.T) {
			t.Parallel()
			tg := base
			tg.Real = addrPort(t, silent.Addr())
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			r := c.c.Check(ctx, tg)
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("Check took %s, want about 300ms", el)
			}
			if r.OK || !errors.Is(r.Err, context.DeadlineExceeded) {
				t.Errorf("Check = %+v, want a deadline error", r)
			}
		})
		t.Run(c.name+" no login", func(t *testing.T) {
			tg := base
			tg.Login = ""
			if r := c.c.Check(context.Background(), tg); r.OK || errString(r.Err) != c.name+" check: no login" {
				t.Errorf("Check = %+v, want %q", r, c.name+" check: no login")
			}
		})
		t.Run(c.name+" no request", func(t *testing.T) {
			tg := base
			tg.Request = "/"
			if r := c.c.Check(context.Background(), tg); r.OK || !strings.Contains(errString(r.Err), "no request") {
				t.Errorf("Check = %+v, want a missing request error", r)
			}
		})
	}
}

// sqlCase is one check against a real database server.
type sqlCase struct {
	name   string
	t      Target
	ok     bool
	errHas string
}

// runSQLCases runs the cases with c against real.
func runSQLCases(t *testing.T, c Checker, real netip.AddrPort, cases []sqlCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tt.t.Real = real
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := c.Check(ctx, tt.t)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
		})
	}
}

// freePort is a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln := listen(t)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// startServer runs cmd until the end of the test, stopping it with sig.
func startServer(t *testing.T, cmd *exec.Cmd, sig os.Signal, logFile string) {
	t.Helper()
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log.Close()
	})
}

// waitSQL opens driver's dsn until a ping works, for up to 15s.
func waitSQL(t *testing.T, driver, dsn, logFile string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return db
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logFile)
			t.Fatalf("%s server not ready: %v\n%s", driver, err, out)
		}
		time.Sleep(50 * time.Millisecond) // polling a starting server process
	}
}

// serverTempDir is a temporary directory owned by uid, removed at the end.
func serverTempDir(t *testing.T, uid, gid int) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hasuite-check-sql-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMySQLReal(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		netns.Skip(t, "needs root: runs a MariaDB server")
	}
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		netns.Skip(t, "needs mariadbd (apt-get install mariadb-server)")
	}
	installDB, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		netns.Skip(t, "needs mariadb-install-db (apt-get install mariadb-server)")
	}
	dir := serverTempDir(t, 0, 0)
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(installDB, "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	init := filepath.Join(dir, "init.sql")
	if err := os.WriteFile(init, []byte(`CREATE DATABASE hc;
CREATE TABLE hc.t (x INT);
INSERT INTO hc.t VALUES (1);
CREATE TABLE hc.empty (x INT);
CREATE USER 'check'@'%' IDENTIFIED BY 'pw';
GRANT SELECT ON hc.* TO 'check'@'%';
CREATE USER 'o''dd'@'%' IDENTIFIED BY 'it''s \\ @odd/:';
GRANT SELECT ON hc.* TO 'o''dd'@'%';
`), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	logFile := filepath.Join(dir, "mariadbd.log")
	startServer(t, exec.Command(mariadbd, "--no-defaults", "--datadir="+data, "--user=root",
		"--port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--socket="+filepath.Join(dir, "sock"),
		"--pid-file="+filepath.Join(dir, "pid"), "--init-file="+init, "--skip-log-bin",
		"--innodb-buffer-pool-size=16M"), syscall.SIGTERM, logFile)
	waitSQL(t, "mysql", "check:pw@tcp(127.0.0.1:"+strconv.Itoa(port)+")/hc", logFile)
	real := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	ok := Target{Service: "mysql", Login: "check", Passwd: "pw", Database: "hc", Request: "/SELECT x FROM t"}
	with := func(f func(*Target)) Target { tg := ok; f(&tg); return tg }
	runSQLCases(t, MySQL{}, real, []sqlCase{
		{"a row", ok, true, ""},
		{"no rows", with(func(t *Target) { t.Request = "/SELECT x FROM empty" }), false, `query "SELECT x FROM empty" returned no rows`},
		{"bad password", with(func(t *Target) { t.Passwd = "wrong" }), false, "Access denied for user 'check'"},
		{"unknown database", with(func(t *Target) { t.Database = "nope" }), false, "Access denied for user 'check'@'%' to database 'nope'"},
		{"no database, qualified table", with(func(t *Target) { t.Database = ""; t.Request = "/SELECT x FROM hc.t" }), true, ""},
		{"bad query", with(func(t *Target) { t.Request = "/SELEKT 1" }), false, "You have an error in your SQL syntax"},
		{"odd characters", with(func(t *Target) { t.Login = "o'dd"; t.Passwd = `it's \ @odd/:` }), true, ""},
	})
}
