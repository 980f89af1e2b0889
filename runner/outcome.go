package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cscript-dev/cscript/internal/fail"
)

// The run's lifecycle, written once for every backend: its deadline, how it
// ended (Classify, ExitError), whether diagnostics are kept
// (WantDiagnostics), cleanup on a context of its own with retries of
// transient failures (Cleanup, Retry), and the result's exit code and
// reason (Result.Finish).

// Durations of the lifecycle, the same in every backend and mode.
const (
	// UnschedulableGrace is how long a Pod may stay unschedulable (a node
	// not ready yet, a taint being removed) before the run fails.
	UnschedulableGrace = 5 * time.Second
	// ConfigErrorGrace is how long a container configuration error that
	// can clear by itself (a Secret about to appear) may last.
	ConfigErrorGrace = 3 * time.Second
	// CleanupTimeout bounds cleanup.
	CleanupTimeout = 30 * time.Second
	// DiagnosticsTimeout bounds collecting diagnostics.
	DiagnosticsTimeout = 10 * time.Second
)

// ReasonUnschedulable is a Pod the scheduler cannot place.
const ReasonUnschedulable = "Unschedulable"

// StartGrace is how long a start problem that may clear by itself may last
// before the run fails: unschedulable (0: UnschedulableGrace) or a
// configuration error (0: ConfigErrorGrace).
func StartGrace(reason string, unschedulable, configError time.Duration) time.Duration {
	if reason == ReasonUnschedulable {
		if unschedulable > 0 {
			return unschedulable
		}
		return UnschedulableGrace
	}
	if configError > 0 {
		return configError
	}
	return ConfigErrorGrace
}

// Deadline bounds a run: ctx ends after the spec's effective timeout plus
// margin (the time a backend allows its own server-side backstop).
func Deadline(ctx context.Context, spec Spec, margin time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, spec.EffectiveTimeout()+margin)
}

// TimeoutMessage says a run exceeded its timeout.
func TimeoutMessage(d time.Duration) string {
	return fmt.Sprintf("the run exceeded its timeout of %s", d)
}

// TimeoutError is a script stopped at its deadline: exit 137, named
// DeadlineExceeded.
func TimeoutError(msg string) *ScriptError {
	return &ScriptError{Code: ExitSignalBase + 9, Reason: ReasonDeadlineExceeded, Message: msg}
}

// Classify turns the error a run's steps ended with into the error its
// caller sees: an interruption when parent was cancelled (the signal from
// its cause), a timeout named as such when runCtx's deadline passed (a
// DeadlineExceeded script error in the script phase, else a RunError of the
// phase), an error that already says its kind as it is, and anything else
// wrapped by wrap (nil: a *RunError of the phase).
func Classify(parent, runCtx context.Context, err error, phase, scriptPhase, timeoutMsg string, wrap func(op string, err error) error) error {
	if err == nil {
		return nil
	}
	if parent.Err() != nil {
		return NewInterruptedError(context.Cause(parent), phase)
	}
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		if phase == scriptPhase {
			return TimeoutError(timeoutMsg)
		}
		return &RunError{Op: phase, Err: errors.New(timeoutMsg)}
	}
	if _, ok := fail.Of(err); ok {
		return err
	}
	if wrap != nil {
		return wrap(phase, err)
	}
	return &RunError{Op: phase, Err: err}
}

// Exit is how a script's process ended, as its backend saw it.
type Exit struct {
	Code int
	// Reason is the backend's word for why: OOMKilled, DeadlineExceeded,
	// Evicted, or "" (Error) when the script exited by itself.
	Reason  string
	Message string
	// Output is the end of the script's output (a missing interpreter
	// says so there).
	Output string
	// Memory is the memory limit as the script wrote it, for the OOM
	// message; "" when none.
	Memory string
	Image  string
}

// ExitError classifies how a script ended, the same on every backend: nil
// for exit 0; OOMKilled, DeadlineExceeded and Evicted named (a kill without
// an exit code is 137); 127 with the shell's "not found" for the
// interpreter a *MissingToolError; otherwise a *ScriptError with the
// script's own code (128+N for a signal N).
func ExitError(e Exit) error {
	if e.Code == 0 && (e.Reason == "" || e.Reason == ReasonError) {
		return nil
	}
	code := e.Code
	switch e.Reason {
	case ReasonOOMKilled:
		if code == 0 {
			code = ExitSignalBase + 9
		}
		return &ScriptError{Code: code, Reason: ReasonOOMKilled, Message: OOMMessage(e.Memory)}
	case ReasonDeadlineExceeded, ReasonEvicted:
		if code == 0 {
			code = ExitSignalBase + 9
		}
		return &ScriptError{Code: code, Reason: e.Reason, Message: e.Message}
	}
	if tool, ok := MissingInterpreter(code, e.Output); ok {
		return &MissingToolError{Tool: tool, Image: e.Image}
	}
	return &ScriptError{Code: code, Reason: ReasonError}
}

// OOMMessage says the script ran out of memory, with its limit when known.
func OOMMessage(limit string) string {
	if limit == "" {
		return "the script ran out of memory"
	}
	return "the script ran out of memory (limit " + limit + ")"
}

// WantDiagnostics says whether a run that ended with err keeps diagnostics:
// it failed after its container was created, and was not interrupted.
func WantDiagnostics(err error, created bool) bool {
	var interrupted *InterruptedError
	return err != nil && created && !errors.As(err, &interrupted)
}

// Cleanup runs f on a context of its own, bounded by timeout (0:
// CleanupTimeout): the run's context may be cancelled already.
func Cleanup(timeout time.Duration, f func(ctx context.Context) error) error {
	if timeout <= 0 {
		timeout = CleanupTimeout
	}
	// The one deliberate context.Background(): cleanup must outlive the run.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return f(ctx)
}

// Retry calls f until it succeeds, fails with an error transient says will
// not clear by repeating, or ctx ends (then the last error is returned).
// The delay doubles from 200 ms up to 2 s.
func Retry(ctx context.Context, transient func(error) bool, f func(context.Context) error) error {
	delay := 200 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil || !transient(err) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// CleanupFailedError is a failed run whose cleanup failed too: the run's
// error (same kind, same exit code) with the cleanup's failure added.
type CleanupFailedError struct {
	Err, Cleanup error
}

func (e *CleanupFailedError) Error() string {
	return e.Err.Error() + "; cleanup failed too, remove what is left with `cscript gc`: " + e.Cleanup.Error()
}

func (e *CleanupFailedError) Unwrap() error { return e.Err }

// WithCleanup is the error of a run that ended with err and whose cleanup
// ended with cleanupErr.
func WithCleanup(err, cleanupErr error) error {
	switch {
	case cleanupErr == nil:
		return err
	case err == nil:
		return &RunError{Op: "cleanup", Err: cleanupErr}
	}
	return &CleanupFailedError{Err: err, Cleanup: cleanupErr}
}

// Finish sets the result's exit code and reason from the run's error.
func (r *Result) Finish(err error) {
	r.ExitCode = ExitCodeOf(err)
	var se *ScriptError
	if errors.As(err, &se) {
		r.Reason = se.Reason
	}
}
