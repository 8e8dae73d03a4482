// metrics_test.go: the endpoint serves its registry and shuts down.

package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServeAndShutdown(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "hasuite_test_events_total", Help: "Test."})
	reg.MustRegister(c)
	c.Add(3)
	srv, err := Serve("127.0.0.1:0", reg, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"hasuite_test_events_total 3", "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + srv.Addr() + "/metrics"); err == nil {
		t.Error("endpoint still answers after Shutdown")
	}
	if _, err := Serve(srv.Addr()+"x", reg, nil); err == nil {
		t.Error("a bad address must fail at Serve")
	}
	var none *Server
	if err := none.Shutdown(context.Background()); err != nil || Result(nil) != "ok" || Result(errors.New("x")) != "error" {
		t.Error("nil Shutdown or Result")
	}
}
