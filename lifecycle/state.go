package lifecycle

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// State is where a resource is in its lifecycle.
type State string

// The states. CREATING, UPDATING and TERMINATING are held while an event's
// script runs; OK, ERRED and TERMINATED after.
const (
	StateCreating    State = "CREATING"
	StateUpdating    State = "UPDATING"
	StateTerminating State = "TERMINATING"
	StateOK          State = "OK"
	StateErred       State = "ERRED"
	StateTerminated  State = "TERMINATED"
)

// Transient reports whether s is held only while an event runs.
func (s State) Transient() bool {
	return s == StateCreating || s == StateUpdating || s == StateTerminating
}

// Resource is the recorded state of one resource.
type Resource struct {
	Name      string `json:"name" yaml:"name"`
	UUID      string `json:"uuid" yaml:"uuid"`
	Lifecycle string `json:"lifecycle" yaml:"lifecycle"` // LIB/NAME of the definition
	Deck      string `json:"deck" yaml:"deck"`

	Plan       string           `json:"plan,omitempty" yaml:"plan,omitempty"`
	Attributes map[string]any   `json:"attributes,omitempty" yaml:"attributes,omitempty"`
	Limits     map[string]int64 `json:"limits,omitempty" yaml:"limits,omitempty"`

	BackendID       string         `json:"backend_id" yaml:"backend_id"`
	BackendMetadata map[string]any `json:"backend_metadata,omitempty" yaml:"backend_metadata,omitempty"`
	Endpoints       []Endpoint     `json:"endpoints,omitempty" yaml:"endpoints,omitempty"`

	State State `json:"state" yaml:"state"`
	// ErrorMessage is the first line of a failure; ErrorTraceback the whole
	// output of the failed script (its tail, when long). Both are cleared by
	// the next successful update or pull.
	ErrorMessage   string `json:"error_message,omitempty" yaml:"error_message,omitempty"`
	ErrorTraceback string `json:"error_traceback,omitempty" yaml:"error_traceback,omitempty"`

	Report         []ReportSection `json:"report,omitempty" yaml:"report,omitempty"`
	ReportTime     *time.Time      `json:"report_time,omitempty" yaml:"report_time,omitempty"`
	Usages         []Usage         `json:"usages,omitempty" yaml:"usages,omitempty"`
	UsagesTime     *time.Time      `json:"usages_time,omitempty" yaml:"usages_time,omitempty"`
	PullWarnings   []string        `json:"pull_warnings,omitempty" yaml:"pull_warnings,omitempty"`
	LastOutput     string          `json:"last_output,omitempty" yaml:"last_output,omitempty"` // of the last event, kept unparsed
	Running        *Running        `json:"running,omitempty" yaml:"running,omitempty"`         // set while an event runs
	History        []EventRecord   `json:"history,omitempty" yaml:"history,omitempty"`         // oldest first, at most MaxHistory
	Created        time.Time       `json:"created" yaml:"created"`
	Modified       time.Time       `json:"modified" yaml:"modified"`
	ResourceFormat int             `json:"format" yaml:"format"`

	// version is the store's version of what was read (resourceVersion, or
	// the local file's generation); Update writes only over that version.
	version string
}

