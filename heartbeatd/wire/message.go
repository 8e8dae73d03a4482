// message.go: the ordered, typed field model and its accessors.

// Package wire is the heartbeat 3.0.6 message model and its two wire
// encodings: netstring ("###\n" ... "%%%\n" plus a MAC trailer), which 3.0.6
// always sends, and classic (">>>\n" ... "<<<\n" with an auth field), which
// older senders use and which is also the text form of the API socket and the
// FIFO. It also implements the three authentication methods of authkeys:
// HMAC-SHA1, HMAC-MD5 and heartbeat's unkeyed CRC.
//
// A Message is an ordered list of typed fields. R1 only uses strings (type 0)
// and binary values (type 1); the other types are carried opaquely so that
// they re-encode unchanged. The value of a type 2..5 field is the bytes it has
// after "=" in the netstring encoding (a nested "###\n...%%%\n" message for
// 2 and 5, a packed "len:str," list for 3, raw compressed bytes for 4).
package wire

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// FieldType is the type digit of a field, as on the wire.
type FieldType uint8

// Field types (cluster-glue FT_*).
const (
	TypeString       FieldType = 0 // printable string
	TypeBinary       FieldType = 1 // raw bytes; base64 in classic form
	TypeStruct       FieldType = 2 // nested message
	TypeList         FieldType = 3 // packed list of strings
	TypeCompressed   FieldType = 4 // compressed nested message
	TypeUncompressed FieldType = 5 // nested message due for compression
)

// maxType is the highest type digit cluster-glue knows.
const maxType = TypeUncompressed

// Field is one name/value pair of a message.
type Field struct {
	Name  string
	Type  FieldType
	Value []byte
}

// Message is an ordered list of fields; names may repeat.
type Message struct {
	Fields []Field
}

// New returns a message whose first field is t=<t>.
func New(t string) *Message {
	m := &Message{Fields: make([]Field, 0, 12)}
	return m.Add("t", t)
}

// index returns the position of the first field called name, or -1.
func (m *Message) index(name string) int {
	for i := range m.Fields {
		if m.Fields[i].Name == name {
			return i
		}
	}
	return -1
}

// Type returns the value of the "t" field.
func (m *Message) Type() string { return m.Get("t") }

// Get returns the value of the first field called name, whatever its type,
// or "" if there is none.
func (m *Message) Get(name string) string {
	v, _ := m.Lookup(name)
	return v
}

// Lookup returns the value of the first field called name and whether it exists.
func (m *Message) Lookup(name string) (string, bool) {
	if i := m.index(name); i >= 0 {
		return string(m.Fields[i].Value), true
	}
	return "", false
}

// Binary returns the raw value of the first field called name, whatever its
// type, and whether it exists. The slice aliases the message.
func (m *Message) Binary(name string) ([]byte, bool) {
	if i := m.index(name); i >= 0 {
		return m.Fields[i].Value, true
	}
	return nil, false
}

// Add appends a string field and returns m.
func (m *Message) Add(name, value string) *Message {
	m.Fields = append(m.Fields, Field{Name: name, Type: TypeString, Value: []byte(value)})
	return m
}

// AddBinary appends a binary field holding a copy of v and returns m.
func (m *Message) AddBinary(name string, v []byte) *Message {
	m.Fields = append(m.Fields, Field{Name: name, Type: TypeBinary, Value: append([]byte(nil), v...)})
	return m
}

// Set replaces the first field called name by a string field with value,
// keeping its position, or appends one; it returns m.
func (m *Message) Set(name, value string) *Message {
	if i := m.index(name); i >= 0 {
		m.Fields[i] = Field{Name: name, Type: TypeString, Value: []byte(value)}
		return m
	}
	return m.Add(name, value)
}

// Del removes every field called name and returns m.
func (m *Message) Del(name string) *Message {
	out := m.Fields[:0]
	for _, f := range m.Fields {
		if f.Name != name {
			out = append(out, f)
		}
	}
	clear(m.Fields[len(out):])
	m.Fields = out
	return m
}

// Clone returns a deep copy of m.
func (m *Message) Clone() *Message {
	n := 0
	for _, f := range m.Fields {
		n += len(f.Value)
	}
	buf := make([]byte, 0, n)
	c := &Message{Fields: make([]Field, len(m.Fields))}
	for i, f := range m.Fields {
		start := len(buf)
		buf = append(buf, f.Value...)
		c.Fields[i] = Field{Name: f.Name, Type: f.Type, Value: buf[start:len(buf):len(buf)]}
	}
	return c
}

// String returns a one-line debug form: name=value pairs separated by
// spaces, "(T)" before non-string fields, binary and compressed values in
// base64, and values quoted when they would be ambiguous.
func (m *Message) String() string {
	var b strings.Builder
	for i, f := range m.Fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		if f.Type != TypeString {
			b.WriteByte('(')
			b.WriteString(strconv.Itoa(int(f.Type)))
			b.WriteByte(')')
		}
		b.WriteString(f.Name)
		b.WriteByte('=')
		if f.Type == TypeBinary || f.Type == TypeCompressed {
			b.WriteString(base64.StdEncoding.EncodeToString(f.Value))
			continue
		}
		v := string(f.Value)
		if needsQuote(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// needsQuote reports whether a debug value must be quoted to stay one token.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == ' ' || r == '"' || !strconv.IsPrint(r) {
			return true
		}
	}
	return false
}
