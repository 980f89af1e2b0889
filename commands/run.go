package commands

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/transfer"
)

var (
	flagKubeconfig  = &cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig `FILE` (default: $KUBECONFIG, then ~/.kube/config)"}
	flagContext     = &cli.StringFlag{Name: "context", Usage: "kubeconfig `CONTEXT` (overrides the deck's)"}
	flagNamespace   = &cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "`NAMESPACE` (overrides the deck's)"}
	flagYes         = &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask before running on a protected deck"}
	flagInteractive = &cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "pass stdin to the script"}
	flagCompress    = &cli.BoolFlag{Name: "compress", Usage: "compress file transfers (S2 with cscript's transfer agent, else gzip when the image has it)"}
	flagPod         = &cli.BoolFlag{Name: "pod", Usage: "print what a run would create: the Pod (--mode job: the Job) and the run's Secret, data redacted; on a Docker deck the container"}
	flagVerbose     = &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print each phase of the run on stderr"}
	flagMode        = &cli.StringFlag{Name: "mode", Value: history.ModePod, Usage: "run mode `MODE`: pod execs the script in a one-off Pod (files in and out), job runs it as a Kubernetes Job"}
	flagDetach      = &cli.BoolFlag{Name: "detach", Usage: "with --mode job or on a Docker deck: start the Job or container, print the run id and return; follow it later with: cscript runs attach ID"}
	flagMaxDownload = &cli.StringFlag{Name: "max-download", Value: "10Gi", Usage: "stop a file download larger than `SIZE` (like 500Mi or 20Gi; 0: no limit)"}
	flagKeepRuns    = &cli.IntFlag{Name: "keep-runs", Value: history.DefaultKeep, Usage: "keep the last `N` run records", EnvVars: []string{"CSCRIPT_KEEP_RUNS"}}
)

func targetFlags() []cli.Flag { return []cli.Flag{flagKubeconfig, flagContext, flagNamespace} }

func (a *app) runCommand() *cli.Command {
	flags := append(valuesFlags(), targetFlags()...)
	flags = append(flags, flagYes, flagInteractive, flagCompress, flagMaxDownload, flagVerbose, flagKeepRuns, flagMode, flagDetach)
	return &cli.Command{
		Name:         "run",
		Usage:        "run a script in a one-off Pod (or Docker container) of the deck's target",
		ArgsUsage:    "NAME",
		Flags:        flags,
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			return runExitError(a.run(c))
		},
	}
}

// runExitError keeps the kinds that belong to the script (its own code,
// 126, 127, 128+N) and turns every other failure into 125 (fail.Run), so
// that a script's exit code is never mistaken for one of cscript's.
func runExitError(err error) error { return fail.Run(err) }

func (a *app) run(c *cli.Context) error {
	ref, err := scriptArg(c)
	if err != nil {
		return err
	}
	maxDownload, err := parseMaxDownload(c.String(flagMaxDownload.Name))
	if err != nil {
		return usageErrorf("--max-download %q: %v", c.String(flagMaxDownload.Name), err)
	}
	deck, fromDefault, err := a.requireDeck(c)
	if err != nil {
		return err
	}
	values := valuesOf(c)
	values.Deck = deck
	plan, err := a.act.PlanRun(c.Context, action.RunOptions{
		Ref: ref, Values: values, Target: targetOf(c),
		Mode: c.String(flagMode.Name), ModeSet: c.IsSet(flagMode.Name),
		Yes: c.Bool(flagYes.Name), Interactive: c.Bool(flagInteractive.Name), Compress: c.Bool(flagCompress.Name),
		Detach: c.Bool(flagDetach.Name), MaxDownload: maxDownload, KeepRuns: c.Int(flagKeepRuns.Name),
	})
	if err != nil {
		return defaultDeckHint(err, deck, fromDefault)
	}
	prog := &runProgress{a: a, verbose: c.Bool(flagVerbose.Name), start: plan.Start(), defaultDeck: fromDefault}
	res, runErr := a.act.ExecuteRun(c.Context, plan, prog)
	if runErr != nil {
		if res != nil && res.Record.State != history.StateSucceeded {
			fmt.Fprintf(a.io.Err, "%s run %s failed; its trace: cscript trace %s\n", a.io.paint("31", "✗"), res.Record.ID, res.Record.ID)
		}
		return withHints(runErr)
	}
	if res.Detached {
		fmt.Fprintf(a.io.Out, "%s\n", res.Record.ID)
		fmt.Fprintf(a.io.Err, "detached: follow it with `cscript runs attach %s`\n", res.Record.ID)
	}
	return nil
}

// valuesOf reads the flags that feed the values of a render or a run.
func valuesOf(c *cli.Context) action.Values {
	return action.Values{
		Deck: c.String(flagDeck.Name), Files: c.StringSlice(flagValues.Name),
		SetJSON: c.StringSlice(flagSetJSON.Name), Set: c.StringSlice(flagSet.Name),
		SetString: c.StringSlice(flagSetStr.Name), SetFile: c.StringSlice(flagSetFile.Name),
	}
}

// targetOf reads --kubeconfig, --context and --namespace.
func targetOf(c *cli.Context) action.Target {
	return action.Target{Kubeconfig: c.String(flagKubeconfig.Name), Context: c.String(flagContext.Name), Namespace: c.String(flagNamespace.Name)}
}

// parseMaxDownload reads --max-download: a size such as 500Mi or 20Gi
// (Kubernetes quantity syntax); "0" is no limit (-1), "" the default (0).
func parseMaxDownload(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := runner.ParseBytes(v)
	switch {
	case err != nil || n < 0:
		return 0, errors.New("not a size (like 500Mi or 20Gi; 0 for no limit)")
	case n == 0:
		return -1, nil
	}
	return n, nil
}

// withHints adds to a run's error the flag that changes what caused it.
func withHints(err error) error {
	var tl *transfer.TooLargeError
	if errors.As(err, &tl) {
		return &hintedError{err: err, hint: "raise the limit with --max-download"}
	}
	return err
}

// hintedError is an error with advice after it.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintedError) Unwrap() error { return e.err }
