// imap.go: negotiate imap: OK greeting, LOGIN when login is set, LOGOUT.

package check

import (
	"context"
	"fmt"
	"strings"
)

// IMAP passes on an untagged OK (or PREAUTH) greeting and, when Login is
// set, a tagged OK to LOGIN.
type IMAP struct{}

// Check runs the exchange.
func (IMAP) Check(ctx context.Context, t Target) Result {
	return exchange(ctx, t, false, imapExchange)
}

// imapExchange is the imap conversation: an OK or PREAUTH greeting, LOGIN
// when a login is set, LOGOUT.
func imapExchange(lc *lineConn, t Target) error {
	l, err := lc.line()
	if err != nil {
		return fmt.Errorf("imap greeting: %w", err)
	}
	if !strings.HasPrefix(l, "* OK") && !strings.HasPrefix(l, "* PREAUTH") {
		return fmt.Errorf("imap greeting: %q", truncate(l, 200))
	}
	if t.Login != "" {
		if err := lc.send("a1 LOGIN " + imapQuote(t.Login) + " " + imapQuote(t.Passwd)); err != nil {
			return err
		}
		for {
			l, err := lc.line()
			if err != nil {
				return fmt.Errorf("imap login: %w", err)
			}
			if strings.HasPrefix(l, "a1 ") {
				if !strings.HasPrefix(l, "a1 OK") {
					return fmt.Errorf("imap login: %q", truncate(l, 200))
				}
				break
			}
		}
	}
	lc.send("a2 LOGOUT")
	return nil
}

func imapQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
