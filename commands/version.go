package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func versionCommand(info BuildInfo) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print cscript's version",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprintf(c.App.Writer, "cscript %s (commit %s, built %s)\n", info.Version, info.Commit, info.Date)
			return err
		},
	}
}
