package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
)

// Exit codes: the README's table, never renumbered (defined once, in fail).
//
// `run` passes the script's own exit code through (0–124); its own failures use
// 125–127 and 128+N, as Docker does, so they never collide with the script's.
const (
	ExitOK          = fail.ExitOK
	ExitError       = fail.ExitError       // a general error not covered below
	ExitUsage       = fail.ExitUsage       // bad command line: unknown flag, missing argument
	ExitInvalid     = fail.ExitInvalid     // invalid input: YAML, validation, --set, template errors
	ExitNotFound    = fail.ExitNotFound    // unknown script, deck, library or run
	ExitConflict    = fail.ExitConflict    // git: dirty tree, diverged history kept on a branch, unsigned head
	ExitRefused     = fail.ExitRefused     // permission missing, protected deck not confirmed
	ExitUnavailable = fail.ExitUnavailable // cluster, Docker engine or git remote unreachable
	ExitRunFailed   = fail.ExitRunFailed   // run: cscript failed before, around or after the script
	ExitCannotExec  = fail.ExitCannotExec  // run: the script cannot be executed
	ExitNoInterp    = fail.ExitNoInterp    // run: the interpreter is not in the image
	ExitSignalBase  = fail.ExitSignalBase  // run: killed by signal N → 128+N (130 interrupted, 137 killed/OOM)
)

// ReportError prints err (once), with the secrets red knows masked, and
// returns the exit code it maps to. The message can carry text from the
// library, the git remote or the container, so it is redacted like their
// output.
func ReportError(stderr io.Writer, red *redact.Redactor, err error) int {
	if err == nil {
		return ExitOK
	}
	code := ExitCodeOf(err)
	var silent interface{ Silent() bool }
	if !(errors.As(err, &silent) && silent.Silent()) {
		fmt.Fprintf(stderr, "cscript: %s\n", red.String(err.Error()))
	}
	return code
}

// ExitCodeOf maps an error to its exit code by its kind (see fail.ExitCode,
// the one place where kinds become exit codes).
func ExitCodeOf(err error) int { return fail.ExitCode(err) }

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string   { return e.msg }
func (e *usageError) Kind() fail.Kind { return fail.Usage }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// silentError was already reported; ReportError only maps it to its exit code.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }
func (e *silentError) Silent() bool  { return true }
func silent(err error) error         { return &silentError{err: err} }
