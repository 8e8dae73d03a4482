// Tests of cl_status's JSON output against the in-process API server.
package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJSON(t *testing.T) {
	labSock := serve(t, lab())
	deadSock := filepath.Join(t.TempDir(), "register")
	lab := []any{
		map[string]any{"name": "10.77.0.254", "type": "ping", "status": "ping"},
		map[string]any{"name": "nodeb", "type": "normal", "status": "dead"},
		map[string]any{"name": "nodea", "type": "normal", "status": "active"},
	}
	withLinks := func(nodes []any) []any {
		links := map[string][]any{
			"10.77.0.254": {map[string]any{"name": "10.77.0.254", "status": "up"}},
			"nodeb":       {map[string]any{"name": "hb1", "status": "up"}, map[string]any{"name": "hb0", "status": "dead"}},
			"nodea":       {map[string]any{"name": "hb0", "status": "up"}},
		}
		var out []any
		for _, n := range nodes {
			c := map[string]any{}
			for k, v := range n.(map[string]any) {
				c[k] = v
			}
			c["links"] = links[c["name"].(string)]
			out = append(out, c)
		}
		return out
	}
	version := "3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)"
	for _, tc := range []struct {
		socket string
		args   []string
		want   map[string]any
		rc     int
	}{
		{labSock, []string{"hbstatus", "--json"}, map[string]any{"running": true, "refused": false,
			"version": version, "managed_by": "haresources"}, 0},
		{labSock, []string{"-o", "json", "hbstatus", "-v"}, map[string]any{"running": true, "refused": false,
			"version": version, "managed_by": "haresources", "nodes": withLinks(lab)}, 0},
		{deadSock, []string{"hbstatus", "--json"}, map[string]any{"running": false, "refused": false,
			"reason": "hb_api_signon: Can't initiate connection to heartbeat"}, 1},
		{labSock, []string{"listnodes", "--json"}, map[string]any{"nodes": lab}, 0},
		{labSock, []string{"listnodes", "-p", "--json"}, map[string]any{"nodes": lab[:1]}, 0},
		{labSock, []string{"listnodes", "-n", "-v", "--json"}, map[string]any{"nodes": withLinks(lab[1:])}, 0},
		{labSock, []string{"nodestatus", "--json", "nodeb"}, map[string]any{"node": "nodeb", "status": "dead"}, 1},
		{labSock, []string{"nodestatus", "--json", "nodea"}, map[string]any{"node": "nodea", "status": "active"}, 0},
		{labSock, []string{"nodeweight", "--json", "nodea"}, map[string]any{"node": "nodea", "weight": 100.0}, 0},
		{labSock, []string{"nodesite", "--json", "nodea"}, map[string]any{"node": "nodea", "site": ""}, 0},
		{labSock, []string{"nodetype", "--json", "10.77.0.254"}, map[string]any{"node": "10.77.0.254", "type": "ping"}, 0},
		{labSock, []string{"listhblinks", "--json", "nodeb"}, map[string]any{"node": "nodeb",
			"links": withLinks(lab[1:2])[0].(map[string]any)["links"]}, 0},
		{labSock, []string{"hblinkstatus", "--json", "nodeb", "hb0"}, map[string]any{"node": "nodeb", "link": "hb0", "status": "dead"}, 1},
		{labSock, []string{"clientstatus", "--json", "nodea", "ipfail"}, map[string]any{"node": "nodea", "client": "ipfail", "status": "offline"}, 1},
		{labSock, []string{"rscstatus", "--json"}, map[string]any{"resources": "local"}, 0},
		{labSock, []string{"hbparameter", "--json", "-p", "deadping"}, map[string]any{"parameter": "deadping", "value": "8000ms"}, 0},
	} {
		r := run(t, tc.socket, 2*time.Second, tc.args...)
		var got map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
			t.Errorf("%q: stdout %q is not JSON: %v (stderr %q)", tc.args, r.Stdout, err, r.Stderr)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" || r.RC != tc.rc {
			t.Errorf("%q: rc %d (want %d), JSON diff (-want +got):\n%s", tc.args, r.RC, tc.rc, d)
		}
	}
}

// The JSON form leaves errors and their exit codes as they are.
func TestJSONErrors(t *testing.T) {
	labSock := serve(t, lab())
	text := run(t, labSock, 2*time.Second, "nodestatus", "nosuchnode")
	js := run(t, labSock, 2*time.Second, "nodestatus", "--json", "nosuchnode")
	if text.RC != exitParam || js != text {
		t.Errorf("unknown node: text %+v, json %+v", text, js)
	}
	if r := run(t, labSock, 2*time.Second, "nodestatus", "-o", "xml", "nodea"); r.RC != exitParam || r.Stdout != "" {
		t.Errorf("-o xml: %+v, want exit %d and no output", r, exitParam)
	}
}
