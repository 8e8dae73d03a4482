// connect_test.go: the connect check against a loopback listener and a closed port.

package check

import (
	"context"
	"strings"
	"testing"
)

func TestConnect(t *testing.T) {
	ln := listen(t)
	open := addrPort(t, ln.Addr())
	closedLn := listen(t)
	closed := addrPort(t, closedLn.Addr())
	closedLn.Close()
	ctx := context.Background()
	if r := (Connect{}).Check(ctx, Target{Real: open, Protocol: "tcp"}); !r.OK || r.Err != nil {
		t.Errorf("open port: %+v, want OK", r)
	}
	if r := (Connect{}).Check(ctx, Target{Real: closed, Protocol: "tcp"}); r.OK || !strings.Contains(errString(r.Err), "connection refused") {
		t.Errorf("closed port: %+v, want connection refused", r)
	}
	// checkport wins over the real's port.
	if r := (Connect{}).Check(ctx, Target{Real: closed, CheckPort: open.Port()}); !r.OK {
		t.Errorf("checkport: %+v, want OK", r)
	}
}
