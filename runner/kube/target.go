package kube

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TargetOptions choose the cluster, context and namespace of a run. Flags
// (Kubeconfig, Context, Namespace) win over the deck's pins (DeckContext,
// DeckNamespace), which win over the kubeconfig's current context and its
// namespace.
type TargetOptions struct {
	Kubeconfig string // --kubeconfig; empty: KUBECONFIG, then ~/.kube/config
	Context    string // --context
	Namespace  string // --namespace

	DeckContext   string
	DeckNamespace string
}

// Target is where a run goes.
type Target struct {
	Context   string
	Namespace string
	Config    *rest.Config
	Client    kubernetes.Interface
}

// String is "context/namespace", what the commands print before a run.
func (t *Target) String() string { return t.Context + "/" + t.Namespace }

// LoadTarget loads the kubeconfig the way kubectl does and builds a client.
// It does not contact the cluster.
func LoadTarget(opts TargetOptions) (*Target, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{
		CurrentContext: first(opts.Context, opts.DeckContext),
	}
	overrides.Context.Namespace = first(opts.Namespace, opts.DeckNamespace)

	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	ctxName := first(overrides.CurrentContext, raw.CurrentContext)
	if ctxName == "" {
		return nil, fmt.Errorf("load kubeconfig: no current context (set one or pass --context)")
	}
	if _, ok := raw.Contexts[ctxName]; !ok {
		return nil, fmt.Errorf("load kubeconfig: context %q not found", ctxName)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	config, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	// Pod watches and execs are long; runs are one-off, so no client-side
	// throttling beyond client-go's defaults is needed. Raise them a little
	// so parallel preflight checks do not queue.
	if config.QPS == 0 {
		config.QPS = 50
		config.Burst = 100
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("build client for context %s: %w", ctxName, err)
	}
	return &Target{Context: ctxName, Namespace: ns, Config: config, Client: client}, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
