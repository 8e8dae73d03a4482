// Tests of status --json: pid state, configured services, broken configs.
package daemon

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCLIStatusJSON(t *testing.T) {
	c := newCLI(t)
	cfg := c.write(filepath.Join(c.etc, "web.cf"), goodCfg+"virtual=10.255.0.2:443\n    real=127.0.0.2:8443 gate 5\n    real=127.0.0.3 gate\n    scheduler=wlc\n    service=https\n    checktype=negotiate\n")
	broken := c.write(filepath.Join(c.etc, "broken.cf"), "bogus=1\n")
	pidFile := filepath.Join(c.run, "ldirectord.web.cf.pid")
	status := func(args ...string) (int, map[string]any) {
		t.Helper()
		code, stdout, stderr := c.main(args...)
		var got map[string]any
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%q: stdout %q not JSON: %v (stderr %q)", args, stdout, err, stderr)
		}
		return code, got
	}
	virtuals := []any{
		map[string]any{"id": "tcp:10.255.0.1:80", "scheduler": "wrr", "service": "http", "checktype": "off", "quiescent": false,
			"reals": []any{map[string]any{"address": "127.0.0.1:1", "method": "masq", "weight": 1.0}}},
		map[string]any{"id": "tcp:10.255.0.2:443", "scheduler": "wlc", "service": "https", "checktype": "negotiate", "quiescent": false,
			"reals": []any{map[string]any{"address": "127.0.0.2:8443", "method": "gate", "weight": 5.0},
				map[string]any{"address": "127.0.0.3", "method": "gate", "weight": 1.0}}},
	}
	code, got := status("--json", "web.cf", "status")
	want := map[string]any{"config": cfg, "config_name": "web.cf", "pid_file": pidFile, "state": "stopped",
		"running": false, "configured_virtuals": virtuals}
	if d := cmp.Diff(want, got); code != exitNotRunning || d != "" {
		t.Errorf("stopped: exit %d, diff (-want +got):\n%s", code, d)
	}

	s := sleeper(t)
	c.write(pidFile, strconv.Itoa(s.Process.Pid)+"\n")
	code, got = status("web.cf", "status", "-o", "json")
	want["state"], want["running"], want["pid"] = "running", true, float64(s.Process.Pid)
	if d := cmp.Diff(want, got); code != exitOK || d != "" {
		t.Errorf("running: exit %d, diff (-want +got):\n%s", code, d)
	}
	s.Process.Kill()
	s.Wait()
	code, got = status("--json", "web.cf", "status")
	want["state"], want["running"] = "stale", false
	if d := cmp.Diff(want, got); code != exitFail || d != "" {
		t.Errorf("stale: exit %d, diff (-want +got):\n%s", code, d)
	}

	// A broken or missing config still reports the pid state.
	code, got = status("--json", "broken.cf", "status")
	if code != exitNotRunning || got["state"] != "stopped" || got["config"] != broken || got["configured_virtuals"] != nil {
		t.Errorf("broken config: exit %d, %v", code, got)
	}
	if msg, _ := got["config_error"].(string); msg == "" || !cmp.Equal(msg[:len(broken)], broken) {
		t.Errorf("broken config: config_error %q, want one naming %s", msg, broken)
	}
	if code, got = status("--json", "none.cf", "status"); code != exitNotRunning || got["config_error"] != "config file not found" {
		t.Errorf("missing config: exit %d, %v", code, got)
	}

	// --json goes with status only.
	if code, _, stderr := c.main("--json", "web.cf", "start"); code != exitUsage || len(c.served) != 0 || stderr == "" {
		t.Errorf("--json start: exit %d, served %v", code, c.served)
	}
}
