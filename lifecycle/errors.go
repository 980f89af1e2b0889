package lifecycle

import (
	"fmt"

	"github.com/cscript-dev/cscript/internal/fail"
)

// ErrNotFound is matched (errors.Is) by *NotFoundError.
var ErrNotFound = fail.New(fail.NotFound, "not found")

// NotFoundError is a resource that has no recorded state.
type NotFoundError struct {
	Name, Deck string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("resource %q not found in deck %s: list them with `cscript resource list --deck %s`", e.Name, e.Deck, e.Deck)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Kind is fail.NotFound.
func (e *NotFoundError) Kind() fail.Kind { return fail.NotFound }

// ConflictError is a write that lost a race: someone else changed the
// resource's state since it was read. Nothing was overwritten.
type ConflictError struct {
	Name string
	// Exists is true when a create found the resource already recorded.
	Exists bool
}

func (e *ConflictError) Error() string {
	if e.Exists {
		return fmt.Sprintf("resource %q was created by someone else meanwhile: nothing was overwritten; see `cscript resource show %s`", e.Name, e.Name)
	}
	return fmt.Sprintf("the state of resource %q was changed by someone else meanwhile: nothing was overwritten; see `cscript resource show %s` and retry", e.Name, e.Name)
}

// Kind is fail.Conflict.
func (e *ConflictError) Kind() fail.Kind { return fail.Conflict }

// BusyError is a resource whose lock another cscript process holds.
type BusyError struct {
	Name string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("resource %q has an event running in another cscript process: wait for it to finish", e.Name)
}

// Kind is fail.Conflict.
func (e *BusyError) Kind() fail.Kind { return fail.Conflict }

// StateError is an event that the resource's state does not allow.
type StateError struct {
	Event   Event
	State   State // "" for a resource that does not exist
	Message string
}

func (e *StateError) Error() string {
	if e.State == "" {
		return fmt.Sprintf("cannot %s: %s", e.Event, e.Message)
	}
	return fmt.Sprintf("cannot %s a resource in state %s: %s", e.Event, e.State, e.Message)
}

// Kind is fail.Conflict: the state does not allow the event.
func (e *StateError) Kind() fail.Kind { return fail.Conflict }

// InvalidError is bad input: a resource name, plan or limit.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return e.Message }

// Kind is fail.Invalid.
func (e *InvalidError) Kind() fail.Kind { return fail.Invalid }

// EventError is an event whose script failed (or was interrupted, or timed
// out): the resource is ERRED and Message is what was recorded.
type EventError struct {
	Event    Event
	Name     string
	ExitCode int // the script's exit code; -1 when it did not exit by itself
	Message  string
	// Err is the executor's error, when there was one.
	Err error
}

func (e *EventError) Error() string {
	return fmt.Sprintf("%s of resource %q failed: %s", e.Event, e.Name, e.Message)
}

func (e *EventError) Unwrap() error { return e.Err }

// Kind is fail.General (the event failed; its record says why), unless the
// event was interrupted (fail.Interrupted: 128+N) or its cluster or Docker
// engine could not be reached (fail.Unavailable). The exit codes of a run
// (a script's own, 125–127) belong to `run`, not to resource commands.
func (e *EventError) Kind() fail.Kind {
	switch k := fail.KindOf(e.Err); k {
	case fail.Interrupted, fail.Unavailable:
		return k
	}
	return fail.General
}
