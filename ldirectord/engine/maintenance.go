// maintenance.go: maintenancedir lookups, run inside the job's checker.

package engine

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hasuite/hasuite/ldirectord/check"
)

// maintenance wraps a checker: a real server in maintenance is not checked
// and reports ErrMaintenance.
type maintenance struct {
	dir string
	in  func(ctx context.Context, dir string, t check.Target) bool
	check.Checker
}

// Check reports ErrMaintenance or runs the wrapped check.
func (m maintenance) Check(ctx context.Context, t check.Target) check.Result {
	if m.in(ctx, m.dir, t) {
		return check.Result{Err: ErrMaintenance}
	}
	return m.Checker.Check(ctx, t)
}

// MaintenanceNames are the file names that put real server t in
// maintenance, in classic's order (spec §3): RIP:RPORT, RIP, then the same
// with each reverse-DNS name and its short form. IPv6 addresses are in
// brackets. RPORT is the real's port, else the virtual's.
func MaintenanceNames(t check.Target, rdns []string) []string {
	port := t.Real.Port()
	if port == 0 {
		port = t.Virtual.Port()
	}
	ip := t.Real.Addr().Unmap().String()
	if t.Real.Addr().Unmap().Is6() {
		ip = "[" + ip + "]"
	}
	hosts := []string{ip}
	for _, n := range rdns {
		n = strings.TrimSuffix(n, ".")
		if n == "" {
			continue
		}
		hosts = append(hosts, n)
		if short, _, ok := strings.Cut(n, "."); ok && short != "" {
			hosts = append(hosts, short)
		}
	}
	var out []string
	for _, h := range hosts {
		out = append(out, h+":"+strconv.Itoa(int(port)), h)
	}
	return out
}

// FileMaintenance is the default Options.InMaintenance: whether dir holds
// a file named by MaintenanceNames, with reverse DNS through the system
// resolver (failures ignored).
func FileMaintenance(ctx context.Context, dir string, t check.Target) bool {
	rdns, _ := net.DefaultResolver.LookupAddr(ctx, t.Real.Addr().Unmap().String())
	return inDir(dir, MaintenanceNames(t, rdns))
}

func inDir(dir string, names []string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}
