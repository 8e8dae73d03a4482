// http.go: negotiate http, https and http_proxy: one GET or HEAD, 2xx and body matching receive.

package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// maxBody is how much of a response body receive is matched against.
const maxBody = 4 << 20

// maxRedirects is LWP's limit for GET and HEAD, which classic used.
const maxRedirects = 7

// HTTP is the negotiate check of http, https and http_proxy (Service). It
// requests scheme://RIP:port/request (or request itself when it is a full
// URL; through the proxy RIP:port for http_proxy) with Host virtualhost, else
// the RIP, follows up to 7 redirects, and passes on a final 2xx whose body
// matches receive (headers are not searched).
type HTTP struct {
	Service string
}

// Check makes the request.
func (h HTTP) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error { return h.check(ctx, t, direct) })
}

// check runs the check; send is the plain-http request's path (direct, or
// a KeepAlive's).
func (h HTTP) check(ctx context.Context, t Target, send func(context.Context, *http.Request) (*http.Response, error)) error {
	c, err := h.prepare(ctx, t)
	if err != nil {
		return err
	}
	req := c.req
	var resp *http.Response
	if req.URL.Scheme == "http" && h.Service != "http_proxy" {
		resp, err = send(ctx, req) // nil, nil: a redirect for the client
	}
	if resp == nil && err == nil {
		tr, terr := h.transport(t)
		if terr != nil {
			return terr
		}
		defer tr.CloseIdleConnections()
		resp, err = client(tr).Do(req)
	}
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return c.failed(err)
	}
	defer resp.Body.Close()
	if err := c.status(resp); err != nil || c.re == nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return c.failed(fmt.Errorf("reading body: %w", err))
	}
	return c.match(body)
}

// httpCheck is one check's request and what its answer must be.
type httpCheck struct {
	req     *http.Request
	method  string
	rawURL  string
	receive string
	re      *regexp.Regexp
}

// prepare builds t's request.
func (h HTTP) prepare(ctx context.Context, t Target) (*httpCheck, error) {
	re, err := receiveRE(t.Receive)
	if err != nil {
		return nil, err
	}
	method := t.HTTPMethod
	if method == "" {
		method = http.MethodGet
	}
	rawURL := strings.TrimPrefix(t.Request, "/")
	if h.Service == "http_proxy" && !strings.Contains(rawURL, "://") {
		return nil, fmt.Errorf("http_proxy request %q is not a full URL", t.Request)
	}
	if h.Service != "http_proxy" && !strings.Contains(rawURL, h.Service+"://") {
		rawURL = h.Service + "://" + hostport(t) + "/" + rawURL
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("User-Agent", "hasuite-ldirectord")
	if h.Service != "http_proxy" {
		req.Host = hostName(t.Real.Addr())
		if t.VirtualHost != "" {
			req.Host = t.VirtualHost
		}
	}
	return &httpCheck{req: req, method: method, rawURL: rawURL, receive: t.Receive, re: re}, nil
}

// failed words an error of the request.
func (c *httpCheck) failed(err error) error {
	return fmt.Errorf("%s %s: %w", c.method, c.rawURL, err)
}

// status passes a 2xx.
func (c *httpCheck) status(resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.failed(fmt.Errorf("status %s", resp.Status))
	}
	return nil
}

// match passes a body receive matches.
func (c *httpCheck) match(body []byte) error {
	if c.re != nil && !c.re.Match(body) {
		return c.failed(fmt.Errorf("body does not match %q: %q", c.receive, truncate(string(body), 200)))
	}
	return nil
}

// transport is the net/http transport of a check the direct path does not
// make (https, http_proxy, 1xx and redirects): for this check only, no
// connection kept, no proxy from the environment (as LWP).
func (h HTTP) transport(t Target) (*http.Transport, error) {
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	var err error
	switch h.Service {
	case "http_proxy":
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: hostport(t), Path: "/"})
	case "https":
		if tr.TLSClientConfig, err = tlsConfig(t); err != nil {
			return nil, err
		}
	}
	if tr.TLSClientConfig == nil {
		// An https URL in request, or a redirect to one: the same policy,
		// the name taken from the URL.
		if tr.TLSClientConfig, err = tlsPolicy(t); err != nil {
			return nil, err
		}
	}
	return tr, nil
}

// client is the client over tr, following up to maxRedirects redirects.
func client(tr *http.Transport) *http.Client {
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// tlsConfig is the TLS setup of a check that connects to the real itself
// (https, imaps, pops, ldaps, smtp STARTTLS) from t.TLS (see TLSOptions):
// SNI is TLS.ServerName, else virtualhost (none for an IP address, which
// TLS does not allow), and with Verify that name, else the real's IP, is
// what the certificate must name.
func tlsConfig(t Target) (*tls.Config, error) {
	cfg, err := tlsPolicy(t)
	if err != nil {
		return nil, err
	}
	name := t.TLS.ServerName
	if name == "" {
		name = t.VirtualHost
	}
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	name = strings.Trim(name, "[]")
	if name == "" {
		name = t.Real.Addr().Unmap().String()
	}
	cfg.ServerName = name // Go sends it as SNI unless it is an IP address
	return cfg, nil
}

// tlsPolicy is t.TLS's verification policy without a server name: no
// verification, or verification against CAFile (else the system roots).
func tlsPolicy(t Target) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: !t.TLS.Verify}
	if t.TLS.Verify && t.TLS.CAFile != "" {
		pool, err := caPool(t.TLS.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// caCache holds the CA bundles read so far, by path.
var caCache = struct {
	sync.Mutex
	m map[string]caEntry
}{m: map[string]caEntry{}}

// caEntry is one CA bundle and the file state it was read from.
type caEntry struct {
	mod  time.Time
	size int64
	pool *x509.CertPool
}

// caPool returns the certificates of the PEM bundle at path. It rereads
// the file only when its size or modification time changed, so a renewed
// bundle is picked up without a reload and a check costs one stat.
func caPool(path string) (*x509.CertPool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("CA file %s: not a regular file", path) // a FIFO would block the check
	}
	caCache.Lock()
	defer caCache.Unlock()
	if e, ok := caCache.m[path]; ok && e.mod.Equal(fi.ModTime()) && e.size == fi.Size() {
		return e.pool, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s: no PEM certificates", path)
	}
	caCache.m[path] = caEntry{fi.ModTime(), fi.Size(), pool}
	return pool, nil
}
