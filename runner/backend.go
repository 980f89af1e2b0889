package runner

import (
	"context"
	"io"
	"time"

	"github.com/cscript-dev/cscript/transfer"
)

// Backend runs one Spec to its end: a Kubernetes Pod (runner/kube's
// PodBackend), a Kubernetes Job (kube.JobBackend) or a Docker container
// (runner/docker's Backend). The application layer dispatches through this
// interface only; what a backend cannot do it says in Capabilities, and a
// request for more is refused (Capabilities.Check) before Run is called.
type Backend interface {
	// Capabilities say what the backend does beyond running a script.
	Capabilities() Capabilities
	// Run runs spec with its output to opts' writers. It returns a Result
	// once anything was created (with every error then); the error says
	// its kind (fail.Kind): *ScriptError, *InterruptedError (ctx
	// cancelled; see SignalCause), *StartError, *MissingToolError,
	// *CannotExecError, *PermissionError, *LockedError or *RunError.
	// Cleanup happens on a context of its own, also when ctx is cancelled.
	Run(ctx context.Context, spec Spec, opts RunOptions) (Result, error)
}

// Attacher is a Backend that can leave a run running (RunOptions.Detach)
// and follow it later (`cscript runs attach`).
type Attacher interface {
	Backend
	// Attach follows the detached run to its end: output to opts' writers
	// (from the run's start), then the outcome, then cleanup.
	Attach(ctx context.Context, opts AttachOptions) (Result, error)
}

// RunOptions are what a run needs beyond its Spec.
type RunOptions struct {
	// Stdout and Stderr receive the script's output as it comes, redacted.
	// The same writer for both is one combined stream. A Job's output is
	// one stream: it goes to Stdout. nil discards.
	Stdout, Stderr io.Writer
	// Stdin is passed to the script when Spec.Stdin (Capabilities.Stdin).
	Stdin io.Reader
	// Detach returns once the run started, leaving it to run
	// (Capabilities.Detach); an Attacher follows it later.
	Detach bool
	// Labels are added to what the run creates where the backend labels
	// its objects (a lifecycle event's resource and event).
	Labels map[string]string
}

// AttachOptions name a detached run.
type AttachOptions struct {
	RunID string
	// Ref is the backend's own name of the run when it has one
	// (Result.ID: a container ID); "" finds it by RunID.
	Ref            string
	Stdout, Stderr io.Writer
	// Redact lists values to hide from the output beyond those the backend
	// finds itself.
	Redact []string
	// Keep leaves what the run created in place (for `runs logs`).
	Keep bool
}

// Result is what became of a run, the same for every backend.
type Result struct {
	// Name is what ran: the Pod, the Job or the container.
	Name string
	// ID is the backend's handle for Attach ("" when Name is enough):
	// the container ID on Docker.
	ID       string
	ExitCode int    // the exit code the caller should exit with
	Reason   string // for a failed script: Error, OOMKilled, DeadlineExceeded, Evicted
	Phase    string // the phase the run ended in (failed or was interrupted in)

	Start, End time.Time
	Uploads    []Transferred
	Downloads  []Transferred
	// Output is the end of the combined, redacted output where the
	// backend keeps it (Job, container); OutputTruncated when it is only
	// the last MaxOutput bytes.
	Output          string
	OutputTruncated bool
	// Detached: the run was left running (RunOptions.Detach).
	Detached bool
	// Diagnostics describe a run that failed after its container existed
	// (not an interrupted one), collected before cleanup.
	Diagnostics *Diagnostics
	// CleanupErr is a failure to delete what the run created; it is also
	// the run's error when the run itself succeeded.
	CleanupErr error
}

// Transferred is one finished file copy.
type Transferred struct {
	FileCopy
	Result *transfer.Result
}

// Diagnostics describe a failed run's container for its failure trace. They
// hold no secret values.
type Diagnostics struct {
	PodYAML           string // the Pod (or the container's inspection) without secret values
	Events            string // one event per line, oldest first
	ContainerStatuses string // YAML
	Error             string // why collecting failed, if it did
}
