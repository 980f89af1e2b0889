package runner

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/cscript-dev/cscript/internal/fail"
)

// Exit codes of a run (Result.ExitCode), from the one table (see
// fail.ExitCode): they follow Docker's convention so they do not collide
// with a script's own codes (0–124). The errors below say their kind
// (Kind() fail.Kind); a run's exit code is fail.ExitCode(fail.Run(err)).
const (
	ExitRunFailed  = fail.ExitRunFailed
	ExitCannotExec = fail.ExitCannotExec
	ExitNoTool     = fail.ExitNoInterp
	ExitSignalBase = fail.ExitSignalBase
	ExitRefused    = fail.ExitRefused
)

// ExitCodeOf is the exit code of a run that ended with err.
func ExitCodeOf(err error) int { return fail.ExitCode(fail.Run(err)) }

// Reasons a script ended without exiting by itself.
const (
	ReasonError            = "Error"
	ReasonOOMKilled        = "OOMKilled"
	ReasonDeadlineExceeded = "DeadlineExceeded"
	ReasonEvicted          = "Evicted"
)

// ScriptError is a script that ended with a non-zero exit code.
type ScriptError struct {
	Code    int
	Reason  string // ReasonError, ReasonOOMKilled, ReasonDeadlineExceeded or ReasonEvicted
	Message string
}

func (e *ScriptError) Error() string {
	msg := fmt.Sprintf("script exited with code %d", e.Code)
	if e.Reason != "" && e.Reason != ReasonError {
		msg += " (" + e.Reason + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// ExitCode is the script's own exit code.
func (e *ScriptError) ExitCode() int { return e.Code }

// Kind is fail.Script.
func (e *ScriptError) Kind() fail.Kind { return fail.Script }

// InterruptedError is a run stopped by a signal to cscript; everything it
// created has been deleted (or deletion was requested).
type InterruptedError struct {
	Signal os.Signal
	Phase  string
}

func (e *InterruptedError) Error() string {
	sig := "interrupt"
	if e.Signal != nil {
		sig = e.Signal.String()
	}
	if e.Phase != "" {
		return fmt.Sprintf("interrupted (%s) during %s", sig, e.Phase)
	}
	return fmt.Sprintf("interrupted (%s)", sig)
}

// ExitCode is 128 plus the signal number: 130 for SIGINT, 143 for SIGTERM,
// 129 for SIGHUP.
func (e *InterruptedError) ExitCode() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return ExitSignalBase + int(s)
	}
	return ExitSignalBase + int(syscall.SIGINT)
}

// Kind is fail.Interrupted.
func (e *InterruptedError) Kind() fail.Kind { return fail.Interrupted }

// StartError is a Pod that could not start: its image cannot be pulled, its
// configuration refers to something missing, or it cannot be scheduled.
type StartError struct {
	Pod     string
	Reason  string // e.g. ErrImagePull, ImagePullBackOff, CreateContainerConfigError, Unschedulable
	Message string
}

func (e *StartError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("pod %s cannot start: %s", e.Pod, e.Reason)
	}
	return fmt.Sprintf("pod %s cannot start: %s: %s", e.Pod, e.Reason, e.Message)
}

// Kind is fail.RunFailed (125): cscript failed before the script.
func (e *StartError) Kind() fail.Kind { return fail.RunFailed }

// MissingToolError is a program the run needs that the image does not have.
type MissingToolError struct {
	Tool  string // e.g. bash, python3, sh
	Image string
}

func (e *MissingToolError) Error() string {
	return fmt.Sprintf("image %s has no %s", e.Image, e.Tool)
}

// Kind is fail.NoInterpreter (127, like a shell's "command not found").
func (e *MissingToolError) Kind() fail.Kind { return fail.NoInterpreter }

// CannotExecError is a script the interpreter could not be started on.
type CannotExecError struct {
	Message string
}

func (e *CannotExecError) Error() string { return "cannot execute the script: " + e.Message }

// Kind is fail.CannotExec (126).
func (e *CannotExecError) Kind() fail.Kind { return fail.CannotExec }

// PermissionError names a permission the current user lacks in the namespace.
type PermissionError struct {
	Namespace   string
	Verb        string
	Group       string
	Resource    string
	Subresource string
	Reason      string // from the authorizer, may be empty
	// Note says more about what the user has, e.g. that they may get
	// pods/exec but not create it (set by the preflight).
	Note string
}

