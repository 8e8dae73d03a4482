// pgsql.go: negotiate pgsql: connect with lib/pq, run request, want a row.

package check

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// PgSQL connects to database (dbname) as login with passwd, runs request
// (its leading '/' removed) once and passes when it returns at least one
// row. TLS is tried first and dropped when the server has none, as libpq's
// default sslmode=prefer does; the certificate is not verified.
type PgSQL struct{}

// Check connects and queries.
func (PgSQL) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		if err := CheckSQLTarget(t); err != nil {
			return err
		}
		err := pgsqlQuery(ctx, t, "require")
		if errors.Is(err, pq.ErrSSLNotSupported) {
			err = pgsqlQuery(ctx, t, "disable")
		}
		return err
	})
}

func pgsqlQuery(ctx context.Context, t Target, sslmode string) error {
	kv := []string{
		"host=" + pgQuote(t.Real.Addr().Unmap().String()),
		"port=" + strconv.Itoa(int(t.Port())),
		"user=" + pgQuote(t.Login),
		"password=" + pgQuote(t.Passwd),
		"sslmode=" + sslmode,
	}
	if t.Database != "" {
		kv = append(kv, "dbname="+pgQuote(t.Database))
	}
	c, err := pq.NewConnector(strings.Join(kv, " "))
	if err != nil {
		return fmt.Errorf("pgsql: %w", err)
	}
	c.Dialer(sqlDialer{ctx})
	return sqlQuery(ctx, "pgsql", c, t)
}

// pgQuote quotes a libpq connection string value.
func pgQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
