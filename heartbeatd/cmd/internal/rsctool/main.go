// Main: what both commands do around Run.

package rsctool

import (
	"context"
	"log/syslog"
	"os"

	"github.com/hasuite/hasuite/heartbeatd/api"
)

// Main runs t as the command name: the socket is HA_API_SOCKET or the
// default, "Going standby" lines go to syslog as name, and it exits with
// Run's status.
func Main(t Tool, name string) {
	socket := os.Getenv("HA_API_SOCKET")
	if socket == "" {
		socket = api.DefaultSocket
	}
	opt := Options{Prog: os.Args[0], Socket: socket}
	if w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, name); err == nil {
		defer w.Close()
		opt.Log = func(msg string) { w.Info(msg) }
	}
	rc := Run(context.Background(), t, os.Args[1:], os.Stdout, os.Stderr, opt)
	if rc != 0 {
		os.Exit(rc)
	}
}
