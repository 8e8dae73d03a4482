// env_test.go: the classic child environment.

package respawn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVarsList(t *testing.T) {
	tests := []struct {
		name string
		v    Vars
		want []string
	}{
		{"defaults", Vars{}, []string{
			"HA_DIR=/etc/ha.d", "HA_FUNCS=/etc/ha.d/shellfuncs", "HA_DATEFMT=%Y/%m/%d_%T\t", "OCF_ROOT=/usr/lib/ocf",
		}},
		{"everything", Vars{
			Node: "nodea", ConfDir: "/tmp/ha.d", FIFO: "/tmp/state/fifo", LogFile: "/var/log/ha-log",
			DebugFile: "/var/log/ha-debug", LogFacility: "local0", Debug: 2, Env: []string{"HA_FOO=bar", "HA_EMPTY="},
		}, []string{
			"HA_DIR=/tmp/ha.d", "HA_FUNCS=/tmp/ha.d/shellfuncs", "HA_DATEFMT=%Y/%m/%d_%T\t", "OCF_ROOT=/usr/lib/ocf",
			"HA_CURHOST=nodea", "HA_FIFO=/tmp/state/fifo", "HA_LOGFILE=/var/log/ha-log", "HA_DEBUGLOG=/var/log/ha-debug",
			"HA_LOGFACILITY=local0", "HA_debug=2", "HA_FOO=bar", "HA_EMPTY=",
		}},
		{"facility none is unset", Vars{LogFacility: "none"}, []string{
			"HA_DIR=/etc/ha.d", "HA_FUNCS=/etc/ha.d/shellfuncs", "HA_DATEFMT=%Y/%m/%d_%T\t", "OCF_ROOT=/usr/lib/ocf",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.v.List()); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	base := []string{"PATH=/bin", "HA_DIR=/old", "HOME=/root"}
	vars := []string{"HA_DIR=/etc/ha.d", "HA_X=1", "HA_X=2", "FLAG"}
	want := []string{"PATH=/bin", "HA_DIR=/etc/ha.d", "HOME=/root", "HA_X=2", "FLAG"}
	if diff := cmp.Diff(want, Environ(base, vars)); diff != "" {
		t.Errorf("Environ (-want +got):\n%s", diff)
	}
	if base[1] != "HA_DIR=/old" {
		t.Errorf("Environ changed base: %q", base)
	}
}
