// Tests against a unixgram NOTIFY_SOCKET in a temp dir.

package sdnotify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// listen sets NOTIFY_SOCKET to a fresh socket and returns it.
func listen(t *testing.T) net.PacketConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

// recv returns the next datagram, or "" if none arrives in time.
func recv(t *testing.T, c net.PacketConn, wait time.Duration) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(wait))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

func TestDatagrams(t *testing.T) {
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"status", func() error { return Status("2 nodes up") }, "STATUS=2 nodes up"},
		{"status newlines", func() error { return Status("a\nREADY=1\r\n") }, "STATUS=a READY=1  "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := listen(t)
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, recv(t, c, 5*time.Second)); diff != "" {
				t.Errorf("datagram (-want +got):\n%s", diff)
			}
		})
	}
}

func monotonicUsec(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

func TestReloading(t *testing.T) {
	c := listen(t)
	before := monotonicUsec(t)
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	after := monotonicUsec(t)
	got := recv(t, c, 5*time.Second)
	m := regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=([0-9]+)$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("datagram %q, want RELOADING=1\\nMONOTONIC_USEC=<n>", got)
	}
	us, _ := strconv.ParseInt(m[1], 10, 64)
	if us < before || us > after {
		t.Errorf("MONOTONIC_USEC=%d not within [%d, %d]", us, before, after)
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "1000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	for name, f := range map[string]func() error{
		"ready": Ready, "reloading": Reloading, "stopping": Stopping,
		"status":   func() error { return Status("x") },
		"watchdog": func() error { return Watchdog(context.Background()) }, // must return at once
	} {
		if err := f(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSocketGoneIsError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "missing"))
	if err := Ready(); err == nil {
		t.Error("Ready to a missing socket: no error")
	}
}

func TestWatchdogPings(t *testing.T) {
	c := listen(t)
	t.Setenv("WATCHDOG_USEC", "2000") // pings every 1 ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watchdog(ctx) }()
	for i := range 3 {
		if got := recv(t, c, 5*time.Second); got != "WATCHDOG=1" {
			t.Fatalf("ping %d: got %q, want WATCHDOG=1", i, got)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watchdog returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watchdog did not return after cancel")
	}
}

func TestWatchdogDisabled(t *testing.T) {
	tests := []struct {
		name, usec, pid string
		wantErr         bool
	}{
		{"no WATCHDOG_USEC", "", "", false},
		{"other pid", "2000", strconv.Itoa(os.Getpid() + 1), false},
		{"malformed", "soon", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := listen(t)
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			// A context that never ends: Watchdog must return on its own.
			err := Watchdog(context.Background())
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got := recv(t, c, 20*time.Millisecond); got != "" {
				t.Errorf("got datagram %q, want none", got)
			}
		})
	}
}
