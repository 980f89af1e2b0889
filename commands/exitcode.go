package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/cscript-dev/cscript/credentials"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// Exit codes. This table is documented in the README and never renumbered.
//
// `run` passes the script's own exit code through (0–124); its own failures use
// 125–127 and 128+N, as Docker does, so they never collide with the script's.
const (
	ExitOK          = 0
	ExitError       = 1   // a general error not covered below
	ExitUsage       = 2   // bad command line: unknown flag, missing argument
	ExitInvalid     = 3   // invalid input: YAML, validation, --set, template errors
	ExitNotFound    = 4   // unknown script, deck or library
	ExitConflict    = 5   // git: dirty tree, diverged history kept on a branch, unsigned head
	ExitRefused     = 6   // permission missing, protected deck not confirmed
	ExitUnavailable = 7   // cluster, Docker engine or git remote unreachable
	ExitRunFailed   = 125 // run: cscript failed before, around or after the script
	ExitCannotExec  = 126 // run: the script cannot be executed
	ExitNoInterp    = 127 // run: the interpreter is not in the image
	ExitSignalBase  = 128 // run: killed by signal N → 128+N (130 interrupted, 137 killed/OOM)
)

// ExitCoder is implemented by errors that carry their own exit code.
type ExitCoder interface {
	error
	ExitCode() int
}

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

// ExitCodeOf maps an error to its exit code; the one place where this happens.
func ExitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var (
		validation *store.ValidationError
		ambiguous  *store.AmbiguousError
		dirty      *store.DirtyTreeError
		signature  *store.SignatureError
		remote     *store.RemoteError
		tmpl       *templates.TemplateError
		param      *templates.ParamError
		params     *templates.ParamErrors
		missing    *templates.MissingParamsError
		set        *templates.SetError
		credential *credentials.SourceError
	)
	switch {
	case errors.As(err, &validation), errors.As(err, &tmpl), errors.As(err, &param), errors.As(err, &params),
		errors.As(err, &missing), errors.As(err, &set), errors.As(err, &credential):
		return ExitInvalid
	case errors.Is(err, store.ErrNotFound), errors.As(err, &ambiguous):
		return ExitNotFound
	case errors.As(err, &dirty), errors.As(err, &signature):
		return ExitConflict
	case errors.As(err, &remote):
		return ExitUnavailable
	}
	return ExitError
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) ExitCode() int { return ExitUsage }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// silentError was already reported; ReportError only maps it to its exit code.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }
func (e *silentError) Silent() bool  { return true }
func silent(err error) error         { return &silentError{err: err} }
