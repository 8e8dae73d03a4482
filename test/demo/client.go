// client.go: the client's view: HTTP requests to the VIP from the client namespace, counted per answering server, and a prober that measures outages.

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// client sends HTTP requests from the client namespace, each on a new
// connection (so each is scheduled anew by the director).
type client struct {
	http *http.Client
}

// newClient returns a client whose connection attempts give up after
// dialTimeout. The bound is the dialer's own: net/http may let a dial go
// on after its request was cancelled, and a SYN retransmitted later would
// be scheduled by the director in the middle of another step's count.
func newClient(dialTimeout time.Duration) *client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNS("client", func() error {
			var err error
			c, err = (&net.Dialer{Timeout: dialTimeout}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	return &client{http: &http.Client{Transport: &http.Transport{
		DialContext: dial, DisableKeepAlives: true, Proxy: nil,
	}}}
}

// url is the service as the client sees it.
var url = fmt.Sprintf("http://%s:%d/", vip, servicePort)

// get requests the service's front page and returns who answered (the
// body, trimmed).
func (c *client) get(timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	return strings.TrimSpace(string(body)), nil
}

// count sends n requests one after the other and counts the answers by
// server; failed requests count under "(failed)".
func (c *client) count(n int) map[string]int {
	got := map[string]int{}
	for range n {
		who, err := c.get(2 * time.Second)
		if err != nil {
			who = failed
		}
		got[who]++
	}
	return got
}

// failed is the key count uses for requests that got no answer.
const failed = "(failed)"

// keepAlive is one HTTP/1.1 connection kept open to the VIP.
type keepAlive struct {
	http *http.Client
	tr   *http.Transport
}

// openKeepAlive returns a client whose requests share one connection.
func (c *client) openKeepAlive() *keepAlive {
	tr := c.http.Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = false
	tr.MaxConnsPerHost = 1
	return &keepAlive{http: &http.Client{Transport: tr}, tr: tr}
}

func (k *keepAlive) get() (string, error) {
	return (&client{http: k.http}).get(2 * time.Second)
}

func (k *keepAlive) close() { k.tr.CloseIdleConnections() }

// probe is one request of the prober.
type probe struct {
	at  time.Time // when it was sent
	who string    // who answered; "" if it failed
}

// prober sends a request every probeEvery (each on its own connection,
// each with probeTimeout) and records the answers, to measure what a
// client sees while the VIP moves.
type prober struct {
	c      *client
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	probes []probe
}

const (
	probeEvery   = 20 * time.Millisecond
	probeTimeout = 300 * time.Millisecond
)

func startProber() *prober {
	c := newClient(probeTimeout)
	p := &prober{c: c, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case at := <-t.C:
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					who, err := c.get(probeTimeout)
					if err != nil {
						who = ""
					}
					p.mu.Lock()
					p.probes = append(p.probes, probe{at: at, who: who})
					p.mu.Unlock()
				}()
			}
		}
	}()
	return p
}

// close stops the prober and waits for its requests.
func (p *prober) close() {
	p.once.Do(func() { close(p.stop) })
	p.wg.Wait()
}

// outage is what the client saw around a failure.
type outage struct {
	gap           time.Duration // longest time between two answered requests
	failed, total int
	lastBefore    time.Time // the last answered request before the gap
	firstAfter    time.Time // the first answered after it
}

// since sums up the probes sent from t0 on (the probes sent before t0 only
// serve as the gap's start).
func (p *prober) since(t0 time.Time) outage {
	p.mu.Lock()
	probes := append([]probe(nil), p.probes...)
	p.mu.Unlock()
	sort.Slice(probes, func(i, j int) bool { return probes[i].at.Before(probes[j].at) })
	var o outage
	var last time.Time
	for _, pr := range probes {
		if !pr.at.Before(t0) {
			o.total++
			if pr.who == "" {
				o.failed++
			}
		}
		if pr.who == "" {
			continue
		}
		if !last.IsZero() && !pr.at.Before(t0) && pr.at.Sub(last) > o.gap {
			o.gap, o.lastBefore, o.firstAfter = pr.at.Sub(last), last, pr.at
		}
		last = pr.at
	}
	return o
}

// answeredSince reports whether a request sent after t answered.
func (p *prober) answeredSince(t time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.probes {
		if pr.who != "" && pr.at.After(t) {
			return true
		}
	}
	return false
}
