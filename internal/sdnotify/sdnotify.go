// Package sdnotify tells systemd about daemon state (sd_notify) and keeps
// its watchdog fed. Every call is a no-op when NOTIFY_SOCKET is unset, so
// daemons call these unconditionally.
package sdnotify

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// notify sends one datagram to NOTIFY_SOCKET.
func notify(state string) error {
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %q: %w", firstLine(state), err)
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Ready reports that start-up, or a reload, has finished.
func Ready() error { return notify(daemon.SdNotifyReady) }

// Reloading reports that a configuration reload has started. It sends the
// CLOCK_MONOTONIC timestamp that Type=notify-reload services must include;
// call Ready when the reload is done.
func Reloading() error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("sd_notify RELOADING=1: reading CLOCK_MONOTONIC: %w", err)
	}
	return notify(daemon.SdNotifyReloading + "\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10))
}

// Stopping reports that shutdown has started.
func Stopping() error { return notify(daemon.SdNotifyStopping) }

// Status sets the one-line status shown by systemctl status. Newlines are
// replaced by spaces so s cannot add other assignments.
func Status(s string) error {
	return notify("STATUS=" + strings.NewReplacer("\r", " ", "\n", " ").Replace(s))
}

// Watchdog feeds systemd's watchdog with WATCHDOG=1 at half of WatchdogSec
// (WATCHDOG_USEC), the interval sd_watchdog_enabled(3) recommends, starting
// at once, until ctx is done; run it in its own goroutine. It returns nil
// immediately when NOTIFY_SOCKET is unset or the watchdog is not enabled for
// this process, an error when WATCHDOG_USEC is malformed, and nil when ctx
// is done. A failed ping is not fatal: the next one retries, and systemd
// acts if they keep failing.
func Watchdog(ctx context.Context) error {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	if interval <= 0 {
		return nil
	}
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	for {
		_ = notify(daemon.SdNotifyWatchdog)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
