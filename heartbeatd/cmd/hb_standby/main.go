// Command hb_standby is heartbeat's hb_standby for heartbeatd.
//
// Usage, output and exit codes are those of classic
// /usr/share/heartbeat/hb_standby (see docs/hb_standby.1.md); the request goes
// through the client API at /run/heartbeat/register, or the socket the
// environment variable HA_API_SOCKET names.
package main

import "github.com/hasuite/hasuite/heartbeatd/cmd/internal/rsctool"

func main() { rsctool.Main(rsctool.Standby, "hb_standby") }
