package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/runner/kube"
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
				Flags:  append(append([]cli.Flag(nil), common...), &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: outputTable, Usage: "output format: text, json or yaml"}),
				Action: func(c *cli.Context) error { return a.resourceShow(c, deps) }},
		},
	}
}

// resourceEnv is what every resource command needs: the catalog, the
// lifecycle definitions, the deck and its state store.
type resourceEnv struct {
	cat    *store.Catalog
	lcat   *lifecycle.Catalog
	deck   *store.Deck
	states lifecycle.StateStore
	target *kube.Target // nil for a docker deck
}

func isDocker(d *store.Deck) bool { return d != nil && d.Backend == store.BackendDocker }

func (a *app) resourceSetup(c *cli.Context, deps resourceDeps) (*resourceEnv, error) {
	ref := c.String(flagDeck.Name)
	if ref == "" {
		return nil, usageErrorf("resource commands need --deck: resources are kept per deck")
	}
	cat, _, err := a.catalog()
	if err != nil {
		return nil, err
	}
	deck, err := cat.Deck(ref)
	if err != nil {
		return nil, err
	}
	env := &resourceEnv{cat: cat, lcat: lifecycle.Load(cat), deck: deck}
	if deps.states != nil {
		env.states, err = deps.states(c, deck)
		return env, err
	}
	if isDocker(deck) {
		env.states = &lifecycle.DirStore{Dir: lifecycle.LocalDir(a.paths().StateDir, deck.Name), Deck: deck.Name}
		return env, nil
	}
	env.target, err = kube.LoadTarget(a.targetOptions(c, deck))
	if err != nil {
		return nil, err
	}
	a.target = env.target
	env.states = &lifecycle.ConfigMapStore{Client: env.target.Client, Namespace: env.target.Namespace, Deck: deck.Name}
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
	if ev == lifecycle.EventCreate {
		o.Definition, err = env.lcat.Find(c.String(flagLifecycle.Name))
	} else {
		o.Definition, err = a.definitionOf(c.Context, env, name)
	}
	if err != nil {
		return err
	}
	if !o.DryRun && ev != lifecycle.EventPull {
		a.lastTeamRun(c, env.target, env.deck, o.Definition.Scripts[ev])
		if err := a.confirmProtected(c, env.deck, a.displayTarget(env)); err != nil {
			return err
		}
	}
	return a.runEvent(c, deps, env, o)
}

// definitionOf finds the lifecycle a recorded resource belongs to.
func (a *app) definitionOf(ctx context.Context, env *resourceEnv, name string) (*lifecycle.Definition, error) {
	r, err := env.states.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return env.lcat.Find(r.Lifecycle)
}

func (a *app) displayTarget(env *resourceEnv) *kube.Target {
	if env.target != nil {
		return env.target
	}
	return &kube.Target{Context: "docker", Namespace: "-"}
}

// runEvent renders the event's script, runs it through the lifecycle
// manager and prints the outcome.
func (a *app) runEvent(c *cli.Context, deps resourceDeps, env *resourceEnv, o lifecycle.Order) error {
	def := o.Definition
	lib, err := env.cat.Library(def.Library)
	if err != nil {
		return err
	}
	if err := lib.SharedErr(); err != nil {
		return err
	}
	now := a.now()
	runID := history.NewRunID(now)
	o.RunID = runID
	o.Deck = env.deck.Name
	sig := store.GitIdentity(lib.Library.Root)
	o.Identity = lifecycle.Identity{
		ProjectName: env.deck.Name, ProjectUUID: lifecycle.StableUUID("deck", env.deck.Source.Library, env.deck.Name),
		CustomerName: lib.Library.Name, CustomerUUID: lifecycle.StableUUID("library", lib.Library.Name),
		CreatorUsername: sig.Name, CreatorEmail: sig.Email,
	}
	o.Values = templates.Layers(lib.Values, env.deck.Values, nil, nil)

	var exec lifecycle.Executor
	if ref, ok := def.Scripts[o.Event]; ok {
		if !strings.Contains(ref, "/") {
			ref = def.Library + "/" + ref
		}
		r, err := a.resolveIn(c, env.cat, ref)
		if err != nil {
			return err
		}
		out, err := a.render(r, templates.RunData{ID: runID, User: userName(r.lib)})
		if err != nil {
			return err
		}
		spec, err := a.buildSpec(c, r, out, runID, userName(r.lib), true)
		if err != nil {
			return err
		}
		o.Values = r.values
		req := execRequest(spec)
		o.Script = &req
		live := &switchWriter{w: a.io.Err}
		if deps.executor != nil {
			exec, err = deps.executor(c, env.deck, live)
		} else {
			exec, err = a.defaultExecutor(env, live)
		}
		if err != nil {
			return err
		}
		if exec, err = a.recordRuns(c, env, spec, o.DryRun, exec, live); err != nil {
			return err
		}
	}
	m := &lifecycle.Manager{States: env.states, Exec: exec, Now: a.now, Host: hostName()}
	outcome, err := m.Run(c.Context, o)
	return a.printOutcome(o, outcome, err)
}

