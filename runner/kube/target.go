package kube

import (
	"fmt"
	"os"
	"sort"
	"strings"

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
	files := kubeconfigFiles(opts, rules)
	if len(raw.Contexts) == 0 {
		if files.found == 0 {
			return nil, fmt.Errorf("load kubeconfig: no kubeconfig file: tried %s; point KUBECONFIG or --kubeconfig at one", files)
		}
		return nil, fmt.Errorf("load kubeconfig: %s has no contexts: add one (kubectl config set-context) or use another file", files)
	}
	ctxName := first(overrides.CurrentContext, raw.CurrentContext)
	if ctxName == "" {
		return nil, fmt.Errorf("load kubeconfig: %s has no current context: pass --context, pin the deck's context or set one (kubectl config use-context); its contexts are %s",
			files, strings.Join(sortedNames(raw.Contexts), ", "))
	}
	if _, ok := raw.Contexts[ctxName]; !ok {
		from := "the current context"
		switch {
		case opts.Context != "":
			from = "--context"
		case opts.DeckContext != "":
			from = "the deck's context"
		}
		return nil, fmt.Errorf("load kubeconfig: context %q (%s) is not in %s: its contexts are %s",
			ctxName, from, files, strings.Join(sortedNames(raw.Contexts), ", "))
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

// kubeconfigList is the kubeconfig files LoadTarget read, for messages.
type kubeconfigList struct {
	paths []string
	from  string // --kubeconfig, $KUBECONFIG or the default
	found int    // how many exist
}

func (l kubeconfigList) String() string {
	return strings.Join(l.paths, ", ") + " (" + l.from + ")"
}

func kubeconfigFiles(opts TargetOptions, rules *clientcmd.ClientConfigLoadingRules) kubeconfigList {
	l := kubeconfigList{paths: rules.GetLoadingPrecedence(), from: "the default"}
	switch {
	case opts.Kubeconfig != "":
		l.from = "--kubeconfig"
	case os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		l.from = "$" + clientcmd.RecommendedConfigPathEnvVar
	}
	for _, p := range l.paths {
		if _, err := os.Stat(p); err == nil {
			l.found++
		}
	}
	return l
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
