// Package gctune sets the garbage collector the way cscript runs: the
// cscript binary and the benchmark, which measures transfers in its own
// process, call the same Apply.
package gctune

import (
	"os"
	"runtime/debug"
)

// Apply makes the garbage collector run less often (most commands live for
// tens of milliseconds and allocate little), with a soft memory limit that
// keeps long transfers bounded: a download over SPDY allocates every frame
// afresh, and at GOGC=400 that garbage alone would reach the limit. 40 MiB
// keeps a 2 GB transfer's peak RSS near 75 MiB (docs/benchmarks.md) at the
// cost of a GC cycle every few dozen MB. GOGC and GOMEMLIMIT, when set, win.
func Apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(40 << 20)
	}
}
