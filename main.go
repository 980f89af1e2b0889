// Command cscript runs cluster scripts: sh, bash and python scripts kept in a
// shared git library, run in a one-off container of a Kubernetes cluster or a
// local Docker engine, with per-environment values and credentials.
package main

import (
	"context"
	"os"

	"github.com/cscript-dev/cscript/commands"
	"github.com/cscript-dev/cscript/internal/gctune"
)

// Set by the linker: -X main.version=… -X main.commit=… -X main.date=…
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	gctune.Apply()
	// The first SIGINT, SIGTERM or SIGHUP cancels ctx with the signal as its
	// cause; a second one closes force (cleanup then deletes with grace 0).
	ctx, force, stop := commands.HandleSignals(context.Background())
	code := commands.Main(ctx, commands.BuildInfo{Version: version, Commit: commit, Date: date, Force: force},
		os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
