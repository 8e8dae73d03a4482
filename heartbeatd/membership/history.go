// The last 500 sent messages, kept for retransmission (MAXMSGHIST).

package membership

import (
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

const histSize = 500

type histEntry struct {
	seq        uint64
	msg        *wire.Message
	lastRexmit time.Time
}

// history is a ring indexed by seq. Unlike 3.0.6 it does not free entries on
// ACK: it always keeps the newest 500, which answers every request 3.0.6
// would and a few it would not.
type history struct {
	ring   [histSize]histEntry
	newest uint64
}

func (h *history) add(seq uint64, msg *wire.Message) {
	h.ring[seq%histSize] = histEntry{seq: seq, msg: msg}
	h.newest = seq
}

func (h *history) get(seq uint64) *histEntry {
	if seq == 0 || seq > h.newest || h.newest-seq >= histSize {
		return nil
	}
	if e := &h.ring[seq%histSize]; e.seq == seq {
		return e
	}
	return nil
}

func (h *history) oldest() uint64 {
	if h.newest < histSize {
		return 1
	}
	return h.newest - histSize + 1
}
