// Package commands is cscript's command-line interface: one file per command,
// each a thin layer that reads flags, calls a library package and formats the result.
package commands

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

// BuildInfo is set by the linker in main.
type BuildInfo struct {
	Version, Commit, Date string
	// Force is closed by a second interrupt (see HandleSignals); may be nil.
	Force <-chan struct{}
}

// app holds what every command needs; it is built fresh for every process (no globals).
type app struct {
	info  BuildInfo
	io    streams
	now   func() time.Time
	paths func() store.Paths
}

// Main runs cscript with args and returns the process exit code.
func Main(ctx context.Context, info BuildInfo, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := New(info, stdin, stdout, stderr)
	err := app.RunContext(ctx, interspersed(app, args))
	return ReportError(stderr, err)
}

// New builds a fresh command tree.
func New(info BuildInfo, stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	a := &app{
		info:  info,
		io:    streams{In: stdin, Out: stdout, Err: stderr, getenv: os.Getenv},
		now:   time.Now,
		paths: store.DefaultPaths,
	}
	return &cli.App{
		Name:                 "cscript",
		Usage:                "run cluster scripts in one-off containers of a Kubernetes cluster or a Docker engine",
		Version:              info.Version,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		HideVersion:          true,
		EnableBashCompletion: true,
		Suggest:              true,
		// Exit codes are mapped once, in Main; never os.Exit inside Run, so deferred cleanup runs.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &usageError{msg: err.Error() + " (see --help)"}
		},
		Commands: []*cli.Command{
			a.initCommand(),
			a.listCommand(),
			a.showCommand(),
			a.newCommand(),
			a.editCommand(),
			a.rmCommand(),
			a.validateCommand(),
			a.renderCommand(),
			a.runCommand(),
			a.runsCommand(),
			a.traceCommand(),
			a.gcCommand(),
			a.deckCommand(),
			a.libraryCommand(),
			a.syncCommand(),
			a.completionCommand(),
			a.completeCommand(),
			a.aliasCommand(),
			versionCommand(info),
		},
	}
}
