// Package runner is cscript's backend-neutral run core: what one run of a
// rendered script needs (Spec), how it can end (the errors and reasons in
// errors.go), and what every backend shares: labels, interpreters, output
// tails and signals. The backends live beside each other below it —
// runner/kube (a Pod or a Job) and runner/docker (a container) — and neither
// imports the other; this package imports neither Kubernetes nor Docker.
package runner

import "time"

// Interpreters a Spec may name.
const (
	InterpreterBash   = "bash"
	InterpreterSh     = "sh"
	InterpreterPython = "python"
)

// DefaultTimeout bounds a run whose Spec sets no Timeout.
const DefaultTimeout = time.Hour

// Spec is everything the runner needs for one run, already rendered by the
// commands layer: no templates and no store types.
type Spec struct {
	RunID         string
	Script        string // script name, used in object names and labels
	Library       string
	LibraryCommit string
	Deck          string
	User          string

	Image          string
	Interpreter    string // bash, sh or python
	ServiceAccount string // empty: no service account token is mounted

	Body string // the rendered script

	// Env holds plain values; they appear in the Pod spec.
	Env map[string]string
	// Credentials become env vars of the same name. A SecretRef is resolved by
	// the kubelet; a local Value is put in the run's Secret.
	Credentials []Credential
	// SecretParams are params marked secret, by param name. Each reaches the
	// script as the env var CSCRIPT_PARAM_<NAME> (upper case, other characters
	// than A-Z, 0-9 and _ replaced by _), through the run's Secret.
	SecretParams map[string]string

	Uploads   []FileCopy // local → container, before the script
	Downloads []FileCopy // container → local, after the script
	// MaxDownload bounds each download (transfer.Options.MaxBytes): 0 is
	// transfer.DefaultMaxDownload, negative is no limit.
	MaxDownload int64

	// Timeout bounds the whole run, from Pod creation to the last download.
	// Zero means DefaultTimeout.
	Timeout   time.Duration
	Resources Resources

	RunAsNonRoot bool
	Exclusive    bool // take a Lease per script and namespace
	Stdin        bool // pass the Runner's Stdin to the script
	Compress     bool // gzip file transfers

	// Redact lists every secret value to hide from output.
	Redact []string
	// Expiry is how long after creation `cscript gc` may remove the Pod.
	// Zero means the effective timeout plus 15 minutes.
	Expiry time.Duration
}

// Credential is one env var whose value is secret. Exactly one of SecretRef
// and Value is used: SecretRef when set.
type Credential struct {
	Name      string
	SecretRef *SecretKeyRef
	Value     string // read from a local source by the caller
}

// SecretKeyRef names a key of a Secret in the run's namespace.
type SecretKeyRef struct {
	Name string
	Key  string
}

// FileCopy copies between a local path and a path inside the container.
// Remote paths that are relative are relative to WorkDir.
type FileCopy struct {
	Local  string
	Remote string
}

// Resources are the script's requests and limits as Kubernetes quantities
// by resource name ("cpu": "500m", "memory": "256Mi"). A backend reads
// what it can apply (Docker: the memory limit, see MemoryLimit).
type Resources struct {
	Requests map[string]string
	Limits   map[string]string
}

// EffectiveTimeout is Timeout, or DefaultTimeout when it is zero: the one
// default of every backend and mode.
func (s Spec) EffectiveTimeout() time.Duration { return s.timeout() }

// EffectiveExpiry is Expiry, or the effective timeout plus 15 minutes.
func (s Spec) EffectiveExpiry() time.Duration { return s.expiry() }

func (s Spec) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func (s Spec) expiry() time.Duration {
	if s.Expiry > 0 {
		return s.Expiry
	}
	return s.timeout() + 15*time.Minute
}
