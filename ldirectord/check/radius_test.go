// radius_test.go: the radius check against a loopback RADIUS server.

package check

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// radiusServer accepts user "alice" with password "wonderland..." under
// secret; it answers with answerSecret (to fake a wrong secret) and drops the
// first drop requests.
func radiusServer(t *testing.T, secret, answerSecret string, drop int32) (net.PacketConn, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var got atomic.Int32
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if got.Add(1) <= drop {
				continue
			}
			p := append([]byte(nil), buf[:n]...)
			attrs := map[byte][]byte{}
			var mpos int
			for i := 20; i+2 <= len(p); i += int(p[i+1]) {
				attrs[p[i]] = p[i+2 : i+int(p[i+1])]
				if p[i] == radiusMessageAuth {
					mpos = i + 2
				}
			}
			// Message-Authenticator: HMAC-MD5 over the packet with it zeroed.
			ma := append([]byte(nil), p[mpos:mpos+16]...)
			copy(p[mpos:mpos+16], make([]byte, 16))
			m := hmac.New(md5.New, []byte(secret))
			m.Write(p)
			if mpos == 0 || !hmac.Equal(m.Sum(nil), ma) {
				t.Errorf("bad Message-Authenticator")
				continue
			}
			// User-Password: undo the hiding (RFC 2865 §5.2).
			hidden := attrs[radiusUserPassword]
			pw := make([]byte, len(hidden))
			prev := p[4:20]
			for i := 0; i < len(hidden); i += 16 {
				h := md5.Sum(append([]byte(secret), prev...))
				for j := range 16 {
					pw[i+j] = hidden[i+j] ^ h[j]
				}
				prev = hidden[i : i+16]
			}
			code := byte(radiusAccessReject)
			if string(attrs[radiusUserName]) == "alice" && string(bytes.TrimRight(pw, "\x00")) == "wonderland-rabbit-hole" &&
				string(attrs[radiusNASIdentifier]) == "hasuite-ldirectord" && len(attrs[radiusNASIPAddress]) == 4 {
				code = radiusAccessAccept
			}
			resp := []byte{code, p[1], 0, 20}
			h := md5.New()
			h.Write(resp[:4])
			h.Write(p[4:20])
			h.Write([]byte(answerSecret))
			pc.WriteTo(append(resp, h.Sum(nil)...), from)
		}
	}()
	return pc, &got
}

func TestRADIUS(t *testing.T) {
	t.Parallel()
	good, _ := radiusServer(t, "s3cret", "s3cret", 0)
	wrong, _ := radiusServer(t, "s3cret", "other", 0)
	lossy, lossyGot := radiusServer(t, "s3cret", "s3cret", 1)
	type tc struct {
		name   string
		srv    net.PacketConn
		t      Target
		ok     bool
		errHas string
	}
	cases := []tc{
		{"accept", good, Target{Login: "alice", Passwd: "wonderland-rabbit-hole", Secret: "s3cret"}, true, ""},
		{"reject", good, Target{Login: "alice", Passwd: "wrong", Secret: "s3cret"}, false, `Access-Reject for "alice"`},
		{"empty password rejected", good, Target{Login: "alice", Secret: "s3cret"}, false, "Access-Reject"},
		{"no secret", good, Target{Login: "alice", Passwd: "x"}, false, "radius: no secret"},
		{"answer with another secret", wrong, Target{Login: "alice", Passwd: "wonderland-rabbit-hole", Secret: "s3cret"}, false, "bad response authenticator"},
		{"resent after a loss", lossy, Target{Login: "alice", Passwd: "wonderland-rabbit-hole", Secret: "s3cret"}, true, ""},
	}
	t.Run("checks", func(t *testing.T) {
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				tt.t.Real = addrPort(t, tt.srv.LocalAddr())
				ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
				defer cancel()
				r := RADIUS{}.Check(ctx, tt.t)
				if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
					t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
				}
			})
		}
	})
	if n := lossyGot.Load(); n != 2 {
		t.Errorf("lossy server got %d requests, want 2", n)
	}
}