func (e *PermissionError) Error() string {
	res := e.Resource
	if e.Subresource != "" {
		res += "/" + e.Subresource
	}
	if e.Group != "" {
		res += "." + e.Group
	}
	msg := fmt.Sprintf("permission missing: cannot %s %s in namespace %s", e.Verb, res, e.Namespace)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Note != "" {
		msg += "; " + e.Note
	}
	resource := e.Resource
	if e.Subresource != "" {
		resource += "/" + e.Subresource
	}
	return msg + fmt.Sprintf(`; ask a cluster admin to add the verb %q on %q to your Role or ClusterRole for namespace %s (rule: apiGroups: [%q], resources: [%q], verbs: [%q])`,
		e.Verb, resource, e.Namespace, e.Group, resource, e.Verb)
}

// Kind is fail.Refused (`run` reports it as 125, like any failure of its own).
func (e *PermissionError) Kind() fail.Kind { return fail.Refused }

// LockedError is an exclusive script already being run by someone else.
type LockedError struct {
	Lease     string
	Namespace string
	Holder    string
	Since     time.Time
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("script is locked: lease %s/%s is held by %s", e.Namespace, e.Lease, e.Holder)
	if !e.Since.IsZero() {
		msg += " since " + e.Since.UTC().Format(time.RFC3339)
	}
	return msg
}

// Kind is fail.RunFailed (125): cscript failed before the script.
func (e *LockedError) Kind() fail.Kind { return fail.RunFailed }

// RunError is any other failure of cscript around the script: an API call, a
// file transfer, a broken exec stream. Op says what was being done.
type RunError struct {
	Op  string
	Err error
}

func (e *RunError) Error() string { return e.Op + ": " + TrimOp(e.Err.Error(), e.Op) }
func (e *RunError) Unwrap() error { return e.Err }

// Kind is fail.RunFailed (125), unless the wrapped error has a kind of its
// own (an unreachable API server or Docker engine is fail.Unavailable;
// `run` reports any of them as 125).
func (e *RunError) Kind() fail.Kind {
	if k := fail.KindOf(e.Err); k != fail.General {
		return k
	}
	return fail.RunFailed
}

// signalCause is the cause a caller cancels a run's context with to say which
// signal stopped it.
type signalCause struct{ sig os.Signal }

func (c signalCause) Error() string { return c.sig.String() + " signal received" }

// SignalCause returns an error to pass to a context.CancelCauseFunc so that
// the run reports sig (its exit code becomes 128+sig).
func SignalCause(sig os.Signal) error { return signalCause{sig} }

// signalOf finds the signal that cancelled a context. It understands
// SignalCause and the causes os/signal.NotifyContext sets; anything else is
// SIGINT.
func signalOf(cause error) os.Signal {
	if c, ok := cause.(signalCause); ok {
		return c.sig
	}
	if cause != nil {
		// os/signal.NotifyContext: "<signal> signal received".
		msg := cause.Error()
		for _, s := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
			if strings.HasPrefix(msg, s.String()+" signal") {
				return s
			}
		}
	}
	return syscall.SIGINT
}

// NewInterruptedError is the error of a run stopped because its context was
// cancelled with cause (see SignalCause; os/signal.NotifyContext's causes
// are understood too), during phase. Other backends (docker) use it so that
// every interrupted run exits 128+N the same way.
func NewInterruptedError(cause error, phase string) *InterruptedError {
	return &InterruptedError{Signal: signalOf(cause), Phase: phase}
}

// SignalOf is the signal that cancelled a context with cause (SIGINT when
// the cause names none).
func SignalOf(cause error) os.Signal { return signalOf(cause) }

// TrimOp drops a leading "OP: " (or "OP …: ") that the wrapped error already
// starts with, so a message does not say the same thing twice.
func TrimOp(msg, op string) string {
	if op == "" {
		return msg
	}
	if rest, ok := strings.CutPrefix(msg, op+": "); ok {
		return rest
	}
	if strings.HasPrefix(msg, op+" ") {
		if i := strings.Index(msg, ": "); i >= 0 {
			return msg[i+2:]
		}
	}
	return msg
}
