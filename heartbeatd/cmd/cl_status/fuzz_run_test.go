// fuzz_run_test.go: fuzz target for whole cl_status command lines against a daemon.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/internal/outfmt"
)

// FuzzRun runs a command line (words split at NULs) against the lab
// daemon: it ends with one of the documented exit codes (not a time-out:
// the daemon answers at once), and JSON output that succeeds is one valid
// JSON document.
func FuzzRun(f *testing.F) {
	for _, s := range []string{"hbstatus", "listnodes\x00-p", "nodestatus\x00nodeb", "nodeweight\x00nodea", "nodetype\x0010.77.0.254",
		"listhblinks\x00nodeb", "hblinkstatus\x00nodeb\x00hb1", "clientstatus\x00nodea\x00ipfail\x0010", "rscstatus\x00-m",
		"hbparameter\x00-p\x00deadping", "-o\x00json\x00listnodes", "--json\x00hbstatus\x00-v", "nodestatus\x00-o\x00json\x00nodeb", "nodesite", "bogus", "-h", "-o\x00xml\x00hbstatus"} {
		f.Add(s)
	}
	socket := serve(f, lab())
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		var out, errw bytes.Buffer
		rc := Run(context.Background(), args, &out, &errw, Options{Socket: socket, Timeout: 20 * time.Second, PID: 4242, Host: "nodea",
			Now: func() time.Time { return time.Date(2026, 11, 22, 0, 35, 49, 0, time.UTC) }})
		if rc != exitOK && rc != exitFail && rc != exitParam && rc != exitUnknown {
			t.Fatalf("%q: exit %d\nstdout %q\nstderr %q", args, rc, out.String(), errw.String())
		}
		// With a sub-command, --json output is JSON; alone (or with -h) it
		// asks for the help screen, which stays text as classic's.
		if rest, jsonOut, ok := outfmt.JSON(args); ok && jsonOut && rc == exitOK && !isHelp(rest) && !json.Valid(out.Bytes()) {
			t.Fatalf("%q: invalid JSON %q", args, out.String())
		}
	})
}

// isHelp reports whether args ask cl_status for its help screen.
func isHelp(args []string) bool { return len(args) == 0 || len(args) == 1 && args[0] == "-h" }
