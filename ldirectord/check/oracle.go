// oracle.go: negotiate oracle: connect with go-ora (pure Go), run request, want a row.

package check

import (
	"context"
	"fmt"

	goora "github.com/sijms/go-ora/v2"
)

// Oracle connects to the instance whose SID is database as login with
// passwd, runs request (its leading '/' removed) once and passes when it
// returns at least one row. Classic needed DBD::Oracle, which Debian does
// not ship; go-ora speaks the protocol itself.
type Oracle struct{}

// Check connects and queries.
func (Oracle) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		if err := CheckSQLTarget(t); err != nil {
			return err
		}
		var opts map[string]string
		if t.Database != "" {
			opts = map[string]string{"SID": t.Database}
		}
		url := goora.BuildUrl(t.Real.Addr().Unmap().String(), int(t.Port()), "", t.Login, t.Passwd, opts)
		c, ok := goora.NewConnector(url).(*goora.OracleConnector)
		if !ok {
			return fmt.Errorf("oracle: unexpected connector type")
		}
		c.Dialer(sqlDialer{ctx})
		return sqlQuery(ctx, "oracle", c, t)
	})
}
