// Command cscript runs cluster scripts: sh, bash and python scripts kept in a
// shared git library, run in a one-off container of a Kubernetes cluster or a
// local Docker engine, with per-environment values and credentials.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cscript-dev/cscript/commands"
)

// Set by the linker: -X main.version=… -X main.commit=… -X main.date=…
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := commands.Main(ctx, commands.BuildInfo{Version: version, Commit: commit, Date: date}, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
