package config

// metrics_test.go: the metrics directive.

import (
	"strings"
	"testing"
)

func TestMetricsDirective(t *testing.T) {
	for _, tc := range []struct{ text, want, err string }{
		{text: "checktimeout = 3\n", want: ""},
		{text: "metrics = 127.0.0.1:9708\n", want: "127.0.0.1:9708"},
		{text: "metrics = \"[::1]:9708\"\n", want: "[::1]:9708"},
		{text: "metrics = 9708\n", err: `x.cf:1: metrics: want host:port (e.g. 127.0.0.1:9708), not "9708"`},
	} {
		c, err := Parse("x.cf", strings.NewReader(tc.text), Options{})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %s", tc.text, err, tc.err)
			}
			continue
		}
		if err != nil || c.Metrics != tc.want {
			t.Errorf("%q: Metrics %q, %v; want %q", tc.text, c.Metrics, err, tc.want)
		}
	}
}
