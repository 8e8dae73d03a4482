// auth.go: authkeys methods (HMAC-SHA1, HMAC-MD5, heartbeat CRC) and the keyring.

package wire

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
)

// Method is an authkeys authentication method.
type Method string

// Authentication methods of authkeys.
const (
	MethodCRC  Method = "crc"  // CRC-32/POSIX without length suffix; no key
	MethodMD5  Method = "md5"  // HMAC-MD5
	MethodSHA1 Method = "sha1" // HMAC-SHA1
)

// maxKeys bounds authkeys entry numbers: 0..15 (heartbeat MAXAUTH).
const maxKeys = 16

// Key is one authkeys entry "Num Method Secret".
type Key struct {
	Num    int
	Method Method
	Secret []byte
}

// String describes k without its secret, so keys can be logged.
func (k Key) String() string { return strconv.Itoa(k.Num) + " " + string(k.Method) }

// GoString is like String, so that %#v does not print the secret either.
func (k Key) GoString() string { return "wire.Key{" + k.String() + "}" }

// Sum returns the digest of data as heartbeat prints it: lower-case hex,
// 40 digits for sha1, 32 for md5, and %lx without zero padding for crc.
// It returns "" for an unknown method.
func (k Key) Sum(data []byte) string { return string(k.appendSum(nil, data)) }

// appendSum appends the printed digest of data to dst.
func (k Key) appendSum(dst, data []byte) []byte {
	var h hash.Hash
	switch k.Method {
	case MethodCRC:
		return strconv.AppendUint(dst, uint64(crcSum(data)), 16)
	case MethodMD5:
		h = hmac.New(md5.New, k.Secret)
	case MethodSHA1:
		h = hmac.New(sha1.New, k.Secret)
	default:
		return dst
	}
	h.Write(data)
	var sum [sha1.Size]byte
	return hex.AppendEncode(dst, h.Sum(sum[:0]))
}

// crcTable is the MSB-first table for polynomial 0x04C11DB7.
var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crcSum is heartbeat's crc method: poly 0x04C11DB7, init 0, no reflection,
// final xor 0xFFFFFFFF and, unlike cksum(1), no length suffix.
func crcSum(data []byte) uint32 {
	var c uint32
	for _, b := range data {
		c = c<<8 ^ crcTable[byte(c>>24)^b]
	}
	return ^c
}

// Keyring holds the authkeys entries: the outbound one signs, any one verifies.
type Keyring struct {
	out  int
	keys [maxKeys]Key
	have [maxKeys]bool
}

// NewKeyring checks keys (numbers 0..15, no duplicates, md5/sha1 with a
// secret, crc without one) and returns a keyring that signs with entry out.
// Secrets are copied.
func NewKeyring(out int, keys ...Key) (*Keyring, error) {
	kr := &Keyring{out: out}
	for _, k := range keys {
		if k.Num < 0 || k.Num >= maxKeys {
			return nil, fmt.Errorf("wire: auth key %d: number out of range 0..%d", k.Num, maxKeys-1)
		}
		if kr.have[k.Num] {
			return nil, fmt.Errorf("wire: auth key %d: defined twice", k.Num)
		}
		switch k.Method {
		case MethodCRC:
			if len(k.Secret) != 0 {
				return nil, fmt.Errorf("wire: auth key %d: crc takes no key", k.Num)
			}
		case MethodMD5, MethodSHA1:
			if len(k.Secret) == 0 {
				return nil, fmt.Errorf("wire: auth key %d: %s needs a key", k.Num, k.Method)
			}
		default:
			return nil, fmt.Errorf("wire: auth key %d: unknown method %q", k.Num, k.Method)
		}
		k.Secret = append([]byte(nil), k.Secret...)
		kr.keys[k.Num] = k
		kr.have[k.Num] = true
	}
	if out < 0 || out >= maxKeys || !kr.have[out] {
		return nil, fmt.Errorf("wire: outbound auth key %d is not defined", out)
	}
	return kr, nil
}

// Out returns the outbound key.
func (kr *Keyring) Out() Key { return kr.keys[kr.out] }

// Key returns entry n and whether it exists.
func (kr *Keyring) Key(n int) (Key, bool) {
	if n < 0 || n >= maxKeys || !kr.have[n] {
		return Key{}, false
	}
	return kr.keys[n], true
}

// verify checks that mac is the digest of data under entry num. The error
// names the entry and method but never the expected digest.
func (kr *Keyring) verify(num int, mac, data []byte) error {
	k, ok := kr.Key(num)
	if !ok {
		return fmt.Errorf("%w: unknown auth key %d", ErrAuth, num)
	}
	var buf [2 * sha1.Size]byte
	if !hmac.Equal(k.appendSum(buf[:0], data), mac) {
		return fmt.Errorf("%w: bad %s digest for key %d (%d bytes)", ErrAuth, k.Method, num, len(mac))
	}
	return nil
}

// appendAuth appends the auth value "<num> <digest>" of data under the outbound key.
func (kr *Keyring) appendAuth(dst, data []byte) []byte {
	k := kr.Out()
	dst = strconv.AppendInt(dst, int64(k.Num), 10)
	dst = append(dst, ' ')
	return k.appendSum(dst, data)
}
