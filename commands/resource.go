package commands

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

var (
	flagLifecycle = &cli.StringFlag{Name: "lifecycle", Aliases: []string{"l"}, Usage: "the lifecycle definition: `NAME` or LIB/NAME"}
	flagPlan      = &cli.StringFlag{Name: "plan", Usage: "the `PLAN` of the lifecycle (its limits, under --limit)"}
	flagAttr      = &cli.StringSliceFlag{Name: "attr", Usage: "an attribute of the resource, Helm-style: `KEY=VALUE` (may repeat)"}
	flagLimit     = &cli.StringSliceFlag{Name: "limit", Usage: "a limit: `NAME=N`, a whole number (NAME=N,NAME=N or repeat the flag; over the plan's)"}
	flagDryRun    = &cli.BoolFlag{Name: "dry-run", Usage: "run the script with these inputs and show what would be recorded; change no state"}
	flagAll       = &cli.BoolFlag{Name: "all", Usage: "pull every resource of the deck that is not terminated"}
	flagEvery     = &cli.DurationFlag{Name: "every", Usage: "keep pulling every `DURATION` (e.g. 1h) until interrupted"}
)

// resourceDeps choose the state store and the executor for a deck; nil
// fields take the defaults (ConfigMaps and Kubernetes Jobs, or a local
// directory and Docker containers for a docker deck). Tests inject theirs.
type resourceDeps struct {
	states   func(c *cli.Context, deck *store.Deck) (lifecycle.StateStore, error)
	executor func(c *cli.Context, deck *store.Deck, out io.Writer) (lifecycle.Executor, error)
}

func (a *app) resourceCommand() *cli.Command { return a.resourceCommandWith(resourceDeps{}) }

func (a *app) resourceCommandWith(deps resourceDeps) *cli.Command {
	common := append([]cli.Flag{flagDeck}, targetFlags()...)
	event := append(append([]cli.Flag(nil), common...), flagDryRun, flagYes)
	with := func(fs ...cli.Flag) []cli.Flag { return append(append([]cli.Flag(nil), event...), fs...) }
	action := func(ev lifecycle.Event) cli.ActionFunc {
		return func(c *cli.Context) error { return a.resourceEvent(c, deps, ev) }
	}
	return &cli.Command{
		Name:  "resource",
		Usage: "run lifecycle scripts (create, update, terminate, pull) of resources and show their state",
		Description: "A lifecycle definition (a library file with `kind: Lifecycle`) names a script per event.\n" +
			"Scripts get Waldur's custom-script environment and their last output line drives the\n" +
			"resource's state, kept in a ConfigMap of the deck's namespace (or a local file for docker decks).",
		Subcommands: []*cli.Command{
			{Name: "create", Usage: "create a resource: run the lifecycle's create script", ArgsUsage: "NAME",
				Flags: with(flagLifecycle, flagPlan, flagAttr, flagLimit), Action: action(lifecycle.EventCreate)},
			{Name: "update", Usage: "change a resource's plan or limits: run the update script", ArgsUsage: "NAME",
				Flags: with(flagPlan, flagLimit), Action: action(lifecycle.EventUpdate)},
			{Name: "terminate", Usage: "terminate a resource: run the terminate script", ArgsUsage: "NAME",
				Flags: with(), Action: action(lifecycle.EventTerminate)},
			{Name: "pull", Usage: "the regular update: run the pull script, record usages and report", ArgsUsage: "[NAME]",
				Flags: with(flagAll, flagEvery), Action: func(c *cli.Context) error { return a.resourcePull(c, deps) }},
			{Name: "list", Aliases: []string{"ls"}, Usage: "list the resources of a deck",
				Flags: append(append([]cli.Flag(nil), common...), flagOutput), Action: func(c *cli.Context) error { return a.resourceList(c, deps) }},
			{Name: "show", Usage: "show a resource: state, backend id, metadata, endpoints, report, usages, last error", ArgsUsage: "NAME",
				Flags:  append(append([]cli.Flag(nil), common...), outputFlag(outputText, outputJSON, outputYAML)),
				Action: func(c *cli.Context) error { return a.resourceShow(c, deps) }},
			a.resourceForgetCommand(deps),
		},
	}
}

