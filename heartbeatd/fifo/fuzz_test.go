// fuzz_test.go: fuzz target for the FIFO's line reader.

package fifo

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// FuzzReadLine reads what a writer put in the FIFO (each byte of fill
// repeated to make long lines): the lines returned, concatenated, are the
// input with every over-long line cut to wire.MaxMessage bytes, and only
// those are marked too long.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte(">>>\nt=x\n<<<\n"), uint16(0))
	f.Add([]byte("a\nb"), uint16(0))
	f.Add([]byte("x"), uint16(wire.MaxMessage/1000+1))
	f.Add([]byte(""), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, fill uint16) {
		if fill > 0 && len(data) > 0 {
			data = append(bytes.Repeat(data[:1], int(fill)*1000), data[1:]...)
		}
		br := bufio.NewReaderSize(bytes.NewReader(data), 4096)
		var want, got bytes.Buffer
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			want.Write(l[:min(len(l), wire.MaxMessage)])
		}
		for {
			line, tooLong, err := readLine(br, nil)
			if len(line) > wire.MaxMessage {
				t.Fatalf("line of %d bytes", len(line))
			}
			if tooLong && len(line) != wire.MaxMessage {
				t.Fatalf("line of %d bytes marked too long", len(line))
			}
			got.Write(line)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("read %d bytes, want %d", got.Len(), want.Len())
		}
	})
}
