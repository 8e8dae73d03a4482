// external_test.go: external and external-perl checks running real scripts.

package check

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/proc/proctest"
)

func writeScript(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExternalArgs(t *testing.T) {
	for _, tt := range []struct {
		t    Target
		want string
	}{
		{Target{Virtual: netip.MustParseAddrPort("192.0.2.1:80"), Real: netip.MustParseAddrPort("10.0.0.2:8080")}, "192.0.2.1 80 10.0.0.2 8080"},
		{Target{FWMark: 7, Real: netip.MustParseAddrPort("10.0.0.2:0")}, "7 0 10.0.0.2 0"},
		{Target{Virtual: netip.MustParseAddrPort("[2001:db8::1]:443"), Real: netip.MustParseAddrPort("[2001:db8::2]:443")}, "[2001:db8::1] 443 [2001:db8::2] 443"},
	} {
		if got := strings.Join(externalArgs(tt.t), " "); got != tt.want {
			t.Errorf("externalArgs(%+v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestExternal(t *testing.T) {
	out := filepath.Join(t.TempDir(), "args")
	ok := writeScript(t, "ok", "#!/bin/sh\necho \"$#:$*\" > "+out+"\nexit 0\n")
	fail := writeScript(t, "fail", "#!/bin/sh\necho backend sad >&2\nexit 3\n")
	tgt := Target{Virtual: netip.MustParseAddrPort("192.0.2.1:80"), Real: netip.MustParseAddrPort("127.0.0.1:8080"), CheckPort: 9}
	ctx := context.Background()

	tgt.CheckCommand = ok
	if r := (External{}).Check(ctx, tgt); !r.OK || r.Err != nil {
		t.Errorf("ok script: %+v", r)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "4:192.0.2.1 80 127.0.0.1 8080\n" {
		t.Errorf("script got %q (%v), want 4 classic arguments", b, err)
	}
	tgt.CheckCommand = fail
	if r := (External{}).Check(ctx, tgt); r.OK || !strings.HasSuffix(errString(r.Err), `: exit status 3: "backend sad"`) {
		t.Errorf("failing script: %+v", r)
	}
	tgt.CheckCommand = ok + " arg" // no shell: the whole string is the path
	if r := (External{}).Check(ctx, tgt); r.OK || !errors.Is(r.Err, os.ErrNotExist) {
		t.Errorf("path with an argument: %+v, want not found", r)
	}
	tgt.CheckCommand = ""
	if r := (External{}).Check(ctx, tgt); r.OK || errString(r.Err) != "external: no checkcommand" {
		t.Errorf("no command: %+v", r)
	}
}

// A hung check program and what it left in the background are killed at
// the deadline.
func TestExternalDeadline(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	hang := writeScript(t, "hang", "#!/bin/sh\nsleep 60 &\necho $! > "+pidFile+"\nsleep 60\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := External{}.Check(ctx, Target{CheckCommand: hang, Real: netip.MustParseAddrPort("127.0.0.1:80")})
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Check took %s", el)
	}
	if r.OK || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("Check = %+v, want a deadline error", r)
	}
	proctest.WaitDead(t, proctest.ReadPid(t, pidFile))
}

func TestExternalPerl(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("perl not installed")
	}
	tgt := Target{FWMark: 3, Real: netip.MustParseAddrPort("127.0.0.1:25")}
	for _, tt := range []struct {
		name, script string
		ok           bool
		errHas       string
	}{
		{"args and exit 0", `exit(join(" ", @ARGV) eq "3 0 127.0.0.1 25" ? 0 : 1);`, true, ""},
		{"falls off the end", `my $x = 1;`, true, ""},
		{"exit 1", `exit 1;`, false, "exit status 1"},
		{"die", `die "backend down\n";`, false, `exit status 255: "backend down"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tgt.CheckCommand = writeScript(t, "check.pl", tt.script)
			r := ExternalPerl{}.Check(context.Background(), tgt)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
		})
	}
}

func TestExternalPerlNoPerl(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := ExternalPerl{}.Check(context.Background(), Target{CheckCommand: "/x.pl"})
	if r.OK || !strings.HasPrefix(errString(r.Err), "external-perl /x.pl: perl is not installed") {
		t.Errorf("Check = %+v, want perl not installed", r)
	}
}
