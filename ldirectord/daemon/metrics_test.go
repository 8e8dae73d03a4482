// metrics_test.go: ldirectord's metrics hooks against a private registry,
// with a daemon over a FakeIPVS and loopback HTTP reals.

package daemon

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/engine"
)

func TestMetricsHooks(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	reg := prometheus.NewPedanticRegistry()
	h := &harness{t: t, dir: t.TempDir(), ipvs: &kernel.FakeIPVS{}, log: &syncBuf{}, reloads: make(chan struct{}, 1), done: make(chan error, 1)}
	h.cfgPath = filepath.Join(h.dir, "ldirectord.cf")
	good := strings.ReplaceAll(fmt.Sprintf(baseCfg, "yes", "yes", a.port, b.port), "DIR", h.dir)
	cfg := writeConfig(t, h.cfgPath, good)
	l := logrus.New()
	l.Out = h.log
	d := New(Options{ConfigPath: h.cfgPath, Config: cfg, IPVS: h.ipvs, Log: l, Hostname: "director", Metrics: reg})
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- d.Run(ctx, h.reloads) }()
	t.Cleanup(h.stop)

	realA, realB := fmt.Sprintf("127.0.0.1:%d", a.port), fmt.Sprintf("127.0.0.1:%d", b.port)
	const virtual = "tcp:10.255.0.1:80"
	h.waitReals([]kernel.Dest{a.dest(2), b.dest(1)})
	waitSeries(t, reg, map[string]float64{
		`hasuite_ldirectord_real_up{real="` + realA + `",virtual="` + virtual + `"}`:                     1,
		`hasuite_ldirectord_real_up{real="` + realB + `",virtual="` + virtual + `"}`:                     1,
		`hasuite_ldirectord_real_weight{real="` + realA + `",virtual="` + virtual + `"}`:                 2,
		`hasuite_ldirectord_real_weight{real="` + realB + `",virtual="` + virtual + `"}`:                 1,
		`hasuite_ldirectord_dataplane_operations_total{action="add_service",backend="ipvs",result="ok"}`: 1,
		`hasuite_ldirectord_config_last_reload_successful`:                                               1,
	})
	okBefore := testutil.ToFloat64(d.metrics.checks.WithLabelValues("negotiate", "ok"))
	if okBefore < 2 {
		t.Errorf("checks_total{negotiate,ok} = %v after both reals came up", okBefore)
	}

	b.sick.Store(true)
	h.waitReals([]kernel.Dest{a.dest(2), b.dest(0)})
	waitSeries(t, reg, map[string]float64{
		`hasuite_ldirectord_real_up{real="` + realB + `",virtual="` + virtual + `"}`:     0,
		`hasuite_ldirectord_real_weight{real="` + realB + `",virtual="` + virtual + `"}`: 0,
		`hasuite_ldirectord_real_up{real="` + realA + `",virtual="` + virtual + `"}`:     1,
	})
	if n := testutil.ToFloat64(d.metrics.checks.WithLabelValues("negotiate", "failure")); n < 1 {
		t.Errorf("checks_total{negotiate,failure} = %v after a real failed", n)
	}
	if n := testutil.ToFloat64(d.metrics.ops.WithLabelValues("ipvs", "edit_real", "ok")); n < 2 {
		t.Errorf("dataplane_operations_total{edit_real,ok} = %v: want the restore and the quiesce at least", n)
	}
	if n := testutil.CollectAndCount(d.metrics.checkSeconds); n != 2 {
		t.Errorf("check_duration_seconds: %d series, want 2 (negotiate ok and failure)", n)
	}

	// A broken config on reload clears the success gauge; a good one sets it.
	if err := os.WriteFile(h.cfgPath, []byte("virtual=nonsense\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.reloads <- struct{}{}
	waitSeries(t, reg, map[string]float64{`hasuite_ldirectord_config_last_reload_successful`: 0})
	const reloadAt = "hasuite_ldirectord_config_last_reload_success_timestamp_seconds"
	before := samples(t, reg)[reloadAt]
	writeConfig(t, h.cfgPath, good)
	h.reloads <- struct{}{}
	waitSeries(t, reg, map[string]float64{`hasuite_ldirectord_config_last_reload_successful`: 1})
	if after := samples(t, reg)[reloadAt]; after <= before {
		t.Errorf("reload timestamp %v did not advance from %v", after, before)
	}
	h.stop()

	// Without a metrics address every hook is a no-op on nil.
	var none *ldMetrics
	none.check("connect", check.Result{})
	none.reloaded(true)
}

// waitSeries polls reg until every series has its value.
func waitSeries(t *testing.T, reg prometheus.Gatherer, want map[string]float64) {
	t.Helper()
	var got map[string]float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got = samples(t, reg)
		ok := true
		for s, v := range want {
			if g, present := got[s]; !present || g != v {
				ok = false
			}
		}
		if ok {
			return
		}
	}
	for s, v := range want {
		if g, present := got[s]; !present || g != v {
			t.Errorf("%s = %v (present %v), want %v", s, g, present, v)
		}
	}
	t.FailNow()
}

// samples gathers reg into series text → value (gauges and counters).
func samples(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// BenchmarkScrape10kReals measures one scrape's encoding of the real_*
// series for 10,000 reals in 1,000 virtuals (docs/ldirectord.cf.5.md,
// metrics): go test -run - -bench Scrape10k ./ldirectord/daemon
func BenchmarkScrape10kReals(b *testing.B) {
	var reals []engine.RealStatus
	for v := range 1000 {
		for r := range 10 {
			reals = append(reals, engine.RealStatus{
				Virtual: fmt.Sprintf("tcp:10.0.%d.%d:80", v/250, v%250+1), State: engine.Up, Weight: 1,
				Real: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(v / 250), byte(r)}), 80),
			})
		}
	}
	reg := prometheus.NewRegistry()
	newLDMetrics(reg, func(context.Context) ([]engine.RealStatus, bool) { return reals, true })
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	b.ReportAllocs()
	var size int
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}
