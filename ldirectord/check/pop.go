// pop.go: negotiate pop: +OK greeting, USER/PASS when login is set, QUIT.

package check

import (
	"context"
	"fmt"
	"strings"
)

// POP passes on a +OK greeting and, when Login is set, +OK to USER and PASS.
type POP struct{}

// Check runs the exchange.
func (POP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		c, stop, err := dial(ctx, t)
		if err != nil {
			return err
		}
		defer stop()
		lc := newLineConn(c)
		if err := popOK(lc, "greeting"); err != nil {
			return err
		}
		if t.Login != "" {
			if err := lc.send("USER " + t.Login); err != nil {
				return err
			}
			if err := popOK(lc, "USER"); err != nil {
				return err
			}
			if err := lc.send("PASS " + t.Passwd); err != nil {
				return err
			}
			if err := popOK(lc, "PASS"); err != nil {
				return err
			}
		}
		lc.send("QUIT")
		return nil
	})
}

func popOK(lc *lineConn, what string) error {
	l, err := lc.line()
	if err != nil {
		return fmt.Errorf("pop %s: %w", what, err)
	}
	if !strings.HasPrefix(l, "+OK") {
		return fmt.Errorf("pop %s: %q", what, truncate(l, 200))
	}
	return nil
}
