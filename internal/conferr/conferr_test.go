package conferr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("an empty list has an error")
	}
	l.File = "ha.cf"
	l.Add(7, "seven %d", 7)
	l.Warn(3, "careful")
	if got := l.Err().Error(); got != "ha.cf:7: seven 7" {
		t.Errorf("one error = %q", got)
	}
	l.Add(0, "whole file")
	l.Add(2, "two")
	l.SortByLine()
	want := "ha.cf: whole file\nha.cf:2: two\nha.cf:7: seven 7"
	if got := l.Err().Error(); got != want {
		t.Errorf("joined errors:\n%s\nwant:\n%s", got, want)
	}
	if diff := cmp.Diff([]string{"ha.cf:3: careful"}, l.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
