// netstring.go: the "###\n" encoding that heartbeat 3.0.6 sends, with its MAC trailer.

package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Encode returns m in netstring form followed by the MAC trailer, signed with
// the outbound key: byte-identical to what heartbeat 3.0.6 sends. With
// innerAuth (msgfmt classic) the classic MAC is also added as a last field
// "(0)auth=<n> <digest>", as 3.0.6 does. Fields of m named "auth" are not
// encoded.
func Encode(m *Message, kr *Keyring, innerAuth bool) ([]byte, error) {
	if kr == nil {
		return nil, errors.New("wire: encode: no keyring")
	}
	size := len(netstringStart) + len(netstringEnd) + 64
	for i := range m.Fields {
		size += len(m.Fields[i].Name) + len(m.Fields[i].Value) + 12
	}
	if innerAuth {
		size += 64
	}
	buf := make([]byte, 0, size)
	buf = append(buf, netstringStart...)
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Name == authField {
			continue
		}
		if err := checkName(f); err != nil {
			return nil, fmt.Errorf("encoding field %d: %w", i, err)
		}
		buf = appendNetstringField(buf, f.Type, f.Name, f.Value)
	}
	if innerAuth {
		in, err := appendClassicFields(nil, m.Fields, 0, true)
		if err != nil {
			return nil, fmt.Errorf("computing inner auth: %w", err)
		}
		var av [64]byte
		buf = appendNetstringField(buf, TypeString, authField, kr.appendAuth(av[:0], in))
	}
	buf = append(buf, netstringEnd...)
	var tv [64]byte
	tr := kr.appendAuth(tv[:0], buf)
	buf = strconv.AppendInt(buf, int64(len(tr)), 10)
	buf = append(buf, ':')
	buf = append(buf, tr...)
	buf = append(buf, ',')
	if len(buf) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrTooBig, len(buf), MaxMessage)
	}
	return buf, nil
}

// checkName rejects fields that no encoding can carry: an empty name, or one
// holding '=' or NUL, and unknown types.
func checkName(f *Field) error {
	switch {
	case f.Name == "":
		return fmt.Errorf("%w: empty field name", ErrMalformed)
	case f.Type > maxType:
		return fmt.Errorf("%w: field %q: unknown type %d", ErrMalformed, f.Name, f.Type)
	case strings.ContainsAny(f.Name, "=\x00"):
		return fmt.Errorf("%w: field name %q contains '=' or NUL", ErrMalformed, f.Name)
	}
	return nil
}

// appendNetstringField appends "<len>:(<T>)<name>=<value>,".
func appendNetstringField(dst []byte, t FieldType, name string, value []byte) []byte {
	dst = strconv.AppendInt(dst, int64(3+len(name)+1+len(value)), 10)
	dst = append(dst, ':', '(', '0'+byte(t), ')')
	dst = append(dst, name...)
	dst = append(dst, '=')
	dst = append(dst, value...)
	return append(dst, ',')
}

// appendNetstringBody appends fields as a nested netstring message (no trailer).
func appendNetstringBody(dst []byte, fields []Field) []byte {
	dst = append(dst, netstringStart...)
	for i := range fields {
		dst = appendNetstringField(dst, fields[i].Type, fields[i].Name, fields[i].Value)
	}
	return append(dst, netstringEnd...)
}

// decodeNetstring parses and verifies a netstring packet.
func decodeNetstring(pkt []byte, kr *Keyring) (*Message, error) {
	b := bytes.Clone(pkt) // values alias this copy, not the caller's buffer
	fields, end, err := parseNetstringBody(b)
	if err != nil {
		return nil, err
	}
	tr, next, err := peelNetstring(b, end)
	if err != nil {
		return nil, fmt.Errorf("%w (trailer)", err)
	}
	if next != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after trailer", ErrMalformed, len(b)-next)
	}
	num, mac, err := parseAuth(tr)
	if err != nil {
		return nil, fmt.Errorf("netstring trailer: %w", err)
	}
	if err := kr.verify(num, mac, b[:end]); err != nil {
		return nil, fmt.Errorf("netstring trailer: %w", err)
	}
	m := &Message{Fields: fields}
	return m.Del(authField), nil
}

