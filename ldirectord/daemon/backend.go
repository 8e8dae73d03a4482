package daemon

// backend.go: choosing the data plane (backend = ipvs | nftables | auto) and keeping to it across reloads.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/config"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

// DataPlane is an open data plane.
type DataPlane interface {
	lvs.Backend
	io.Closer
}

// The data planes' names, as the backend directive spells them.
const (
	PlaneIPVS     = string(config.BackendIPVS)
	PlaneNFTables = string(config.BackendNFTables)
)

// OpenDataPlane opens the data plane cfg asks for, in the calling thread's
// network namespace, and returns its name. auto takes IPVS when the kernel
// answers for it, else nftables, and then fails if the config needs what
// only IPVS does (gate or ipip forwarding).
func OpenDataPlane(cfg *config.Config) (DataPlane, string, error) {
	switch cfg.Backend {
	case config.BackendNFTables:
		return kernel.NewNFTables(), PlaneNFTables, nil
	case config.BackendAuto:
		v := kernel.NewIPVS()
		_, err := v.Services()
		if !errors.Is(err, kernel.ErrNoIPVS) {
			return v, PlaneIPVS, nil
		}
		v.Close()
		if msgs := planeErrors(cfg, PlaneNFTables); len(msgs) > 0 {
			return nil, "", fmt.Errorf("backend = auto: this kernel has no IPVS and nftables cannot run this config:\n%s",
				strings.Join(msgs, "\n"))
		}
		return kernel.NewNFTables(), PlaneNFTables, nil
	}
	return kernel.NewIPVS(), PlaneIPVS, nil
}

// planeErrors lists, as file:line messages, what in cfg the data plane
// cannot do (warnings aside).
func planeErrors(cfg *config.Config, plane string) []string {
	if plane != PlaneNFTables {
		return nil
	}
	var out []string
	for _, p := range cfg.NFTablesProblems() {
		if !p.Warning {
			out = append(out, fmt.Sprintf("%s:%d: %s", cfg.File, p.Line, p.Msg))
		}
	}
	return out
}
