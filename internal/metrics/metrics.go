// metrics.go: the Prometheus registry and /metrics HTTP server shared by the daemons.

// Package metrics serves an opt-in Prometheus endpoint. Each daemon builds
// its own Registry (no global registry), registers its collectors on it and
// serves it with Serve; the hooks in the daemons are nil-safe so that a
// daemon without a metrics address pays nothing.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every hasuite series.
const Namespace = "hasuite"

// NewRegistry returns a registry holding the Go runtime and process
// collectors; the daemon adds its own.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server serves one registry at /metrics.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Serve listens on addr (host:port) and serves reg at /metrics until
// Shutdown. The listener is bound before Serve returns, so a bad or busy
// address is an error here, not later.
func Serve(addr string, reg *prometheus.Registry, errLog func(error)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && errLog != nil {
			errLog(err)
		}
	}()
	return s, nil
}

// Addr is the address actually listened on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting, lets scrapes under way finish within ctx, then
// closes. A nil Server is a no-op.
func (s *Server) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// Result is the result label of an operation: "ok" or "error".
func Result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Bool is 1 for true, 0 for false, for gauges.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Reload is the pair of series every daemon reports about loading its
// configuration: PREFIX_config_last_reload_successful (1 before any
// reload) and PREFIX_config_last_reload_success_timestamp_seconds.
type Reload struct {
	ok, at prometheus.Gauge
}

// NewReload registers the reload series under prefix (e.g.
// "hasuite_ldirectord") in reg, as after a successful load now.
func NewReload(reg prometheus.Registerer, prefix string) *Reload {
	r := &Reload{
		ok: prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "_config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded (1 before any reload)."}),
		at: prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "_config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful configuration load (start-up or reload)."}),
	}
	r.ok.Set(1)
	r.at.SetToCurrentTime()
	reg.MustRegister(r.ok, r.at)
	return r
}

// Done records a reload's outcome.
func (r *Reload) Done(ok bool) {
	r.ok.Set(Bool(ok))
	if ok {
		r.at.SetToCurrentTime()
	}
}
