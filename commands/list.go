package commands

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/store"
)

func (a *app) listCommand() *cli.Command {
	flagTag := &cli.StringFlag{Name: "tag", Usage: "only scripts with this `TAG`"}
	return &cli.Command{
		Name:      "list",
		Aliases:   []string{"ls"},
		Usage:     "list the scripts of every configured library; with WORDs, only those whose LIB/NAME contains every word",
		ArgsUsage: "[WORD]...",
		Flags:     []cli.Flag{flagOutput, flagTag},
		Action: func(c *cli.Context) error {
			list, err := a.act.ListScripts(c.String(flagTag.Name))
			if err != nil {
				return err
			}
			rows := make([]action.ScriptSummary, 0, len(list.Scripts))
			for _, r := range list.Scripts {
				if matchesAll(r.Library+"/"+r.Name, c.Args().Slice()) {
					rows = append(rows, r)
				}
			}
			warnInvalid(a.io.Err, list.Problems)
			a.warnSavedBranches()
			if f := c.String(flagOutput.Name); f != outputTable {
				return writeStructured(a.io.Out, f, rows)
			}
			tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLIBRARY\tINTERPRETER\tIMAGE\tTAGS\tDESCRIPTION")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Library, r.Interpreter, r.Image, strings.Join(r.Tags, ","), firstLine(r.Description))
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
		Flags:        []cli.Flag{outputFlag(outputYAML, outputJSON)},
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

// matchesAll says whether s contains every word (case-insensitive).
func matchesAll(s string, words []string) bool {
	s = strings.ToLower(s)
	for _, w := range words {
		if !strings.Contains(s, strings.ToLower(w)) {
			return false
		}
	}
	return true
}

// warnInvalid names each file that is left out of a listing because it has
// problems, with its first problem, so that no script disappears silently.
func warnInvalid(w io.Writer, ps []store.Problem) {
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.File] {
			continue
		}
		seen[p.File] = true
		fmt.Fprintf(w, "warning: not listed, invalid: %s (see `cscript validate`)\n", p.String())
	}
}

// warnSavedBranches names the branches where sync kept local commits that
// are not in a library (after a conflict), so that a script on one is
// never silently missing from a listing.
func (a *app) warnSavedBranches() {
	cfg, err := a.config()
	if err != nil {
		return
	}
	for _, l := range cfg.Libraries {
		for _, b := range store.SavedBranches(l.Path) {
			fmt.Fprintf(a.io.Err, "warning: library %s keeps local commits on branch %s, not listed here: see them with git -C %s log --stat HEAD..%s; delete the branch when done (git -C %s branch -D %s)\n",
				l.Name, b, l.Path, b, l.Path, b)
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
