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
	// The signals stay caught until the process ends (stop is not called): released before
	// os.Exit, a second Ctrl-C arriving in between would kill cscript by the default action,
	// without the exit code and the cleanup report it is about to give.
	ctx, force, _ := commands.HandleSignals(context.Background())
	code := commands.Main(ctx, commands.BuildInfo{Version: version, Commit: commit, Date: date, Force: force},
		os.Args, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(code)
}
