// script_deadline_test.go: a caller's deadline (heartbeatd's executor bound)
// is reported as the timeout it is.

package resources

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/proc/proctest"
)

func TestScriptCallerDeadlineIsATimeout(t *testing.T) {
	for _, own := range []time.Duration{0, 300 * time.Millisecond} {
		env := testEnv(t)
		env.ScriptTimeout = own
		pidFile := filepath.Join(t.TempDir(), "pid")
		writeScript(t, filepath.Join(env.InitDir, "hang"), "sleep 60 &\necho $! > "+pidFile+"\nsleep 60\n")
		// The caller's deadline comes first (or together, as in heartbeatd).
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := NewScript("hang", "hang", nil, env).Start(ctx)
		cancel()
		var re *RunError
		if !errors.As(err, &re) || !re.TimedOut || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("own timeout %v: error %v, want a timeout", own, err)
		}
		// Without a bound of its own the script reports the time it ran.
		if want := regexp.MustCompile(`timed out after (300ms|[3-9]\d\d(\.\d+)?ms|[1-9][.\d]*s), process group killed`); !want.MatchString(err.Error()) ||
			(own > 0 && !strings.Contains(err.Error(), "after 300ms")) {
			t.Errorf("own timeout %v: error %q does not say it timed out after 300ms or more", own, err)
		}
		proctest.WaitDead(t, proctest.ReadPid(t, pidFile))
	}
}
