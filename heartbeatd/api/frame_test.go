// Tests of the frame codec, and its fuzz target.
package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// rawFrame builds a frame with an arbitrary header.
func rawFrame(length int32, magic uint32, body []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(length))
	b = binary.NativeEndian.AppendUint32(b, magic)
	return append(b, body...)
}

// fieldsOf renders a message as "name=value" lines for cmp.Diff; binary
// values are shown as "(1)name=<hex>".
func fieldsOf(m *wire.Message) []string {
	var out []string
	for _, f := range m.Fields {
		if f.Type == wire.TypeBinary {
			out = append(out, "(1)"+f.Name+"="+string(f.Value))
			continue
		}
		out = append(out, f.Name+"="+string(f.Value))
	}
	return out
}

func TestFrameRoundTrip(t *testing.T) {
	m := wire.New(TypeRequest).Add(FieldReqType, ReqNodeStatus).Add(FieldNode, "nodeb").AddBinary(FieldQueryUUID, []byte("0123456789abcdef"))
	var buf bytes.Buffer
	if err := WriteMessage(&buf, m); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	body := wire.Marshal(m)
	if got, want := raw[:HeaderLen], rawFrame(int32(len(body)), Magic, nil); !bytes.Equal(got, want) {
		t.Errorf("header = %x, want %x", got, want)
	}
	if !bytes.HasPrefix(raw[HeaderLen:], []byte(">>>\n")) {
		t.Errorf("body does not start with >>>: %q", raw[HeaderLen:])
	}
	got, err := ReadMessage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fieldsOf(m), fieldsOf(got)); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if _, err := ReadMessage(&buf); err != io.EOF {
		t.Errorf("read at end = %v, want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	good := wire.Marshal(wire.New(TypeRequest).Add(FieldReqType, ReqNumNodes))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"bad magic", rawFrame(int32(len(good)), 0xabce, good), ErrBadMagic},
		{"byte-swapped magic", rawFrame(int32(len(good)), 0xcdab0000, good), ErrBadMagic},
		{"too long", rawFrame(MaxFrame+1, Magic, nil), ErrBadLength},
		{"negative length", rawFrame(-1, Magic, nil), ErrBadLength},
		{"short header", rawFrame(int32(len(good)), Magic, nil)[:5], io.ErrUnexpectedEOF},
		{"short body", rawFrame(int32(len(good)), Magic, good[:10]), io.ErrUnexpectedEOF},
		{"garbage body", rawFrame(7, Magic, []byte("garbage")), ErrBadBody},
		{"empty body", rawFrame(0, Magic, nil), ErrBadBody},
		{"netstring body", rawFrame(8, Magic, []byte("###\n%%%\n")), ErrBadBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadMessage(bytes.NewReader(tc.in))
			if !errors.Is(err, tc.want) {
				t.Errorf("ReadMessage = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadFrameMaxAccepted(t *testing.T) {
	body := bytes.Repeat([]byte{'x'}, MaxFrame)
	got, err := ReadFrame(bytes.NewReader(rawFrame(MaxFrame, Magic, body)))
	if err != nil {
		t.Fatalf("ReadFrame of a %d-byte body: %v", MaxFrame, err)
	}
	if len(got) != MaxFrame {
		t.Errorf("body length %d, want %d", len(got), MaxFrame)
	}
}

func TestWriteMessageTooBig(t *testing.T) {
	m := wire.New(TypeResponse).Add("big", string(bytes.Repeat([]byte{'x'}, MaxFrame)))
	var buf bytes.Buffer
	if err := WriteMessage(&buf, m); !errors.Is(err, ErrBadLength) {
		t.Errorf("WriteMessage = %v, want ErrBadLength", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes of a refused frame", buf.Len())
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame and body reader: it must
// never panic, and whatever it accepts must survive a write/read round trip.
func FuzzReadFrame(f *testing.F) {
	ok := wire.Marshal(wire.New(TypeRequest).Add(FieldReqType, ReqIfStatus).Add(FieldNode, "nodea").Add(FieldIfName, "hb0"))
	f.Add(rawFrame(int32(len(ok)), Magic, ok))
	f.Add(rawFrame(int32(len(ok)-1), Magic, ok[:len(ok)-1]))
	f.Add(rawFrame(int32(len(ok)), 0xabce, ok))
	f.Add(rawFrame(-5, Magic, nil))
	f.Add(rawFrame(MaxFrame+1, Magic, nil))
	f.Add(rawFrame(12, Magic, []byte(">>>\n(1)a=Zg==\n<<<\n")))
	f.Add(rawFrame(20, Magic, []byte(">>>\n(2)s=>>>\nx=1\n<<<\n<<<\n")))
	f.Add(append(rawFrame(int32(len(ok)), Magic, ok), rawFrame(int32(len(ok)), Magic, ok)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			m, err := ReadMessage(r)
			if err != nil {
				return
			}
			var buf bytes.Buffer
			if err := WriteMessage(&buf, m); err != nil {
				if errors.Is(err, ErrBadLength) {
					continue // re-encoding may grow past MaxFrame (base64)
				}
				t.Fatalf("WriteMessage of an accepted message: %v", err)
			}
			again, err := ReadMessage(&buf)
			if err != nil {
				t.Fatalf("re-reading %q: %v", buf.Bytes(), err)
			}
			if a, b := wire.Marshal(m), wire.Marshal(again); !bytes.Equal(a, b) {
				t.Fatalf("round trip changed the message:\n%q\n%q", a, b)
			}
		}
	})
}
