// fuzz_test.go: fuzz targets for Decode and Unmarshal.

package wire

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzKeys is the keyring of the fuzz targets; seeds are signed with each entry.
var fuzzKeys = []Key{
	{Num: 1, Method: MethodSHA1, Secret: []byte("s3cretKey")},
	{Num: 2, Method: MethodMD5, Secret: []byte("md5key")},
	{Num: 3, Method: MethodCRC},
}

// fuzzSeeds returns signed packets in both encodings plus some near misses.
func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{loadHexDump(t, "testdata/status-sha1.hex")}
	nested := New("nested").AddBinary("u", []byte{0, '\n', 19, 20})
	nested.Fields = append(nested.Fields,
		Field{"l", TypeList, []byte("3:abc,1:d,")},
		Field{"z", TypeCompressed, []byte{0x78, 0x9c, 1, 2}},
		Field{"s", TypeStruct, appendNetstringBody(nil, []Field{
			{"a", TypeString, []byte("b\nc")},
			{"in", TypeStruct, appendNetstringBody(nil, []Field{{"d", TypeBinary, []byte{1}}})},
		})},
	)
	ack := New("NS_ackmsg").Add("dest", "nodeb").Add("ackseq", "3").AddBinary("destuuid", captureUUID).
		Add("src", "nodea").Add("hg", "1").Add("ts", "2").Add("ttl", "3")
	for _, k := range fuzzKeys {
		kr := mustKeyring(t, k.Num, fuzzKeys...)
		for _, m := range []*Message{captureMessage(), nested, ack} {
			for _, inner := range []bool{false, true} {
				if p, err := Encode(m, kr, inner); err == nil {
					seeds = append(seeds, p)
				}
			}
			if p, err := EncodeClassic(m, kr); err == nil {
				seeds = append(seeds, p)
			}
		}
	}
	seeds = append(seeds,
		[]byte("###\n6:(0)t=x,%%%\n"),
		[]byte("###\n5:(9)t=x,%%%\n4:1 0,"),
		[]byte(">>>\nt=x\n(2)s=>>>\x14a=b\x14<<<\x14\n<<<\n\x00"),
		[]byte(">>>\nt=x\nauth=3 0\n<<<\n"),
	)
	return seeds
}

var equateEmpty = cmpopts.EquateEmpty()

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	kr := mustKeyring(f, 3, fuzzKeys...)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data, kr)
		// Re-sign the netstring body so mutations also reach the success path.
		if i := bytes.Index(data, []byte(netstringEnd)); i >= 0 {
			body := data[:i+len(netstringEnd)]
			tr := kr.Out().appendSum([]byte("3 "), body)
			signed := fmt.Appendf(bytes.Clone(body), "%d:%s,", len(tr), tr)
			checkDecode(t, signed, kr)
		}
	})
}

// checkDecode decodes data and, on success, checks that every encoding of
// the result decodes back to an equal message.
func checkDecode(t *testing.T, data []byte, kr *Keyring) {
	m, err := Decode(data, kr)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrTooBig) {
			t.Fatalf("Decode error %v is not a codec error", err)
		}
		return
	}
	if _, ok := m.Lookup(authField); ok {
		t.Fatalf("decoded message has an auth field: %v", m)
	}
	for _, inner := range []bool{false, true} {
		pkt, err := Encode(m, kr, inner)
		if err != nil {
			if !inner && !errors.Is(err, ErrTooBig) {
				t.Fatalf("Encode(Decode(x), inner=false): %v\nmessage %v", err, m)
			}
			continue
		}
		got, err := Decode(pkt, kr)
		if err != nil {
			t.Fatalf("Decode(Encode(m, inner=%v)): %v\npacket %q", inner, err, pkt)
		}
		if d := cmp.Diff(m, got, equateEmpty); d != "" {
			t.Fatalf("netstring inner=%v round trip (-want +got):\n%s", inner, d)
		}
	}
	if pkt, err := EncodeClassic(m, kr); err == nil {
		got, err := Decode(pkt, kr)
		if err != nil {
			t.Fatalf("Decode(EncodeClassic(m)): %v\npacket %q", err, pkt)
		}
		if d := cmp.Diff(m, got, equateEmpty); d != "" {
			t.Fatalf("classic round trip (-want +got):\n%s", d)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add(Marshal(New("x").Add("s", "a\nb").Add("auth", "1 x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooBig) {
				t.Fatalf("Unmarshal error %v is not a codec error", err)
			}
			return
		}
		text := Marshal(m)
		got, err := Unmarshal(text)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(m)): %v\ntext %q", err, text)
		}
		if d := cmp.Diff(m, got, equateEmpty); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		if again := Marshal(got); !bytes.Equal(again, text) {
			t.Fatalf("Marshal not stable:\n%q\n%q", text, again)
		}
	})
}
