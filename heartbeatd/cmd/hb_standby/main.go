// Command hb_standby is heartbeat's hb_standby for heartbeatd.
//
// Usage, output and exit codes are those of classic
// /usr/share/heartbeat/hb_standby (see docs/hb_standby.1.md); the request goes
// through the client API at /run/heartbeat/register, or the socket the
// environment variable HA_API_SOCKET names.
package main

import (
	"context"
	"log/syslog"
	"os"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/cmd/internal/rsctool"
)

func main() {
	socket := os.Getenv("HA_API_SOCKET")
	if socket == "" {
		socket = api.DefaultSocket
	}
	opt := rsctool.Options{Prog: os.Args[0], Socket: socket}
	if w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, "hb_standby"); err == nil {
		defer w.Close()
		opt.Log = func(msg string) { w.Info(msg) }
	}
	os.Exit(rsctool.Run(context.Background(), rsctool.Standby, os.Args[1:], os.Stdout, os.Stderr, opt))
}
