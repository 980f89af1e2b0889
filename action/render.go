package action

import (
	"context"

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
	// Pod also builds the Pod and Secret a run would create (render --pod)
	// in the namespace of Target on the deck ("default" without either).
	Pod    bool
	Target Target
}

// Rendering is a script rendered for a deck, without running it.
type Rendering struct {
	*Resolved
	Out *templates.Rendered
	// PodYAML is the Pod (and the run's Secret, data redacted) with Pod.
	PodYAML []byte
}

// Render resolves and renders a script as `cscript render` and the web
// UI's preview do; local credential sources are not read.
func (c *Configuration) Render(ctx context.Context, o RenderOptions) (*Rendering, error) {
	r, err := c.Resolve(o.Ref, o.Values)
	if err != nil {
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
	ns := "default"
	if r.Deck != nil && r.Deck.Namespace != "" {
		ns = r.Deck.Namespace
	}
	if t, err := kube.LoadTarget(o.Target.Options(r.Deck)); err == nil {
		ns = t.Namespace
	}
	if res.PodYAML, err = podYAML(spec, ns, c); err != nil {
		return nil, err
	}
	return res, nil
}
