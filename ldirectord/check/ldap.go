// ldap.go: negotiate ldap and ldaps: a simple (or anonymous) bind and a base search of request.

package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAP binds with Login and Passwd (anonymously when Login is empty), over
// TLS for ldaps (TLS options as https), then searches request (its leading
// '/' removed) with scope base and filter (objectClass=*). It passes when
// exactly one entry comes back and its DN matches receive (empty accepts
// any).
type LDAP struct {
	// TLS selects ldaps.
	TLS bool
}

// Check binds and searches.
func (l LDAP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		err := l.check(ctx, t)
		if err != nil && deadlinePassed(ctx) && ctx.Err() == nil {
			// go-ldap hides the socket's deadline error; the deadline is ctx's.
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return err
	})
}

func (l LDAP) check(ctx context.Context, t Target) error {
	re, err := receiveRE(t.Receive)
	if err != nil {
		return err
	}
	var c net.Conn
	var stop func()
	if l.TLS {
		var lc *lineConn
		lc, stop, err = dialTLS(ctx, t)
		if lc != nil {
			c = lc.Conn
		}
	} else {
		c, stop, err = dial(ctx, t)
	}
	if err != nil {
		return err
	}
	lc := ldap.NewConn(c, l.TLS)
	lc.Start()
	answered := false // the server answers: say goodbye politely
	defer func() {
		if answered && ctx.Err() == nil {
			lc.Unbind()
		}
		stop()
		go lc.Close() // waits for its goroutines, which end now that c is closed
	}()
	if dl, ok := ctx.Deadline(); ok {
		lc.SetTimeout(time.Until(dl))
	}
	_, err = lc.SimpleBind(&ldap.SimpleBindRequest{Username: t.Login, Password: t.Passwd, AllowEmptyPassword: true})
	answered = ldapAnswered(err)
	if err != nil {
		return fmt.Errorf("ldap bind as %q to %s: %w", t.Login, hostport(t), err)
	}
	base := strings.TrimPrefix(t.Request, "/")
	res, err := lc.Search(ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	answered = ldapAnswered(err)
	if err != nil {
		return fmt.Errorf("ldap search %q on %s: %w", base, hostport(t), err)
	}
	if len(res.Entries) != 1 {
		return fmt.Errorf("ldap search %q on %s: %d entries, want 1", base, hostport(t), len(res.Entries))
	}
	if dn := res.Entries[0].DN; re != nil && !re.MatchString(dn) {
		return fmt.Errorf("ldap search %q on %s: DN %q does not match %q", base, hostport(t), dn, t.Receive)
	}
	return nil
}

// ldapAnswered says whether err (of a request) came from the server, not
// from the connection or the client (result codes 200 and up).
func ldapAnswered(err error) bool {
	var lerr *ldap.Error
	return err == nil || errors.As(err, &lerr) && lerr.ResultCode < 200
}
