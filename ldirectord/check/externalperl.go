// externalperl.go: checktype external-perl: the checkcommand file run by perl, exit 0 is up.

package check

import (
	"context"
	"fmt"
	"os/exec"
)

// ExternalPerl runs the Perl file CheckCommand with perl and the external
// check's four arguments in @ARGV. Exit 0 (and no die) is up. Classic
// compiled the file into the daemon; here it is a child process, killed
// with its group at the deadline.
type ExternalPerl struct{}

// Check runs the script.
func (ExternalPerl) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error {
		if t.CheckCommand == "" {
			return fmt.Errorf("external-perl: no checkcommand")
		}
		perl, err := exec.LookPath("perl")
		if err != nil {
			return fmt.Errorf("external-perl %s: perl is not installed: %w", t.CheckCommand, err)
		}
		return runProgram(ctx, perl, append([]string{t.CheckCommand}, externalArgs(t)...)...)
	})
}
