// httpresponse_test.go: the check's response reader agrees with http.ReadResponse.

package check

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReadResponseLikeNetHTTP reads each response with readResponse and
// with http.ReadResponse and wants the same outcome: an error or not, the
// status, Location, and the body (or a body error).
func TestReadResponseLikeNetHTTP(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, c := range []struct{ method, raw string }{
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\nEXTRA"},
		{"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\nEXTRA"},
		{"GET", "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\nContent-Length: 100\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{"GET", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end\nof the connection"},
		{"GET", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"},
		{"GET", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n"},
		{"GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"},
		{"GET", "HTTP/1.1 301 Moved Permanently\r\nLocation: /next\r\nlocation: /second\r\nContent-Length: 0\r\n\r\n"},
		{"GET", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\n\r\nfailing\n"},
		{"GET", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\r\ncontent-length:  2 \r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\r\nX-Long: " + long + "\r\nContent-Length: 2\r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
		{"GET", "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok"},
		// errors, in the head or the body
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"},
		{"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok"},
		{"GET", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\nok"},
		{"GET", "HTTP/1.1 20 OK\r\n\r\n"},
		{"GET", "HTTP/1.1 abc OK\r\n\r\n"},
		{"GET", "HTTP/9 200 OK\r\n\r\n"},
		{"GET", "SSH-2.0-OpenSSH_9.2\r\n"},
		{"GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"},
		{"GET", ""},
	} {
		name := c.method + " " + strings.ReplaceAll(c.raw[:min(len(c.raw), 40)], "\r\n", "|")
		want, werr := http.ReadResponse(bufio.NewReader(strings.NewReader(c.raw)), &http.Request{Method: c.method})
		got, gerr := readResponse(bufio.NewReader(strings.NewReader(c.raw)), c.method)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%s: error %v, net/http's %v", name, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		if got.StatusCode != want.StatusCode || got.Status != want.Status || got.Header.Get("Location") != want.Header.Get("Location") {
			t.Errorf("%s: status %q (%d) Location %q, net/http's %q (%d) %q", name, got.Status, got.StatusCode,
				got.Header.Get("Location"), want.Status, want.StatusCode, want.Header.Get("Location"))
		}
		wb, wberr := io.ReadAll(want.Body)
		gb, gberr := io.ReadAll(got.Body)
		if string(gb) != string(wb) || (wberr != nil) != (gberr != nil) {
			t.Errorf("%s: body %q (%v), net/http's %q (%v)", name, gb, gberr, wb, wberr)
		}
	}
}
