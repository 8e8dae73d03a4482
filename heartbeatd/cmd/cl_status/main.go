// Command cl_status reports heartbeatd's cluster state like heartbeat's cl_status.
//
// Usage and output are those of classic cl_status (spec §8.2); run it
// without arguments for the sub-commands. The API socket is
// /run/heartbeat/register unless the environment variable HA_API_SOCKET
// names another one.
package main

import (
	"context"
	"os"

	"github.com/hasuite/hasuite/heartbeatd/api"
)

func main() {
	socket := os.Getenv("HA_API_SOCKET")
	if socket == "" {
		socket = api.DefaultSocket
	}
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, Options{
		Socket: socket,
		PID:    os.Getpid(),
	}))
}
