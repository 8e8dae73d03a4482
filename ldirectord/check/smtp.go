// smtp.go: negotiate smtp and submission: greeting, EHLO (or HELO), STARTTLS when verifying, QUIT.

package check

import (
	"context"
	"fmt"
	"net/smtp"
	"os"
)

// SMTP passes when the server at the real's address and check port (see
// Target.Port: checkport, else the real's port, else 25 or 587) greets with
// 220 and accepts EHLO, or HELO after a refused EHLO, as Net::SMTP's
// constructor did. With TLS.Verify and a server that offers STARTTLS, it
// also upgrades the session and verifies the certificate as https does; a
// server that offers no STARTTLS is checked in plain text, as classic did.
// It then sends QUIT.
type SMTP struct{}

// Check runs the exchange.
func (SMTP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		c, stop, err := dial(ctx, t)
		if err != nil {
			return err
		}
		defer stop()
		cl, err := smtp.NewClient(c, t.Real.Addr().Unmap().String())
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
		if ok, _ := cl.Extension("STARTTLS"); ok && t.TLS.Verify {
			cfg, err := tlsConfig(t)
			if err != nil {
				return err
			}
			if err := cl.StartTLS(cfg); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		}
		cl.Quit()
		return nil
	})
}
