// classic.go: the ">>>\n" text encoding, its auth field, Marshal and Unmarshal.

package wire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// maxDepth is the deepest nesting of struct fields (cluster-glue MAXDEPTH).
const maxDepth = 16

// stringSym replaces '\n' inside classic string values.
const stringSym = 19

// structSyms[d] replaces '\n' inside the classic text of a struct field at depth d.
var structSyms = [maxDepth]byte{20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 15, 16, 17, 18}

// EncodeClassic returns m in classic form with an "auth=<n> <digest>" field
// signed with the outbound key, then "<<<\n" and a NUL, as pre-1.0.10
// cluster-glue sent it. Fields of m named "auth" are not encoded. It fails
// for fields with no classic form: type 5, names with '\n', '=' or NUL,
// string names starting with '(', and values with NUL or the byte 19.
func EncodeClassic(m *Message, kr *Keyring) ([]byte, error) {
	if kr == nil {
		return nil, errors.New("wire: encode: no keyring")
	}
	buf := append(make([]byte, 0, 512), classicStart...)
	buf, err := appendClassicFields(buf, m.Fields, 0, true)
	if err != nil {
		return nil, err
	}
	var av [64]byte
	a := kr.appendAuth(av[:0], buf[len(classicStart):])
	buf = append(buf, authField+"="...)
	buf = append(buf, a...)
	buf = append(buf, '\n')
	buf = append(buf, classicEnd...)
	buf = append(buf, 0)
	if len(buf) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrTooBig, len(buf), MaxMessage)
	}
	return buf, nil
}

// Marshal returns m as classic text ">>>\n...<<<\n" plus a NUL, with no
// authentication (API socket, FIFO). Every field is written, "auth" included;
// fields that have no classic form (see EncodeClassic) are left out.
func Marshal(m *Message) []byte {
	buf := append(make([]byte, 0, 512), classicStart...)
	for i := range m.Fields {
		if b, err := appendClassicField(buf, &m.Fields[i], 0); err == nil {
			buf = b
		}
	}
	buf = append(buf, classicEnd...)
	return append(buf, 0)
}

// Unmarshal parses classic text as Marshal writes it; the trailing NUL is
// optional. No authentication is checked and every field is kept.
func Unmarshal(b []byte) (*Message, error) {
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooBig, len(b), MaxMessage)
	}
	fields, err := parseClassic(bytes.Clone(b))
	if err != nil {
		return nil, err
	}
	return &Message{Fields: fields}, nil
}

// decodeClassic parses a classic packet and verifies its (last) auth field.
func decodeClassic(pkt []byte, kr *Keyring) (*Message, error) {
	fields, err := parseClassic(bytes.Clone(pkt))
	if err != nil {
		return nil, err
	}
	var auth []byte
	for i := range fields {
		if fields[i].Name == authField {
			auth = fields[i].Value
		}
	}
	if auth == nil {
		return nil, fmt.Errorf("%w: classic message without auth field", ErrAuth)
	}
	num, mac, err := parseAuth(auth)
	if err != nil {
		return nil, fmt.Errorf("classic auth field: %w", err)
	}
	// Like heartbeat, sign the re-encoded fields, not the received lines.
	in, err := appendClassicFields(nil, fields, 0, true)
	if err != nil {
		return nil, err
	}
	if err := kr.verify(num, mac, in); err != nil {
		return nil, fmt.Errorf("classic auth field: %w", err)
	}
	m := &Message{Fields: fields}
	return m.Del(authField), nil
}

// parseClassic parses a whole classic message: ">>>\n", lines, "<<<\n" and
// an optional NUL. Values may alias b.
func parseClassic(b []byte) ([]Field, error) {
	if n := len(b); n > 0 && b[n-1] == 0 {
		b = b[:n-1]
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, fmt.Errorf("%w: NUL inside classic message", ErrMalformed)
	}
	return parseClassicBody(b, 0)
}

// parseClassicBody parses ">>>\n" lines "<<<\n" filling all of b, at struct depth.
func parseClassicBody(b []byte, depth int) ([]Field, error) {
	if !bytes.HasPrefix(b, []byte(classicStart)) {
		return nil, fmt.Errorf("%w: no >>> start", ErrMalformed)
	}
	fields := make([]Field, 0, 16)
	pos := len(classicStart)
	for {
		for pos < len(b) && b[pos] == '\n' { // heartbeat skips empty lines
			pos++
		}
		rest := b[pos:]
		if bytes.HasPrefix(rest, []byte(classicEnd)) {
			if len(rest) != len(classicEnd) {
				return nil, fmt.Errorf("%w: %d bytes after <<< end", ErrMalformed, len(rest)-len(classicEnd))
			}
			return fields, nil
		}
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("%w: truncated: no <<< end", ErrMalformed)
		}
		f, err := parseClassicLine(rest[:nl:nl], depth)
		if err != nil {
			return nil, fmt.Errorf("%w (line %d)", err, len(fields)+1)
		}
		fields = append(fields, f)
		pos += nl + 1
	}
}

