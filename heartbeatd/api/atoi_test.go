package api

import "testing"

func TestAtoi(t *testing.T) {
	for in, want := range map[string]int{
		"": 0, "12": 12, "  7x": 7, "-3": -3, "+4": 4, "abc": 0, "\t\n 9 ": 9,
	} {
		if got := Atoi(in); got != want {
			t.Errorf("Atoi(%q) = %d, want %d", in, got, want)
		}
	}
}
