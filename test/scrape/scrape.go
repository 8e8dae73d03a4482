// Package scrape reads a Prometheus endpoint from inside a test network
// namespace, for the root suites that check hasuite's metrics.
package scrape

// scrape.go: one HTTP scrape, parsed into series → value.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

// Scrape fetches http://addr/metrics from inside from's namespace and
// returns every sample by its series text as the exposition writes it
// (labels sorted by name): `name{a="x",b="y"}` → value.
func Scrape(t testing.TB, from *netns.Host, addr string) map[string]float64 {
	t.Helper()
	var conn net.Conn
	from.Do(t, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	defer conn.Close()
	// The connection was made in the namespace; HTTP runs over it here.
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s %v", addr, resp.Status, err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("scraping %s: bad sample line %q", addr, line)
		}
		out[line[:i]] = v
	}
	return out
}

// Expect reports (t.Errorf, prefixed by step) every series of want that
// got lacks or has with another value.
func Expect(t testing.TB, step string, got, want map[string]float64) {
	t.Helper()
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s: %s = %v (present %v), want %v", step, series, g, ok, v)
		}
	}
}
