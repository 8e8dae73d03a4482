// table_test.go: settings parsing and table rendering.

package outage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/bench/result"
)

func TestParseSettings(t *testing.T) {
	got, err := ParseSettings("2s/10s, 100ms/500ms,20ms/100ms")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(DefaultSettings, got); d != "" {
		t.Errorf("ParseSettings (-want +got):\n%s", d)
	}
	for _, bad := range []struct{ in, err string }{
		{"2s", `setting "2s": want keepalive/deadtime`},
		{"2/10s", `setting "2/10s": keepalive: time: missing unit in duration "2"`},
		{"1s/x", `setting "1s/x": deadtime: time: invalid duration "x"`},
		{"1s/2s", `setting "1s/2s": deadtime must be greater than twice keepalive`},
	} {
		_, err := ParseSettings(bad.in)
		if err == nil || err.Error() != bad.err {
			t.Errorf("ParseSettings(%q) error = %v, want %s", bad.in, err, bad.err)
		}
	}
}

func TestTables(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	rows := []Row{
		{DefaultSettings[0], map[string][]time.Duration{Classic: ms(9400, 9300, 9500), Ours: ms(10020, 10010, 10025)}},
		{DefaultSettings[1], map[string][]time.Duration{Classic: ms(960, 1000, 950), Ours: ms(540, 560, 600)}},
		{DefaultSettings[2], map[string][]time.Duration{Classic: ms(700)}},
	}
	wantMD := `| keepalive/deadtime | heartbeat 3.0.6 median (runs) | heartbeatd median (runs) | ratio (heartbeatd/3.0.6) | target (deadtime+30ms) | met? |
| --- | --- | --- | --- | --- | --- |
| 2s/10s | 9.400 s (3) | 10.020 s (3) | 1.07 | 10.030 s | yes |
| 100ms/500ms | 0.960 s (3) | 0.560 s (3) | 0.58 | 0.530 s | no |
| 20ms/100ms | 0.700 s (1) | - | - | 0.130 s | pending |

Every run (seconds, in order):

- 2s/10s, heartbeat 3.0.6: 9.400, 9.300, 9.500
- 2s/10s, heartbeatd: 10.020, 10.010, 10.025
- 100ms/500ms, heartbeat 3.0.6: 0.960, 1.000, 0.950
- 100ms/500ms, heartbeatd: 0.540, 0.560, 0.600
- 20ms/100ms, heartbeat 3.0.6: 0.700
`
	if d := cmp.Diff(wantMD, Markdown(rows)); d != "" {
		t.Errorf("Markdown (-want +got):\n%s", d)
	}
	wantText := `keepalive/deadtime  heartbeat 3.0.6 median (runs)  heartbeatd median (runs)  ratio (heartbeatd/3.0.6)  target (deadtime+30ms)  met?
2s/10s              9.400 s (3)                    10.020 s (3)              1.07                      10.030 s                yes
100ms/500ms         0.960 s (3)                    0.560 s (3)               0.58                      0.530 s                 no
20ms/100ms          0.700 s (1)                    -                         -                         0.130 s                 pending
`
	if got := Text(rows); len(got) < len(wantText) || got[:len(wantText)] != wantText {
		t.Errorf("Text:\n%s\nwant it to start with:\n%s", got, wantText)
	}
}

func TestRecords(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	rows := []Row{{Setting: DefaultSettings[1], Outages: map[string][]time.Duration{
		Ours: {ms(450), ms(420)}, Classic: {ms(980)},
	}}}
	got := Records(rows)
	want := []result.Record{
		{Bench: "outage", Case: "100ms/500ms", Impl: result.Classic, Program: Classic, Metric: "outage", Unit: "s", Values: []float64{0.98}, Target: 0.53},
		{Bench: "outage", Case: "100ms/500ms", Impl: result.Ours, Program: Ours, Metric: "outage", Unit: "s", Values: []float64{0.45, 0.42}, Target: 0.53},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Records (-want +got):\n%s", d)
	}
}
