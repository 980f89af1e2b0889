package commands

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func (a *app) listCommand() *cli.Command {
	flagTag := &cli.StringFlag{Name: "tag", Usage: "only scripts with this `TAG`"}
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list the scripts of every configured library",
		Flags:   []cli.Flag{flagOutput, flagTag},
		Action: func(c *cli.Context) error {
			list, err := a.act.ListScripts(c.String(flagTag.Name))
			if err != nil {
				return err
			}
			rows := list.Scripts
			if ps := list.Problems; len(ps) > 0 {
				fmt.Fprintf(a.io.Err, "warning: %d problem(s) in the library; invalid files are not listed (see `cscript validate`)\n", len(ps))
			}
			if f := c.String(flagOutput.Name); f != outputTable {
				return writeStructured(a.io.Out, f, rows)
			}
			tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tINTERPRETER\tIMAGE\tTAGS\tDESCRIPTION")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Interpreter, r.Image, strings.Join(r.Tags, ","), firstLine(r.Description))
			}
			return tw.Flush()
		},
	}
}

func (a *app) showCommand() *cli.Command {
	return &cli.Command{
		Name:         "show",
		Usage:        "show a script's definition",
		ArgsUsage:    "NAME",
		Flags:        []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: outputYAML, Usage: "output format: yaml or json"}},
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			_, s, err := a.scriptFromArg(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Err, "# %s (library %s)\n", s.Source.Path, s.Source.Library)
			return writeStructured(a.io.Out, c.String("output"), s)
		},
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
