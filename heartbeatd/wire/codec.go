// codec.go: errors, limits and Decode, which picks the encoding by its first bytes.

package wire

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxMessage is the largest packet heartbeat sends or accepts (MAXMSG).
const MaxMessage = 256 * 1024

// Errors returned by the codec, wrapped with a short reason; test with errors.Is.
// No error text ever contains the expected MAC.
var (
	ErrMalformed = errors.New("wire: malformed message")
	ErrAuth      = errors.New("wire: authentication failed")
	ErrTooBig    = errors.New("wire: message too big")
)

// Start markers of the two encodings.
const (
	classicStart   = ">>>\n"
	classicEnd     = "<<<\n"
	netstringStart = "###\n"
	netstringEnd   = "%%%\n"
)

// authField is the name of the field carrying the classic MAC.
const authField = "auth"

// Decode parses a packet in either encoding, chosen by its first four bytes,
// verifies its MAC and returns the message without any "auth" field.
//
// Classic packets are checked against their auth field. Netstring packets are
// checked against their trailer only; an inner auth field is ignored, as in
// heartbeat. Both are verified with the key of the entry that the packet's
// authnum names. Note: 3.0.6 verifies a netstring trailer with the method of
// that entry but the secret of its own outbound entry, so there a peer
// signing with any entry other than the receiver's outbound one is rejected
// unless both secrets match; Decode deliberately uses the named entry's own
// secret, which makes key rotation work.
func Decode(pkt []byte, kr *Keyring) (*Message, error) {
	if len(pkt) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooBig, len(pkt), MaxMessage)
	}
	if kr == nil {
		return nil, fmt.Errorf("%w: no keyring", ErrAuth)
	}
	switch {
	case bytes.HasPrefix(pkt, []byte(netstringStart)):
		return decodeNetstring(pkt, kr)
	case bytes.HasPrefix(pkt, []byte(classicStart)):
		return decodeClassic(pkt, kr)
	}
	return nil, fmt.Errorf("%w: unknown start marker", ErrMalformed)
}

// parseAuth splits an auth value "<num> <digest>" (authnum 0..15, digest a
// non-empty token).
func parseAuth(v []byte) (num int, mac []byte, err error) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		num = num*10 + int(v[i]-'0')
		i++
		if num >= maxKeys {
			return 0, nil, fmt.Errorf("%w: auth number out of range", ErrAuth)
		}
	}
	if i == 0 || i >= len(v) || v[i] != ' ' || i+1 == len(v) {
		return 0, nil, fmt.Errorf("%w: bad auth string (%d bytes)", ErrAuth, len(v))
	}
	mac = v[i+1:]
	if bytes.IndexAny(mac, " \t\n\x00") >= 0 {
		return 0, nil, fmt.Errorf("%w: bad auth string (%d bytes)", ErrAuth, len(v))
	}
	return num, mac, nil
}