func (a *app) resourceSetup(c *cli.Context, deps resourceDeps) (*action.Resources, error) {
	o := action.ResourceOptions{Deck: c.String(flagDeck.Name), Target: targetOf(c)}
	if deps.states != nil {
		o.States = func(d *store.Deck) (lifecycle.StateStore, error) { return deps.states(c, d) }
	}
	env, err := a.act.OpenResources(o)
	if err != nil {
		return nil, err
	}
	if env.Target != nil {
		a.target = env.Target
	}
	if deps.executor != nil {
		env.Executor = func(d *store.Deck, out io.Writer) (lifecycle.Executor, error) { return deps.executor(c, d, out) }
	}
	return env, nil
}

func resourceArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("%s needs exactly one resource name, got %d arguments", c.Command.Name, c.NArg())
	}
	name := c.Args().First()
	if err := lifecycle.ValidateName(name); err != nil {
		return "", usageErrorf("%v", err)
	}
	return name, nil
}

func parseLimits(c *cli.Context) (map[string]int64, error) {
	var out map[string]int64
	for _, arg := range c.StringSlice(flagLimit.Name) {
		for _, e := range strings.Split(arg, ",") { // cpu=2,ram=4096
			k, v, ok := strings.Cut(e, "=")
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if !ok || k == "" || err != nil {
				return nil, usageErrorf("--limit %q: give NAME=N with a whole number N (several: NAME=N,NAME=N)", arg)
			}
			if out == nil {
				out = map[string]int64{}
			}
			out[strings.TrimSpace(k)] = n
		}
	}
	return out, nil
}

