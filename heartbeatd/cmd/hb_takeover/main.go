// Command hb_takeover is heartbeat's hb_takeover for heartbeatd.
//
// Usage, output and exit codes are those of classic
// /usr/share/heartbeat/hb_takeover (see docs/hb_standby.1.md); the request goes
// through the client API at /run/heartbeat/register, or the socket the
// environment variable HA_API_SOCKET names.
package main

import "github.com/hasuite/hasuite/heartbeatd/cmd/internal/rsctool"

func main() { rsctool.Main(rsctool.Takeover, "hb_takeover") }
