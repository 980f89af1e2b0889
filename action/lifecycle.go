package action

// Lifecycle events: a resource's create, update, terminate and pull
// scripts, run through the lifecycle manager with Waldur's identity, each
// script's run recorded like a run's.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/lifecycle/kubestate"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// Resources are a deck's resources: what every resource action needs.
type Resources struct {
	Catalog    *store.Catalog
	Lifecycles *lifecycle.Catalog
	Deck       *store.Deck
	States     lifecycle.StateStore
	// Target is the deck's cluster; nil for a Docker deck.
	Target *kube.Target
	// Executor runs the lifecycle scripts with their output to out as it
	// comes; nil: Kubernetes Jobs, or containers on a Docker deck.
	Executor func(deck *store.Deck, out io.Writer) (lifecycle.Executor, error)
	// KeepRuns is how many local run records to keep.
	KeepRuns int

	deckRef string // as the user named the deck (NAME or LIB/NAME)
}

// ResourceOptions say which deck's resources to open.
type ResourceOptions struct {
	Deck   string // NAME or LIB/NAME
	Target Target
	// States, when set, is the state store (tests); nil: ConfigMaps in
	// the deck's namespace, or a local directory for a Docker deck.
	States func(deck *store.Deck) (lifecycle.StateStore, error)
}

// OpenResources loads the catalog, the lifecycle definitions, the deck and
// its state store.
func (c *Configuration) OpenResources(o ResourceOptions) (*Resources, error) {
	if o.Deck == "" {
		return nil, fail.New(fail.Usage, "resource commands need --deck: resources are kept per deck")
	}
	cat, _, err := c.Catalog("")
	if err != nil {
		return nil, err
	}
	deck, err := cat.Deck(o.Deck)
	if err != nil {
		return nil, err
	}
	env := &Resources{Catalog: cat, Lifecycles: lifecycle.Load(cat), Deck: deck, deckRef: o.Deck}
	if o.States != nil {
		env.States, err = o.States(deck)
		return env, err
	}
	if isDocker(deck) {
		env.States = &lifecycle.DirStore{Dir: lifecycle.LocalDir(c.paths().StateDir, deck.Name), Deck: deck.Name}
		return env, nil
	}
	env.Target, err = kube.LoadTarget(o.Target.Options(deck))
	if err != nil {
		return nil, err
	}
	env.States = &kubestate.Store{Client: env.Target.Client, Namespace: env.Target.Namespace, Deck: deck.Name}
	return env, nil
}

func isDocker(d *store.Deck) bool { return d != nil && d.Backend == store.BackendDocker }

// Definition finds the lifecycle a recorded resource belongs to.
func (env *Resources) Definition(ctx context.Context, name string) (*lifecycle.Definition, error) {
	r, err := env.States.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return env.Lifecycles.Find(r.Lifecycle)
}

// EventOptions say which lifecycle event to run.
type EventOptions struct {
	// Order is the event, the resource's name and its inputs; its
	// Definition is found when nil (Lifecycle for create, the recorded
	// one otherwise).
	Order lifecycle.Order
	// Lifecycle names the definition of a create: NAME or LIB/NAME.
	Lifecycle string
	// Yes confirms an event on a protected deck beforehand.
	Yes bool
}

