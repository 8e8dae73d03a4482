// sip.go: negotiate sip: an OPTIONS request for sip:login, passing on a 200 answer.

package check

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
)

// SIP sends OPTIONS sip:login (From and To the same URI) over UDP when the
// virtual is udp, else TCP, and passes when the answer's status line is
// "SIP/2.0 200" (classic wanted exactly "SIP/2.0 200 OK"; the reason phrase
// is free text). Provisional 1xx answers are skipped.
type SIP struct{}

// Check sends the request.
func (SIP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error { return checkSIP(ctx, t) })
}

func checkSIP(ctx context.Context, t Target) error {
	if t.Login == "" {
		return errors.New("sip: no login")
	}
	network := "tcp"
	if t.Protocol == "udp" {
		network = "udp"
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, hostport(t))
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", hostport(t), err)
	}
	defer bind(ctx, c)()
	if _, err := c.Write([]byte(sipOptions(t.Login, network, c.LocalAddr()))); err != nil {
		return fmt.Errorf("sip to %s: %w", hostport(t), err)
	}
	if network == "udp" {
		buf := make([]byte, 65535)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return fmt.Errorf("sip to %s: %w", hostport(t), err)
			}
			status, _, _ := strings.Cut(string(buf[:n]), "\n")
			if done, err := sipStatus(trimEOL(status)); done {
				return err
			}
		}
	}
	lc := newLineConn(c)
	for {
		status, err := lc.line()
		if err != nil {
			return fmt.Errorf("sip: %w", err)
		}
		if done, err := sipStatus(status); done {
			return err
		}
		for { // skip the provisional answer's headers (OPTIONS answers carry no body)
			h, err := lc.line()
			if err != nil {
				return fmt.Errorf("sip: %w", err)
			}
			if h == "" {
				break
			}
		}
	}
}

// sipStatus judges a status line: done unless it is provisional (1xx).
func sipStatus(status string) (bool, error) {
	code, _, _ := strings.Cut(strings.TrimPrefix(status, "SIP/2.0 "), " ")
	switch {
	case !strings.HasPrefix(status, "SIP/2.0 "):
		return true, fmt.Errorf("sip: not a SIP answer: %q", truncate(status, 200))
	case len(code) == 3 && code[0] == '1':
		return false, nil
	case code == "200":
		return true, nil
	}
	return true, fmt.Errorf("sip: %q", truncate(status, 200))
}

// sipOptions is the OPTIONS request, with a fresh branch, tag and Call-ID.
func sipOptions(login, network string, local net.Addr) string {
	r := make([]byte, 18)
	rand.Read(r)
	id := hex.EncodeToString(r)
	uri := "sip:" + strings.TrimPrefix(login, "sip:")
	return fmt.Sprintf("OPTIONS %s SIP/2.0\r\n"+
		"Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"To: <%s>\r\n"+
		"From: <%s>;tag=%s\r\n"+
		"Call-ID: %s@hasuite-ldirectord\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Contact: <%s>\r\n"+
		"Accept: application/sdp\r\n"+
		"User-Agent: hasuite-ldirectord\r\n"+
		"Content-Length: 0\r\n\r\n",
		uri, strings.ToUpper(network), local, id[:12], uri, uri, id[12:24], id[24:], uri)
}
