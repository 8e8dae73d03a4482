// notify_test.go: the daemon's sd_notify messages (Type=notify under systemd).

package daemon

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
)

// notifySocket listens where NOTIFY_SOCKET points (with the watchdog on for
// this process) and returns the datagrams it gets.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "40000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	msgs := make(chan string, 1024)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	return msgs
}

// nextState returns the next message that is not a watchdog ping, and how
// many pings came before it.
func nextState(t *testing.T, msgs <-chan string) (string, int) {
	t.Helper()
	pings := 0
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-msgs:
			if m == "WATCHDOG=1" {
				pings++
				continue
			}
			return m, pings
		case <-timeout:
			t.Fatal("no sd_notify state message within 5s")
			return "", pings
		}
	}
}

func TestDaemonNotifiesSystemd(t *testing.T) {
	msgs := notifySocket(t)
	a, b := newBackend(t), newBackend(t)
	ipvs := &kernel.FakeIPVS{}
	h := start(t, ipvs, fmt.Sprintf(baseCfg, "no", "yes", a.port, b.port))
	if m, _ := nextState(t, msgs); m != "READY=1" {
		t.Fatalf("first state %q, want READY=1", m)
	}
	if svcs, _ := ipvs.Services(); len(svcs) == 0 {
		t.Error("READY=1 before the virtual service was applied")
	}
	h.waitReals([]kernel.Dest{a.dest(2), b.dest(1)})

	h.reloads <- struct{}{}
	m, _ := nextState(t, msgs)
	if !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("reload sent %q, want RELOADING=1 with MONOTONIC_USEC", m)
	}
	if m, _ := nextState(t, msgs); m != "READY=1" {
		t.Fatalf("after reload %q, want READY=1", m)
	}
	// The watchdog is fed at half of WATCHDOG_USEC (40 ms) while running.
	time.Sleep(200 * time.Millisecond)
	h.stop()
	m, pings := nextState(t, msgs)
	if m != "STOPPING=1" {
		t.Fatalf("stop sent %q, want STOPPING=1", m)
	}
	if pings < 3 {
		t.Errorf("%d watchdog pings in 200ms at a 20ms period, want several", pings)
	}
	// cleanstop=yes ran after STOPPING=1, before Run returned.
	if svcs, _ := ipvs.Services(); len(svcs) != 0 {
		t.Errorf("cleanstop left %v", svcs)
	}
}
