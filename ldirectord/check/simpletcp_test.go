// simpletcp_test.go: the simpletcp check against a loopback server that answers after the half-close.

package check

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSimpleTCP(t *testing.T) {
	for _, tt := range []struct {
		name, request, receive, answer string
		ok                             bool
		errHas                         string
		wantReq                        string
	}{
		{"second line matches", `/PING\nfoo`, "^PONG$", "hello\r\nPONG\r\nbye\n", true, "", "PING\nfoo"},
		{"no line matches", "/PING", "PONG", "hello\nbye\n", false, `no line matched "PONG"`, "PING"},
		{"empty receive takes any line", "/PING", "", "x\n", true, "", "PING"},
		{"nothing answered", "/PING", "", "", false, "no line matched", "PING"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln := listen(t)
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				b, _ := io.ReadAll(c) // until the check half-closes
				got <- string(b)
				io.WriteString(c, tt.answer)
			}()
			r := SimpleTCP{}.Check(context.Background(), Target{Real: addrPort(t, ln.Addr()), Request: tt.request, Receive: tt.receive})
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
			if req := <-got; req != tt.wantReq {
				t.Errorf("server got %q, want %q", req, tt.wantReq)
			}
		})
	}
}
