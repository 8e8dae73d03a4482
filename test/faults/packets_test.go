// packets_test.go: hostile heartbeat packets from a third namespace, one
// subtest per class, each proving the packets were counted as dropped for
// the right reason while the pair stayed up and the log stayed quiet.

package faults

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// sent is how many packets most classes send: far more than the log budget.
const sent = 40

func TestHostilePackets(t *testing.T) {
	t.Parallel()
	hostilePackets(t, newLab(t))
}

// TestHostilePacketsUcast runs every class against a pair on ucast: the
// receive path is the same, the packets now arrive by unicast only.
func TestHostilePacketsUcast(t *testing.T) {
	t.Parallel()
	hostilePackets(t, newLabOn(t, "ucast"))
}

func hostilePackets(t *testing.T, l *lab) {

	// status builds a heartbeat as nodeb sends it, with the given fields.
	status := func(src string, seq, hg uint64) *wire.Message {
		return wire.New("status").Add("st", "active").Add("dt", "3e8").Add("protocol", "1").
			Add("src", src).Add("seq", strconv.FormatUint(seq, 16)).Add("hg", strconv.FormatUint(hg, 16)).
			Add("ts", "1").Add("ttl", "3")
	}
	encode := func(t *testing.T, m *wire.Message, kr *wire.Keyring) []byte {
		t.Helper()
		p, err := wire.Encode(m, kr, true)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	encodeClassic := func(t *testing.T, m *wire.Message, kr *wire.Keyring) []byte {
		t.Helper()
		p, err := wire.EncodeClassic(m, kr)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ring := func(t *testing.T, num int, method wire.Method, secret string) *wire.Keyring {
		t.Helper()
		kr, err := wire.NewKeyring(num, wire.Key{Num: num, Method: method, Secret: []byte(secret)})
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	// mustFail checks, before sending, that the cluster's key rejects every
	// packet with want: the test's own construction is checked, not the
	// daemon's.
	mustFail := func(t *testing.T, pkts [][]byte, want error) {
		t.Helper()
		for i, p := range pkts {
			if _, err := wire.Decode(p, l.ring); !errors.Is(err, want) {
				t.Fatalf("packet %d (%d bytes) decodes with %v, want %v", i, len(p), err, want)
			}
		}
	}
	// peer reads nodeb's current seq and generation from a captured packet.
	peer := func(t *testing.T) (seq, hg uint64) {
		t.Helper()
		_, msgs := l.capture(t, 1)
		seq, err1 := strconv.ParseUint(msgs[0].Get("seq"), 16, 64)
		hg, err2 := strconv.ParseUint(msgs[0].Get("hg"), 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("captured packet without seq/hg: %v", msgs[0])
		}
		return seq, hg
	}
	const authLine, malformedLine = "bad packet dropped (authentication)", "bad packet dropped (malformed)"

	classes := []struct {
		name string
		src  string // mallory's source address for the class
		run  func(t *testing.T, send func(...[]byte)) expect
	}{
		{"forged", "10.77.0.71", func(t *testing.T, send func(...[]byte)) expect {
			// Valid format, nodeb's name, seq and generation, key entry 1,
			// but not the cluster's secret.
			seq, hg := peer(t)
			// Both encodings: netstring (heartbeatd's own) and classic.
			forger := ring(t, 1, wire.MethodSHA1, "not-"+testKey)
			var pkts [][]byte
			for i := range sent {
				m := status("nodeb", seq+1+uint64(i), hg)
				if i%2 == 0 {
					pkts = append(pkts, encode(t, m, forger))
				} else {
					pkts = append(pkts, encodeClassic(t, m, forger))
				}
			}
			mustFail(t, pkts, wire.ErrAuth)
			send(pkts...)
			return expect{reason: "auth", sent: sent, logLine: authLine}
		}},
		{"wrong-key", "10.77.0.72", func(t *testing.T, send func(...[]byte)) expect {
			// The cluster's secret under entries authkeys does not have,
			// and under entry 16, beyond heartbeat's 0..15 (MAXAUTH).
			seq, hg := peer(t)
			rings := []*wire.Keyring{ring(t, 7, wire.MethodSHA1, testKey), ring(t, 15, wire.MethodMD5, testKey), ring(t, 0, wire.MethodCRC, "")}
			var pkts [][]byte
			for i := range sent {
				m := status("nodeb", seq+1+uint64(i), hg)
				if i%4 == 3 {
					pkts = append(pkts, withTrailerKey(t, encode(t, m, l.ring), 16))
				} else {
					pkts = append(pkts, encode(t, m, rings[i%len(rings)]))
				}
			}
			mustFail(t, pkts, wire.ErrAuth)
			send(pkts...)
			return expect{reason: "auth", sent: sent, logLine: authLine}
		}},
		{"replayed", "10.77.0.73", func(t *testing.T, send func(...[]byte)) expect {
			// A real heartbeat of nodeb, sniffed and sent again and again.
			pkts, _ := l.capture(t, 1)
			for range sent {
				send(pkts[0])
			}
			return expect{reason: "duplicate", sent: sent}
		}},
		{"reordered", "10.77.0.74", func(t *testing.T, send func(...[]byte)) expect {
			// Real heartbeats sent back newest first: every seq is old.
			pkts, _ := l.capture(t, sent/2)
			for range 2 {
				for i := len(pkts) - 1; i >= 0; i-- {
					send(pkts[i])
				}
			}
			return expect{reason: "duplicate", sent: sent}
		}},
		{"old-generation", "10.77.0.75", func(t *testing.T, send func(...[]byte)) expect {
			// Correctly signed, new seqs, but nodeb's previous generation;
			// NS_ messages (no seq) are judged by generation alone.
			seq, hg := peer(t)
			if hg == 0 {
				t.Fatal("nodeb's generation is 0: no previous one to claim")
			}
			var pkts [][]byte
			for i := range sent {
				m := status("nodeb", seq+1+uint64(i), hg-1)
				if i%4 == 3 {
					m = wire.New("NS_ackmsg").Add("src", "nodeb").Add("dest", "nodea").
						Add("ackseq", "1").Add("hg", strconv.FormatUint(hg-1, 16))
				}
				pkts = append(pkts, encode(t, m, l.ring))
			}
			send(pkts...)
			return expect{reason: "replay", sent: sent, logLine: "attempted replay attack"}
		}},
		{"truncated", "10.77.0.76", func(t *testing.T, send func(...[]byte)) expect {
			// Prefixes of a real heartbeat, from its start marker to two
			// bytes short (a classic packet's final NUL is optional), and of the same message in classic encoding.
			real, msgs := l.capture(t, 1)
			var pkts [][]byte
			for i, p := range [][]byte{real[0], encodeClassic(t, msgs[0], l.ring)} {
				if _, err := wire.Decode(p, l.ring); err != nil {
					t.Fatalf("encoding %d of the real heartbeat does not decode: %v", i, err)
				}
				for j := range sent / 2 {
					pkts = append(pkts, p[:4+(len(p)-6)*j/(sent/2-1)])
				}
			}
			mustFail(t, pkts, wire.ErrMalformed)
			send(pkts...)
			return expect{reason: "malformed", sent: sent, logLine: malformedLine}
		}},
		{"oversized", "10.77.0.77", func(t *testing.T, send func(...[]byte)) expect {
			// The largest datagram UDP over IPv4 carries (65507 bytes): a
			// real heartbeat padded with junk. heartbeatd accepts up to
			// wire.MaxMessage (256 KiB, heartbeat's MAXMSG), so a UDP packet
			// can never be "too_big"; it must be refused as malformed, and
			// too_big must not move.
			real, _ := l.capture(t, 1)
			big := append(append([]byte(nil), real[0]...), bytes.Repeat([]byte("A"), 65507-len(real[0]))...)
			const n = 12
			pkts := make([][]byte, n)
			for i := range pkts {
				pkts[i] = big
			}
			mustFail(t, pkts, wire.ErrMalformed)
			send(pkts...)
			return expect{reason: "malformed", sent: n, logLine: malformedLine}
		}},
		{"garbage", "10.77.0.78", func(t *testing.T, send func(...[]byte)) expect {
			// Random bytes (fixed seed), from empty to a full Ethernet frame.
			rng := rand.New(rand.NewPCG(8, 1))
			var pkts [][]byte
			for i := range sent {
				p := make([]byte, i*1472/(sent-1))
				for j := range p {
					p[j] = byte(rng.UintN(256))
				}
				pkts = append(pkts, p)
			}
			mustFail(t, pkts, wire.ErrMalformed)
			send(pkts...)
			return expect{reason: "malformed", sent: sent, logLine: malformedLine}
		}},
		{"unknown-node", "10.77.0.79", func(t *testing.T, send func(...[]byte)) expect {
			// Correctly signed heartbeats from a node ha.cf does not name.
			var pkts [][]byte
			for i := range sent {
				pkts = append(pkts, encode(t, status("nodez", uint64(i+1), 1), l.ring))
			}
			send(pkts...)
			return expect{reason: "unknown_node", sent: sent}
		}},
		{"not-for-us", "10.77.0.80", func(t *testing.T, send func(...[]byte)) expect {
			// Correctly signed NS_ messages of nodeb's current generation
			// addressed to another node: dropped as not for us, with no
			// effect on nodeb's sequence tracking (NS_ carry no seq).
			_, hg := peer(t)
			var pkts [][]byte
			for range sent {
				m := wire.New("NS_ackmsg").Add("src", "nodeb").Add("dest", "nodeb").
					Add("ackseq", "1").Add("hg", strconv.FormatUint(hg, 16))
				pkts = append(pkts, encode(t, m, l.ring))
			}
			send(pkts...)
			return expect{reason: "not_for_us", sent: sent}
		}},
		{"from-self", "10.77.0.81", func(t *testing.T, send func(...[]byte)) expect {
			// Correctly signed heartbeats naming nodea, the receiver, as
			// their source. They are dropped without a counter: nodea's
			// own broadcasts loop back to it at every keepalive and look
			// the same (docs/compat.md). Nothing may move.
			var pkts [][]byte
			for i := range sent {
				pkts = append(pkts, encode(t, status("nodea", uint64(i+1), 1), l.ring))
			}
			send(pkts...)
			return expect{sent: sent}
		}},
	}
	for _, c := range classes {
		t.Run(c.name, func(t *testing.T) {
			send := l.injector(t, c.src)
			before := l.snap(t)
			e := c.run(t, send)
			l.check(t, before, e)
		})
	}
}

// withTrailerKey re-signs a netstring packet's trailer with the cluster's
// secret but names key entry num in it, which wire.Keyring cannot do for
// entries outside 0..15.
func withTrailerKey(t *testing.T, pkt []byte, num int) []byte {
	t.Helper()
	end := bytes.LastIndex(pkt, []byte("%%%\n"))
	if end < 0 {
		t.Fatalf("not a netstring packet: %q", pkt)
	}
	body := pkt[:end+4]
	key := wire.Key{Num: 1, Method: wire.MethodSHA1, Secret: []byte(testKey)}
	tr := strconv.Itoa(num) + " " + key.Sum(body)
	return fmt.Appendf(bytes.Clone(body), "%d:%s,", len(tr), tr)
}
