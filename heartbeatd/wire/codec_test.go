// codec_test.go: golden capture, round trips, tampering and malformed input.

package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// loadHexDump reads an xxd-style dump (offset, hex groups, two spaces, text).
func loadHexDump(t testing.TB, path string) []byte {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for n, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		off, rest, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s:%d: no offset", path, n+1)
		}
		if o, err := strconv.ParseInt(off, 16, 64); err != nil || int(o) != len(out) {
			t.Fatalf("%s:%d: offset %q, have %d bytes", path, n+1, off, len(out))
		}
		hexPart, _, _ := strings.Cut(rest, "  ")
		b, err := hex.DecodeString(strings.ReplaceAll(hexPart, " ", ""))
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n+1, err)
		}
		out = append(out, b...)
	}
	return out
}

// captureKeyring is the lab's authkeys for the §1.7 capture.
func captureKeyring(t testing.TB) *Keyring {
	t.Helper()
	kr, err := NewKeyring(1, Key{Num: 1, Method: MethodSHA1, Secret: []byte("s3cretKey")})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func mustKeyring(t testing.TB, out int, keys ...Key) *Keyring {
	t.Helper()
	kr, err := NewKeyring(out, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// captureUUID is the srcuuid of the capture, 06834064-248a-4a6c-a061-6c2d03f044e2.
var captureUUID = []byte{0x06, 0x83, 0x40, 0x64, 0x24, 0x8a, 0x4a, 0x6c, 0xa0, 0x61, 0x6c, 0x2d, 0x03, 0xf0, 0x44, 0xe2}

// captureMessage is the decoded field list of the §1.7 capture.
func captureMessage() *Message {
	return New("status").Add("st", "active").Add("dt", "2710").Add("protocol", "1").
		Add("src", "nodeb").AddBinary("srcuuid", captureUUID).Add("seq", "7").
		Add("hg", "6b023867").Add("ts", "6b023867").Add("ld", "0.95 0.47 0.20 3/105 11367").
		Add("ttl", "3")
}

func TestCaptureGolden(t *testing.T) {
	pkt := loadHexDump(t, "testdata/status-sha1.hex")
	if len(pkt) != 311 {
		t.Fatalf("capture has %d bytes, want 311", len(pkt))
	}
	kr := captureKeyring(t)
	m, err := Decode(pkt, kr)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if d := cmp.Diff(captureMessage(), m); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
	got, err := Encode(m, kr, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pkt) {
		t.Errorf("re-encoded packet differs:\n got %q\nwant %q", got, pkt)
	}

	// The inner MAC input of spec §1.7, and the inner auth value it signs.
	in, err := appendClassicFields(nil, m.Fields, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	const wantIn = "t=status\nst=active\ndt=2710\nprotocol=1\nsrc=nodeb\n(1)srcuuid=BoNAZCSKSmygYWwtA/BE4g==\nseq=7\nhg=6b023867\nts=6b023867\nld=0.95 0.47 0.20 3/105 11367\nttl=3\n"
	if string(in) != wantIn {
		t.Errorf("inner MAC input %q, want %q", in, wantIn)
	}
	inner := "(0)auth=1 " + kr.Out().Sum(in)
	if !bytes.Contains(pkt, []byte(",50:"+inner+",%%%\n")) {
		t.Errorf("capture does not hold inner field %q", inner)
	}
	end := bytes.Index(pkt, []byte("%%%\n")) + 4
	if end != 265 || string(pkt[end:]) != "42:1 "+kr.Out().Sum(pkt[:end])+"," {
		t.Errorf("trailer %q does not sign bytes 0..%d", pkt[end:], end)
	}

	// msgfmt netstring: the same packet without the inner field.
	plain, err := Encode(m, kr, false)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte("auth=")) || !bytes.HasPrefix(plain, pkt[:bytes.Index(pkt, []byte(",50:"))+1]) {
		t.Errorf("netstring without inner auth: %q", plain)
	}
}

// TestCaptureShapes checks the partial captures of spec §1.7 (mcast+crc,
// ucast+md5): length prefixes of the inner field and the trailer.
func TestCaptureShapes(t *testing.T) {
	m := captureMessage()
	tests := []struct {
		key   Key
		inner string // regexp of the inner field, with its netstring length
		tr    string // regexp of the trailer
	}{
		{Key{Num: 1, Method: MethodCRC}, `,(1[0-8]):\(0\)auth=1 ([0-9a-f]{1,8}),%%%\n`, `%%%\n(\d+):1 ([0-9a-f]{1,8}),$`},
		{Key{Num: 1, Method: MethodMD5, Secret: []byte("k")}, `,(42):\(0\)auth=1 ([0-9a-f]{32}),%%%\n`, `%%%\n(34):1 ([0-9a-f]{32}),$`},
		{Key{Num: 1, Method: MethodSHA1, Secret: []byte("k")}, `,(50):\(0\)auth=1 ([0-9a-f]{40}),%%%\n`, `%%%\n(42):1 ([0-9a-f]{40}),$`},
	}
	for _, tt := range tests {
		t.Run(string(tt.key.Method), func(t *testing.T) {
			kr := mustKeyring(t, 1, tt.key)
			pkt, err := Encode(m, kr, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, re := range []string{tt.inner, tt.tr} {
				sm := regexp.MustCompile(re).FindSubmatch(pkt)
				if sm == nil {
					t.Fatalf("%q does not match %s", pkt, re)
				}
				n, _ := strconv.Atoi(string(sm[1]))
				if want := len("1 ") + len(sm[2]); re == tt.inner {
					want += len("(0)auth=")
					if n != want {
						t.Errorf("inner length %d, want %d", n, want)
					}
				} else if n != want {
					t.Errorf("trailer length %d, want %d", n, want)
				}
			}
			if _, err := Decode(pkt, kr); err != nil {
				t.Errorf("Decode: %v", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	// NS_ackmsg as captured: no seq, no ld; destuuid after dest.
	ack := New("NS_ackmsg").Add("dest", "nodeb").Add("ackseq", "3").AddBinary("destuuid", captureUUID).
		Add("src", "nodea").AddBinary("srcuuid", make([]byte, 16)).Add("hg", "6b023861").
		Add("ts", "6b0238aa").Add("ttl", "3")
	odd := New("x").Add("nl", "two\nlines").Add("empty", "").AddBinary("bin", []byte{0, '\n', 19, 0xff}).
		AddBinary("nobin", nil).Add("dup", "1").Add("dup", "2").Add("sp", " a = b ,3:x, ")
	odd.Fields = append(odd.Fields,
		Field{"list", TypeList, []byte("3:abc,4:defg,")},
		Field{"zip", TypeCompressed, []byte{0x78, 0x9c, 0, '\n'}},
		Field{"sub", TypeStruct, appendNetstringBody(nil, []Field{
			{"a", TypeString, []byte("b")}, {"u", TypeBinary, []byte{0, '\n', 19, 'x'}}, {"auth", TypeString, []byte("1 ab")},
		})},
	)
	nested := New("y").Add("z", "1")
	nested.Fields = append(nested.Fields, Field{"outer", TypeStruct, appendNetstringBody(nil, []Field{
		{"in", TypeStruct, appendNetstringBody(nil, []Field{{"s", TypeString, []byte("l\nm")}})},
	})})

	keys := []Key{
		{Num: 1, Method: MethodSHA1, Secret: []byte("s3cretKey")},
		{Num: 2, Method: MethodMD5, Secret: bytes.Repeat([]byte("long"), 40)},
		{Num: 3, Method: MethodCRC},
	}
	for _, m := range []*Message{captureMessage(), ack, odd, nested} {
		for _, k := range keys {
			kr := mustKeyring(t, k.Num, keys...)
			name := fmt.Sprintf("%s/%s", m.Type(), k.Method)
			for _, inner := range []bool{false, true} {
				pkt, err := Encode(m, kr, inner)
				if err != nil {
					t.Fatalf("%s: Encode(inner=%v): %v", name, inner, err)
				}
				got, err := Decode(pkt, kr)
				if err != nil {
					t.Fatalf("%s: Decode(Encode(inner=%v)): %v", name, inner, err)
				}
				if d := cmp.Diff(m, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("%s: netstring inner=%v (-want +got):\n%s", name, inner, d)
				}
			}
			pkt, err := EncodeClassic(m, kr)
			if err != nil {
				t.Fatalf("%s: EncodeClassic: %v", name, err)
			}
			if !bytes.HasPrefix(pkt, []byte(">>>\n")) || !bytes.HasSuffix(pkt, []byte("\n<<<\n\x00")) {
				t.Errorf("%s: classic framing: %q", name, pkt)
			}
			got, err := Decode(pkt, kr)
			if err != nil {
				t.Fatalf("%s: Decode(EncodeClassic): %v", name, err)
			}
			if d := cmp.Diff(m, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s: classic (-want +got):\n%s", name, d)
			}
		}
		got, err := Unmarshal(Marshal(m))
		if err != nil {
			t.Fatalf("%s: Unmarshal(Marshal): %v", m.Type(), err)
		}
		if d := cmp.Diff(m, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: Marshal (-want +got):\n%s", m.Type(), d)
		}
	}
}

func TestClassicText(t *testing.T) {
	m := New("x").Add("s", "a\nb").AddBinary("b", []byte{1, 2}).Add("auth", "kept")
	m.Fields = append(m.Fields,
		Field{"sub", TypeStruct, appendNetstringBody(nil, []Field{{"k", TypeString, []byte("v\nw")}})},
		Field{"bad", TypeUncompressed, []byte("###\n%%%\n")},
		Field{"bad=name", TypeString, nil},
	)
	want := ">>>\nt=x\ns=a\x13b\n(1)b=AQI=\nauth=kept\n(2)sub=>>>\x14k=v\x13w\x14<<<\x14\n<<<\n\x00"
	if got := string(Marshal(m)); got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
	// Trailing NUL optional; blank lines skipped.
	for _, in := range []string{want, strings.TrimSuffix(want, "\x00"), strings.Replace(want, "t=x\n", "\n\nt=x\n\n", 1)} {
		got, err := Unmarshal([]byte(in))
		if err != nil {
			t.Fatalf("Unmarshal(%q): %v", in, err)
		}
		if d := cmp.Diff(m.Fields[:5], got.Fields); d != "" {
			t.Errorf("Unmarshal(%q) (-want +got):\n%s", in, d)
		}
	}
	// Classic packets carry the MAC as a field over the NOHEAD lines.
	kr := captureKeyring(t)
	pkt, err := EncodeClassic(captureMessage(), kr)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := appendClassicFields(nil, captureMessage().Fields, 0, true)
	if want := ">>>\n" + string(in) + "auth=1 " + kr.Out().Sum(in) + "\n<<<\n\x00"; string(pkt) != want {
		t.Errorf("EncodeClassic = %q, want %q", pkt, want)
	}
	if _, err := EncodeClassic(m, kr); !errors.Is(err, ErrMalformed) {
		t.Errorf("EncodeClassic with a type 5 field: %v", err)
	}
}

func TestDecodeAuth(t *testing.T) {
	pkt := loadHexDump(t, "testdata/status-sha1.hex")
	sha := func(n int, s string) Key { return Key{Num: n, Method: MethodSHA1, Secret: []byte(s)} }
	good := captureKeyring(t)
	end := bytes.Index(pkt, []byte("%%%\n")) + 4
	innerAt := bytes.Index(pkt, []byte("auth=1 ")) + len("auth=1 ")
	expected := []string{good.Out().Sum(pkt[:end]), "86aa3ee436af5327e5a230fdefea9c947e817391"}

	// Netstring ignores a wrong inner auth field if the trailer is right.
	badInner := bytes.Clone(pkt[:end])
	badInner[innerAt] ^= 1
	badInner = fmt.Appendf(badInner, "42:1 %s,", good.Out().Sum(badInner))
	if m, err := Decode(badInner, good); err != nil || m.Get("auth") != "" {
		t.Errorf("netstring with bad inner auth: %v, %v", m, err)
	}

	// Key rotation: a packet signed with entry 2 verifies with entry 2's
	// secret even though the receiver's outbound entry is 1.
	rot, err := Encode(captureMessage(), mustKeyring(t, 2, sha(2, "new")), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(rot, mustKeyring(t, 1, sha(1, "s3cretKey"), sha(2, "new"))); err != nil {
		t.Errorf("rotated key: %v", err)
	}
	classic, err := EncodeClassic(captureMessage(), good)
	if err != nil {
		t.Fatal(err)
	}
	classicNoAuth := []byte(strings.Replace(string(classic), "\nauth=", "\nxauth=", 1))

	tests := []struct {
		name string
		pkt  []byte
		kr   *Keyring
	}{
		{"wrong secret", pkt, mustKeyring(t, 1, sha(1, "s3cretKeY"))},
		{"wrong method", pkt, mustKeyring(t, 1, Key{Num: 1, Method: MethodMD5, Secret: []byte("s3cretKey")})},
		{"unknown authnum", pkt, mustKeyring(t, 2, sha(2, "s3cretKey"))},
		{"rotated, entry missing", rot, good},
		{"trailer authnum out of range", bytes.Replace(pkt, []byte("42:1 "), []byte("42:99"), 1), good},
		{"trailer without digest", append(bytes.Clone(pkt[:end]), "1:1,"...), good},
		{"trailer without space", append(bytes.Clone(pkt[:end]), "2:1x,"...), good},
		{"classic wrong secret", classic, mustKeyring(t, 1, sha(1, "nope"))},
		{"classic without auth", classicNoAuth, good},
		{"classic bad auth value", []byte(strings.Replace(string(classic), "auth=1 ", "auth=1", 1)), good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.pkt, tt.kr)
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			for _, e := range expected {
				if strings.Contains(err.Error(), e) {
					t.Errorf("error %q reveals the expected MAC", err)
				}
			}
		})
	}
}

func TestTamper(t *testing.T) {
	// Flipping any bit of a signed packet must never yield a message.
	kr := captureKeyring(t)
	netstring := loadHexDump(t, "testdata/status-sha1.hex")
	classic, err := EncodeClassic(captureMessage(), kr)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkt := range [][]byte{netstring, classic[:len(classic)-1]} { // the NUL is optional
		for i := range pkt {
			for _, bit := range []byte{0x01, 0x20, 0x80} {
				p := bytes.Clone(pkt)
				p[i] ^= bit
				m, err := Decode(p, kr)
				if err == nil {
					t.Fatalf("byte %d ^ %#x accepted: %v", i, bit, m)
				}
				if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("byte %d ^ %#x: unexpected error %v", i, bit, err)
				}
			}
		}
	}
	// Flipping a digest byte is an authentication failure, not malformation.
	p := bytes.Clone(netstring)
	p[len(p)-2] ^= 1
	if _, err := Decode(p, kr); !errors.Is(err, ErrAuth) {
		t.Errorf("flipped trailer digit: %v", err)
	}
	p = bytes.Clone(netstring)
	p[bytes.Index(p, []byte("nodeb"))] = 'N'
	if _, err := Decode(p, kr); !errors.Is(err, ErrAuth) {
		t.Errorf("flipped body byte: %v", err)
	}
}

func TestTruncated(t *testing.T) {
	kr := captureKeyring(t)
	pkt := loadHexDump(t, "testdata/status-sha1.hex")
	classic, err := EncodeClassic(captureMessage(), kr)
	if err != nil {
		t.Fatal(err)
	}
	for _, full := range [][]byte{pkt, classic} {
		for n := range len(full) - 1 { // classic without its NUL is still whole
			if _, err := Decode(full[:n], kr); err == nil {
				t.Fatalf("%d of %d bytes accepted", n, len(full))
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	kr := captureKeyring(t)
	// sign completes a netstring body with a valid trailer.
	sign := func(body string) []byte {
		return fmt.Appendf(nil, "%s42:1 %s,", body, kr.Out().Sum([]byte(body)))
	}
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"garbage", []byte("hello world"), ErrMalformed},
		{"too big", append([]byte("###\n"), make([]byte, MaxMessage)...), ErrTooBig},
		{"no length", sign("###\n:(0)t=x,%%%\n"), ErrMalformed},
		{"short length", sign("###\n3:(0)t=x,%%%\n"), ErrMalformed},
		{"long length", sign("###\n9:(0)t=x,%%%\n"), ErrMalformed},
		{"huge length", sign("###\n99999999999999999999999:(0)t=x,%%%\n"), ErrMalformed},
		{"no type", sign("###\n3:t=x,%%%\n"), ErrMalformed},
		{"type 6", sign("###\n6:(6)t=x,%%%\n"), ErrMalformed},
		{"type letter", sign("###\n6:(a)t=x,%%%\n"), ErrMalformed},
		{"no name", sign("###\n5:(0)=x,%%%\n"), ErrMalformed},
		{"no equals", sign("###\n4:(0)t,%%%\n"), ErrMalformed},
		{"nul in name", sign("###\n7:(0)t\x00=x,%%%\n"), ErrMalformed},
		{"no end", []byte("###\n6:(0)t=x,"), ErrMalformed},
		{"no trailer", []byte("###\n6:(0)t=x,%%%\n"), ErrMalformed},
		{"after trailer", append(sign("###\n6:(0)t=x,%%%\n"), 0), ErrMalformed},
		{"classic no end", []byte(">>>\nt=x\nauth=1 ab\n"), ErrMalformed},
		{"classic after end", []byte(">>>\nt=x\n<<<\n\x00\x00"), ErrMalformed},
		{"classic nul", []byte(">>>\nt=\x00x\n<<<\n"), ErrMalformed},
		{"classic no equals", []byte(">>>\ntx\n<<<\n"), ErrMalformed},
		{"classic (0)", []byte(">>>\n(0)t=x\n<<<\n"), ErrMalformed},
		{"classic (5)", []byte(">>>\n(5)t=x\n<<<\n"), ErrMalformed},
		{"classic empty typed name", []byte(">>>\n(1)=AA==\n<<<\n"), ErrMalformed},
		{"classic base64", []byte(">>>\n(1)u=!!\n<<<\n"), ErrMalformed},
		{"classic struct", []byte(">>>\n(2)s=t=x\n<<<\n"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.pkt, kr)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %v; want %v", m, err, tt.want)
			}
			if strings.HasPrefix(tt.name, "classic") {
				if m, err := Unmarshal(tt.pkt); !errors.Is(err, tt.want) {
					t.Fatalf("Unmarshal = %v, %v; want %v", m, err, tt.want)
				}
			}
		})
	}
}

func TestStructDepth(t *testing.T) {
	// levels[i] is a nested message holding i struct fields inside each other.
	levels := [][]byte{appendNetstringBody(nil, []Field{{"leaf", TypeString, []byte("x")}})}
	for i := range maxDepth {
		levels = append(levels, appendNetstringBody(nil, []Field{{"s", TypeStruct, levels[i]}}))
	}
	kr := captureKeyring(t)
	// A top-level struct field holding levels[maxDepth-1] nests maxDepth struct
	// fields: the classic limit. One more has no classic form.
	ok := &Message{Fields: []Field{{"s", TypeStruct, levels[maxDepth-1]}}}
	pkt, err := EncodeClassic(ok, kr)
	if err != nil {
		t.Fatalf("EncodeClassic at the depth limit: %v", err)
	}
	if got, err := Decode(pkt, kr); err != nil || !cmp.Equal(ok, got) {
		t.Errorf("Decode at the depth limit: %v, %v", got, err)
	}
	deep := &Message{Fields: []Field{{"s", TypeStruct, levels[maxDepth]}}}
	if _, err := EncodeClassic(deep, kr); !errors.Is(err, ErrMalformed) {
		t.Errorf("EncodeClassic too deep: %v", err)
	}
	if pkt, err := Encode(deep, kr, false); err != nil {
		t.Errorf("netstring carries it opaquely: %v", err)
	} else if _, err := Decode(pkt, kr); err != nil {
		t.Errorf("Decode: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	kr := captureKeyring(t)
	tests := []struct {
		name string
		f    Field
		want error
	}{
		{"empty name", Field{"", TypeString, nil}, ErrMalformed},
		{"equals", Field{"a=b", TypeString, nil}, ErrMalformed},
		{"nul", Field{"a\x00", TypeString, nil}, ErrMalformed},
		{"type", Field{"a", 9, nil}, ErrMalformed},
		{"size", Field{"a", TypeBinary, make([]byte, MaxMessage)}, ErrTooBig},
	}
	for _, tt := range tests {
		m := New("x")
		m.Fields = append(m.Fields, tt.f)
		for _, inner := range []bool{false, true} {
			if _, err := Encode(m, kr, inner); !errors.Is(err, tt.want) {
				t.Errorf("%s: Encode(inner=%v) = %v, want %v", tt.name, inner, err, tt.want)
			}
		}
		if _, err := EncodeClassic(m, kr); !errors.Is(err, tt.want) {
			t.Errorf("%s: EncodeClassic = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := Encode(New("x"), nil, false); err == nil {
		t.Error("Encode without keyring succeeded")
	}
	if _, err := Decode([]byte("###\n"), nil); !errors.Is(err, ErrAuth) {
		t.Errorf("Decode without keyring: %v", err)
	}
	// Strings that only the netstring form can carry.
	odd := New("x").Add("v", "a\x13b")
	if _, err := Encode(odd, kr, false); err != nil {
		t.Errorf("netstring with byte 19: %v", err)
	}
	if _, err := Encode(odd, kr, true); !errors.Is(err, ErrMalformed) {
		t.Errorf("inner auth with byte 19: %v", err)
	}
}
