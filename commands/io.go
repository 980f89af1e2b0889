package commands

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"
)

// streams are the process's standard streams and what is known about them.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// getenv reads the environment (tests inject their own).
	getenv func(string) string
	// tty, when set, overrides terminal detection of stdin and stderr (tests).
	tty *bool
	// reader buffers In across several questions.
	reader *bufio.Reader
	// ctx is cancelled by Ctrl-C (see HandleSignals): a question waiting
	// for its answer then stops at once. nil is never cancelled.
	ctx context.Context
	// pending is the answer of a read that a Ctrl-C left waiting: the next
	// question takes it rather than read stdin twice at once.
	pending chan answer
}

// answer is a line read from stdin, or why none was.
type answer struct {
	line string
	err  error
}

// errNoAnswer is stdin ended (Ctrl-D) before an answer was typed; the
// callers add what to pass instead (see noAnswer).
var errNoAnswer = errors.New("no answer (end of input)")

// noAnswer is err, when it is errNoAnswer, as the bad command line it is,
// saying what to pass instead of answering (hint); any other err is err.
func noAnswer(err error, hint string) error {
	if errors.Is(err, errNoAnswer) {
		return fail.Errorf(fail.Usage, "%w: %s", err, hint)
	}
	return err
}

// promptInterrupted is a question stopped by a signal (Ctrl-C): exit
// 128+N, nothing done.
type promptInterrupted struct{ sig os.Signal }

func (e *promptInterrupted) Error() string {
	what := e.sig.String()
	if e.sig == syscall.SIGINT {
		what = "Ctrl-C"
	}
	return fmt.Sprintf("interrupted (%s) at the question: nothing was done", what)
}
func (e *promptInterrupted) Kind() fail.Kind { return fail.Interrupted }
func (e *promptInterrupted) ExitCode() int {
	n := int(syscall.SIGINT)
	if s, ok := e.sig.(syscall.Signal); ok {
		n = int(s)
	}
	return fail.ExitSignalBase + n
}

// readLine runs read (one line of stdin) and returns its answer, or stops at
// once when ctx is cancelled (the read is left waiting in pending).
func (s *streams) readLine(read func() (string, error)) (string, error) {
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Err() != nil {
		return "", &promptInterrupted{sig: runner.SignalOf(context.Cause(ctx))}
	}
	if s.pending == nil {
		ch := make(chan answer, 1)
		go func() {
			line, err := read()
			ch <- answer{line, err}
		}()
		s.pending = ch
	}
	select {
	case a := <-s.pending:
		s.pending = nil
		return a.line, a.err
	case <-ctx.Done():
		return "", &promptInterrupted{sig: runner.SignalOf(context.Cause(ctx))}
	}
}

func fdOf(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok {
		return 0, false
	}
	return int(f.Fd()), true
}

// isTerminal reports whether v is a terminal (an *os.File on a tty).
func isTerminal(v any) bool {
	fd, ok := fdOf(v)
	return ok && term.IsTerminal(fd)
}

// interactive reports whether cscript may ask the user questions.
func (s streams) interactive() bool {
	if s.tty != nil {
		return *s.tty
	}
	return isTerminal(s.In) && isTerminal(s.Err)
}

// progress reports whether progress bars may be drawn on stderr.
func (s streams) progress() bool { return isTerminal(s.Err) }

// color reports whether stderr gets colour: a terminal and NO_COLOR unset (https://no-color.org).
func (s streams) color() bool {
	return isTerminal(s.Err) && s.getenv("NO_COLOR") == "" && s.getenv("TERM") != "dumb"
}

// paint wraps text in an ANSI colour when colour is on.
func (s streams) paint(code, text string) string {
	if !s.color() {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// ask prints a question on stderr and reads one line from stdin. Ctrl-C
// stops it at once (a *promptInterrupted: exit 130); stdin ending before an
// answer (Ctrl-D) is errNoAnswer.
func (s *streams) ask(question string) (string, error) {
	fmt.Fprint(s.Err, question)
	if s.reader == nil {
		s.reader = bufio.NewReader(s.In)
	}
	line, err := s.readLine(func() (string, error) { return s.reader.ReadString('\n') })
	if err != nil && line == "" {
		if _, ok := err.(*promptInterrupted); ok {
			fmt.Fprintln(s.Err)
			return "", err
		}
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(s.Err)
			return "", errNoAnswer
		}
		return "", fmt.Errorf("reading answer: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// askSecret is ask for a secret value: on a terminal, what is typed is not
// echoed.
func (s *streams) askSecret(question string) (string, error) {
	fd, ok := fdOf(s.In)
	if !ok || !term.IsTerminal(fd) || (s.reader != nil && s.reader.Buffered() > 0) {
		return s.ask(question)
	}
	restore, err := echoOff(fd)
	if err != nil {
		return s.askPassword(fd, question)
	}
	defer restore()
	line, err := s.ask(question)
	if err == nil {
		fmt.Fprintln(s.Err) // the Enter typed was not echoed either
	}
	return line, err
}

// askPassword is askSecret where echoOff cannot be done: x/term's
// ReadPassword (a Ctrl-C there puts the terminal back as it was).
func (s *streams) askPassword(fd int, question string) (string, error) {
	fmt.Fprint(s.Err, question)
	before, _ := term.GetState(fd)
	line, err := s.readLine(func() (string, error) {
		b, err := term.ReadPassword(fd)
		return string(b), err
	})
	fmt.Fprintln(s.Err) // the Enter typed was not echoed either
	if _, ok := err.(*promptInterrupted); ok {
		// The read still waits with echo off: the terminal as it was.
		if before != nil {
			_ = term.Restore(fd, before)
		}
		return "", err
	}
	if errors.Is(err, io.EOF) && line == "" {
		return "", errNoAnswer
	}
	if err != nil {
		return "", fmt.Errorf("reading answer: %w", err)
	}
	return line, nil
}

// plural is "1 library", "2 libraries": n and the noun in its number.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Output formats of --output.
const (
	outputTable = "table"
	outputText  = "text"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

// writeStructured prints v as JSON or YAML.
func writeStructured(w io.Writer, format string, v any) error {
	switch format {
	case outputJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outputYAML:
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	return usageErrorf("unknown output format %q: use table, json or yaml", format)
}
