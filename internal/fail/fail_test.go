package fail

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

type scriptErr struct{ code int }

func (e *scriptErr) Error() string { return fmt.Sprintf("exit %d", e.code) }
func (e *scriptErr) ExitCode() int { return e.code }
func (e *scriptErr) Kind() Kind    { return Script }

// outer says a kind and wraps another error, like a runner error that
// passes on the kind of what it wraps.
type outer struct{ err error }

func (e *outer) Error() string { return "outer: " + e.err.Error() }
func (e *outer) Unwrap() error { return e.err }
func (e *outer) Kind() Kind {
	if k, ok := Of(e.err); ok {
		return k
	}
	return RunFailed
}

func TestExitCode(t *testing.T) {
	sentinel := New(NotFound, "gone")
	tests := []struct {
		name string
		err  error
		kind Kind
		code int
		run  int // ExitCode(Run(err))
	}{
		{"nil", nil, General, 0, 0},
		{"plain", errors.New("x"), General, 1, 125},
		{"usage", New(Usage, "x"), Usage, 2, 2},
		{"invalid wrapped twice", fmt.Errorf("ctx: %w", Wrap(Invalid, errors.New("x"))), Invalid, 3, 125},
		{"sentinel in a chain", fmt.Errorf("run 1: %w", sentinel), NotFound, 4, 125},
		{"conflict", Errorf(Conflict, "x %w", errors.New("y")), Conflict, 5, 125},
		{"refused", New(Refused, "x"), Refused, 6, 125},
		{"unavailable", New(Unavailable, "x"), Unavailable, 7, 125},
		{"the outermost kind wins", Wrap(Refused, Wrap(Invalid, errors.New("x"))), Refused, 6, 125},
		{"script code through a wrapper", fmt.Errorf("a: %w", &scriptErr{code: 3}), Script, 3, 3},
		{"script code under a kind that passes it on", &outer{&scriptErr{code: 42}}, Script, 42, 42},
		{"script code in a joined error", fmt.Errorf("%w: %w", errors.New("deadline"), &scriptErr{code: 137}), Script, 137, 137},
		{"script without a number", New(Script, "x"), Script, 125, 125},
		{"interrupted without a number", New(Interrupted, "x"), Interrupted, 128 + int(syscall.SIGINT), 130},
		{"cannot exec", New(CannotExec, "x"), CannotExec, 126, 126},
		{"no interpreter", New(NoInterpreter, "x"), NoInterpreter, 127, 127},
		{"outer without an inner kind", &outer{errors.New("x")}, RunFailed, 125, 125},
		{"usage stays usage in run", fmt.Errorf("run: %w", New(Usage, "x")), Usage, 2, 2},
		{"refused dial", fmt.Errorf("list pods: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), Unavailable, 7, 125},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "git.example"}, Unavailable, 7, 125},
		{"unreachable under a kind that passes it on", &outer{&net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH}}, RunFailed, 125, 125},
		{"a read that failed is no dial", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, General, 1, 125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if got := ExitCode(tt.err); got != tt.code {
				t.Errorf("ExitCode = %d, want %d", got, tt.code)
			}
			if got := ExitCode(Run(tt.err)); got != tt.run {
				t.Errorf("ExitCode(Run) = %d, want %d", got, tt.run)
			}
		})
	}
	if !errors.Is(fmt.Errorf("w: %w", sentinel), sentinel) || Wrap(Invalid, nil) != nil || Run(nil) != nil {
		t.Error("sentinels must match with errors.Is, and nil must stay nil")
	}
	if e := Wrap(Invalid, errors.New("the message")); e.Error() != "the message" {
		t.Errorf("Wrap changed the message: %q", e)
	}
}
