// external.go: checktype external: run checkcommand VIP|FWM VPORT RIP RPORT, exit 0 is up.

package check

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"

	"github.com/hasuite/hasuite/internal/proc"
)

// maxOutput is how much of a check program's output goes into its error.
const maxOutput = 512

// External runs CheckCommand (no shell, so no arguments in it) with the four
// classic arguments: the VIP (or fwmark), the virtual port, the RIP and the
// real's configured port, IPv6 addresses in brackets. Exit 0 is up. At the
// deadline its whole process group is killed.
type External struct{}

// Check runs the command.
func (External) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		if t.CheckCommand == "" {
			return fmt.Errorf("external: no checkcommand")
		}
		return runProgram(ctx, t.CheckCommand, externalArgs(t)...)
	})
}

// externalArgs are the arguments classic passes: VIP|FWM VPORT RIP RPORT.
func externalArgs(t Target) []string {
	vip := strconv.FormatUint(uint64(t.FWMark), 10)
	if t.FWMark == 0 {
		vip = hostName(t.Virtual.Addr())
	}
	return []string{vip, strconv.Itoa(int(t.Virtual.Port())), hostName(t.Real.Addr()), strconv.Itoa(int(t.Real.Port()))}
}

// runProgram runs name args in its own process group bound to ctx; a
// non-zero exit is an error carrying the tail of its output.
func runProgram(ctx context.Context, name string, args ...string) error {
	out, err := proc.OutputFile("check")
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := proc.Command(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	if err == nil {
		return nil
	}
	if ee, ok := err.(*exec.ExitError); ok && ctx.Err() == nil {
		if o := proc.ReadOutput(out, maxOutput); len(o) > 0 {
			return fmt.Errorf("%s: %v: %q", name, ee, trimEOL(string(o)))
		}
		return fmt.Errorf("%s: %w", name, ee)
	}
	return fmt.Errorf("running %s: %w", name, err)
}
