// smtp_test.go: where the smtp and submission checks connect (the real's address; checkport, else the real's port), IPv4 and IPv6.

package check

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSMTPTarget(t *testing.T) {
	real, realSeen := smtpServer(t, nil)
	other, otherSeen := smtpServer(t, nil)
	session := func(seen chan []string) []string {
		select {
		case got := <-seen:
			return got
		case <-time.After(100 * time.Millisecond):
			return nil
		}
	}
	// The real's own port.
	if r := (SMTP{}).Check(context.Background(), Target{Real: real, Service: "smtp"}); !r.OK {
		t.Errorf("real port: Check = %+v", r)
	}
	if got := session(realSeen); !cmp.Equal(got, []string{"EHLO", "QUIT"}) {
		t.Errorf("real port: the real saw %q", got)
	}
	// checkport beats the real's port: same address, the other port.
	if r := (SMTP{}).Check(context.Background(), Target{Real: real, CheckPort: other.Port(), Service: "submission"}); !r.OK {
		t.Errorf("checkport: Check = %+v", r)
	}
	if got := session(otherSeen); !cmp.Equal(got, []string{"EHLO", "QUIT"}) {
		t.Errorf("checkport: the checkport server saw %q", got)
	}
	if got := session(realSeen); got != nil {
		t.Errorf("checkport: the real's port saw %q", got)
	}

	// An IPv6 real.
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	real6, seen6 := serveSMTP(t, ln, nil)
	if r := (SMTP{}).Check(context.Background(), Target{Real: real6, Service: "smtp"}); !r.OK {
		t.Errorf("IPv6: Check = %+v", r)
	}
	if got := session(seen6); !cmp.Equal(got, []string{"EHLO", "QUIT"}) {
		t.Errorf("IPv6: the real saw %q", got)
	}
}
