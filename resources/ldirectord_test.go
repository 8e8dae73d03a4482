// ldirectord_test.go: the ldirectord agent against fake ldirectord programs.

package resources

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeLdirectord writes an LSB-style fake ldirectord that logs its
// arguments to dir/calls and keeps its state in dir/up. stopDelay makes
// "stop" take effect in the background after that many seconds, like the
// Perl ldirectord's SIGTERM-and-return.
func fakeLdirectord(t *testing.T, dir, stopDelay string) string {
	t.Helper()
	return writeScript(t, filepath.Join(dir, "ldirectord"), `D=`+dir+`
echo "$*" >> $D/calls
for a; do action=$a; done
case $action in
start) touch $D/up;;
stop) if [ -n "`+stopDelay+`" ]; then (sleep `+stopDelay+`; rm -f $D/up) >/dev/null 2>&1 & else rm -f $D/up; fi;;
status) if [ -f $D/up ]; then echo "ldirectord for x is running with pid: 1" >&2; exit 0; fi
        echo "ldirectord is stopped for x"; exit 3;;
*) exit 255;;
esac
`)
}

func readCalls(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestLdirectordLifecycle(t *testing.T) {
	for _, tt := range []struct {
		name      string
		args      []string
		stopDelay string
	}{
		{"default config", nil, ""},
		{"config file, slow stop", []string{"lvs.cf"}, "0.3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := Env{Ldirectord: fakeLdirectord(t, dir, tt.stopDelay)}
			l, err := NewLdirectord(tt.args, env)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			step := func(what string, want bool) {
				t.Helper()
				up, err := l.Running(ctx)
				if err != nil || up != want {
					t.Fatalf("%s: Running = %t, %v; want %t", what, up, err, want)
				}
			}
			step("before start", false)
			if err := l.Start(ctx); err != nil {
				t.Fatal(err)
			}
			step("after start", true)
			if err := l.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			// Stop returns only once status says stopped.
			if _, err := os.Stat(filepath.Join(dir, "up")); !os.IsNotExist(err) {
				t.Errorf("Stop returned while ldirectord was still up")
			}
			prefix := strings.Join(tt.args, " ")
			if prefix != "" {
				prefix += " "
			}
			calls := readCalls(t, dir)
			want := []string{prefix + "status", prefix + "start", prefix + "status", prefix + "stop"}
			if len(calls) < len(want)+1 {
				t.Fatalf("calls %q, want at least %q then status", calls, want)
			}
			if diff := cmp.Diff(want, calls[:len(want)]); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			for _, c := range calls[len(want):] {
				if c != prefix+"status" {
					t.Errorf("after stop: call %q, want only status polls", c)
				}
			}
		})
	}
}

func TestLdirectordStatusCodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, prog string
		want       bool
		wantErr    string
	}{
		{"lsb running", "#!/bin/sh\nexit 0\n", true, ""},
		{"lsb stale pid", "#!/bin/sh\nexit 1\n", false, ""},
		{"lsb stopped", "#!/bin/sh\necho 'I am running'\nexit 3\n", false, ""},
		{"ours, odd code", "#!/bin/sh\necho bad config >&2\nexit 2\n", false,
			"resource ldirectord::x.cf: %s x.cf status: exit code 2: bad config"},
		{"perl, config error", "#!/usr/bin/perl -w\nprint STDERR \"Error reading file\\n\"; exit 2;\n", false, ""},
		{"perl, odd code, output says running", "#!/usr/bin/perl\nprint \"Running OK\\n\"; exit 4;\n", true, ""},
	}
	for i, tt := range tests {
		p := filepath.Join(dir, "ld"+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(tt.prog), 0o755); err != nil {
			t.Fatal(err)
		}
		l, err := NewLdirectord([]string{"x.cf"}, Env{Ldirectord: p})
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.Running(context.Background())
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		wantErr := tt.wantErr
		if wantErr != "" {
			wantErr = strings.Replace(wantErr, "%s", p, 1)
		}
		if got != tt.want || gotErr != wantErr {
			t.Errorf("%s: Running = %t, %q; want %t, %q", tt.name, got, gotErr, tt.want, wantErr)
		}
	}
}

func TestLdirectordStartFailure(t *testing.T) {
	p := writeScript(t, filepath.Join(t.TempDir(), "ldirectord"), "echo 'Error [1] reading file /etc/ha.d/x.cf at line 3: bad' >&2\nexit 2\n")
	l, err := NewLdirectord([]string{"x.cf"}, Env{Ldirectord: p})
	if err != nil {
		t.Fatal(err)
	}
	err = l.Start(context.Background())
	var re *RunError
	if !errors.As(err, &re) || re.Code != 2 {
		t.Fatalf("Start error %v, want a RunError with code 2", err)
	}
	want := "resource ldirectord::x.cf: " + p + " x.cf start: exit code 2: Error [1] reading file /etc/ha.d/x.cf at line 3: bad"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestLdirectordArgs(t *testing.T) {
	if _, err := NewLdirectord([]string{"a.cf", "b.cf"}, Env{}); err == nil ||
		err.Error() != "resource ldirectord::a.cf::b.cf: ldirectord takes at most one argument, the config file; got 2" {
		t.Errorf("two arguments: error %v", err)
	}
	l, err := NewLdirectord(nil, Env{})
	if err != nil || l.Name() != "ldirectord" {
		t.Errorf("no arguments: %v, %v", l, err)
	}
}

func TestFindLdirectord(t *testing.T) {
	withExe := t.TempDir()
	writeScript(t, filepath.Join(withExe, "ldirectord"), "")
	without := t.TempDir()
	inPath := func(string) (string, error) { return "/opt/bin/ldirectord", nil }
	notInPath := func(string) (string, error) { return "", errors.New("not found") }
	tests := []struct {
		exeDir string
		look   func(string) (string, error)
		want   string
	}{
		{withExe, inPath, filepath.Join(withExe, "ldirectord")},
		{without, inPath, "/opt/bin/ldirectord"},
		{"", inPath, "/opt/bin/ldirectord"},
		{without, notInPath, "/usr/sbin/ldirectord"},
	}
	for _, tt := range tests {
		if got := findLdirectord(tt.exeDir, tt.look); got != tt.want {
			t.Errorf("findLdirectord(%q) = %q, want %q", tt.exeDir, got, tt.want)
		}
	}
	l, _ := NewLdirectord(nil, Env{Ldirectord: "/x/ld"})
	if got := l.Binary(); got != "/x/ld" {
		t.Errorf("Binary with Env.Ldirectord = %q", got)
	}
	if err := l.Validate(); err == nil || err.Error() != "resource ldirectord: /x/ld is not an executable file" {
		t.Errorf("Validate: %v", err)
	}
}