// parseNetstringBody parses "###\n" fields "%%%\n" at the start of b and
// returns the fields (aliasing b) and the offset just past "%%%\n".
func parseNetstringBody(b []byte) ([]Field, int, error) {
	if !bytes.HasPrefix(b, []byte(netstringStart)) {
		return nil, 0, fmt.Errorf("%w: no ### start", ErrMalformed)
	}
	fields := make([]Field, 0, 16)
	pos := len(netstringStart)
	for !bytes.HasPrefix(b[pos:], []byte(netstringEnd)) {
		data, next, err := peelNetstring(b, pos)
		if err != nil {
			return nil, 0, fmt.Errorf("%w (field %d)", err, len(fields))
		}
		f, err := parseNVPair(data)
		if err != nil {
			return nil, 0, err
		}
		fields = append(fields, f)
		pos = next
	}
	return fields, pos + len(netstringEnd), nil
}

// peelNetstring reads "<len>:<data>," at b[pos:], returning data and the
// offset after the comma.
func peelNetstring(b []byte, pos int) (data []byte, next int, err error) {
	n, i := 0, pos
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
		if n > len(b) {
			return nil, 0, fmt.Errorf("%w: netstring length exceeds packet", ErrMalformed)
		}
	}
	switch {
	case i == pos:
		if i == len(b) {
			return nil, 0, fmt.Errorf("%w: truncated: no end marker", ErrMalformed)
		}
		return nil, 0, fmt.Errorf("%w: netstring without length", ErrMalformed)
	case i >= len(b) || b[i] != ':':
		return nil, 0, fmt.Errorf("%w: netstring length not followed by ':'", ErrMalformed)
	}
	start := i + 1
	end := start + n
	if end >= len(b) {
		return nil, 0, fmt.Errorf("%w: truncated netstring", ErrMalformed)
	}
	if b[end] != ',' {
		return nil, 0, fmt.Errorf("%w: netstring not followed by ','", ErrMalformed)
	}
	return b[start:end:end], end + 1, nil
}

// parseNVPair parses "(<T>)<name>=<value>".
func parseNVPair(p []byte) (Field, error) {
	if len(p) < 3 || p[0] != '(' || p[2] != ')' || p[1] < '0' || p[1] > '0'+byte(maxType) {
		return Field{}, fmt.Errorf("%w: field without (type) prefix", ErrMalformed)
	}
	t := FieldType(p[1] - '0')
	p = p[3:]
	eq := bytes.IndexByte(p, '=')
	if eq <= 0 {
		return Field{}, fmt.Errorf("%w: field without name=", ErrMalformed)
	}
	if bytes.IndexByte(p[:eq], 0) >= 0 {
		return Field{}, fmt.Errorf("%w: NUL in field name", ErrMalformed)
	}
	return Field{Name: internName(p[:eq]), Type: t, Value: p[eq+1:]}, nil
}

// knownNames interns the field names heartbeat uses, so decoding them does
// not allocate.
var knownNames = func() map[string]string {
	m := make(map[string]string)
	for _, n := range []string{
		"t", "st", "dt", "protocol", "src", "srcuuid", "dest", "destuuid", "seq", "hg", "ts", "ld",
		"ttl", "auth", "info", "rsc_hold", "rtype", "isstable", "firstseq", "lastseq", "ackseq",
		"node", "result", "from_id", "to_id", "client_gen", "ipaddr", "weown", "ok", "num_ping",
		"nodelist", "delnodelist", "cn", "cs",
	} {
		m[n] = n
	}
	return m
}()

// internName returns b as a string, shared for well-known names.
func internName(b []byte) string {
	if s, ok := knownNames[string(b)]; ok {
		return s
	}
	return string(b)
}
