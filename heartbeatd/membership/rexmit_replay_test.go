// rexmit_replay_test.go: a replayed NS_rexmit (NS_ messages carry no seq,
// so a replay within the sender's generation is accepted) resends a
// message at most once per max_rexmit_delay.

package membership

import (
	"strconv"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

func TestReplayedRexmitResendsOncePerDelay(t *testing.T) {
	s := newSim(t, "nodea", "nodeb")
	s.start()
	s.run(3 * time.Second)
	seq := ""
	for _, m := range s.sent["nodeb"] {
		if m.Type() == "status" {
			seq = m.Get("seq")
			break
		}
	}
	if seq == "" {
		t.Fatal("nodeb sent no status")
	}
	n, err := strconv.ParseUint(seq, 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	dec := strconv.FormatUint(n, 10)
	req := wire.New("NS_rexmit").Add("dest", "nodeb").Add("firstseq", dec).Add("lastseq", dec)
	var pkt []byte
	for _, a := range s.nodes["nodea"].Send(s.now, req) {
		if tr, ok := a.(Transmit); ok && tr.Msg.Type() == "NS_rexmit" {
			if pkt, err = wire.Encode(tr.Msg, s.ring, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	if pkt == nil {
		t.Fatal("nodea transmitted no NS_rexmit")
	}
	resent := func() int {
		c := 0
		for _, m := range s.sent["nodeb"] {
			if m.Type() == "status" && m.Get("seq") == seq {
				c++
			}
		}
		return c - 1 // the original
	}

	for range 20 { // the same packet, replayed at once
		s.deliver("nodeb", pkt)
	}
	if got := resent(); got != 1 {
		t.Errorf("20 copies of one NS_rexmit resent seq %s %d times, want 1", seq, got)
	}
	s.run(s.now.Sub(t0) + s.nodes["nodeb"].cfg.MaxRexmitDelay)
	for range 20 {
		s.deliver("nodeb", pkt)
	}
	if got := resent(); got != 2 {
		t.Errorf("after max_rexmit_delay, 20 more copies: resent %d times in all, want 2", got)
	}
}
