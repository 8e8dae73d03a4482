// nntp.go: negotiate nntp: the server's first bytes must start with 2.

package check

import (
	"context"
	"fmt"
	"io"
)

// NNTP connects and reads up to 64 bytes of greeting, which must start with
// 2. Unlike classic (§8.4) the connect is bounded by the deadline too.
type NNTP struct{}

// Check reads the greeting.
func (NNTP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		c, stop, err := dial(ctx, t)
		if err != nil {
			return err
		}
		defer stop()
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if n == 0 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("nntp greeting: %w", err)
		}
		if buf[0] != '2' {
			return fmt.Errorf("nntp greeting: %q", truncate(trimEOL(string(buf[:n])), 64))
		}
		return nil
	})
}
