// Package fail says what kind of failure an error is, so that one function,
// ExitCode, turns any error into cscript's documented exit code.
//
// A library says the kind of its errors: a typed error has a method
// Kind() Kind; a sentinel is made with New (errors.Is still matches it); any
// other error can be wrapped with Wrap or made with Errorf. The kind of an
// error is the kind of the outermost error in its chain that has one
// (errors.As order); an error that has none is General, except a failure to
// connect (a refused or unroutable dial, an unknown host), which is
// Unavailable.
package fail

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Kind is a kind of failure.
type Kind int

// The kinds. Each maps to one exit code (see ExitCode); Script and
// Interrupted carry their number in the error.
const (
	// General is any failure of no other kind (and the kind of an error that
	// says none).
	General Kind = iota
	// Usage is a bad command line: an unknown command or flag, a missing
	// argument, a flag value that is not one of its choices.
	Usage
	// Invalid is invalid input: YAML, validation, --set, params, templates, an
	// unreadable credential source.
	Invalid
	// NotFound is an unknown script, deck, library, lifecycle, resource or run.
	NotFound
	// Conflict is state that does not allow the change: a dirty git work
	// tree, diverged history, an unsigned head, a resource changed by
	// someone else or in a state that does not allow the event.
	Conflict
	// Refused is a confirmation not given or a permission missing.
	Refused
	// Unavailable is a cluster, Docker engine or git remote that cannot be
	// reached.
	Unavailable
	// RunFailed is cscript failing before, around or after a script it runs.
	RunFailed
	// CannotExec is a script that cannot be executed.
	CannotExec
	// NoInterpreter is an interpreter (or another program the run needs)
	// that is not in the image.
	NoInterpreter
	// Script is a script that exited non-zero; the error's ExitCode() is the
	// script's own exit code.
	Script
	// Interrupted is a run stopped by a signal; the error's ExitCode() is
	// 128 plus the signal's number.
	Interrupted
)

var kindNames = [...]string{
	General: "general", Usage: "usage", Invalid: "invalid", NotFound: "not found", Conflict: "conflict",
	Refused: "refused", Unavailable: "unavailable", RunFailed: "run failed", CannotExec: "cannot execute",
	NoInterpreter: "no interpreter", Script: "script", Interrupted: "interrupted",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Exit codes: the table of the README, never renumbered.
//
// `run` passes the script's own exit code through (0–124); its own failures
// use 125–127 and 128+N, as Docker does, so they never collide with the
// script's.
const (
	ExitOK          = 0
	ExitError       = 1   // General
	ExitUsage       = 2   // Usage
	ExitInvalid     = 3   // Invalid
	ExitNotFound    = 4   // NotFound
	ExitConflict    = 5   // Conflict
	ExitRefused     = 6   // Refused
	ExitUnavailable = 7   // Unavailable
	ExitRunFailed   = 125 // RunFailed
	ExitCannotExec  = 126 // CannotExec
	ExitNoInterp    = 127 // NoInterpreter
	ExitSignalBase  = 128 // Interrupted: 128+N (130 interrupted, 137 killed/OOM)
)

// ExitCode is the exit code of a command that fails with err (ExitOK for
// nil): the one place where kinds become exit codes.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	k := KindOf(err)
	switch k {
	case General:
		return ExitError
	case Usage:
		return ExitUsage
	case Invalid:
		return ExitInvalid
	case NotFound:
		return ExitNotFound
	case Conflict:
		return ExitConflict
	case Refused:
		return ExitRefused
	case Unavailable:
		return ExitUnavailable
	case RunFailed:
		return ExitRunFailed
	case CannotExec:
		return ExitCannotExec
	case NoInterpreter:
		return ExitNoInterp
	case Script, Interrupted:
		if n, ok := number(err, k); ok {
			return n
		}
		if k == Interrupted {
			return ExitSignalBase + int(syscall.SIGINT)
		}
		return ExitRunFailed
	}
	return ExitError
}

// Run is err as `run` reports it: a failure of the script itself (Script,
// CannotExec, NoInterpreter, Interrupted) and a bad command line (Usage:
// nothing ran) keep their kind; anything else becomes RunFailed (exit code 125), so that
// cscript's own failures are never mistaken for the script's exit code.
// nil stays nil.
func Run(err error) error {
	switch k, _ := Of(err); {
	case err == nil:
		return nil
	case k == Script, k == CannotExec, k == NoInterpreter, k == Interrupted, k == Usage:
		return err
	}
	return Wrap(RunFailed, err)
}

// kinded is an error that says its kind.
type kinded interface {
	error
	Kind() Kind
}

// Error is an error with a kind (see Wrap, New, Errorf).
type Error struct {
	kind Kind
	err  error
}

func (e *Error) Error() string { return e.err.Error() }
func (e *Error) Unwrap() error { return e.err }

// Kind is the kind the error was made with.
func (e *Error) Kind() Kind { return e.kind }

// Wrap gives err the kind k; the message is err's, and errors.Is and
// errors.As see through it. Wrap(k, nil) is nil.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{kind: k, err: err}
}

// New is errors.New with a kind: for sentinel errors, which errors.Is
// matches by identity.
func New(k Kind, msg string) error { return &Error{kind: k, err: errors.New(msg)} }

// Errorf is fmt.Errorf with a kind (%w wraps as in fmt.Errorf).
func Errorf(k Kind, format string, args ...any) error {
	return &Error{kind: k, err: fmt.Errorf(format, args...)}
}

// Of returns the kind that err, or an error it wraps, says it is (the
// outermost one, in errors.As order), and false when none says one.
func Of(err error) (Kind, bool) {
	var k kinded
	if errors.As(err, &k) {
		return k.Kind(), true
	}
	return General, false
}

// KindOf is the kind of err: the one it says (see Of), else Unavailable for
// a failure to connect, else General.
func KindOf(err error) Kind {
	if k, ok := Of(err); ok {
		return k
	}
	if unreachable(err) {
		return Unavailable
	}
	return General
}

// unreachable says whether err is a failure to connect to a server (a
// cluster's API server, a Docker engine, a git remote): a dial that was
// refused, timed out or had no route, or a host name that does not resolve.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

// number is the ExitCode() of the first error in err's chain that is of
// kind k and has one.
func number(err error, k Kind) (int, bool) {
	var n int
	found := walk(err, func(e error) bool {
		ke, ok := e.(kinded)
		if !ok || ke.Kind() != k {
			return false
		}
		c, ok := e.(interface{ ExitCode() int })
		if ok {
			n = c.ExitCode()
		}
		return ok
	})
	return n, found
}

// walk visits err and the errors it wraps, depth first, until f returns true.
func walk(err error, f func(error) bool) bool {
	for err != nil {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, f) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return false
		}
	}
	return false
}
