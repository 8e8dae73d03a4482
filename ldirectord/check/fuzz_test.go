// fuzz_test.go: fuzz targets for what the checks read from servers and from the config.

package check

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// scriptConn is a net.Conn that answers every read from a fixed byte
// string and swallows writes: a server's replies without a socket.
type scriptConn struct {
	r       *bytes.Reader
	written bytes.Buffer
}

func newScriptConn(data []byte) *scriptConn { return &scriptConn{r: bytes.NewReader(data)} }

func (c *scriptConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { return c.written.Write(p) }
func (c *scriptConn) Close() error                { return nil }
func (c *scriptConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *scriptConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 21} }
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzLoopAnswer checks the loop's judge of an answer (HTTP.Lean's)
// against the worker's (HTTP.check over the same bytes, read as direct
// reads them), and that judging it as it arrives ends where the whole
// would: a prefix the judge calls done has the whole answer's verdict.
func FuzzLoopAnswer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokay",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nall ok",
		"HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nok",
		"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 x\r\n\r\n", "",
	} {
		f.Add([]byte(s), false, uint16(len(s)/2))
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), true, uint16(10))
	errFull := errors.New("for the full client")
	f.Fuzz(func(t *testing.T, data []byte, head bool, cut uint16) {
		target := Target{Protocol: "tcp", Real: netip.MustParseAddrPort("192.0.2.1:80"), Request: "/", Receive: "ok"}
		if head {
			target.HTTPMethod = http.MethodHead
		}
		h := HTTP{Service: "http"}
		ex, ok := h.Lean(target)
		if !ok {
			t.Fatal("not lean")
		}
		done, full, verdict := ex.Answer(data, true, nil)
		if !done {
			t.Fatal("not done at the end of the answer")
		}
		want := h.check(context.Background(), target, func(_ context.Context, req *http.Request) (*http.Response, error) {
			resp, err := readResponse(bufio.NewReader(bytes.NewReader(data)), req.Method)
			if err == nil && forClient(resp) {
				return nil, errFull // the worker's client would follow it
			}
			return resp, err
		})
		if full != errors.Is(want, errFull) {
			t.Fatalf("full %v; worker: %v", full, want)
		}
		if !full && fmt.Sprint(verdict) != fmt.Sprint(want) {
			t.Fatalf("verdict %v; worker: %v", verdict, want)
		}
		n := int(cut) % (len(data) + 1)
		if pdone, pfull, pverdict := ex.Answer(data[:n], false, nil); pdone &&
			(pfull != full || fmt.Sprint(pverdict) != fmt.Sprint(verdict)) {
			t.Fatalf("done after %d of %d bytes with %v %v; the whole: %v %v", n, len(data), pfull, pverdict, full, verdict)
		}
	})
}

// FuzzWholeResponse checks the keep-alive judge of the check loop (may
// the connection carry another request after this answer?) against
// net/http: whole only when http.ReadResponse, where it accepts the head
// (readResponse is more lenient, see FuzzReadResponse), reads a response
// that does not ask to close, whose body (and trailer) ends at the
// answer's last byte.
func FuzzWholeResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1",
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\n\r\nto the end",
		"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		if !wholeResponse(data, method) {
			return
		}
		rd := bytes.NewReader(data)
		br := bufio.NewReader(rd)
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return
		}
		if resp.Close {
			t.Fatal("whole, but net/http says close")
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatalf("whole, but net/http's body: %v", err)
		}
		if left := rd.Len() + br.Buffered(); left != 0 {
			t.Fatalf("whole, but %d bytes after net/http's response", left)
		}
	})
}

