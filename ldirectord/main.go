// Command ldirectord is hasuite's drop-in replacement for ldirectord 4.12:
// it health-checks real servers and keeps the kernel's IPVS table in step.
// See docs/ldirectord.8.md.
package main

import (
	"os"

	"github.com/hasuite/hasuite/ldirectord/daemon"
)

func main() {
	os.Exit(daemon.Main(os.Args[1:], daemon.Env{
		CheckDataPlane: daemon.CheckDataPlane,
		Serve: func(inv daemon.Invocation) error {
			dp, plane, err := daemon.OpenDataPlane(inv.Config)
			if err != nil {
				return err
			}
			defer dp.Close()
			return daemon.Serve(inv, daemon.ServeOptions{IPVS: dp, DataPlane: plane})
		},
	}))
}
