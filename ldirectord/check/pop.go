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
	return exchange(ctx, t, false, popExchange)
}

// popExchange is the pop conversation: greeting, USER/PASS when a login is
// set, QUIT.
func popExchange(lc *lineConn, t Target) error {
	if err := popOK(lc, "greeting"); err != nil {
		return err
	}
	if t.Login != "" {
		for _, cmd := range []string{"USER " + t.Login, "PASS " + t.Passwd} {
			if err := lc.send(cmd); err != nil {
				return err
			}
			if err := popOK(lc, cmd[:4]); err != nil {
				return err
			}
		}
	}
	lc.send("QUIT")
	return nil
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
