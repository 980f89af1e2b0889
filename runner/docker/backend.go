package docker

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/cscript-dev/cscript/runner"
)

// Backend runs runner.Specs in one-off containers of a Docker engine: the
// runner.Backend and runner.Attacher of a Docker deck.
type Backend struct {
	// Engine is the engine to use; nil connects to the one the
	// environment names (NewClient) for each run.
	Engine Engine
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

var _ runner.Attacher = Backend{}

// Capabilities are runner.Docker's.
func (Backend) Capabilities() runner.Capabilities { return runner.Docker }

// SpecOf is the container run of spec: plain env and credentials (a Docker
// deck has no Secret store: Kubernetes Secret refs are refused), secret
// params as CSCRIPT_PARAM_* env vars, the script's memory limit (none when
// the script sets none, as for a Pod), and the timeout (0: the run core's
// default).
func SpecOf(spec runner.Spec, opts runner.RunOptions) (Spec, error) {
	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	var secretEnv []string
	for _, cr := range spec.Credentials {
		if cr.SecretRef != nil {
			return Spec{}, fmt.Errorf("credential %s comes from the Kubernetes Secret %s, which a Docker deck cannot read: give it a local source (fromEnv, fromFile or fromCommand) in the deck", cr.Name, cr.SecretRef.Name)
		}
		env[cr.Name] = cr.Value
		secretEnv = append(secretEnv, cr.Name)
	}
	for name, v := range spec.SecretParams {
		k := runner.SecretParamEnv(name)
		env[k] = v
		secretEnv = append(secretEnv, k)
	}
	memory, err := spec.MemoryLimit()
	if err != nil {
		return Spec{}, fmt.Errorf("script %s: %w", spec.Script, err)
	}
	if memory == 0 {
		memory = -1 // no limit, as for a Pod without one
	}
	ds := Spec{
		RunID: spec.RunID, Script: spec.Script, Image: spec.Image, Interpreter: spec.Interpreter, Body: spec.Body,
		Env: env, SecretEnv: secretEnv, Memory: memory, Timeout: spec.EffectiveTimeout(),
		Uploads: spec.Uploads, Downloads: spec.Downloads, MaxDownload: spec.MaxDownload,
		Redact: spec.Redact, Labels: opts.Labels, Detach: opts.Detach,
	}
	if spec.Stdin {
		ds.Stdin = opts.Stdin
		if ds.Stdin == nil {
			return Spec{}, fmt.Errorf("script %s: -i without a stdin to pass", spec.Script)
		}
	}
	return ds, nil
}

// Run runs spec in a one-off container (Run).
func (b Backend) Run(ctx context.Context, spec runner.Spec, opts runner.RunOptions) (runner.Result, error) {
	if err := b.Capabilities().Check(spec, runner.Request{Detach: opts.Detach}); err != nil {
		return runner.Result{}, err
	}
	ds, err := SpecOf(spec, opts)
	if err != nil {
		return runner.Result{}, &runner.RunError{Op: "check spec", Err: err}
	}
	ds.Now = b.Now
	eng, closeEng, err := b.engine()
	if err != nil {
		return runner.Result{}, err
	}
	defer closeEng()
	res, err := Run(ctx, eng, ds, opts.Stdout, opts.Stderr)
	return res.Common(), err
}

// Attach follows a detached container (Attach) named by opts.Ref.
func (b Backend) Attach(ctx context.Context, opts runner.AttachOptions) (runner.Result, error) {
	eng, closeEng, err := b.engine()
	if err != nil {
		return runner.Result{}, err
	}
	defer closeEng()
	ref := opts.Ref
	if ref == "" {
		return runner.Result{}, &runner.RunError{Op: "find container", Err: fmt.Errorf("run %s: %w (its record names none)", opts.RunID, ErrContainerNotFound)}
	}
	res, err := Attach(ctx, eng, ref, AttachOptions{Redact: opts.Redact, Keep: opts.Keep, Now: b.Now}, opts.Stdout, opts.Stderr)
	return res.Common(), err
}

func (b Backend) engine() (Engine, func(), error) {
	if b.Engine != nil {
		return b.Engine, func() {}, nil
	}
	c, err := NewClient()
	if err != nil {
		return nil, nil, err
	}
	return c, func() { _ = c.Close() }, nil
}

// Common is the result in the run core's terms.
func (res *Result) Common() runner.Result {
	if res == nil {
		return runner.Result{}
	}
	out := runner.Result{
		Name: res.ContainerName, ID: res.ContainerID, ExitCode: res.ExitCode, Reason: res.Reason, Phase: res.Phase,
		Start: res.Start, End: res.End, Output: res.Output, OutputTruncated: res.OutputTruncated,
		Detached: res.Detached, CleanupErr: res.CleanupErr,
	}
	for _, t := range res.Uploads {
		out.Uploads = append(out.Uploads, runner.Transferred(t))
	}
	for _, t := range res.Downloads {
		out.Downloads = append(out.Downloads, runner.Transferred(t))
	}
	return out
}
