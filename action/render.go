package action

import (
	"context"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"

	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// Target is the cluster a command names; the deck's context and namespace
// fill what it leaves empty.
type Target struct {
	Kubeconfig, Context, Namespace string
}

// Options are the kube target options of t on deck.
func (t Target) Options(deck *store.Deck) kube.TargetOptions {
	o := kube.TargetOptions{Kubeconfig: t.Kubeconfig, Context: t.Context, Namespace: t.Namespace}
	if deck != nil {
		o.DeckContext, o.DeckNamespace = deck.Context, deck.Namespace
	}
	return o
}

// RenderOptions say what to render.
type RenderOptions struct {
	Ref    string // NAME or LIB/NAME
	Values Values
	// Pod also builds what a run would create (render --pod): the Pod
	// (Mode job: the Job) and the run's Secret in the namespace of Target
	// on the deck ("default" without either); on a Docker deck the
	// container.
	Pod bool
	// Mode is history.ModePod ("" too) or history.ModeJob; ModeSet says
	// it was given (a Docker deck refuses it), as for a run.
	Mode    string
	ModeSet bool
	// Format is the manifest's: "yaml" ("" too) or "json".
	Format string
	Target Target
}

// Rendering is a script rendered for a deck, without running it.
type Rendering struct {
	*Resolved
	Out *templates.Rendered
	// Manifest is, with Pod, what a run would create, every secret value
	// replaced by ***: the Pod or Job and the run's Secret (its data
	// redacted), or on a Docker deck the container.
	Manifest []byte
}

// Render resolves and renders a script as `cscript render` and the web
// UI's preview do; local credential sources are not read.
func (c *Configuration) Render(ctx context.Context, o RenderOptions) (*Rendering, error) {
	if o.Format != "" && o.Format != formatYAML && o.Format != formatJSON {
		return nil, fail.Errorf(fail.Usage, "--output %q: use yaml or json", o.Format)
	}
	mode, err := checkMode(o.Mode, false, false)
	if err != nil {
		return nil, err
	}
	r, err := c.Resolve(o.Ref, o.Values)
	if err != nil {
		return nil, err
	}
	docker := isDocker(r.Deck)
	if _, err := checkMode(mode, o.ModeSet, docker); err != nil {
		return nil, err
	}
	user := c.userName(r.Library)
	out, err := c.render(ctx, r, templates.RunData{ID: "render", User: user})
	if err != nil {
		return nil, err
	}
	res := &Rendering{Resolved: r, Out: out}
	if !o.Pod {
		return res, nil
	}
	spec, err := c.buildSpec(ctx, r, out, "render", user, false)
	if err != nil {
		return nil, err
	}
	caps := runner.KubernetesPod
	switch {
	case docker:
		caps = runner.Docker
	case mode == history.ModeJob:
		caps = runner.KubernetesJob
	}
	if err := caps.Check(spec, runner.Request{}); err != nil {
		return nil, err
	}
	var docs []any
	if docker {
		view, err := containerOf(spec, c)
		if err != nil {
			return nil, err
		}
		docs = []any{view}
	} else {
		ns := "default"
		if r.Deck != nil && r.Deck.Namespace != "" {
			ns = r.Deck.Namespace
		}
		if t, err := kube.LoadTarget(o.Target.Options(r.Deck)); err == nil {
			ns = t.Namespace
		}
		if docs, err = kubeObjects(spec, ns, mode, c); err != nil {
			return nil, err
		}
	}
	if res.Manifest, err = manifest(docs, o.Format, spec.Redact); err != nil {
		return nil, err
	}
	return res, nil
}

// checkMode is the run mode of --mode (pod when ""), refused when it is
// none, or when it was given (set) for a Docker deck.
func checkMode(mode string, set, docker bool) (string, error) {
	if mode == "" {
		mode = history.ModePod
	}
	if mode != history.ModePod && mode != history.ModeJob {
		return "", fail.Errorf(fail.Usage, "--mode %q: use pod (the default) or job", mode)
	}
	if docker && set {
		return "", fail.Errorf(fail.Usage, "--mode %s: a Docker deck runs a container; leave --mode out, or choose a Kubernetes deck", mode)
	}
	return mode, nil
}
