package action

import (
	"context"
	"fmt"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// RunOptions are what a run is asked for.
type RunOptions struct {
	Ref    string // NAME or LIB/NAME
	Values Values
	Target Target
	// Mode is history.ModePod ("" too) or history.ModeJob; a Docker deck
	// refuses an explicit one (ModeSet).
	Mode    string
	ModeSet bool
	// Yes confirms a run on a protected deck beforehand.
	Yes bool
	// Interactive passes Configuration.Stdin to the script.
	Interactive bool
	Compress    bool
	// Detach starts a Job and returns (Mode job).
	Detach bool
	// MaxDownload bounds each download: 0 the default, negative no limit.
	MaxDownload int64
	// KeepRuns is how many local run records to keep.
	KeepRuns int
}

// Plan is a run ready to execute: the script and deck resolved, the body
// rendered, the spec built with the credentials read, the target loaded.
// It holds secret values (in Spec): show it only through Spec.Redact.
type Plan struct {
	*Resolved
	Out  *templates.Rendered
	Spec runner.Spec
	// Target is the cluster and namespace; nil on a Docker deck.
	Target *kube.Target
	// Where says where the run goes, for people: "context C, namespace N"
	// or "Docker engine HOST".
	Where string
	// Record is the skeleton of the run's record.
	Record history.Record
	// Capabilities are the backend's.
	Capabilities runner.Capabilities

	opts RunOptions
}

// Docker says whether the plan runs on a Docker deck.
func (p *Plan) Docker() bool { return p.Deck != nil && p.Deck.Backend == store.BackendDocker }

// PlanRun resolves, renders and checks a run without starting anything:
// values layered, params asked for, the protected deck confirmed, local
// credentials read (with the trust checks), the backend's capabilities
// checked.
func (c *Configuration) PlanRun(ctx context.Context, o RunOptions) (*Plan, error) {
	var err error
	if o.Mode, err = checkMode(o.Mode, false, false); err != nil {
		return nil, err
	}
	o.Values.stdinBusy = o.Interactive
	r, err := c.Resolve(o.Ref, o.Values)
	if err != nil {
		return nil, err
	}
	start := c.now()
	runID := history.NewRunID(start)
	user := c.userName(r.Library)
	out, err := c.render(ctx, r, templates.RunData{ID: runID, User: user})
	if err != nil {
		return nil, err
	}
	p := &Plan{Resolved: r, Out: out, opts: o, Record: history.Record{
		ID: runID, Script: r.Script.Name, Library: r.Script.Source.Library,
		Deck: deckName(r.Deck), Backend: history.BackendKubernetes, Mode: o.Mode, User: user, Start: start,
	}}
	if p.Docker() {
		p.Record.Backend, p.Record.Mode = history.BackendDocker, history.ModeDocker
		p.Where = fmt.Sprintf("Docker engine %s", orDash(c.getenv("DOCKER_HOST")))
	} else {
		if p.Target, err = kube.LoadTarget(o.Target.Options(r.Deck)); err != nil {
			return nil, err
		}
		p.Record.Context, p.Record.Namespace = p.Target.Context, p.Target.Namespace
		p.Where = fmt.Sprintf("context %s, namespace %s", p.Target.Context, p.Target.Namespace)
	}
	c.lastTeamRun(ctx, p.Target, r.Deck, r.Script.Name)
	if err := c.confirmDeck(ctx, r.Deck, p.Record.Context, p.Record.Namespace, o.Yes); err != nil {
		return nil, err
	}
	spec, err := c.buildSpec(ctx, r, out, runID, user, true)
	if err != nil {
		return nil, err
	}
	// Before the first request that carries them (the run Secret's POST).
	c.secrets().Add(spec.Redact...)
	spec.Stdin, spec.Compress, spec.MaxDownload = o.Interactive, o.Compress, o.MaxDownload
	p.Record.LibraryCommit, p.Record.Image = spec.LibraryCommit, spec.Image
	p.Spec = spec
	p.Capabilities = runner.KubernetesPod
	switch {
	case p.Docker():
		p.Capabilities = runner.Docker
	case o.Mode == history.ModeJob:
		p.Capabilities = runner.KubernetesJob
	}
	if _, err := checkMode(o.Mode, o.ModeSet, p.Docker()); err != nil {
		return nil, err
	}
	if err := p.Capabilities.Check(spec, runner.Request{Detach: o.Detach}); err != nil {
		return nil, err
	}
	return p, nil
}

// Start is when the run was planned (its id's time).
func (p *Plan) Start() time.Time { return p.Record.Start }
