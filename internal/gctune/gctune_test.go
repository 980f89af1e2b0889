package gctune

import (
	"runtime/debug"
	"testing"
)

// Apply sets GOGC 400 and a 40 MiB soft limit unless the environment sets
// them.
func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	tests := []struct {
		gogc, gomemlimit string
		percent          int
		limit            int64
	}{
		{"", "", 400, 40 << 20},
		{"50", "", 100, 40 << 20},
		{"", "1GiB", 400, 1 << 30},
	}
	for _, tt := range tests {
		t.Setenv("GOGC", tt.gogc)
		t.Setenv("GOMEMLIMIT", tt.gomemlimit)
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(1 << 30)
		Apply()
		if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(1<<30); p != tt.percent || l != tt.limit {
			t.Errorf("GOGC=%q GOMEMLIMIT=%q: percent %d, limit %d; want %d, %d", tt.gogc, tt.gomemlimit, p, l, tt.percent, tt.limit)
		}
	}
}
