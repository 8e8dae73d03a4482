package outfmt

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		args []string
		rest []string
		json bool
		ok   bool
	}{
		{[]string{"nodestatus", "a"}, []string{"nodestatus", "a"}, false, true},
		{[]string{"--json", "nodestatus"}, []string{"nodestatus"}, true, true},
		{[]string{"nodestatus", "-o", "json"}, []string{"nodestatus"}, true, true},
		{[]string{"-ojson", "-o", "text", "x"}, []string{"x"}, false, true},
		{[]string{"x", "--", "--json"}, []string{"x", "--", "--json"}, false, true},
		{[]string{"-o", "yaml"}, nil, false, false},
		{[]string{"x", "-o"}, nil, false, false},
	} {
		rest, json, ok := JSON(tc.args)
		if !cmp.Equal(rest, tc.rest) || json != tc.json || ok != tc.ok {
			t.Errorf("JSON(%q) = %q, %v, %v; want %q, %v, %v", tc.args, rest, json, ok, tc.rest, tc.json, tc.ok)
		}
	}
}
