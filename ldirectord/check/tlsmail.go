// tlsmail.go: negotiate pops and imaps: the pop and imap exchanges over TLS.

package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
)

// POPS is the pop check over TLS (implicit TLS, port 995), with the TLS
// options of https: the certificate is not verified unless TLS.Verify is set.
type POPS struct{}

// Check runs the exchange.
func (POPS) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		lc, stop, err := dialTLS(ctx, t)
		if err != nil {
			return err
		}
		defer stop()
		if err := popOK(lc, "greeting"); err != nil {
			return err
		}
		if t.Login != "" {
			for _, cmd := range []string{"USER " + t.Login, "PASS " + t.Passwd} {
				if err := lc.send(cmd); err != nil {
					return err
				}
				if err := popOK(lc, cmd[:4]); err != nil {
					return err
				}
			}
		}
		lc.send("QUIT")
		return nil
	})
}

// IMAPS is the imap check over TLS (implicit TLS, port 993), with the TLS
// options of https.
type IMAPS struct{}

// Check runs the exchange.
func (IMAPS) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		lc, stop, err := dialTLS(ctx, t)
		if err != nil {
			return err
		}
		defer stop()
		l, err := lc.line()
		if err != nil {
			return fmt.Errorf("imap greeting: %w", err)
		}
		if !strings.HasPrefix(l, "* OK") && !strings.HasPrefix(l, "* PREAUTH") {
			return fmt.Errorf("imap greeting: %q", truncate(l, 200))
		}
		if t.Login != "" {
			if err := lc.send("a1 LOGIN " + imapQuote(t.Login) + " " + imapQuote(t.Passwd)); err != nil {
				return err
			}
			for {
				l, err := lc.line()
				if err != nil {
					return fmt.Errorf("imap login: %w", err)
				}
				if strings.HasPrefix(l, "a1 ") {
					if !strings.HasPrefix(l, "a1 OK") {
						return fmt.Errorf("imap login: %q", truncate(l, 200))
					}
					break
				}
			}
		}
		lc.send("a2 LOGOUT")
		return nil
	})
}

// dialTLS connects as dial does and completes a TLS handshake configured
// from t.TLS (see tlsConfig).
func dialTLS(ctx context.Context, t Target) (*lineConn, func(), error) {
	cfg, err := tlsConfig(t)
	if err != nil {
		return nil, nil, err
	}
	c, stop, err := dial(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("tls handshake with %s: %w", hostport(t), err)
	}
	return newLineConn(tc), stop, nil
}