// FuzzReadResponse: an accepted response has net/http's status code,
// Location (or none) and body (when net/http accepts it too), a body no longer than
// the input, exactly Content-Length bytes when framed so, and none for HEAD.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nto the end",
		"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\n folded\r\nX: y\r\n\r\n",
		"HTTP/2 200\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 -20 x\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		resp, err := readResponse(bufio.NewReader(bytes.NewReader(data)), method)
		if err != nil {
			return
		}
		if resp.StatusCode < 0 || resp.StatusCode > 999 || resp.Header == nil || resp.Body == nil {
			t.Fatalf("bad response %+v", resp)
		}
		body, err := io.ReadAll(resp.Body)
		if std, serr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), &http.Request{Method: method}); serr == nil {
			stdBody, berr := io.ReadAll(std.Body)
			// The Location value only counts as present or not; its
			// blanks may be trimmed differently.
			if std.StatusCode != resp.StatusCode || std.Proto != resp.Proto ||
				(std.Header.Get("Location") == "") != (resp.Header.Get("Location") == "") {
				t.Fatalf("status %d %q location %q, net/http %d %q %q", resp.StatusCode, resp.Proto, resp.Header.Get("Location"),
					std.StatusCode, std.Proto, std.Header.Get("Location"))
			}
			if err == nil && berr == nil && !bytes.Equal(body, stdBody) {
				t.Fatalf("body %q, net/http %q", body, stdBody)
			}
		}
		if len(body) > len(data) {
			t.Fatalf("body of %d bytes from %d bytes of input", len(body), len(data))
		}
		if head && len(body) != 0 {
			t.Fatalf("HEAD response with a body %q", body)
		}
		if err == nil && resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
			t.Fatalf("body of %d bytes, Content-Length %d", len(body), resp.ContentLength)
		}
	})
}

// FuzzFTPReply: an accepted reply has a code of a wanted class, and its
// message starts with that code.
func FuzzFTPReply(f *testing.F) {
	for _, s := range []string{
		"220 ready\r\n", "220-welcome\r\n220-more\r\n220 ready\r\n", "530 no\r\n", "22\r\n", "abc def\r\n",
		"220-x\r\n", "2x0 y\r\n", "227 Entering Passive Mode (127,0,0,2,4,1)\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		code, msg, err := ftpReply(newLineConn(newScriptConn(data)), "greeting", 2)
		if err != nil {
			return
		}
		if code/100 != 2 || !strings.HasPrefix(msg, strconv.Itoa(code)[:1]) || len(msg) < 3 {
			t.Fatalf("accepted code %d message %q", code, msg)
		}
	})
}

// FuzzFTPPassive: a parsed PASV or EPSV answer is a usable port.
func FuzzFTPPassive(f *testing.F) {
	for _, s := range []string{
		"227 Entering Passive Mode (127,0,0,2,4,1)\r\n", "227 =127,0,0,2,0,0\r\n", "227 (1,2,3,4,256,1)\r\n",
		"227 ( 1, 2, 3, 4, 5, 6 )\r\n", "229 Entering Extended Passive Mode (|||6446|)\r\n", "229 (|||0|)\r\n",
		"229 (|||99999|)\r\n", "229-x\r\n229 (|||1|)\r\n", "500 no\r\n",
	} {
		f.Add([]byte(s), strings.HasPrefix(s, "229"))
	}
	f.Fuzz(func(t *testing.T, data []byte, v6 bool) {
		real := netip.MustParseAddr("127.0.0.2")
		if v6 {
			real = netip.MustParseAddr("::2")
		}
		port, err := ftpPassive(newLineConn(newScriptConn(data)), real)
		if err == nil && (port < 1 || port > 65535) {
			t.Fatalf("port %d from %q", port, data)
		}
	})
}

// FuzzSIPStatus: only a 1xx SIP status line waits for more, and only 200
// passes.
func FuzzSIPStatus(f *testing.F) {
	for _, s := range []string{"SIP/2.0 200 OK", "SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 404 Not Found",
		"SIP/2.0 1", "HTTP/1.1 200 OK", "SIP/2.0 200", "SIP/2.0  200 OK", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, status string) {
		done, err := sipStatus(status)
		if !done && (err != nil || !strings.HasPrefix(status, "SIP/2.0 1")) {
			t.Fatalf("sipStatus(%q) waits (err %v)", status, err)
		}
		if done && err == nil && !strings.HasPrefix(status, "SIP/2.0 200") {
			t.Fatalf("sipStatus(%q) passes", status)
		}
	})
}

