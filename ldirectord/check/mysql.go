// mysql.go: negotiate mysql, and the query step the SQL checks (mysql, pgsql, oracle) share.

package check

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL connects to database as login with passwd, runs request (its
// leading '/' removed) once and passes when it returns at least one row
// (classic ran it twice, had no timeout, and the daemon died without a DBD
// driver, §8.4).
type MySQL struct{}

// Check connects and queries.
func (MySQL) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		if err := CheckSQLTarget(t); err != nil {
			return err
		}
		mysqlDialOnce.Do(func() {
			mysql.RegisterDialContext(mysqlNet, func(ctx context.Context, addr string) (net.Conn, error) {
				return sqlDialer{ctx}.DialContext(ctx, "tcp", addr)
			})
		})
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.DBName = t.Login, t.Passwd, t.Database
		cfg.Net, cfg.Addr = mysqlNet, hostport(t)
		cfg.Logger = &mysql.NopLogger{} // its errors come back in the Result
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return fmt.Errorf("mysql: %w", err)
		}
		return sqlQuery(ctx, "mysql", conn, t)
	})
}

// mysqlNet is the network name of the dialler mysql checks register with the
// driver (the driver takes custom dialers only by name).
const mysqlNet = "hasuite-check-tcp"

var mysqlDialOnce sync.Once

// CheckSQLTarget says whether t has what the mysql, pgsql and oracle checks
// need (login and request), for validating a configuration up front.
func CheckSQLTarget(t Target) error {
	switch {
	case t.Login == "":
		return fmt.Errorf("%s check: no login", t.Service)
	case strings.TrimPrefix(t.Request, "/") == "":
		return fmt.Errorf("%s check: no request (the query to run)", t.Service)
	}
	return nil
}

// sqlQuery opens one connection through c, runs t's request and wants a row.
func sqlQuery(ctx context.Context, name string, c driver.Connector, t Target) error {
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxIdleConns(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: connecting to %s as %q: %w", name, hostport(t), t.Login, err)
	}
	defer conn.Close()
	query := strings.TrimPrefix(t.Request, "/")
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("%s %s: query %q: %w", name, hostport(t), truncate(query, 100), err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s %s: query %q: %w", name, hostport(t), truncate(query, 100), err)
		}
		return fmt.Errorf("%s %s: query %q returned no rows", name, hostport(t), truncate(query, 100))
	}
	return nil
}

// sqlDialer dials for the SQL drivers with the check's context bound to the
// connection (see bind), so no driver can block past the deadline.
type sqlDialer struct {
	ctx context.Context
}

func (d sqlDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	bind(d.ctx, c) // the driver closes c; the deadline and cancelling stay
	return c, nil
}

func (d sqlDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(d.ctx, network, addr)
}

func (d sqlDialer) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	return d.DialContext(ctx, network, addr)
}
