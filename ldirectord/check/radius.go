// radius.go: negotiate radius: an Access-Request with login and passwd, passing on Access-Accept.

package check

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// RADIUS packet codes and attribute types (RFC 2865, RFC 3579).
const (
	radiusAccessRequest   = 1
	radiusAccessAccept    = 2
	radiusAccessReject    = 3
	radiusUserName        = 1
	radiusUserPassword    = 2
	radiusNASIPAddress    = 4
	radiusNASIdentifier   = 32
	radiusMessageAuth     = 80
	radiusResendInterval  = time.Second
	radiusMaxPasswordSize = 128
)

// RADIUS sends an Access-Request for login with passwd (hidden with secret
// as RFC 2865 says) over UDP and passes on an Access-Accept whose response
// authenticator is right; Access-Reject fails. The request carries
// NAS-Identifier "hasuite-ldirectord", NAS-IP-Address (the local address,
// IPv4 only) and Message-Authenticator (new: classic sent none, which
// servers requiring it since BlastRADIUS refuse). The request is resent every
// second, same identifier, until an answer or the deadline.
type RADIUS struct{}

// Check sends the request.
func (RADIUS) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error { return checkRADIUS(ctx, t) })
}

func checkRADIUS(ctx context.Context, t Target) error {
	if t.Secret == "" {
		return errors.New("radius: no secret")
	}
	if len(t.Passwd) > radiusMaxPasswordSize {
		return fmt.Errorf("radius: passwd longer than %d bytes", radiusMaxPasswordSize)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", hostport(t))
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", hostport(t), err)
	}
	defer bind(ctx, c)()
	var local net.IP
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok {
		local = la.IP.To4()
	}
	req, err := radiusRequest(t.Login, t.Passwd, t.Secret, local)
	if err != nil {
		return err
	}
	buf := make([]byte, 4096)
	var ignored error // why the last datagram was not taken as the answer
	for {
		if _, err := c.Write(req); err != nil {
			return fmt.Errorf("radius to %s: %w", hostport(t), err)
		}
		c.SetReadDeadline(time.Now().Add(radiusResendInterval))
		if dl, ok := ctx.Deadline(); ok && dl.Before(time.Now().Add(radiusResendInterval)) {
			c.SetReadDeadline(dl)
		}
		for {
			n, err := c.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil && !deadlinePassed(ctx) {
				break // resend
			}
			if err != nil && ignored != nil {
				return fmt.Errorf("radius to %s: %w (ignored an answer: %w)", hostport(t), err, ignored)
			}
			if err != nil {
				return fmt.Errorf("radius to %s: %w", hostport(t), err)
			}
			code, err := radiusVerify(buf[:n], req, t.Secret)
			if err != nil {
				ignored = err // not an answer to this request: ignore, as clients do
				continue
			}
			switch code {
			case radiusAccessAccept:
				return nil
			case radiusAccessReject:
				return fmt.Errorf("radius %s: Access-Reject for %q", hostport(t), t.Login)
			}
			return fmt.Errorf("radius %s: answer code %d, want Access-Accept", hostport(t), code)
		}
	}
}

func deadlinePassed(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// radiusRequest builds the Access-Request packet.
func radiusRequest(login, passwd, secret string, nasIP net.IP) ([]byte, error) {
	if len(login) > 253 { // an attribute's length is one byte, its header included
		return nil, errors.New("radius: login longer than 253 bytes")
	}
	var auth [16]byte
	if _, err := rand.Read(auth[:]); err != nil {
		return nil, fmt.Errorf("radius authenticator: %w", err)
	}
	id := auth[0] ^ auth[15]
	p := []byte{radiusAccessRequest, id, 0, 0}
	p = append(p, auth[:]...)
	attr := func(typ byte, v []byte) {
		p = append(p, typ, byte(2+len(v)))
		p = append(p, v...)
	}
	attr(radiusUserName, []byte(login))
	attr(radiusUserPassword, radiusHide([]byte(passwd), secret, auth[:]))
	attr(radiusNASIdentifier, []byte("hasuite-ldirectord"))
	if nasIP != nil {
		attr(radiusNASIPAddress, nasIP)
	}
	attr(radiusMessageAuth, make([]byte, 16))
	mpos := len(p) - 16
	p[2], p[3] = byte(len(p)>>8), byte(len(p))
	m := hmac.New(md5.New, []byte(secret))
	m.Write(p)
	copy(p[mpos:], m.Sum(nil))
	return p, nil
}

// radiusHide is the User-Password hiding of RFC 2865 §5.2.
func radiusHide(passwd []byte, secret string, auth []byte) []byte {
	n := (len(passwd) + 15) / 16 * 16
	if n == 0 {
		n = 16
	}
	out := make([]byte, n)
	copy(out, passwd)
	prev := auth
	for i := 0; i < n; i += 16 {
		h := md5.Sum(append([]byte(secret), prev...))
		for j := range 16 {
			out[i+j] ^= h[j]
		}
		prev = out[i : i+16]
	}
	return out
}

// radiusVerify checks that pkt answers req (identifier, length and response
// authenticator) and returns its code.
func radiusVerify(pkt, req []byte, secret string) (byte, error) {
	if len(pkt) < 20 || pkt[1] != req[1] {
		return 0, errors.New("not an answer")
	}
	l := int(pkt[2])<<8 | int(pkt[3])
	if l < 20 || l > len(pkt) {
		return 0, errors.New("bad length")
	}
	pkt = pkt[:l]
	h := md5.New()
	h.Write(pkt[:4])
	h.Write(req[4:20])
	h.Write(pkt[20:])
	h.Write([]byte(secret))
	if !bytes.Equal(h.Sum(nil), pkt[4:20]) {
		return 0, errors.New("bad response authenticator (wrong secret?)")
	}
	return pkt[0], nil
}