// execRequest carries a rendered runner.Spec over to the lifecycle package.
func execRequest(spec runner.Spec) lifecycle.ExecRequest {
	req := lifecycle.ExecRequest{
		Script: spec.Script, Library: spec.Library, Deck: spec.Deck, User: spec.User,
		Image: spec.Image, Interpreter: spec.Interpreter, ServiceAccount: spec.ServiceAccount, Body: spec.Body,
		Env: maps.Clone(spec.Env), Timeout: spec.Timeout, Redact: spec.Redact, Native: spec,
	}
	for _, cr := range spec.Credentials {
		if cr.SecretRef != nil {
			req.SecretRefs = append(req.SecretRefs, lifecycle.SecretRef{Env: cr.Name, Secret: cr.SecretRef.Name, Key: cr.SecretRef.Key})
			continue
		}
		if req.SecretEnv == nil {
			req.SecretEnv = map[string]string{}
		}
		req.SecretEnv[cr.Name] = cr.Value
	}
	for p, v := range spec.SecretParams {
		if req.SecretEnv == nil {
			req.SecretEnv = map[string]string{}
		}
		req.SecretEnv[runner.SecretParamEnv(p)] = v
	}
	return req
}

// defaultExecutor runs lifecycle scripts in Docker or as Jobs, with their
// output to out as it comes.
func (a *app) defaultExecutor(env *resourceEnv, out io.Writer) (lifecycle.Executor, error) {
	if isDocker(env.deck) {
		eng, err := docker.NewClient()
		if err != nil {
			return nil, err
		}
		return &dockerExecutor{eng: eng, out: out}, nil
	}
	rn := &kube.Runner{Client: env.target.Client, Config: env.target.Config, Namespace: env.target.Namespace,
		Force: a.info.Force, Host: hostName(), Now: a.now}
	return &jobExecutor{runner: rn, out: out}, nil
}

// recordRuns wraps exec so that every lifecycle script it runs gets a run
// record like `cscript run`'s: `cscript runs`, `runs logs` and `trace` show
// them too. live is where exec writes the script's output as it comes.
func (a *app) recordRuns(c *cli.Context, env *resourceEnv, spec runner.Spec, dryRun bool, exec lifecycle.Executor, live *switchWriter) (lifecycle.Executor, error) {
	hist, err := a.history(c)
	if err != nil {
		return nil, err
	}
	// The record, its output and its artifacts are redacted like run's.
	a.secrets.Add(spec.Redact...)
	hist.Redactor = a.secrets
	base := history.Record{Deck: env.deck.Name, LibraryCommit: spec.LibraryCommit, DryRun: dryRun,
		Backend: history.BackendKubernetes, Mode: history.ModeJob}
	if isDocker(env.deck) {
		base.Backend, base.Mode = history.BackendDocker, history.ModeDocker
	} else if env.target != nil {
		base.Context, base.Namespace = env.target.Context, env.target.Namespace
	}
	team, err := a.teamHistory(c, env.target, env.deck) // before the manager touches the resource's state
	if err != nil {
		return nil, err
	}
	return &recordedExecutor{inner: exec, a: a, hist: hist, base: base, live: live, team: team}, nil
}

// recordedExecutor keeps a run record of each script it runs.
type recordedExecutor struct {
	inner lifecycle.Executor
	a     *app
	hist  *history.Store
	base  history.Record // what the records of one command share
	live  *switchWriter
	team  *teamRun // the record in the namespace; nil on Docker
}

var _ lifecycle.Executor = (*recordedExecutor)(nil)

func (r *recordedExecutor) Run(ctx context.Context, req lifecycle.ExecRequest) (*lifecycle.ExecResult, error) {
	rec := r.base
	rec.ID, rec.Script, rec.Library, rec.User, rec.Image = req.RunID, req.Script, req.Library, req.User, req.Image
	rec.Event, rec.Resource, rec.Start = string(req.Event), req.Resource, r.a.now()
	head := fmt.Sprintf("%s %s %s: script %s in %s", r.a.io.paint("1", "▶"), req.Event, req.Resource, req.Script, rec.Deck)
	hrun, err := r.hist.Begin(&rec)
	if err != nil {
		// No record: no run id to look it up by.
		fmt.Fprintf(r.a.io.Err, "%s\nwarning: this run has no record: %v\n", head, err)
		return r.inner.Run(ctx, req)
	}
	fmt.Fprintf(r.a.io.Err, "%s, run %s\n", head, req.RunID)
	_ = hrun.SaveArtifact(history.ArtifactScript, []byte(req.Body))
	if err := r.team.begin(ctx, hrun, &rec, req.Body); err != nil {
		return nil, err
	}
	// Job and Docker runs give stdout and stderr as one stream: the record
	// keeps it as stderr, whose last lines make the trace of a failure.
	r.live.set(io.MultiWriter(r.a.io.Err, hrun.Stderr()))
	res, err := r.inner.Run(ctx, req)
	r.live.set(r.a.io.Err)
	o := outcome{end: r.a.now()}
	if res != nil {
		o.exitCode = res.ExitCode
	}
	r.a.finishRecord(hrun, &rec, o, err)
	r.team.finish(ctx, &rec)
	return res, err
}

