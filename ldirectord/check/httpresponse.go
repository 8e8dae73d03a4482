// httpresponse.go: a plain-http check's response read without net/http's header map.

package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// maxHeadLine bounds one line of a response head.
const maxHeadLine = 1 << 20

var (
	headerContentLength    = []byte("Content-Length")
	headerTransferEncoding = []byte("Transfer-Encoding")
	headerLocation         = []byte("Location")
	headerConnection       = []byte("Connection")
)

// readResponse reads the response to a method request from br as
// http.ReadResponse does for what a check uses: the status, Location
// (the only header kept) and the body, framed as RFC 9112 §6.3 says (none
// for HEAD, 1xx, 204 and 304; chunked; Content-Length; else up to the
// connection's end). It parses only the headers that matter, where
// http.ReadResponse builds a map of all, which is a good part of a check's
// CPU at thousands a second.
func readResponse(br *bufio.Reader, method string) (*http.Response, error) {
	line, err := readHeadLine(br)
	if err != nil {
		return nil, err
	}
	proto, status, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return nil, fmt.Errorf("malformed HTTP response %q", line)
	}
	major, minor, ok := http.ParseHTTPVersion(string(proto))
	if !ok {
		return nil, fmt.Errorf("malformed HTTP version %q", proto)
	}
	status = bytes.TrimLeft(status, " ")
	code, _, _ := bytes.Cut(status, []byte(" "))
	n, err := strconv.Atoi(string(code))
	if len(code) != 3 || err != nil || n < 0 {
		return nil, fmt.Errorf("malformed HTTP status code %q", code)
	}
	resp := &http.Response{Status: string(status), StatusCode: n, Proto: string(proto), ProtoMajor: major, ProtoMinor: minor, ContentLength: -1}
	// Connection's close and keep-alive tokens, for resp.Close.
	chunked, closeToken, keepAliveToken := false, false, false
	var location *string // the Location value while its header may continue
	for {
		line, err := readHeadLine(br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if location != nil { // a folded Location: joined with a space, as net/http does
				*location = strings.Trim(*location+" "+string(line), " \t")
			}
			continue // else a folded continuation of a header we do not keep
		}
		location = nil
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed MIME header line: %s", line)
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, headerContentLength):
			l, err := strconv.ParseUint(string(value), 10, 63)
			if err != nil {
				return nil, fmt.Errorf("bad Content-Length %q", value)
			}
			if resp.ContentLength >= 0 && int64(l) != resp.ContentLength {
				return nil, errors.New("http: message cannot contain multiple Content-Length headers")
			}
			resp.ContentLength = int64(l)
		case bytes.EqualFold(name, headerTransferEncoding):
			if !resp.ProtoAtLeast(1, 1) {
				continue // HTTP/1.0 has none; net/http ignores it too
			}
			if !bytes.EqualFold(value, []byte("chunked")) {
				return nil, fmt.Errorf("unsupported transfer encoding: %q", value)
			}
			chunked = true
		case bytes.EqualFold(name, headerConnection):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				closeToken = closeToken || bytes.EqualFold(tok, []byte("close"))
				keepAliveToken = keepAliveToken || bytes.EqualFold(tok, []byte("keep-alive"))
			}
		case bytes.EqualFold(name, headerLocation):
			if resp.Header == nil {
				resp.Header = http.Header{"Location": {string(value)}}
				location = &resp.Header["Location"][0]
			}
		}
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	// As net/http: HTTP/1.0 closes unless asked to keep alive, 1.1 when
	// asked to close.
	resp.Close = closeToken || major < 1 || major == 1 && minor == 0 && !keepAliveToken
	switch {
	case method == http.MethodHead || n/100 == 1 || n == http.StatusNoContent || n == http.StatusNotModified:
		resp.Body, resp.ContentLength = http.NoBody, 0
	case chunked:
		resp.Body, resp.ContentLength = io.NopCloser(httputil.NewChunkedReader(br)), -1
		resp.TransferEncoding = []string{"chunked"}
	case resp.ContentLength >= 0:
		resp.Body = io.NopCloser(&exactReader{r: br, left: resp.ContentLength})
	default:
		resp.Body = io.NopCloser(br) // up to the connection's end
	}
	return resp, nil
}

// readHeadLine reads one line of a response head without its CR LF. The
// bytes are valid until the next read from br.
func readHeadLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxHeadLine {
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		if len(long) > maxHeadLine {
			return nil, errors.New("response header line too long")
		}
		line = long
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return line, nil
}

// exactReader reads a Content-Length body: left bytes, and an unexpected
// end of file if the connection ends before them, as net/http.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && e.left == 0 {
		err = io.EOF
	}
	return n, err
}
