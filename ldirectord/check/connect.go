// connect.go: checktype connect, a TCP connect and close.

package check

import "context"

// Connect passes when a TCP connection to the real's check port opens. On a
// UDP virtual it pings, as classic does.
type Connect struct{}

// Check connects to t and closes the connection.
func (Connect) Check(ctx context.Context, t Target) Result {
	if t.Protocol == "udp" {
		return Ping{}.Check(ctx, t)
	}
	return run(ctx, func() error {
		_, stop, err := dial(ctx, t)
		if err != nil {
			return err
		}
		stop()
		return nil
	})
}
