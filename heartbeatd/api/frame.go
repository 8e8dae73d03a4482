// Frame codec of the API socket: 8-byte header (length, magic) plus a classic message body.
package api

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

const (
	// Magic is the second header word of every frame (cluster-glue HEADMAGIC).
	Magic = 0xabcd
	// MaxFrame is the largest body accepted or sent (cluster-glue MAXMSG).
	MaxFrame = 256 * 1024
	// HeaderLen is the size of the frame header.
	HeaderLen = 8
)

// Frame errors; test with errors.Is.
var (
	ErrBadMagic  = errors.New("bad frame magic")
	ErrBadLength = errors.New("bad frame length")
	ErrBadBody   = errors.New("malformed message body")
)

// ReadFrame reads one frame from r and returns its body. It returns io.EOF
// only when r ends cleanly before a header starts.
func ReadFrame(r io.Reader) ([]byte, error) {
	var h [HeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("reading frame header: %w", err)
	}
	n := int32(binary.NativeEndian.Uint32(h[0:4]))
	if magic := binary.NativeEndian.Uint32(h[4:8]); magic != Magic {
		return nil, fmt.Errorf("%w %#x", ErrBadMagic, magic)
	}
	if n < 0 || n > MaxFrame {
		return nil, fmt.Errorf("%w %d (max %d)", ErrBadLength, n, MaxFrame)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d-byte frame body: %w", n, err)
	}
	return body, nil
}

// ReadMessage reads one frame from r and parses its body.
func ReadMessage(r io.Reader) (*wire.Message, error) {
	body, err := ReadFrame(r)
	if err != nil {
		return nil, err
	}
	m, err := wire.Unmarshal(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	return m, nil
}

// AppendFrame appends the frame carrying m to b.
func AppendFrame(b []byte, m *wire.Message) ([]byte, error) {
	body := wire.Marshal(m)
	if len(body) > MaxFrame {
		return b, fmt.Errorf("%w: message of %d bytes (max %d)", ErrBadLength, len(body), MaxFrame)
	}
	b = binary.NativeEndian.AppendUint32(b, uint32(len(body)))
	b = binary.NativeEndian.AppendUint32(b, Magic)
	return append(b, body...), nil
}

// WriteMessage writes m to w as one frame in a single Write call.
func WriteMessage(w io.Writer, m *wire.Message) error {
	b, err := AppendFrame(nil, m)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing %d-byte frame: %w", len(b), err)
	}
	return nil
}
