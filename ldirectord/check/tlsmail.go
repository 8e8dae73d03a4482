// tlsmail.go: negotiate pops and imaps (the pop and imap exchanges over TLS), and the line-exchange helper the mail checks share.

package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// POPS is the pop check over TLS (implicit TLS, port 995), with the TLS
// options of https: the certificate is not verified unless TLS.Verify is set.
type POPS struct{}

// Check runs the exchange.
func (POPS) Check(ctx context.Context, t Target) Result {
	return exchange(ctx, t, true, popExchange)
}

// IMAPS is the imap check over TLS (implicit TLS, port 993), with the TLS
// options of https.
type IMAPS struct{}

// Check runs the exchange.
func (IMAPS) Check(ctx context.Context, t Target) Result {
	return exchange(ctx, t, true, imapExchange)
}

// exchange connects to t (over TLS when secure is set) and runs a
// line-based conversation on the connection.
func exchange(ctx context.Context, t Target, secure bool, talk func(*lineConn, Target) error) Result {
	return run(ctx, func() error {
		var lc *lineConn
		var stop func()
		var err error
		if secure {
			lc, stop, err = dialTLS(ctx, t)
		} else {
			var c net.Conn
			if c, stop, err = dial(ctx, t); err == nil {
				lc = newLineConn(c)
			}
		}
		if err != nil {
			return err
		}
		defer stop()
		return talk(lc, t)
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
