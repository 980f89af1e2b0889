package commands

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/lifecycle"
)

// lifecycleView is a lifecycle definition as `lifecycle list -o` and
// `lifecycle show` print it.
type lifecycleView struct {
	Name         string                    `json:"name" yaml:"name"`
	Library      string                    `json:"library" yaml:"library"`
	Description  string                    `json:"description,omitempty" yaml:"description,omitempty"`
	OfferingUUID string                    `json:"offeringUUID" yaml:"offeringUUID"`
	Scripts      map[string]string         `json:"scripts" yaml:"scripts"`
	Plans        map[string]lifecycle.Plan `json:"plans,omitempty" yaml:"plans,omitempty"`
	Env          map[string]string         `json:"env,omitempty" yaml:"env,omitempty"`
	Path         string                    `json:"path" yaml:"path"`
}

func viewOf(d *lifecycle.Definition) lifecycleView {
	v := lifecycleView{Name: d.Name, Library: d.Library, Description: d.Description, OfferingUUID: d.OfferingUUID(),
		Scripts: map[string]string{}, Plans: d.Plans, Env: d.Env, Path: d.Path}
	for ev, ref := range d.Scripts {
		v.Scripts[string(ev)] = ref
	}
	return v
}

func (a *app) lifecycleCommand() *cli.Command {
	load := func() (*lifecycle.Catalog, error) {
		cat, _, err := a.catalog()
		if err != nil {
			return nil, err
		}
		return lifecycle.Load(cat), nil
	}
	return &cli.Command{
		Name:  "lifecycle",
		Usage: "list and show lifecycle definitions (kind: Lifecycle), the scripts `resource` runs for each event",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list the lifecycle definitions of every library; with WORDs, only those whose LIB/NAME contains every word",
				ArgsUsage: "[WORD]...",
				Flags:     []cli.Flag{flagOutput},
				Action: func(c *cli.Context) error {
					lc, err := load()
					if err != nil {
						return err
					}
					warnInvalid(a.io.Err, lc.Problems())
					views := []lifecycleView{}
					for _, d := range lc.Definitions() {
						if matchesAll(d.Library+"/"+d.Name, c.Args().Slice()) {
							views = append(views, viewOf(d))
						}
					}
					if f := c.String(flagOutput.Name); f != outputTable {
						return writeStructured(a.io.Out, f, views)
					}
					tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tLIBRARY\tCREATE\tUPDATE\tTERMINATE\tPULL\tPLANS\tDESCRIPTION")
					for _, v := range views {
						plans := make([]string, 0, len(v.Plans))
						for p := range v.Plans {
							plans = append(plans, p)
						}
						sort.Strings(plans)
						s := v.Scripts
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Library, orDash(s["create"]), orDash(s["update"]),
							orDash(s["terminate"]), orDash(s["pull"]), orDash(strings.Join(plans, ",")), firstLine(v.Description))
					}
					return tw.Flush()
				},
			},
			{
				Name:      "show",
				Usage:     "show a lifecycle definition: its scripts per event, plans, env and offering UUID",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{outputFlag(outputYAML, outputJSON)},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("lifecycle show needs exactly one lifecycle name (NAME or LIB/NAME), got %d arguments", c.NArg())
					}
					lc, err := load()
					if err != nil {
						return err
					}
					d, err := lc.Find(c.Args().First())
					if err != nil {
						return err
					}
					fmt.Fprintf(a.io.Err, "# %s (library %s)\n", d.Path, d.Library)
					return writeStructured(a.io.Out, c.String("output"), viewOf(d))
				},
			},
		},
	}
}
