// bench_test.go: cost of encoding and decoding a status packet (sent every keepalive).

package wire

import "testing"

func BenchmarkEncodeStatus(b *testing.B) {
	kr := captureKeyring(b)
	m := captureMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m, kr, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStatus(b *testing.B) {
	kr := captureKeyring(b)
	pkt := loadHexDump(b, "testdata/status-sha1.hex")
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := Decode(pkt, kr); err != nil {
			b.Fatal(err)
		}
	}
}
