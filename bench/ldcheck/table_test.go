// table_test.go: op and request logs, statistics, /proc parsing, tables.

package ldcheck

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseOpsAndLive(t *testing.T) {
	log := `100 add-service tcp:10.1.0.1:80 - -1
200 list - - -1
300 add tcp:10.1.0.1:80 127.1.0.1:80 1
400 add tcp:10.1.0.1:80 127.1.0.2:80 1
500 edit tcp:10.1.0.1:80 127.1.0.2:80 0
600 del tcp:10.1.0.1:80 127.1.0.1:80 0
700 add tcp:10.1.0.1:80 127.1.0.1:80 2
800 add tcp:10.1.0.1:80 127.1.0.3:80`
	ops := ParseOps([]byte(log))
	if len(ops) != 7 {
		t.Fatalf("%d ops, want 7 (the partial last line skipped)", len(ops))
	}
	a1, a2 := netip.MustParseAddr("127.1.0.1"), netip.MustParseAddr("127.1.0.2")
	if !ops[2].Adds(a1) || ops[2].Adds(a2) || !ops[4].Removes(a2) || !ops[5].Removes(a1) || ops[3].Removes(a2) {
		t.Errorf("Adds/Removes wrong on %+v", ops)
	}
	for _, tt := range []struct {
		at   int64
		want int
	}{{250, 0}, {450, 2}, {550, 1}, {650, 0}, {750, 1}} {
		if got := len(Live(ops, time.Unix(0, tt.at))); got != tt.want {
			t.Errorf("Live at %d: %d reals, want %d", tt.at, got, tt.want)
		}
	}
	if c, l := Changes(ops); c != 6 || l != 1 {
		t.Errorf("Changes: %d changes, %d listings; want 6, 1", c, l)
	}
	if n := Touched(ops); n != 2 {
		t.Errorf("Touched: %d reals, want 2", n)
	}
}

func TestParseScales(t *testing.T) {
	got, err := ParseScales("1000/100, 10000/1000")
	if err != nil || len(got) != 2 || got[1] != (Scale{10000, 1000}) {
		t.Errorf("ParseScales: %v, %v", got, err)
	}
	for _, bad := range []string{"100", "10/0", "10/20", "70000/10", "a/b"} {
		if _, err := ParseScales(bad); err == nil {
			t.Errorf("ParseScales(%q) accepted", bad)
		}
	}
}

func TestMeasure(t *testing.T) {
	var dump []byte
	add := func(ms int64, addr string) {
		dump = binary.LittleEndian.AppendUint64(dump, uint64(ms*int64(time.Millisecond)))
		a := netip.MustParseAddr(addr).As4()
		dump = append(dump, a[:]...)
	}
	add(0, "127.1.0.1") // before the window
	add(1000, "127.1.0.1")
	add(2100, "127.1.0.1")
	add(3000, "127.1.0.1")
	add(1500, "127.1.0.2") // once: no gap
	add(1200, "127.1.0.3")
	add(2400, "127.1.0.3")
	add(9000, "127.1.0.3") // after the window
	reqs := ParseRequests(dump)
	if len(reqs) != 8 || reqs[1].Addr != netip.MustParseAddr("127.1.0.1") {
		t.Fatalf("ParseRequests: %+v", reqs)
	}
	iv := Measure(reqs, time.Unix(0, int64(500*time.Millisecond)), time.Unix(5, 0))
	if iv.Requests != 6 || iv.Checked != 3 || iv.Repeated != 2 || len(iv.Gaps) != 3 {
		t.Fatalf("Measure: %+v", iv)
	}
	if m := Median(iv.Gaps); m != 1100*time.Millisecond {
		t.Errorf("median gap %v, want 1.1s (of 0.9, 1.1, 1.2)", m)
	}
	if p := Quantile(iv.Gaps, 0.95); p != 1200*time.Millisecond {
		t.Errorf("p95 %v, want 1.2s", p)
	}
	if Quantile(nil, 0.5) != 0 {
		t.Error("Quantile of nothing is not 0")
	}
}

func TestProcParsing(t *testing.T) {
	stat := "1234 (my prog) S 1 1234 1234 0 -1 4194560 500 0 0 0 150 50 7 3 20 0 8 0 100 1000 200"
	if d, err := parseStatCPU(stat); err != nil || d != 2100*time.Millisecond {
		t.Errorf("parseStatCPU: %v, %v; want 2.1s (150+50+7+3 ticks)", d, err)
	}
	status := "Name:\tperl\nVmHWM:\t  40960 kB\nVmRSS:\t  20480 kB\n"
	if rss, hwm, err := parseStatusMem(status); err != nil || rss != 20480 || hwm != 40960 {
		t.Errorf("parseStatusMem: %d %d %v", rss, hwm, err)
	}
	if _, _, err := parseStatusMem("Name:\tx\n"); err == nil {
		t.Error("parseStatusMem accepted a status without memory lines")
	}
}

func TestMarkdown(t *testing.T) {
	scale := []ScaleRow{{Impl: Ours, Reals: 10, Virtuals: 2, Window: 10 * time.Second, UpAtWindow: 10, UpAtEnd: 10,
		Intervals: Intervals{Requests: 300, Checked: 10, Repeated: 10, Gaps: []time.Duration{time.Second}},
		CPUs:      []float64{0.3, 0.25, 0.2}, RSSKiB: 2048, HWMKiB: 4096}}
	detect := []DetectRow{
		{Impl: Perl, BlackHoled: 500, Target: 2 * time.Second, Missed: 90 * time.Second},
		{Impl: Ours, BlackHoled: 500, Target: 2 * time.Second, Latencies: []time.Duration{time.Second, 3 * time.Second, 500 * time.Millisecond}},
	}
	md := Markdown(scale, detect)
	for _, want := range []string{
		"| hasuite ldirectord | 10 / 2 | 10 → 10 | 3 × 10 s from 0 s | 10 | 10 / 10 | 1.000 s | 1.000 s | 25 % (30 / 25 / 20 %) | 0 % | 2 MiB / 4 MiB | 0 / 0 |",
		"| Perl ldirectord 4.12 | 500 | 0 | not detected in 90 s | not detected in 90 s | 2.000 s | no |",
		"| hasuite ldirectord | 500 | 3 | 1.000 s | 3.000 s | 2.000 s | yes |",
		"- hasuite ldirectord, 500 black-holed: 1.000, 3.000, 0.500",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
