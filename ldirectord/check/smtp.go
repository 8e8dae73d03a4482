// smtp.go: negotiate smtp and submission: greeting, EHLO (or HELO), QUIT.

package check

import (
	"context"
	"fmt"
	"net/smtp"
	"os"
)

// SMTP passes when the server greets with 220 and accepts EHLO, or HELO
// after a refused EHLO, as Net::SMTP's constructor did. It then sends QUIT.
type SMTP struct{}

// Check runs the exchange.
func (SMTP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		c, stop, err := dial(ctx, t)
		if err != nil {
			return err
		}
		defer stop()
		cl, err := smtp.NewClient(c, t.Real.Addr().String())
		if err != nil {
			return fmt.Errorf("smtp greeting: %w", err)
		}
		name, err := os.Hostname()
		if err != nil || name == "" {
			name = "localhost"
		}
		if err := cl.Hello(name); err != nil {
			return fmt.Errorf("smtp hello: %w", err)
		}
		cl.Quit()
		return nil
	})
}