// FuzzMailGreeting runs the pop and imap conversations against scripted
// answers: they pass only on a greeting of the right form, and send
// LOGOUT or QUIT last.
func FuzzMailGreeting(f *testing.F) {
	for _, s := range []string{
		"+OK ready\r\n+OK user\r\n+OK pass\r\n", "+OK\r\n-ERR no\r\n", "* OK IMAP4rev1\r\n* CAPABILITY x\r\na1 OK done\r\n",
		"* PREAUTH hi\r\n", "* OK\r\na1 NO bad\r\n", "* BYE\r\n", "", "+OK no newline",
	} {
		f.Add([]byte(s), "user", true)
		f.Add([]byte(s), "", false)
	}
	f.Fuzz(func(t *testing.T, data []byte, login string, imap bool) {
		if strings.ContainsAny(login, "\r\n") {
			return // the config parser keeps a login to one line
		}
		c := newScriptConn(data)
		talk, want, last := popExchange, "+OK", "QUIT\r\n"
		if imap {
			talk, want, last = imapExchange, "* ", "a2 LOGOUT\r\n"
		}
		if err := talk(newLineConn(c), Target{Login: login, Passwd: "p"}); err != nil {
			return
		}
		if !bytes.HasPrefix(data, []byte(want)) || !strings.HasSuffix(c.written.String(), last) {
			t.Fatalf("passed on %q, sent %q", data, c.written.String())
		}
	})
}

// FuzzDNSQuestion: a request becomes a PTR question exactly when it is an
// address, an A question otherwise, and the query packs and unpacks to the
// same question.
func FuzzDNSQuestion(f *testing.F) {
	for _, s := range []string{"www.example.com", "example.com.", "10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1",
		"a..b", strings.Repeat("a", 64) + ".com", "fe80::1%eth0", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, request string) {
		q, err := dnsQuestion(request)
		if err != nil {
			return
		}
		_, aerr := netip.ParseAddr(request)
		if (q.Type == dnsmessage.TypePTR) != (aerr == nil) || (q.Type != dnsmessage.TypePTR && q.Type != dnsmessage.TypeA) {
			t.Fatalf("dnsQuestion(%q) = %v", request, q)
		}
		pkt, err := (&dnsmessage.Message{Questions: []dnsmessage.Question{q}}).Pack()
		if err != nil {
			return // a name dnsmessage takes but cannot pack (label > 63) fails the check, not the daemon
		}
		var m dnsmessage.Message
		if err := m.Unpack(pkt); err != nil || len(m.Questions) != 1 || m.Questions[0] != q {
			t.Fatalf("query for %q does not unpack: %v %v", request, m.Questions, err)
		}
	})
}

// FuzzDNSAnswer reads a TCP answer: accepted only when it is a response
// to the query's id, and never from more bytes than were sent.
func FuzzDNSAnswer(f *testing.F) {
	q, _ := dnsQuestion("www.example.com")
	ok := dnsmessage.Message{Header: dnsmessage.Header{ID: 7, Response: true}, Questions: []dnsmessage.Question{q},
		Answers: []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
			Body: &dnsmessage.AResource{A: [4]byte{10, 0, 0, 1}}}}}
	pkt, err := ok.Pack()
	if err != nil {
		f.Fatal(err)
	}
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(pkt)))
	f.Add(append(framed, pkt...))
	f.Add(append(binary.BigEndian.AppendUint16(nil, uint16(len(pkt)+5)), pkt...))
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var resp dnsmessage.Message
		if err := dnsTCP(newScriptConn(data), []byte{0, 7}, 7, &resp); err != nil {
			return
		}
		if !resp.Response || resp.ID != 7 || len(data) < 2+12 {
			t.Fatalf("accepted %+v from %q", resp.Header, data)
		}
	})
}

