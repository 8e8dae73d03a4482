// registry_test.go: resource syntax and the agent chosen for each resource.

package resources

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		args    []string
		wantErr string
	}{
		{in: "httpd", name: "httpd"},
		{in: "httpd::", name: "httpd"},
		{in: "Filesystem::/dev/sda1::/data1::ext2", name: "Filesystem", args: []string{"/dev/sda1", "/data1", "ext2"}},
		{in: "s::a::::b", name: "s", args: []string{"a", "b"}},
		{in: "IPaddr::10.0.0.1/24/eth0", name: "IPaddr", args: []string{"10.0.0.1/24/eth0"}},
		{in: "IPaddr2::10.0.0.1/24/eth0:0", name: "IPaddr2", args: []string{"10.0.0.1/24/eth0:0"}},
		{in: "10.0.0.1", name: "IPaddr", args: []string{"10.0.0.1"}},
		{in: "10.0.0.1/24/eth0/10.0.0.255", name: "IPaddr", args: []string{"10.0.0.1/24/eth0/10.0.0.255"}},
		{in: "10.0.0.1::x", name: "IPaddr", args: []string{"10.0.0.1", "x"}},
		{in: "1.2.3", name: "1.2.3"},
		{in: "v1.2.3.4", name: "v1.2.3.4"},
		{in: "ldirectord::ldirectord.cf", name: "ldirectord", args: []string{"ldirectord.cf"}},
		{in: "", wantErr: "empty resource"},
		{in: "::x", wantErr: "resource ::x: empty script name"},
	}
	for _, tt := range tests {
		name, args, err := Split(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.wantErr || name != tt.name || !cmp.Equal(args, tt.args, cmpopts.EquateEmpty()) {
			t.Errorf("Split(%q) = %q, %q, %q; want %q, %q, %q", tt.in, name, args, gotErr, tt.name, tt.args, tt.wantErr)
		}
	}
}

func TestNewScriptAndLdirectord(t *testing.T) {
	env := testEnv(t)
	a, err := New("Filesystem::/dev/sda1::/data", env)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := a.(*Script)
	if !ok {
		t.Fatalf("New(Filesystem...) = %T, want *Script", a)
	}
	if s.Name() != "Filesystem::/dev/sda1::/data" || s.script != "Filesystem" || !cmp.Equal(s.args, []string{"/dev/sda1", "/data"}) {
		t.Errorf("script agent %+v", s)
	}
	if err := s.Validate(); err == nil || err.Error() != "resource Filesystem::/dev/sda1::/data: Cannot locate resource script Filesystem" {
		t.Errorf("Validate: %v", err)
	}

	a, err = New("ldirectord::lvs.cf", env)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := a.(*Ldirectord)
	if !ok || l.Name() != "ldirectord::lvs.cf" || l.config != "lvs.cf" {
		t.Errorf("New(ldirectord::lvs.cf) = %#v", a)
	}
	if _, err := New("ldirectord::a::b", env); err == nil || !strings.HasPrefix(err.Error(), "resource ldirectord::a::b: ") {
		t.Errorf("ldirectord with two args: %v", err)
	}
}

// The IP and sync-daemon resources go to the built-in agents, named as
// written, never to a script.
func TestNewBuiltins(t *testing.T) {
	env := testEnv(t)
	for _, r := range []string{"10.0.0.1/24/eth0", "IPaddr::10.0.0.1", "IPaddr2::10.0.0.1/24", "LVSSyncDaemonSwap::master"} {
		a, err := New(r, env)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "resource "+r+": ") {
				t.Errorf("New(%q) error %q does not name the resource", r, err)
			}
			continue
		}
		switch a.(type) {
		case *Script, *Ldirectord:
			t.Errorf("New(%q) = %T, want a built-in", r, a)
		}
		if a.Name() != r {
			t.Errorf("New(%q).Name() = %q", r, a.Name())
		}
	}
}

// IPv6 addresses contain "::": the IP agents must get them back whole.
func TestNewIPv6(t *testing.T) {
	env := testEnv(t)
	for _, r := range []string{"IPaddr2::2001:db8::1/64", "IPaddr2::::2/128", "IPaddr::fd00::/64/eth0"} {
		a, err := New(r, env)
		if err != nil {
			t.Errorf("New(%q): %v", r, err)
			continue
		}
		if _, ok := a.(*Script); ok || a.Name() != r {
			t.Errorf("New(%q) = %T named %q", r, a, a.Name())
		}
	}
}

func TestGroup(t *testing.T) {
	env := testEnv(t)
	agents, err := Group([]string{"httpd", "ldirectord", "mysql::a"}, env)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range agents {
		names = append(names, a.Name())
	}
	if diff := cmp.Diff([]string{"httpd", "ldirectord", "mysql::a"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if _, err := Group([]string{"httpd", "::bad"}, env); err == nil || err.Error() != "resource ::bad: empty script name" {
		t.Errorf("Group with a bad resource: %v", err)
	}
}
