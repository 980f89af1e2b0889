package commands

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
)

func (a *app) runsCommand() *cli.Command {
	flagLimit := &cli.IntFlag{Name: "limit", Value: 20, Usage: "show at most `N` runs (0: all)"}
	return &cli.Command{
		Name:  "runs",
		Usage: "list past runs (yours; --cluster: the team's), newest first; show one, or print its output",
		Flags: append([]cli.Flag{flagOutput, flagLimit}, runsFlags()...),
		Action: func(c *cli.Context) error {
			f, err := a.runFilterOf(c)
			if err != nil {
				return err
			}
			if c.Bool(flagCluster.Name) {
				return a.teamRuns(c, f)
			}
			recs, total, err := a.act.FindRuns(f.RunFilter, c.Int(flagLimit.Name))
			if err != nil {
				return err
			}
			if f := c.String(flagOutput.Name); f != outputTable {
				return writeStructured(a.io.Out, f, recs)
			}
			switch {
			case total == 0:
				fmt.Fprintln(a.io.Err, "No runs yet: `cscript run NAME --deck DECK` records one (`cscript runs --cluster` lists the team's).")
				return nil
			case len(recs) == 0:
				fmt.Fprintf(a.io.Err, "No runs match %s (of %s in your history; `cscript runs` lists the newest).\n", f.text, plural(total, "run", "runs"))
				return nil
			}
			tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSCRIPT\tDECK\tSTATE\tEXIT\tREASON\tSTARTED\tDURATION")
			for _, r := range recs {
				script := r.Script
				if r.Event != "" {
					dry := ""
					if r.DryRun {
						dry = ", dry run"
					}
					script += " (" + r.Event + " " + r.Resource + dry + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, script, orDash(r.Deck), r.State, r.ExitCode, orDash(r.Reason),
					r.Start.Local().Format("2006-01-02 15:04:05"), r.Duration().Round(10*time.Millisecond))
			}
			return tw.Flush()
		},
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "show a run's record",
				ArgsUsage: "ID|last",
				Flags: append([]cli.Flag{outputFlag(outputYAML, outputJSON),
					flagCluster, flagDeck}, targetFlags()...),
				Action: func(c *cli.Context) error {
					run, rec, err := a.runRecord(c)
					if err != nil || c.Bool(flagCluster.Name) {
						return a.teamShow(c, err) // someone else's run, in the namespace
					}
					fmt.Fprintf(a.io.Err, "# %s\n", run.Dir)
					return writeStructured(a.io.Out, c.String("output"), rec)
				},
			},
			{
				Name:      "attach",
				Usage:     "follow a detached run (--mode job --detach, or --detach on a Docker deck) to its end, then clean up",
				ArgsUsage: "ID|last",
				Flags:     []cli.Flag{flagKubeconfig},
				Action:    a.runsAttach,
			},
			{
				Name:      "logs",
				Usage:     "print a run's output (stdout and stderr as they came, redacted)",
				ArgsUsage: "ID|last",
				Action: func(c *cli.Context) error {
					run, rec, err := a.runRecord(c)
					if err != nil {
						return err
					}
					if err := copyArtifact(a.io.Out, run, history.LogFile); err != nil {
						return err
					}
					if rec.State == history.StateRunning && rec.Detached {
						fmt.Fprintf(a.io.Err, "run %s is a detached run still running: the log grows while `cscript runs attach %s` follows it\n", rec.ID, rec.ID)
					}
					return nil
				},
			},
		},
	}
}

// runFilter is what the filter flags of `runs` ask for.
type runFilter struct {
	action.RunFilter
	text string // the flags as given, for a message
}

// runFilterOf reads the filter flags of `runs`.
func (a *app) runFilterOf(c *cli.Context) (runFilter, error) {
	f := runFilter{RunFilter: action.RunFilter{Script: c.String(flagScript.Name), Deck: c.String(flagRunsDeck.Name), State: history.State(c.String(flagState.Name))}}
	var given []string
	for _, fl := range []*cli.StringFlag{flagScript, flagRunsDeck, flagState, flagSince, flagUser} {
		if v := c.String(fl.Name); v != "" {
			given = append(given, "--"+fl.Name+" "+shellWord(v))
		}
	}
	f.text = strings.Join(given, " ")
	if f.State != "" && !slices.Contains(runStates, string(f.State)) {
		return f, usageErrorf("--state %q: use one of %s", f.State, strings.Join(runStates, ", "))
	}
	if s := c.String(flagSince.Name); s != "" {
		var err error
		if f.Since, err = parseSince(s, a.now()); err != nil {
			return f, err
		}
	}
	if !c.Bool(flagCluster.Name) {
		for _, fl := range []cli.Flag{flagUser, flagAllNS} {
			if n := fl.Names()[0]; c.IsSet(n) {
				return f, usageErrorf("--%s reads the team history: add --cluster (your own runs are all yours)", n)
			}
		}
	}
	return f, nil
}