// switchWriter writes to a writer that can be changed between runs.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// jobExecutor runs lifecycle scripts as Kubernetes Jobs (kube.RunJob).
type jobExecutor struct {
	runner *kube.Runner
	out    io.Writer // live output
}

var _ lifecycle.Executor = (*jobExecutor)(nil)

func (j *jobExecutor) Run(ctx context.Context, req lifecycle.ExecRequest) (*lifecycle.ExecResult, error) {
	spec, _ := req.Native.(runner.Spec)
	spec.RunID, spec.Env, spec.Timeout = req.RunID, req.Env, req.Timeout
	if spec.Body == "" {
		spec.Script, spec.Library, spec.Deck, spec.User = req.Script, req.Library, req.Deck, req.User
		spec.Image, spec.Interpreter, spec.Body, spec.Redact = req.Image, req.Interpreter, req.Body, req.Redact
	}
	res, err := j.runner.RunJob(ctx, spec, kube.JobOptions{CombinedOutput: j.out})
	if res == nil {
		return nil, err
	}
	return scriptResult(res.Output, res.ExitCode, res.RunID, err)
}

// dockerExecutor runs lifecycle scripts in Docker containers (docker.Run).
type dockerExecutor struct {
	eng docker.Engine
	out io.Writer
}

var _ lifecycle.Executor = (*dockerExecutor)(nil)

func (d *dockerExecutor) Run(ctx context.Context, req lifecycle.ExecRequest) (*lifecycle.ExecResult, error) {
	if len(req.SecretRefs) > 0 {
		return nil, fmt.Errorf("credential %s comes from a Kubernetes Secret, which a docker deck cannot read: give the deck a local source for it (fromEnv, fromFile, fromCommand)", req.SecretRefs[0].Env)
	}
	env := maps.Clone(req.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, req.SecretEnv)
	memory, err := (runner.Spec{Resources: runner.Resources{Limits: req.Limits}}).MemoryLimit()
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", req.Script, err)
	}
	spec := docker.Spec{RunID: req.RunID, Script: req.Script, Image: req.Image, Interpreter: req.Interpreter, Body: req.Body,
		Env: env, Memory: memory, Timeout: req.Timeout, Redact: req.Redact,
		Labels: map[string]string{lifecycle.LabelResource: req.Resource, "cscript.dev/event": string(req.Event)}}
	if spec.Timeout == 0 {
		spec.Timeout = lifecycle.DefaultTimeout
	}
	res, err := docker.Run(ctx, d.eng, spec, d.out, d.out)
	if res == nil {
		return nil, err
	}
	return scriptResult(res.Output, res.ExitCode, req.RunID, err)
}

// scriptResult turns a runner's answer into an executor's: a script that
// exited (with any code) is a result; a deadline is a timeout; anything
// else is an error that comes with the output so far.
func scriptResult(output string, code int, runID string, err error) (*lifecycle.ExecResult, error) {
	res := &lifecycle.ExecResult{Output: output, ExitCode: code, RunID: runID}
	var se *runner.ScriptError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &se) && se.Reason == runner.ReasonDeadlineExceeded:
		return res, fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	case errors.As(err, &se):
		res.ExitCode = se.Code
		return res, nil
	}
	return res, err
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
		err := a.pullOnce(c, deps, env, name)
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
func (a *app) pullOnce(c *cli.Context, deps resourceDeps, env *resourceEnv, name string) error {
	names := []string{name}
	if name == "" {
		list, err := env.states.List(c.Context)
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
			fmt.Fprintf(a.io.Err, "no resources to pull in deck %s\n", env.deck.Name)
			return nil
		}
	}
	var failed []string
	var last error
	for _, n := range names {
		if c.Context.Err() != nil {
			return nil
		}
		def, err := a.definitionOf(c.Context, env, n)
		if err == nil {
			if _, ok := def.Scripts[lifecycle.EventPull]; !ok {
				fmt.Fprintf(a.io.Err, "%s: lifecycle %s has no pull script: skipped\n", n, def.Name)
				continue
			}
			err = a.runEvent(c, deps, env, lifecycle.Order{Event: lifecycle.EventPull, Name: n, Definition: def, DryRun: c.Bool(flagDryRun.Name)})
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
	list, err := env.states.List(c.Context)
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
	r, err := env.states.Get(c.Context, name)
	if err != nil {
		return err
	}
	if f := c.String("output"); f != outputTable && f != "text" {
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
