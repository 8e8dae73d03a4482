package main

// ipvs_test.go: reading make bench-ipvs's table.

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const ipvsLog = `=== RUN   TestLVSVM
    lvs_vm_test.go:34: ipvsvm: ^TestGuestLVS in the VM (kernel 6.1.0-56-amd64): exit 0, boot 7.8s, total 20.4s; output:
        === RUN   TestGuestLVSBench
            lvs_vm_test.go:305: 
                cold apply of 1000 virtual services × 10 real servers = 11000 entries; Linux 6.1.0-56-amd64 in qemu TCG, 1 vCPU, clock tsc; 5 runs, each in a new netns
                                                                              best    median     worst  best/entry
                  Apply (reconciler + batched netlink)                       221ms     300ms     702ms  20.1 µs
                    Batch alone (the same changes, no reconciler)            120ms     164ms     291ms  10.9 µs
                  Apply, one netlink request per change                     3.787s    4.181s     5.85s  344.3 µs
                  ipvsadm -R, one process for the table                     3.408s    3.704s    6.108s  309.8 µs
                  ipvsadm, one process per entry: first 1100 entries          1m15s     1m15s     1m15s  68.18 ms
                    … all 11000 entries, extrapolated                        12m30s  (extrapolated from the 1100 entries above, not measured)
                  no-op Apply (lists the table, changes nothing)             919ms     919ms     919ms  835.5 µs
`

func TestParseIPVS(t *testing.T) {
	recs, err := ParseIPVS(ipvsLog)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Impl, Metric string
		Value        float64
		Runs         int
		Note         string
	}
	var got []row
	for _, r := range recs {
		if r.Case != "1000 × 10 = 11000 entries" || len(r.Values) != 1 {
			t.Errorf("record %+v", r)
		}
		got = append(got, row{r.Impl, r.Metric, r.Values[0], r.Runs, r.Note})
	}
	env := "; Linux 6.1.0-56-amd64 in qemu TCG, 1 vCPU, clock tsc"
	want := []row{
		{"ours", "apply", 0.3, 5, "best 221ms, worst 702ms" + env},
		{"classic", "restore", 3.704, 5, "best 3.408s, worst 6.108s" + env},
		{"classic", "per-entry", 750, 0, "extrapolated from the 1100 entries timed, not measured" + env},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("ParseIPVS (-want +got):\n%s", d)
	}
	if _, err := ParseIPVS("no table"); err == nil {
		t.Error("no error without a table")
	}
}
