// The pid file, and the -k, -r and -s operations on a running daemon.

package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RunningPid returns the pid recorded in pidfile if that process is alive.
func RunningPid(pidfile string) (int, bool) {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, false
	}
	return pid, true
}

// WritePidFile records our pid, refusing when another daemon is running.
func WritePidFile(pidfile string) error {
	if pid, ok := RunningPid(pidfile); ok && pid != os.Getpid() {
		return fmt.Errorf("heartbeatd is already running [pid %d] (%s)", pid, pidfile)
	}
	return writeSynced(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// Signal sends sig to the running daemon.
func Signal(pidfile string, sig syscall.Signal) (int, error) {
	pid, ok := RunningPid(pidfile)
	if !ok {
		return 0, fmt.Errorf("heartbeatd is not running (%s)", pidfile)
	}
	return pid, syscall.Kill(pid, sig)
}

// Stop sends SIGTERM to the running daemon and waits up to timeout for it
// to exit, as heartbeat -k does.
func Stop(pidfile string, timeout time.Duration) error {
	pid, err := Signal(pidfile, syscall.SIGTERM)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
	}
	return fmt.Errorf("heartbeatd [pid %d] did not stop within %s", pid, timeout)
}