func parseAttrs(c *cli.Context) (map[string]any, error) {
	out := map[string]any{}
	for _, e := range c.StringSlice(flagAttr.Name) {
		if err := templates.ParseSet(out, e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (a *app) resourceEvent(c *cli.Context, deps resourceDeps, ev lifecycle.Event) error {
	name, err := resourceArg(c)
	if err != nil {
		return err
	}
	o := lifecycle.Order{Event: ev, Name: name, DryRun: c.Bool(flagDryRun.Name)}
	if ev == lifecycle.EventCreate || ev == lifecycle.EventUpdate {
		o.Plan = c.String(flagPlan.Name)
		if o.Limits, err = parseLimits(c); err != nil {
			return err
		}
	}
	if ev == lifecycle.EventCreate {
		if c.String(flagLifecycle.Name) == "" {
			return usageErrorf("resource create needs --lifecycle NAME")
		}
		if o.Attributes, err = parseAttrs(c); err != nil {
			return err
		}
	}
	env, err := a.resourceSetup(c, deps)
	if err != nil {
		return err
	}
	return a.runEvent(c, env, action.EventOptions{Order: o, Lifecycle: c.String(flagLifecycle.Name), Yes: c.Bool(flagYes.Name)})
}

// runEvent runs a lifecycle event and prints the outcome.
func (a *app) runEvent(c *cli.Context, env *action.Resources, eo action.EventOptions) error {
	if eo.Order.Deck == "" && env.Deck != nil {
		eo.Order.Deck = env.Deck.Name // for the lines printed after it
	}
	out, err := a.act.RunEvent(c.Context, env, eo, &runProgress{a: a})
	return a.printOutcome(eo.Order, out, err)
}

func (a *app) printOutcome(o lifecycle.Order, out *lifecycle.Outcome, err error) error {
	if out == nil {
		return err
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(a.io.Err, "warning: %s\n", w)
	}
	r := out.Resource
	if o.DryRun {
		fmt.Fprintf(a.io.Err, "dry run: nothing was recorded; this is what %s would record:\n", o.Event)
		if werr := writeStructured(a.io.Out, outputYAML, r); werr != nil {
			return werr
		}
		var ee *lifecycle.EventError
		if errors.As(err, &ee) {
			return silent(err)
		}
		return err
	}
	var ee *lifecycle.EventError
	if errors.As(err, &ee) {
		fmt.Fprintf(a.io.Err, "%s %s %s: %s: %s\n", a.io.paint("31", "✗"), o.Event, o.Name, r.State, a.secrets.String(r.ErrorMessage))
		fmt.Fprintf(a.io.Err, "  the whole output: cscript resource show %s --deck %s\n", o.Name, o.Deck)
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "%s: %s", r.Name, r.State)
	switch o.Event {
	case lifecycle.EventCreate:
		fmt.Fprintf(a.io.Out, ", backend id %s", orDash(r.BackendID))
	case lifecycle.EventPull:
		fmt.Fprintf(a.io.Out, ", %d usages, %d report sections", len(r.Usages), len(r.Report))
	}
	fmt.Fprintln(a.io.Out)
	return nil
}

func (a *app) resourcePull(c *cli.Context, deps resourceDeps) error {
	all := c.Bool(flagAll.Name)
	if all == (c.NArg() == 1) || c.NArg() > 1 {
		return usageErrorf("resource pull needs one resource NAME or --all")
	}
	var name string
	if !all {
		var err error
		if name, err = resourceArg(c); err != nil {
			return err
		}
	}
	every := c.Duration(flagEvery.Name)
	if every < 0 || (every > 0 && every < time.Second) {
		return usageErrorf("--every %s: give a duration of at least 1s, e.g. 1h", every)
	}
	env, err := a.resourceSetup(c, deps)
	if err != nil {
		return err
	}
	for {
		err := a.pullOnce(c, env, name)
		if every == 0 {
			return err
		}
		if err != nil {
			fmt.Fprintf(a.io.Err, "cscript: %v\n", err)
		}
		fmt.Fprintf(a.io.Err, "next pull at %s (every %s; stop with Ctrl-C)\n", a.now().Add(every).Format(time.TimeOnly), every)
		t := time.NewTimer(every)
		select {
		case <-c.Context.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// pullOnce pulls one resource, or every live one when name is "".
func (a *app) pullOnce(c *cli.Context, env *action.Resources, name string) error {
	names := []string{name}
	if name == "" {
		list, err := env.States.List(c.Context)
		if err != nil {
			return err
		}
		names = nil
		for _, r := range list {
			if r.State != lifecycle.StateTerminated && !r.State.Transient() {
				names = append(names, r.Name)
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(a.io.Err, "no resources to pull in deck %s\n", env.Deck.Name)
			return nil
		}
	}
	var failed []string
	var last error
	for _, n := range names {
		if c.Context.Err() != nil {
			return nil
		}
		def, err := env.Definition(c.Context, n)
		if err == nil {
			if _, ok := def.Scripts[lifecycle.EventPull]; !ok {
				fmt.Fprintf(a.io.Err, "%s: lifecycle %s has no pull script: skipped\n", n, def.Name)
				continue
			}
			err = a.runEvent(c, env, action.EventOptions{Order: lifecycle.Order{Event: lifecycle.EventPull, Name: n, Definition: def, DryRun: c.Bool(flagDryRun.Name)}})
		}
		if err != nil {
			last = err
			failed = append(failed, n)
			if len(names) > 1 {
				var ee *lifecycle.EventError
				if !errors.As(err, &ee) {
					fmt.Fprintf(a.io.Err, "cscript: %s: %v\n", n, err)
				}
			}
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(names) == 1:
		return last
	}
	return silent(fmt.Errorf("pull failed for %d of %d resources: %s", len(failed), len(names), strings.Join(failed, ", ")))
}

// resourceRow is one row of `resource list`.
type resourceRow struct {
	Name      string          `json:"name" yaml:"name"`
	State     lifecycle.State `json:"state" yaml:"state"`
	Lifecycle string          `json:"lifecycle" yaml:"lifecycle"`
	Plan      string          `json:"plan,omitempty" yaml:"plan,omitempty"`
	BackendID string          `json:"backend_id" yaml:"backend_id"`
	Modified  time.Time       `json:"modified" yaml:"modified"`
	Error     string          `json:"error_message,omitempty" yaml:"error_message,omitempty"`
}

func (a *app) resourceList(c *cli.Context, deps resourceDeps) error {
	if c.NArg() > 0 {
		return usageErrorf("resource list takes no arguments (the deck is --deck)")
	}
	env, err := a.resourceSetup(c, deps)
	if err != nil {
		return err
	}
	list, err := env.States.List(c.Context)
	if err != nil {
		return err
	}
	rows := []resourceRow{}
	for _, r := range list {
		rows = append(rows, resourceRow{Name: r.Name, State: r.State, Lifecycle: r.Lifecycle, Plan: r.Plan, BackendID: r.BackendID, Modified: r.Modified, Error: r.ErrorMessage})
	}
	if f := c.String(flagOutput.Name); f != outputTable {
		return writeStructured(a.io.Out, f, rows)
	}
	tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tLIFECYCLE\tPLAN\tBACKEND ID\tMODIFIED\tERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.State, r.Lifecycle, orDash(r.Plan), orDash(r.BackendID),
			r.Modified.Local().Format(time.DateTime), firstLine(r.Error))
	}
	return tw.Flush()
}

func (a *app) resourceShow(c *cli.Context, deps resourceDeps) error {
	name, err := resourceArg(c)
	if err != nil {
		return err
	}
	env, err := a.resourceSetup(c, deps)
	if err != nil {
		return err
	}
	r, err := env.States.Get(c.Context, name)
	if err != nil {
		return err
	}
	if f := c.String("output"); f != outputText && f != outputTable {
		return writeStructured(a.io.Out, f, r)
	}
	return printResource(a.io.Out, r)
}

// printResource is the human form of `resource show`.
func printResource(w io.Writer, r *lifecycle.Resource) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	line("Name", r.Name)
	line("UUID", r.UUID)
	line("State", string(r.State))
	line("Lifecycle", r.Lifecycle)
	line("Deck", r.Deck)
	line("Plan", orDash(r.Plan))
	line("Limits", orDash(kv(r.Limits)))
	line("Attributes", orDash(kv(r.Attributes)))
	line("Backend ID", orDash(r.BackendID))
	line("Metadata", orDash(kv(r.BackendMetadata)))
	if r.Running != nil {
		line("Running", fmt.Sprintf("%s since %s (run %s on %s)", r.Running.Event, r.Running.Start.Local().Format(time.DateTime), r.Running.RunID, orDash(r.Running.Host)))
	}
	line("Modified", r.Modified.Local().Format(time.DateTime))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Endpoints) > 0 {
		fmt.Fprintln(w, "\nEndpoints:")
		for _, e := range r.Endpoints {
			fmt.Fprintf(w, "  %s\t%s\n", orDash(e.Name), e.URL)
		}
	}
	if len(r.Usages) > 0 {
		fmt.Fprintf(w, "\nUsages (%s):\n", r.UsagesTime.Local().Format(time.DateTime))
		for _, u := range r.Usages {
			fmt.Fprintf(w, "  %s\t%s\n", u.Type, strconv.FormatFloat(u.Amount, 'f', -1, 64))
		}
	}
	if len(r.Report) > 0 {
		fmt.Fprintf(w, "\nReport (%s):\n", r.ReportTime.Local().Format(time.DateTime))
		for _, s := range r.Report {
			fmt.Fprintf(w, "  %s\n", s.Header)
			for _, l := range strings.Split(s.Body, "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	if len(r.PullWarnings) > 0 {
		fmt.Fprintln(w, "\nWarnings of the last pull:")
		for _, s := range r.PullWarnings {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if r.ErrorMessage != "" {
		fmt.Fprintf(w, "\nError: %s\n", r.ErrorMessage)
		if r.ErrorTraceback != "" {
			fmt.Fprintln(w, "Traceback (the whole output):")
			for _, l := range strings.Split(strings.TrimRight(r.ErrorTraceback, "\n"), "\n") {
				fmt.Fprintf(w, "  | %s\n", l)
			}
		}
	}
	if len(r.History) > 0 {
		fmt.Fprintln(w, "\nHistory:")
		for _, h := range r.History {
			fmt.Fprintf(w, "  %s  %-9s  %-10s  exit %d  run %s  order %s\n", h.Start.Local().Format(time.DateTime), h.Event, h.State, h.ExitCode, h.RunID, h.Order)
		}
	}
	return nil
}

// kv formats a map as k=v pairs, sorted; nested values as Go prints them.
func kv[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return strings.Join(parts, " ")
}
