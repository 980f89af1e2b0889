package commands

import (
	"fmt"

	"github.com/cscript-dev/cscript/action"
	"github.com/urfave/cli/v2"
)

func (a *app) initCommand() *cli.Command {
	flagName := &cli.StringFlag{Name: "name", Usage: "the library's `NAME` in the config (default: DIR's name, as a name: My_Scripts is my-scripts; without DIR: local)"}
	flagEmpty := &cli.BoolFlag{Name: "empty", Usage: "create the library without the examples"}
	return &cli.Command{
		Name:      "init",
		Usage:     "create a new library with the examples, git-initialised, and add it to the config",
		ArgsUsage: "[DIR]",
		Flags:     []cli.Flag{flagName, flagEmpty},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("init takes at most one directory, got %d arguments", c.NArg())
			}
			res, err := a.act.InitLibrary(action.InitOptions{Dir: c.Args().First(), Name: c.String(flagName.Name), Empty: c.Bool(flagEmpty.Name)})
			if err != nil {
				return err
			}
			name, dir := res.Name, res.Dir
			fmt.Fprintf(a.io.Out, "Created library %q at %s (a git repository).\n", name, dir)
			if c.Bool(flagEmpty.Name) {
				fmt.Fprintf(a.io.Out, "Next: cscript new NAME -l %s; cscript deck new NAME -l %s\n", name, name)
			} else {
				fmt.Fprintln(a.io.Out, "Try: cscript list; cscript render hello --deck local")
			}
			return nil
		},
	}
}
