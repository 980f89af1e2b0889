// Package commands is cscript's command-line interface: one file per command,
// each a thin layer that reads flags, calls a library package and formats the result.
package commands

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"
)

// BuildInfo is set by the linker in main.
type BuildInfo struct {
	Version, Commit, Date string
}

// Main runs cscript with args and returns the process exit code.
func Main(ctx context.Context, info BuildInfo, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := New(info, stdin, stdout, stderr)
	err := app.RunContext(ctx, args)
	return ReportError(stderr, err)
}

// New builds a fresh command tree.
func New(info BuildInfo, stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:            "cscript",
		Usage:           "run cluster scripts in one-off containers of a Kubernetes cluster or a Docker engine",
		Version:         info.Version,
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideVersion:     true,
		ExitErrHandler:  func(*cli.Context, error) {}, // exit codes are mapped in Main, never inside Run
		CommandNotFound: nil,
		Commands: []*cli.Command{
			versionCommand(info),
		},
	}
	return app
}