// parseClassicLine parses `["(T)"]name=value` at struct depth.
func parseClassicLine(line []byte, depth int) (Field, error) {
	eq := bytes.IndexByte(line, '=')
	if eq <= 0 {
		return Field{}, fmt.Errorf("%w: line without name=", ErrMalformed)
	}
	name, v := line[:eq], line[eq+1:]
	t := TypeString
	if name[0] == '(' {
		// (0) is an error in classic form, as is (5), which has no text form.
		if len(name) < 4 || name[2] != ')' || name[1] < '1' || name[1] > '4' {
			return Field{}, fmt.Errorf("%w: bad (type) prefix", ErrMalformed)
		}
		t, name = FieldType(name[1]-'0'), name[3:]
	}
	f := Field{Name: internName(name), Type: t}
	switch t {
	case TypeString:
		f.Value = v
		if bytes.IndexByte(v, stringSym) >= 0 {
			f.Value = bytes.ReplaceAll(v, []byte{stringSym}, []byte{'\n'})
		}
	case TypeBinary, TypeCompressed:
		d := make([]byte, b64.DecodedLen(len(v)))
		n, err := b64.Decode(d, v)
		if err != nil {
			return Field{}, fmt.Errorf("%w: field %q: bad base64", ErrMalformed, f.Name)
		}
		f.Value = d[:n:n]
	case TypeList:
		f.Value = v
	case TypeStruct:
		if depth >= maxDepth {
			return Field{}, fmt.Errorf("%w: structs nested too deep", ErrMalformed)
		}
		sub := bytes.ReplaceAll(v, []byte{structSyms[depth]}, []byte{'\n'})
		nested, err := parseClassicBody(sub, depth+1)
		if err != nil {
			return Field{}, fmt.Errorf("field %q: %w", f.Name, err)
		}
		f.Value = appendNetstringBody(nil, nested)
	}
	return f, nil
}

// appendClassicFields appends the classic line of each field at struct
// depth; with noAuth it skips "auth" fields, which gives the MAC input of
// heartbeat's inner auth field.
func appendClassicFields(dst []byte, fields []Field, depth int, noAuth bool) ([]byte, error) {
	for i := range fields {
		if noAuth && fields[i].Name == authField {
			continue
		}
		var err error
		if dst, err = appendClassicField(dst, &fields[i], depth); err != nil {
			return nil, fmt.Errorf("classic form of field %d: %w", i, err)
		}
	}
	return dst, nil
}

// appendClassicField appends `["(T)"]name=value\n` for f at struct depth.
func appendClassicField(dst []byte, f *Field, depth int) ([]byte, error) {
	if err := checkName(f); err != nil {
		return nil, err
	}
	switch {
	case strings.IndexByte(f.Name, '\n') >= 0:
		return nil, fmt.Errorf("%w: field name %q contains a newline", ErrMalformed, f.Name)
	case f.Type == TypeString && f.Name[0] == '(':
		return nil, fmt.Errorf("%w: string field name %q starts with '('", ErrMalformed, f.Name)
	case f.Type == TypeUncompressed:
		return nil, fmt.Errorf("%w: field %q: type 5 has no classic form", ErrMalformed, f.Name)
	}
	if f.Type != TypeString {
		dst = append(dst, '(', '0'+byte(f.Type), ')')
	}
	dst = append(dst, f.Name...)
	dst = append(dst, '=')
	v := f.Value
	switch f.Type {
	case TypeString:
		if bytes.IndexByte(v, 0) >= 0 || bytes.IndexByte(v, stringSym) >= 0 {
			return nil, fmt.Errorf("%w: field %q: value holds NUL or byte 19", ErrMalformed, f.Name)
		}
		start := len(dst)
		dst = append(dst, v...)
		for i := start; i < len(dst); i++ {
			if dst[i] == '\n' {
				dst[i] = stringSym
			}
		}
	case TypeBinary, TypeCompressed:
		dst = base64.StdEncoding.AppendEncode(dst, v)
	case TypeList:
		if bytes.IndexByte(v, 0) >= 0 || bytes.IndexByte(v, '\n') >= 0 {
			return nil, fmt.Errorf("%w: list field %q holds NUL or newline", ErrMalformed, f.Name)
		}
		dst = append(dst, v...)
	case TypeStruct:
		var err error
		if dst, err = appendClassicStruct(dst, f, depth); err != nil {
			return nil, err
		}
	}
	return append(dst, '\n'), nil
}

// appendClassicStruct appends the classic text of a struct field whose value
// is a nested netstring message: ">>>\n" lines "<<<\n" with every newline
// replaced by structSyms[depth].
func appendClassicStruct(dst []byte, f *Field, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return nil, fmt.Errorf("%w: field %q: structs nested too deep", ErrMalformed, f.Name)
	}
	nested, end, err := parseNetstringBody(f.Value)
	if err != nil {
		return nil, fmt.Errorf("struct field %q: %w", f.Name, err)
	}
	if end != len(f.Value) {
		return nil, fmt.Errorf("%w: struct field %q: data after %%%%%% end", ErrMalformed, f.Name)
	}
	start := len(dst)
	dst = append(dst, classicStart...)
	if dst, err = appendClassicFields(dst, nested, depth+1, false); err != nil {
		return nil, fmt.Errorf("struct field %q: %w", f.Name, err)
	}
	dst = append(dst, classicEnd...)
	sym := structSyms[depth]
	for i := start; i < len(dst); i++ {
		switch dst[i] {
		case sym:
			return nil, fmt.Errorf("%w: struct field %q holds byte %d", ErrMalformed, f.Name, sym)
		case '\n':
			dst[i] = sym
		}
	}
	return dst, nil
}

// b64 decodes classic binary values; heartbeat always writes canonical
// base64, so non-zero padding bits are rejected.
var b64 = base64.StdEncoding.Strict()
