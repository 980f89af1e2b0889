// Package history keeps a record of every run — run.json, the output log and,
// for runs that did not succeed, the rendered script, the Pod manifest,
// events, container statuses and a failure trace — under
// $XDG_STATE_HOME/cscript/runs/<run-id>/, redacted, private to the user and
// pruned to the last N runs.
package history

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"time"
)

// State says where a run is.
type State string

// States of a run.
const (
	StateRunning     State = "running"
	StateSucceeded   State = "succeeded"
	StateFailed      State = "failed"
	StateInterrupted State = "interrupted"
	// StateAbandoned is a run recorded as running whose cscript process
	// is gone without finishing it (killed with SIGKILL, the machine
	// crashed). A reader derives it from the run's owner lock (see
	// lockOwner); it is stored only for a detached run whose Job is gone
	// (Store.FinishGone).
	StateAbandoned State = "abandoned"
)

// States are every state a run can be in, in the order of a run's life.
var States = []State{StateRunning, StateSucceeded, StateFailed, StateInterrupted, StateAbandoned}

// Backends and modes a Record names.
const (
	BackendKubernetes = "kubernetes"
	BackendDocker     = "docker"

	ModePod    = "pod"
	ModeJob    = "job"
	ModeDocker = "docker"
)

// Reasons beyond Kubernetes' own (Completed, Error, OOMKilled,
// DeadlineExceeded, Evicted), which are stored as Kubernetes reports them.
const (
	ReasonInterrupted = "interrupted"
	ReasonCscript     = "cscript failed"
	ReasonAbandoned   = "cscript ended without finishing the run"
)

// Record is one run, stored as run.json. Every string in it is redacted
// when stored, except the fields tagged redact:"-".
type Record struct {
	ID            string `json:"id" redact:"-" yaml:"id"`
	Script        string `json:"script" yaml:"script"`
	Library       string `json:"library,omitempty" yaml:"library,omitempty"`
	LibraryCommit string `json:"libraryCommit,omitempty" yaml:"libraryCommit,omitempty"`
	Deck          string `json:"deck,omitempty" yaml:"deck,omitempty"`
	Backend       string `json:"backend,omitempty" yaml:"backend,omitempty"` // BackendKubernetes or BackendDocker
	Mode          string `json:"mode,omitempty" yaml:"mode,omitempty"`       // ModePod, ModeJob or ModeDocker
	Context       string `json:"context,omitempty" yaml:"context,omitempty"`
	Namespace     string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Pod           string `json:"pod,omitempty" yaml:"pod,omitempty"` // Pod, Job or container name
	// ContainerID is the Docker container's ID (runs attach follows a
	// detached Docker run by it).
	ContainerID string    `json:"containerID,omitempty" yaml:"containerID,omitempty"`
	Image       string    `json:"image,omitempty" yaml:"image,omitempty"`
	User        string    `json:"user,omitempty" yaml:"user,omitempty"`
	Start       time.Time `json:"start" yaml:"start"`
	End         time.Time `json:"end,omitzero" yaml:"end,omitempty"`
	ExitCode    int       `json:"exitCode" yaml:"exitCode"`
	// Reason is Kubernetes' reason (Completed, Error, OOMKilled,
	// DeadlineExceeded, Evicted) or ReasonInterrupted or ReasonCscript.
	Reason  string `json:"reason,omitempty" yaml:"reason,omitempty"`
	Message string `json:"message,omitempty" yaml:"message,omitempty"`
	State   State  `json:"state" redact:"-" yaml:"state"`
	// Detached marks a Job or Docker run that cscript left running on purpose
	// (--detach): no cscript process owns it until `runs attach`.
	Detached bool `json:"detached,omitempty" yaml:"detached,omitempty"`
	// Event and Resource name the lifecycle event (create, update,
	// terminate, pull) and the resource of a lifecycle script's run.
	Event    string `json:"event,omitempty" yaml:"event,omitempty"`
	Resource string `json:"resource,omitempty" yaml:"resource,omitempty"`
	// DryRun marks a lifecycle script run with --dry-run (no state changed).
	DryRun    bool             `json:"dryRun,omitempty" yaml:"dryRun,omitempty"`
	Uploads   []TransferRecord `json:"uploads,omitempty" yaml:"uploads,omitempty"`
	Downloads []TransferRecord `json:"downloads,omitempty" yaml:"downloads,omitempty"`
}

// TransferRecord is one file or directory moved in or out of the run.
type TransferRecord struct {
	From   string `json:"from" yaml:"from"`
	To     string `json:"to" yaml:"to"`
	Bytes  int64  `json:"bytes" yaml:"bytes"`
	SHA256 string `json:"sha256,omitempty" redact:"-" yaml:"sha256,omitempty"`
	// Verified is "sha256" or "bytes" (what both sides compared).
	Verified string `json:"verified,omitempty" yaml:"verified,omitempty"`
	// Via is who did the container's side: "agent" (cscript's transfer
	// agent) or "image" (the image's sh and tar).
	Via string `json:"via,omitempty" yaml:"via,omitempty"`
	// NoAgent says why the image did it when cscript tried its agent.
	NoAgent    string `json:"noAgent,omitempty" yaml:"noAgent,omitempty"`
	Compressed bool   `json:"compressed,omitempty" yaml:"compressed,omitempty"`
}

// Duration returns End - Start, or zero while the run has no end.
func (r *Record) Duration() time.Duration {
	if r.End.IsZero() || r.Start.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start)
}

const idTimeLayout = "20060102-150405"

// NewRunID returns a new run ID such as 20261124-215301-ab12cd: the UTC time
// to the second, then 24 random bits. IDs sort by time as strings, and an ID
// is a valid Kubernetes label value and DNS label.
func NewRunID(now time.Time) string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; keep the ID unique anyway.
		ns := now.UnixNano()
		b = [3]byte{byte(ns), byte(ns >> 8), byte(ns >> 16)}
	}
	return now.UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// ShortID returns the random part of an ID made by NewRunID ("ab12cd"), for
// Pod names; other IDs are returned as they are.
func ShortID(id string) string {
	if standardID.MatchString(id) {
		return id[strings.LastIndexByte(id, '-')+1:]
	}
	return id
}

var (
	standardID = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$`)
	// validID is what Begin accepts from a caller: a label value that is
	// also a safe directory name.
	validID = regexp.MustCompile(`^[0-9A-Za-z]([0-9A-Za-z_.-]{0,61}[0-9A-Za-z])?$`)
)

// ValidID reports whether id can name a run: a Kubernetes label value that is
// also a safe directory name.
func ValidID(id string) bool {
	return validID.MatchString(id) && !strings.Contains(id, "..")
}
