// fuzz_test.go: fuzz targets for client requests and the numbers they carry.

package api

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// cNumber is the reference for the C-style readers: blanks, a sign, then
// the leading digits, clamped where the reader stops counting.
func cNumber(s, blanks string, limit int64) (n int64, digits int, neg bool) {
	s = strings.TrimLeft(s, blanks)
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		v, err := strconv.ParseInt(s[:digits], 10, 64)
		if err != nil || v > limit {
			v = limit + 1 // past the limit: only "over" matters
		}
		n = v
	}
	return n, digits, neg
}

// FuzzNumbers checks Atoi, leadingInt, parseLong and parseHex against
// strconv on the leading digits they should read.
func FuzzNumbers(f *testing.F) {
	for _, s := range []string{"0", "42", " -7x", "+12", "\t\n99", "2147483648", "99999999999999999999", "-", "",
		"0x1f", "0XfF", " -0x10", "x1", "1099511627777", "ffffffff1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, digits, neg := cNumber(s, " \t\n", 1<<30)
		if got := Atoi(s); want <= 1<<30 && (neg && int64(got) != -want || !neg && int64(got) != want) {
			t.Fatalf("Atoi(%q) = %d, want %d", s, got, want)
		} else if want > 1<<30 && (got > -(1<<30) && got < 1<<30) {
			t.Fatalf("Atoi(%q) = %d, want at least 2^30 in size", s, got)
		}
		if want, _, neg := cNumber(s, " \t\n\v\f\r", 1<<31); want <= 1<<31 {
			if neg {
				want = -want
			}
			if got := leadingInt(s); int64(got) != want {
				t.Fatalf("leadingInt(%q) = %d, want %d", s, got, want)
			}
		}
		long, ok := parseLong(s)
		want, _, _ = cNumber(s, " \t\n", 1<<40)
		if ok != (digits > 0 && want <= 1<<40) || ok && (neg && long != -want || !neg && long != want) {
			t.Fatalf("parseLong(%q) = %d, %v", s, long, ok)
		}
		if h, ok := parseHex(s); ok {
			rest := strings.TrimLeft(s, " \t")
			rest = strings.TrimLeft(rest, "+-")
			if !strings.ContainsAny(rest[:1], "0123456789abcdefABCDEF") {
				t.Fatalf("parseHex(%q) = %#x without a hex digit", s, h)
			}
		}
	})
}

// FuzzHandle feeds decoded messages to a connection as a client with
// local credentials: whatever the request, the daemon answers at most a
// few replies, each a well-formed message that marshals and unmarshals
// back the same, and a bad request says so in the reply.
func FuzzHandle(f *testing.F) {
	pid := strconv.Itoa(os.Getpid())
	signon := wire.New(TypeRequest).Add(FieldReqType, ReqSignon).Add(FieldPID, pid).
		Add(FieldUID, strconv.Itoa(os.Getuid())).Add(FieldGID, strconv.Itoa(os.Getgid()))
	for _, m := range []*wire.Message{
		signon,
		wire.New(TypeRequest).Add(FieldReqType, ReqIfStatus).Add(FieldNode, "nodea").Add(FieldIfName, "hb0"),
		wire.New(TypeRequest).Add(FieldReqType, ReqSetFilter).Add(FieldFilterMask, "0x1f"),
		wire.New(TypeRequest).Add(FieldReqType, ReqSetSignal).Add(FieldSignal, "10"),
		wire.New(TypeRequest).Add(FieldReqType, ReqSetSendQLen).Add(FieldSendQLen, "-5"),
		wire.New(TypeRequest).Add(FieldReqType, ReqClientStatus).Add(FieldNode, "nodeb").Add(FieldClientName, "x"),
		wire.New(TypeRequest).Add(FieldReqType, "nosuch"),
		wire.New("ping").Add("x", "y"),
	} {
		f.Add(wire.Marshal(m), true)
	}
	f.Add([]byte(">>>\nt=hbapi-req\nreqtype=nodelist\n<<<\n"), false)
	st := newFakeState()
	s, err := NewServer(filepath.Join(f.TempDir(), "register"), st, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, signedOn bool) {
		req, err := wire.Unmarshal(data)
		if err != nil {
			return
		}
		c := &conn{s: s, log: s.log, filter: TreatKeep, qlen: DefaultSendQLen, wake: make(chan struct{}, 1), done: make(chan struct{}),
			credOK: true, peerPID: int32(os.Getpid()), peerUID: uint32(os.Getuid()), peerGID: uint32(os.Getgid())}
		defer func() { // what finish does, without a socket
			s.mu.Lock()
			for id, cc := range s.clients {
				if cc == c {
					delete(s.clients, id)
				}
			}
			s.mu.Unlock()
		}()
		if signedOn {
			if r, reason := c.handle(signon); reason != "" || len(r) != 1 || r[0].Get(FieldResult) != ResultOK {
				t.Fatalf("signon refused: %v %q", r, reason)
			}
		}
		replies, _ := c.handle(req)
		if len(replies) > 64 {
			t.Fatalf("%d replies", len(replies))
		}
		for _, r := range replies {
			if r == nil || r.Type() == "" {
				t.Fatalf("bad reply %v to %q", r, data)
			}
			back, err := wire.Unmarshal(wire.Marshal(r))
			if err != nil || !bytes.Equal(wire.Marshal(back), wire.Marshal(r)) {
				t.Fatalf("reply %q does not round-trip: %v", wire.Marshal(r), err)
			}
		}
	})
}
