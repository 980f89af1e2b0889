// Command cscript runs cluster scripts: sh, bash and python scripts kept in a
// shared git library, run in a one-off container of a Kubernetes cluster or a
// local Docker engine, with per-environment values and credentials.
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/cscript-dev/cscript/commands"
)

// Set by the linker: -X main.version=… -X main.commit=… -X main.date=…
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	tuneGC()
	// The first SIGINT, SIGTERM or SIGHUP cancels ctx with the signal as its
	// cause; a second one closes force (cleanup then deletes with grace 0).
	ctx, force, stop := commands.HandleSignals(context.Background())
	code := commands.Main(ctx, commands.BuildInfo{Version: version, Commit: commit, Date: date, Force: force},
		os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// tuneGC makes the garbage collector run less often (most commands live for
// tens of milliseconds and allocate little), with a soft memory limit that
// keeps long transfers bounded: a download over SPDY allocates every frame
// afresh, and at GOGC=400 that garbage alone would reach the limit. 40 MiB
// keeps a 2 GB transfer's peak RSS near 75 MiB (docs/benchmarks.md) at the
// cost of a GC cycle every few dozen MB. GOGC and GOMEMLIMIT, when set, win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(40 << 20)
	}
}
