// rscgroups_test.go: cl_status rscgroups in text, -m and JSON, and with
// classic membership.

package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/api"
)

func TestRscGroups(t *testing.T) {
	st := lab()
	st.groups = []api.GroupInfo{
		{Group: "IPaddr2::10.0.0.1/24/hb0", Preferred: "nodea", Holders: []string{"nodea:held"}, Placed: "nodea"},
		{Group: "IPaddr2::10.0.0.2/24/hb0 httpd", Preferred: "nodeb", Holders: []string{"nodea:stopping", "nodec:starting"}, Placed: "nodec"},
		{Group: "IPaddr2::10.0.0.3/24/hb0", Preferred: "nodec"},
	}
	sock := serve(t, st)
	for _, tc := range []struct {
		args []string
		want result
	}{
		{[]string{"rscgroups"}, result{"IPaddr2::10.0.0.1/24/hb0\tnodea\tnodea:held\tnodea\n" +
			"IPaddr2::10.0.0.2/24/hb0 httpd\tnodeb\tnodea:stopping,nodec:starting\tnodec\n" +
			"IPaddr2::10.0.0.3/24/hb0\tnodec\tnone\tnone\n", "", 0}},
		{[]string{"rscgroups", "-m"}, result{"IPaddr2::10.0.0.1/24/hb0: preferred nodea, held by nodea:held, placed on nodea\n" +
			"IPaddr2::10.0.0.2/24/hb0 httpd: preferred nodeb, held by nodea:stopping,nodec:starting, placed on nodec\n" +
			"IPaddr2::10.0.0.3/24/hb0: preferred nodec, held by none, placed on none\n", "", 0}},
	} {
		if d := cmp.Diff(tc.want, run(t, sock, 2*time.Second, tc.args...)); d != "" {
			t.Errorf("%q (-want +got):\n%s", tc.args, d)
		}
	}
	r := run(t, sock, 2*time.Second, "rscgroups", "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || r.RC != 0 {
		t.Fatalf("--json: rc %d, %q: %v", r.RC, r.Stdout, err)
	}
	want := map[string]any{"groups": []any{
		map[string]any{"group": "IPaddr2::10.0.0.1/24/hb0", "preferred": "nodea", "holders": []any{"nodea:held"}, "placed": "nodea"},
		map[string]any{"group": "IPaddr2::10.0.0.2/24/hb0 httpd", "preferred": "nodeb", "holders": []any{"nodea:stopping", "nodec:starting"}, "placed": "nodec"},
		map[string]any{"group": "IPaddr2::10.0.0.3/24/hb0", "preferred": "nodec", "holders": []any{}, "placed": ""},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("--json (-want +got):\n%s", d)
	}

	// Classic membership: exit 1 with the daemon's reason.
	r = run(t, serve(t, lab()), 2*time.Second, "rscgroups")
	if r.RC != exitFail || r.Stdout != "" || r.Stderr == "" {
		t.Errorf("classic: %+v, want exit 1 and a reason on stderr", r)
	}
}
