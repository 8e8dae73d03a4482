// enqueue_test.go: an authenticated packet that finds the loop's queue full
// is dropped and counted as queue_full, never waited for.

package daemon

import (
	"io"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/wire"
)

func TestEnqueueFullQueueDropsAndCounts(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	d := New(Options{}, "nodea", &Files{}, log)
	msg := wire.New("status").Add("src", "nodeb")
	const extra = 7
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range cap(d.in) + extra {
			d.enqueue(received{msg: msg, link: "hb0"})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("enqueue blocked on a full queue")
	}
	if got := d.counter.queueFull.Load(); got != extra {
		t.Errorf("queue_full = %d after %d packets into a queue of %d, want %d", got, cap(d.in)+extra, cap(d.in), extra)
	}
}
