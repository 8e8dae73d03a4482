package ldcheck

// proc_test.go: CPU time apart into user and system time.

import (
	"testing"
	"time"
)

func TestStatSplit(t *testing.T) {
	stat := "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 500 0 0 0 150 50 7 3 20 0 8 0 100 1000 200"
	if u, s, err := parseStatSplit(stat); err != nil || u != 1570*time.Millisecond || s != 530*time.Millisecond {
		t.Errorf("parseStatSplit: %v %v %v; want 1.57s (150+7 ticks) and 0.53s (50+3)", u, s, err)
	}
	if _, _, err := parseStatSplit("1234 (x) S 1 2"); err == nil {
		t.Error("parseStatSplit accepted a short line")
	}
}