// Running describes the event a transient state is held for.
type Running struct {
	Event    Event     `json:"event" yaml:"event"`
	Order    string    `json:"order_uuid" yaml:"order_uuid"`
	RunID    string    `json:"run_id" yaml:"run_id"`
	Start    time.Time `json:"start" yaml:"start"`
	Deadline time.Time `json:"deadline" yaml:"deadline"` // after it the event is dead, whatever the state says
	Host     string    `json:"host,omitempty" yaml:"host,omitempty"`
	// Plan and Limits are what an update asked for; recorded on success.
	Plan   string           `json:"plan,omitempty" yaml:"plan,omitempty"`
	Limits map[string]int64 `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// EventRecord is one event in a resource's history.
type EventRecord struct {
	Event    Event     `json:"event" yaml:"event"`
	Order    string    `json:"order_uuid" yaml:"order_uuid"`
	RunID    string    `json:"run_id" yaml:"run_id"`
	Start    time.Time `json:"start" yaml:"start"`
	End      time.Time `json:"end" yaml:"end"`
	ExitCode int       `json:"exit_code" yaml:"exit_code"`
	State    State     `json:"state" yaml:"state"` // the state it left
	Message  string    `json:"message,omitempty" yaml:"message,omitempty"`
}

// MaxHistory bounds Resource.History; MaxOutput the output kept per field
// (a ConfigMap holds at most 1 MiB).
const (
	MaxHistory = 50
	MaxOutput  = 64 << 10
)

// resourceFormat is the version of the JSON layout.
const resourceFormat = 1

// Version is the store version the resource was read at ("" when new).
func (r *Resource) Version() string { return r.version }

// SetVersion is for StateStore implementations outside this package.
func (r *Resource) SetVersion(v string) { r.version = v }

var resourceNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// LabelResource names the resource on the objects that belong to it: its runs, and
// its state in a cluster.
const LabelResource = "cscript.dev/resource"

// StateObjectPrefix starts the name of the object that holds a resource's state in a
// cluster (package kubestate's ConfigMap); a resource name must fit after it.
const StateObjectPrefix = "cscript-resource-"

// MaxNameLength keeps StateObjectPrefix + name a valid object name.
const MaxNameLength = 63 - len(StateObjectPrefix)

// ValidateName checks a resource name: it names a ConfigMap and a file.
func ValidateName(name string) error {
	if len(name) > MaxNameLength || !resourceNameRE.MatchString(name) {
		return &InvalidError{Message: fmt.Sprintf("resource name %q is not valid: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most %d characters", name, MaxNameLength)}
	}
	return nil
}

// Begin is the state a resource in state from enters when ev starts; exists
// says whether the resource exists. A pull keeps the state. It fails with a
// *StateError when the event is not allowed: create of an existing resource
// (other than a terminated one), any other event of a missing or terminated
// one, or any event while another one runs.
func Begin(from State, exists bool, ev Event) (State, error) {
	if !exists {
		if ev == EventCreate {
			return StateCreating, nil
		}
		return "", &StateError{Event: ev, State: "", Message: "the resource does not exist: create it first"}
	}
	if from.Transient() {
		return "", &StateError{Event: ev, State: from, Message: "another event is running"}
	}
	switch ev {
	case EventCreate:
		if from == StateTerminated {
			return StateCreating, nil
		}
		return "", &StateError{Event: ev, State: from, Message: "the resource exists: update it, or terminate it first"}
	case EventUpdate, EventTerminate, EventPull:
		if from == StateTerminated {
			return "", &StateError{Event: ev, State: from, Message: "the resource is terminated: create it again"}
		}
		switch ev {
		case EventUpdate:
			return StateUpdating, nil
		case EventTerminate:
			return StateTerminating, nil
		}
		return from, nil
	}
	return "", &StateError{Event: ev, State: from, Message: "unknown event"}
}

// Finish is the state after ev ended, successfully or not.
func Finish(ev Event, ok bool) State {
	switch {
	case !ok:
		return StateErred
	case ev == EventTerminate:
		return StateTerminated
	}
	return StateOK
}

// firstLine is the first non-empty line of s, for error messages.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// tail keeps the last MaxOutput bytes of s.
func tail(s string) string {
	if len(s) <= MaxOutput {
		return s
	}
	s = s[len(s)-MaxOutput:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < 1024 {
		s = s[i+1:]
	}
	return "[… earlier output cut …]\n" + s
}

// StateStore keeps the state of the resources of one deck.
//
// Update writes only over the version the resource was read (or last
// written) at, and fails with a *ConflictError otherwise; Create fails with
// a *ConflictError (Exists) when the resource is recorded already. Lock
// serialises events on one resource between processes where the store can
// (a local lock file); it may be a no-op where the optimistic concurrency of
// Update is the only guard (Kubernetes).
type StateStore interface {
	Get(ctx context.Context, name string) (*Resource, error)
	List(ctx context.Context) ([]*Resource, error)
	Create(ctx context.Context, r *Resource) error
	Update(ctx context.Context, r *Resource) error
	Lock(ctx context.Context, name string) (unlock func(), err error)
	// Delete removes r's state if it is still at the version r was read at
	// (else a *ConflictError): `resource forget`.
	Delete(ctx context.Context, r *Resource) error
}
