// oracle_test.go: what the oracle check sends a TNS listener (no Oracle server here).

package check

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The check connects with a TNS connect descriptor naming the SID and the
// real; the fake listener hangs up, which must fail the check at once.
func TestOracleConnectDescriptor(t *testing.T) {
	ln := listen(t)
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- ""
			return
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		c.Close()
		got <- string(buf[:n])
	}()
	real := addrPort(t, ln.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := Oracle{}.Check(ctx, Target{Service: "oracle", Real: real, Login: "scott", Passwd: "tiger", Database: "ORCL", Request: "/SELECT 1 FROM dual"})
	if r.OK || r.Err == nil || r.Latency > 2*time.Second {
		t.Errorf("Check = %+v, want a quick failure", r)
	}
	pkt := <-got
	for _, want := range []string{"(CONNECT_DATA=", "(SID=ORCL)", "(HOST=127.0.0.1)", "(PORT=" + strconv.Itoa(int(real.Port())) + ")"} {
		if !strings.Contains(pkt, want) {
			t.Errorf("connect packet %q lacks %q", pkt, want)
		}
	}
}
