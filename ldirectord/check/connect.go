// connect.go: checktype connect, a TCP connect and close.

package check

import (
	"context"
	"fmt"
	"net/netip"
)

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

// Lean is the check as a Loop exchange (TCP to an address without a zone):
// connected is passed, and the connection closed with a FIN as Check does.
func (Connect) Lean(t Target) (Exchange, bool) {
	if t.Protocol == "udp" || t.Real.Addr().Zone() != "" {
		return Exchange{}, false
	}
	ap := netip.AddrPortFrom(t.Real.Addr(), t.Port())
	return Exchange{Addr: ap, Answer: func(_ []byte, _ bool, err error) (bool, bool, error) {
		if err != nil {
			return true, false, fmt.Errorf("connecting to %s: %w", hostport(t), err)
		}
		return true, false, nil
	}}, true
}
