// keepalive_test.go: checkkeepalive: default, global, per virtual, errors and the no-effect warning.
package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckKeepAlive(t *testing.T) {
	text := "checkkeepalive = yes\n" +
		"virtual=10.0.0.1:80\n" + // inherits yes
		"\treal=10.0.0.2 gate\n" +
		"virtual=10.0.0.1:8080\n" +
		"\treal=10.0.0.2 gate\n" +
		"\tservice=http\n" +
		"\tcheckkeepalive = no\n"
	c, err := Parse("x.cf", strings.NewReader(text), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{c.CheckKeepAlive, c.Virtuals[0].CheckKeepAlive, c.Virtuals[1].CheckKeepAlive}
	if diff := cmp.Diff([]bool{true, true, false}, got); diff != "" {
		t.Errorf("global, virtual 1, virtual 2 (-want +got):\n%s", diff)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q, want none", c.Warnings)
	}

	c, err = Parse("x.cf", strings.NewReader("virtual=10.0.0.1:80\n\treal=10.0.0.2 gate\n"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if c.CheckKeepAlive || c.Virtuals[0].CheckKeepAlive {
		t.Error("checkkeepalive is on by default; want off (a connection per check, as classic)")
	}
}

func TestCheckKeepAliveMessages(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		errs       []string
		warns      []string
	}{
		{name: "bad values", text: "checkkeepalive = on\nvirtual=10.0.0.1:80\n\treal=10.0.0.2 gate\n\tcheckkeepalive=1\n", errs: []string{
			`x.cf:1: checkkeepalive: must be 'yes' or 'no', not "on"`,
			`x.cf:4: checkkeepalive: must be 'yes' or 'no', not "1"`}},
		{name: "no effect", text: "checkkeepalive = yes\n" +
			"virtual=10.0.0.1:443\n\treal=10.0.0.2 gate\n\tcheckkeepalive=yes\n" + // https
			"virtual=10.0.0.1:80\n\treal=10.0.0.2 gate\n\tchecktype=connect\n\tcheckkeepalive=yes\n" +
			"virtual=10.0.0.1:81\n\treal=10.0.0.2 gate\n\tservice=http\n\tchecktype=5\n\tcheckkeepalive=yes\n" + // combined: used
			"virtual=10.0.0.1:25\n\treal=10.0.0.2 gate\n\tcheckkeepalive=no\n" + // no: nothing to say
			"virtual=10.0.0.1:110\n\treal=10.0.0.2 gate\n", // inherited: nothing to say
			warns: []string{
				"x.cf:4: checkkeepalive in virtual service tcp:10.0.0.1:443 has no effect: only negotiate checks of service http keep their connection (checktype negotiate, service https)",
				"x.cf:8: checkkeepalive in virtual service tcp:10.0.0.1:80 has no effect: only negotiate checks of service http keep their connection (checktype connect, service http)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("x.cf", strings.NewReader(tc.text), testOptions())
			if diff := cmp.Diff(tc.errs, errorLines(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.warns, c.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
