// daemons_test.go: memory accounting and the table, without root.

package daemons

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hasuite/hasuite/bench/result"
)

func TestField(t *testing.T) {
	text := "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"
	if v, err := field(text, "VmRSS"); err != nil || v != 1024 {
		t.Errorf("field VmRSS = %d, %v; want 1024", v, err)
	}
	if _, err := field(text, "Pss"); err == nil {
		t.Error("field Pss: no error for a missing line")
	}
}

func TestMemOfSelf(t *testing.T) {
	self := os.Getpid()
	m, err := MemOf([]int{self, 1 << 30}) // the second does not exist
	if err != nil {
		t.Fatal(err)
	}
	if m.Procs != 1 || m.RSS <= 0 || m.PSS <= 0 {
		t.Errorf("MemOf(self) = %+v", m)
	}
	if tree := Tree(self); tree[0] != self {
		t.Errorf("Tree(self) = %v", tree)
	}
	all, err := InPIDNamespace(self)
	if err != nil || !slices.Contains(all, self) {
		t.Errorf("InPIDNamespace(self) = %v, %v", all, err)
	}
}

func TestText(t *testing.T) {
	txt := Text([]result.Record{
		{Bench: "startup", Case: "pair", Impl: result.Classic, Program: "heartbeat 3.0.6", Metric: "vip-up", Unit: "s", Values: []float64{4, 2, 3}},
		{Bench: "startup", Case: "pair", Impl: result.Ours, Program: "heartbeatd", Metric: "vip-up", Unit: "s", Values: []float64{0.3}},
	})
	for _, want := range []string{"3.000 s (3)", "0.300 s (1)", "0.10", "heartbeatd (s): 0.3"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Text lacks %q:\n%s", want, txt)
		}
	}
}
