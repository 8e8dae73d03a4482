// metrics.go: ldirectord's Prometheus series (ldirectord.cf metrics = host:port).

package daemon

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hasuite/hasuite/internal/metrics"
	"github.com/hasuite/hasuite/ldirectord/check"
	"github.com/hasuite/hasuite/ldirectord/engine"
	"github.com/hasuite/hasuite/ldirectord/lvs"
)

const subsystem = "ldirectord"

// Check latencies: from a loopback connect to a slow negotiate near a
// typical checktimeout.
var checkBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// ldMetrics holds ldirectord's event series. Per-real state is read from
// the engine at scrape time (realCollector) through the daemon's loop, so
// the loop does no work for metrics between scrapes. Every method is a
// no-op on nil: without a metrics address the daemon has no ldMetrics.
//
// Cardinality: the event series are labelled by checktype, IPVS action
// and result only (a few dozen series whatever the size of the config);
// only the three real_* gauges are per (virtual, real) pair: 30,000
// series for 10,000 reals, 2.5 MB per scrape (BenchmarkScrape10kReals).
type ldMetrics struct {
	checks       *prometheus.CounterVec
	checkSeconds *prometheus.HistogramVec
	ops          *prometheus.CounterVec
	reload       *metrics.Reload
}

// statusRequest asks the loop for the engine's per-real status.
type statusRequest chan []engine.RealStatus

func newLDMetrics(reg prometheus.Registerer, status func(context.Context) ([]engine.RealStatus, bool)) *ldMetrics {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, subsystem, n) }
	m := &ldMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("checks_total"),
			Help: "Real server checks run, by checktype (connect or negotiate for combined checks) and result (ok, failure)."},
			[]string{"checktype", "result"}),
		checkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("check_duration_seconds"),
			Help: "Duration of real server checks, by checktype and result.", Buckets: checkBuckets},
			[]string{"checktype", "result"}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("dataplane_operations_total"),
			Help: "IPVS or nftables changes by backend, action (add_service, edit_service, delete_service, add_real, edit_real, delete_real) and result (ok, error)."},
			[]string{"backend", "action", "result"}),
	}
	m.reload = metrics.NewReload(reg, metrics.Namespace+"_"+subsystem)
	reg.MustRegister(m.checks, m.checkSeconds, m.ops, &realCollector{status: status})
	return m
}

func (m *ldMetrics) check(checktype string, r check.Result) {
	if m == nil {
		return
	}
	result := "ok"
	if !r.OK {
		result = "failure"
	}
	m.checks.WithLabelValues(checktype, result).Inc()
	m.checkSeconds.WithLabelValues(checktype, result).Observe(r.Latency.Seconds())
}

func (m *ldMetrics) dataplaneOps(backend string, res lvs.Result) {
	if m == nil {
		return
	}
	for _, op := range res.Ops {
		action := strings.ReplaceAll(op.Action.String(), " ", "_")
		m.ops.WithLabelValues(backend, action, metrics.Result(op.Err)).Inc()
	}
}

func (m *ldMetrics) reloaded(ok bool) {
	if m == nil {
		return
	}
	m.reload.Done(ok)
}

// realCollector reports every (virtual, real) pair's state and weight as
// the engine has them at scrape time.
type realCollector struct {
	status func(context.Context) ([]engine.RealStatus, bool)
}

var (
	descRealUp = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "real_up"),
		"1 if the real server passed its checks (state up), 0 if down or not checked yet.", []string{"virtual", "real"}, nil)
	descRealWeight = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "real_weight"),
		"The real server's weight in the table (0 when quiesced or absent).", []string{"virtual", "real"}, nil)
	descRealFailures = prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, subsystem, "real_consecutive_failures"),
		"Consecutive failed checks of the real server (failurecount counts these).", []string{"virtual", "real"}, nil)
)

func (c *realCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRealUp
	ch <- descRealWeight
	ch <- descRealFailures
}

func (c *realCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reals, ok := c.status(ctx)
	if !ok {
		return // the loop is not running (starting or stopping)
	}
	for _, r := range reals {
		real := r.Real.String()
		ch <- prometheus.MustNewConstMetric(descRealUp, prometheus.GaugeValue, metrics.Bool(r.State == engine.Up), r.Virtual, real)
		ch <- prometheus.MustNewConstMetric(descRealWeight, prometheus.GaugeValue, float64(r.Weight), r.Virtual, real)
		ch <- prometheus.MustNewConstMetric(descRealFailures, prometheus.GaugeValue, float64(r.Failures), r.Virtual, real)
	}
}

// realStatus asks the loop for the engine's status; false when the loop
// does not answer within ctx or the engine cannot tell.
func (d *Daemon) realStatus(ctx context.Context) ([]engine.RealStatus, bool) {
	req := make(statusRequest, 1)
	select {
	case d.scrapes <- req:
	case <-ctx.Done():
		return nil, false
	}
	select {
	case s, ok := <-req:
		return s, ok
	case <-ctx.Done():
		return nil, false
	}
}

// answerStatus answers a scrape's status request from the loop.
func (d *Daemon) answerStatus(req statusRequest) {
	if s, ok := d.eng.(interface{ Status() []engine.RealStatus }); ok {
		req <- s.Status()
	}
	close(req)
}

// startMetrics registers the series and, for a metrics address, serves
// them; the returned function shuts the endpoint down.
func (d *Daemon) startMetrics() (func(), error) {
	reg := d.o.Metrics
	var server *prometheus.Registry
	if reg == nil {
		if d.cfg.Metrics == "" {
			return func() {}, nil
		}
		server = metrics.NewRegistry()
		reg = server
	}
	d.metrics = newLDMetrics(reg, d.realStatus)
	if server == nil {
		return func() {}, nil
	}
	srv, err := metrics.Serve(d.cfg.Metrics, server, func(err error) { d.log.WithError(err).Error("metrics endpoint") })
	if err != nil {
		return nil, err
	}
	d.log.Infof("Metrics at http://%s/metrics", srv.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// plane is the backend label of the data plane operations.
func (d *Daemon) plane() string {
	if d.o.DataPlane == "" {
		return PlaneIPVS
	}
	return d.o.DataPlane
}