// RunEvent runs a lifecycle event of a resource: the definition found, the
// protected deck confirmed (but for a dry run or a pull), the event's
// script rendered and run through the lifecycle manager, its run recorded.
// The script's output goes to prog as stderr (a Job's or container's one
// stream). The outcome comes with the error of an event that failed.
func (c *Configuration) RunEvent(ctx context.Context, env *Resources, eo EventOptions, prog Progress) (*lifecycle.Outcome, error) {
	o := eo.Order
	var err error
	if o.Definition == nil {
		if o.Event == lifecycle.EventCreate {
			o.Definition, err = env.Lifecycles.Find(eo.Lifecycle)
		} else {
			o.Definition, err = env.Definition(ctx, o.Name)
		}
		if err != nil {
			return nil, err
		}
	}
	if !o.DryRun && o.Event != lifecycle.EventPull {
		c.lastTeamRun(ctx, env.Target, env.Deck, o.Definition.Scripts[o.Event])
		kctx, ns := "docker", "-"
		if env.Target != nil {
			kctx, ns = env.Target.Context, env.Target.Namespace
		}
		if err := c.confirmDeck(ctx, env.Deck, kctx, ns, eo.Yes); err != nil {
			return nil, err
		}
	}
	def := o.Definition
	lib, err := env.Catalog.Library(def.Library)
	if err != nil {
		return nil, err
	}
	if err := lib.SharedErr(); err != nil {
		return nil, err
	}
	runID := history.NewRunID(c.now())
	o.RunID = runID
	o.Deck = env.Deck.Name
	sig := store.GitIdentity(lib.Library.Root)
	o.Identity = lifecycle.Identity{
		ProjectName: env.Deck.Name, ProjectUUID: lifecycle.StableUUID("deck", env.Deck.Source.Library, env.Deck.Name),
		CustomerName: lib.Library.Name, CustomerUUID: lifecycle.StableUUID("library", lib.Library.Name),
		CreatorUsername: sig.Name, CreatorEmail: sig.Email,
	}
	o.Values = templates.Layers(lib.Values, env.Deck.Values, nil, nil)

	var exec lifecycle.Executor
	if ref, ok := def.Scripts[o.Event]; ok {
		if !strings.Contains(ref, "/") {
			ref = def.Library + "/" + ref
		}
		// The script is rendered for the deck: its values, its credentials.
		deckRef := env.deckRef
		if deckRef == "" {
			deckRef = env.Deck.Source.Library + "/" + env.Deck.Name
		}
		r, err := c.ResolveIn(env.Catalog, ref, Values{Deck: deckRef})
		if err != nil {
			return nil, err
		}
		user := c.userName(r.Library)
		out, err := c.render(ctx, r, templates.RunData{ID: runID, User: user})
		if err != nil {
			return nil, err
		}
		spec, err := c.buildSpec(ctx, r, out, runID, user, true)
		if err != nil {
			return nil, err
		}
		o.Values = r.Values
		req := execRequest(spec)
		o.Script = &req
		live := &switchWriter{w: streamWriter{prog, Stderr}}
		if env.Executor != nil {
			exec, err = env.Executor(env.Deck, live)
		} else {
			exec, err = c.defaultExecutor(env, live)
		}
		if err != nil {
			return nil, err
		}
		if exec, err = c.recordRuns(ctx, env, spec, o.DryRun, exec, live, prog); err != nil {
			return nil, err
		}
	}
	m := &lifecycle.Manager{States: env.States, Exec: exec, Now: c.now, Host: c.host()}
	return m.Run(ctx, o)
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
// output to out as it comes: through the runner.Backend a run uses.
func (c *Configuration) defaultExecutor(env *Resources, out io.Writer) (lifecycle.Executor, error) {
	if isDocker(env.Deck) {
		eng, err := docker.NewClient()
		if err != nil {
			return nil, err
		}
		return &backendExecutor{b: docker.Backend{Engine: eng, Now: c.now}, out: out}, nil
	}
	rn := &kube.Runner{Client: env.Target.Client, Config: env.Target.Config, Namespace: env.Target.Namespace,
		Force: c.Force, Host: c.host(), Now: c.now}
	return &backendExecutor{b: kube.JobBackend{Runner: rn}, out: out}, nil
}

// recordRuns wraps exec so that every lifecycle script it runs gets a run
// record like a run's: `cscript runs`, `runs logs` and `trace` show them
// too. live is where exec writes the script's output as it comes.
func (c *Configuration) recordRuns(ctx context.Context, env *Resources, spec runner.Spec, dryRun bool, exec lifecycle.Executor, live *switchWriter, prog Progress) (lifecycle.Executor, error) {
	hist, err := c.History(env.KeepRuns)
	if err != nil {
		return nil, err
	}
	// The record, its output and its artifacts are redacted like run's.
	c.secrets().Add(spec.Redact...)
	hist.Redactor = c.secrets()
	base := history.Record{Deck: env.Deck.Name, LibraryCommit: spec.LibraryCommit, DryRun: dryRun,
		Backend: history.BackendKubernetes, Mode: history.ModeJob}
	if isDocker(env.Deck) {
		base.Backend, base.Mode = history.BackendDocker, history.ModeDocker
	} else if env.Target != nil {
		base.Context, base.Namespace = env.Target.Context, env.Target.Namespace
	}
	team, err := c.teamHistory(ctx, env.Target, env.Deck) // before the manager touches the resource's state
	if err != nil {
		return nil, err
	}
	return &recordedExecutor{inner: exec, c: c, hist: hist, base: base, live: live, team: team, prog: prog}, nil
}

// recordedExecutor keeps a run record of each script it runs.
type recordedExecutor struct {
	inner lifecycle.Executor
	c     *Configuration
	hist  *history.Store
	base  history.Record // what the records of one command share
	live  *switchWriter
	team  *teamRun // the record in the namespace; nil on Docker
	prog  Progress
}

var _ lifecycle.Executor = (*recordedExecutor)(nil)

func (r *recordedExecutor) Run(ctx context.Context, req lifecycle.ExecRequest) (*lifecycle.ExecResult, error) {
	rec := r.base
	rec.ID, rec.Script, rec.Library, rec.User, rec.Image = req.RunID, req.Script, req.Library, req.User, req.Image
	rec.Event, rec.Resource, rec.Start = string(req.Event), req.Resource, r.c.now()
	start := RunStart{Script: req.Script, Deck: rec.Deck, Event: string(req.Event), Resource: req.Resource, Start: rec.Start}
	hrun, err := r.hist.Begin(&rec)
	if err != nil {
		// No record: no run id to look it up by.
		r.prog.Started(start)
		r.c.warn(fmt.Sprintf("this run has no record: %v", err))
		return r.inner.Run(ctx, req)
	}
	start.ID = req.RunID
	r.prog.Started(start)
	_ = hrun.SaveArtifact(history.ArtifactScript, []byte(req.Body))
	if err := r.team.begin(ctx, hrun, &rec, req.Body); err != nil {
		return nil, err
	}
	// Job and Docker runs give stdout and stderr as one stream: the record
	// keeps it as stderr, whose last lines make the trace of a failure.
	r.live.record(hrun.Stderr())
	res, err := r.inner.Run(ctx, req)
	r.live.record(nil)
	o := runner.Result{End: r.c.now()}
	if res != nil {
		o.ExitCode = res.ExitCode
	}
	r.c.finishRecord(hrun, &rec, o, err)
	r.team.finish(ctx, &rec)
	return res, err
}

// switchWriter writes to w and, while a run is recorded, to its record.
type switchWriter struct {
	mu  sync.Mutex
	w   io.Writer
	rec io.Writer
}

func (s *switchWriter) record(w io.Writer) {
	s.mu.Lock()
	s.rec = w
	s.mu.Unlock()
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.w.Write(p)
	if s.rec != nil && err == nil {
		return s.rec.Write(p)
	}
	return n, err
}

// backendExecutor runs lifecycle scripts through a runner.Backend (a Job,
// or a Docker container), their one stream of output to out: the same
// defaults (timeout, memory limit) as a run of the script.
type backendExecutor struct {
	b   runner.Backend
	out io.Writer // live output
}

var _ lifecycle.Executor = (*backendExecutor)(nil)

func (e *backendExecutor) Run(ctx context.Context, req lifecycle.ExecRequest) (*lifecycle.ExecResult, error) {
	spec, _ := req.Native.(runner.Spec)
	spec.RunID, spec.Env, spec.Timeout = req.RunID, req.Env, req.Timeout
	if spec.Body == "" {
		spec.Script, spec.Library, spec.Deck, spec.User = req.Script, req.Library, req.Deck, req.User
		spec.Image, spec.Interpreter, spec.Body, spec.Redact = req.Image, req.Interpreter, req.Body, req.Redact
		spec.Resources.Limits = req.Limits
		for _, r := range req.SecretRefs {
			spec.Credentials = append(spec.Credentials, runner.Credential{Name: r.Env, SecretRef: &runner.SecretKeyRef{Name: r.Secret, Key: r.Key}})
		}
		for k, v := range req.SecretEnv {
			spec.Credentials = append(spec.Credentials, runner.Credential{Name: k, Value: v})
		}
	}
	labels := map[string]string{lifecycle.LabelResource: req.Resource, "cscript.dev/event": string(req.Event)}
	res, err := e.b.Run(ctx, spec, runner.RunOptions{Stdout: e.out, Stderr: e.out, Labels: labels})
	if res.Name == "" && err != nil {
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
