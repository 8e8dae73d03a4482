// simpletcp.go: negotiate simpletcp: send request, half-close, a line must match receive.

package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// SimpleTCP sends request (without its leading /, each literal \n made a
// newline), half-closes, and passes when a line of the answer matches receive
// (any line when receive is empty). TCP only.
type SimpleTCP struct{}

// Check runs the exchange.
func (SimpleTCP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		re, err := receiveRE(t.Receive)
		if err != nil {
			return err
		}
		c, stop, err := dial(ctx, t)
		if err != nil {
			return err
		}
		defer stop()
		req := strings.ReplaceAll(strings.TrimPrefix(t.Request, "/"), `\n`, "\n")
		if _, err := io.WriteString(c, req); err != nil {
			return fmt.Errorf("sending request: %w", err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			if err := tc.CloseWrite(); err != nil {
				return fmt.Errorf("half-closing: %w", err)
			}
		}
		lc := newLineConn(c)
		for {
			l, err := lc.line()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return fmt.Errorf("no line matched %q", t.Receive)
				}
				return err
			}
			if re == nil || re.MatchString(l) {
				return nil
			}
		}
	})
}