func (a *app) traceCommand() *cli.Command {
	return &cli.Command{
		Name:      "trace",
		Usage:     "print the failure trace of a run (default: the last run)",
		ArgsUsage: "[ID|last]",
		Action: func(c *cli.Context) error {
			run, rec, err := a.runRecord(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "run %s: %s on %s, %s, exit %d", rec.ID, rec.Script, orDash(rec.Deck), rec.State, rec.ExitCode)
			if rec.Reason != "" {
				fmt.Fprintf(a.io.Out, " (%s)", rec.Reason)
			}
			fmt.Fprintln(a.io.Out)
			if rec.Message != "" {
				fmt.Fprintf(a.io.Out, "%s\n", rec.Message)
			}
			if rec.State == history.StateSucceeded {
				fmt.Fprintln(a.io.Out, "The run succeeded: there is no trace.")
				return nil
			}
			fmt.Fprintln(a.io.Out, "")
			if err := copyArtifact(a.io.Out, run, history.ArtifactTrace); err != nil {
				fmt.Fprintf(a.io.Out, "(no trace: the script wrote nothing to stderr; see `cscript runs logs %s`)\n", rec.ID)
			}
			fmt.Fprintf(a.io.Out, "\nMore in %s (script, pod.yaml, events.txt, containers.txt, output.log)\n", run.Dir)
			return nil
		},
	}
}

// runRecord finds the run named by the first argument (default: last).
func (a *app) runRecord(c *cli.Context) (*action.RunInfo, *history.Record, error) {
	run, err := a.act.GetRun(c.Args().First())
	if err != nil {
		return nil, nil, err
	}
	return run, run.Record, nil
}

// copyArtifact copies a file of a run to w.
func copyArtifact(w io.Writer, run *action.RunInfo, name string) error {
	f, err := run.Artifact(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func (a *app) gcCommand() *cli.Command {
	flagOlder := &cli.DurationFlag{Name: "older-than", Usage: "also remove what is older than `DURATION` (e.g. 2h) even if not expired"}
	flagDry := &cli.BoolFlag{Name: "dry-run", Usage: "only print what would be removed"}
	flagAll := &cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "look in every namespace"}
	return &cli.Command{
		Name:  "gc",
		Usage: "remove Pods, Jobs, Secrets and Leases (on a Docker deck: containers) that cscript left behind (expired, or --older-than); mark team records of killed runs abandoned",
		Flags: append(targetFlags(), flagDeck, flagOlder, flagDry, flagAll),
		Action: func(c *cli.Context) error {
			res, err := a.act.GC(c.Context, action.GCOptions{Deck: c.String(flagDeck.Name), Target: targetOf(c), AllNamespaces: c.Bool(flagAll.Name),
				OlderThan: c.Duration(flagOlder.Name), DryRun: c.Bool(flagDry.Name)})
			if res == nil {
				return err
			}
			a.target = res.Target
			gone, abandoned := res.Deleted, res.Abandoned
			verb := "deleted"
			if c.Bool(flagDry.Name) {
				verb = "would delete"
			}
			for _, g := range gone {
				fmt.Fprintf(a.io.Out, "%s %s\n", verb, g)
			}
			for _, m := range abandoned {
				fmt.Fprintln(a.io.Out, m)
			}
			if len(gone) == 0 && len(abandoned) == 0 && err == nil {
				fmt.Fprintln(a.io.Out, "nothing to collect")
			}
			return err
		},
	}
}

func (a *app) runsAttach(c *cli.Context) error {
	_, err := a.act.AttachRun(c.Context, action.AttachOptions{ID: c.Args().First(), Kubeconfig: c.String(flagKubeconfig.Name), KeepRuns: c.Int(flagKeepRuns.Name)},
		&runProgress{a: a, verbose: c.Bool(flagVerbose.Name)})
	return runExitError(err)
}
