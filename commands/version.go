package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// flagVersion is `cscript --version`, the same as `cscript version`.
var flagVersion = &cli.BoolFlag{Name: "version", Usage: "print cscript's version and exit", DisableDefaultText: true}

// errVersionShown ends a command line with --version: the version is
// printed, nothing else runs, and the exit code is 0.
var errVersionShown = errors.New("version shown")

func versionCommand(info BuildInfo) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print cscript's version",
		Action: func(c *cli.Context) error {
			return printVersion(c.App.Writer, info)
		},
	}
}

func printVersion(w io.Writer, info BuildInfo) error {
	line := "cscript " + info.Version
	if info.Commit != "" || info.Date != "" {
		line += fmt.Sprintf(" (commit %s, built %s)", info.Commit, info.Date)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
