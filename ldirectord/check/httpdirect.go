// httpdirect.go: a plain-http check's request without net/http's client: one connection, one request.

package check

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
)

// direct sends req (an http:// URL) over a connection of its own and reads
// the response head. It returns nil and no error when the answer is 1xx or
// a redirect, which the full client then repeats and follows. Without the
// client's transport (its connection goroutines, pool and per-check setup)
// a check costs about half the CPU, which counts at thousands of reals a
// second.
func direct(ctx context.Context, req *http.Request) (*http.Response, error) {
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := bind(ctx, c)
	req.Close = true
	if err := req.Write(c); err != nil {
		stop()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		stop()
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode < 400 && resp.StatusCode >= 300 && resp.Header.Get("Location") != "" {
		stop()
		return nil, nil
	}
	resp.Body = closeBoth{resp.Body, stop}
	return resp, nil
}

// closeBoth closes a response body and then its connection.
type closeBoth struct {
	io.ReadCloser
	stop func()
}

func (c closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.stop()
	return err
}