// FuzzRadiusRequest: every Access-Request is a well-formed packet whose
// attributes walk to its length and whose User-Password unhides to passwd.
func FuzzRadiusRequest(f *testing.F) {
	f.Add("user", "secret-pw", "s3cret", true)
	f.Add("", "", "x", false)
	f.Add(strings.Repeat("u", 253), strings.Repeat("p", radiusMaxPasswordSize), "k", true)
	f.Fuzz(func(t *testing.T, login, passwd, secret string, nas bool) {
		if len(passwd) > radiusMaxPasswordSize || secret == "" {
			return // checkRADIUS refuses these first
		}
		var ip net.IP
		if nas {
			ip = net.IPv4(10, 0, 0, 1).To4()
		}
		p, err := radiusRequest(login, passwd, secret, ip)
		if err != nil {
			return
		}
		if len(p) < 20 || p[0] != radiusAccessRequest || int(binary.BigEndian.Uint16(p[2:4])) != len(p) || len(p) > 4096 {
			t.Fatalf("bad header %x", p[:min(len(p), 20)])
		}
		attrs := map[byte][]byte{}
		for i := 20; i < len(p); {
			if i+2 > len(p) || p[i+1] < 2 || i+int(p[i+1]) > len(p) {
				t.Fatalf("attributes do not walk to the end at %d: %x", i, p)
			}
			attrs[p[i]] = p[i+2 : i+int(p[i+1])]
			i += int(p[i+1])
		}
		if string(attrs[radiusUserName]) != login {
			t.Fatalf("User-Name %q, want %q", attrs[radiusUserName], login)
		}
		hidden, prev := attrs[radiusUserPassword], p[4:20]
		var plain []byte
		for i := 0; i+16 <= len(hidden); i += 16 {
			h := md5.Sum(append([]byte(secret), prev...))
			for j := range 16 {
				plain = append(plain, hidden[i+j]^h[j])
			}
			prev = hidden[i : i+16]
		}
		if got := string(bytes.TrimRight(plain, "\x00")); got != strings.TrimRight(passwd, "\x00") {
			t.Fatalf("User-Password unhides to %q, want %q", got, passwd)
		}
	})
}

// FuzzRadiusVerify: an answer passes only with the right identifier,
// length and response authenticator, and a correctly signed answer of any
// code and attributes passes.
func FuzzRadiusVerify(f *testing.F) {
	f.Add([]byte{radiusAccessAccept, 0, 0, 20}, "s3cret", []byte{})
	f.Add([]byte{radiusAccessReject, 0, 0, 30}, "s3cret", []byte("\x12\x08denied"))
	f.Add([]byte{radiusAccessAccept, 9, 0, 4}, "", []byte{1})
	f.Fuzz(func(t *testing.T, pkt []byte, secret string, attrs []byte) {
		req, err := radiusRequest("user", "pw", "s3cret", nil)
		if err != nil {
			t.Fatal(err)
		}
		code, err := radiusVerify(pkt, req, secret)
		if err == nil {
			l := int(binary.BigEndian.Uint16(pkt[2:4]))
			h := md5.Sum(append(append(append(append([]byte{}, pkt[:4]...), req[4:20]...), pkt[20:l]...), secret...))
			if len(pkt) < 20 || pkt[1] != req[1] || l < 20 || l > len(pkt) || !bytes.Equal(h[:], pkt[4:20]) || code != pkt[0] {
				t.Fatalf("accepted %x", pkt)
			}
		}
		if len(attrs) > 4000 || len(pkt) == 0 {
			return
		}
		answer := binary.BigEndian.AppendUint16([]byte{pkt[0], req[1]}, uint16(20+len(attrs)))
		sum := md5.Sum(append(append(append(append([]byte{}, answer...), req[4:20]...), attrs...), "s3cret"...))
		answer = append(append(answer, sum[:]...), attrs...)
		if code, err := radiusVerify(answer, req, "s3cret"); err != nil || code != pkt[0] {
			t.Fatalf("signed answer refused: %d %v", code, err)
		}
		if _, err := radiusVerify(answer, req, "s3cret"+"x"); err == nil {
			t.Fatal("answer signed with another secret accepted")
		}
	})
}
