package commands

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"
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

// ask prints a question on stderr and reads one line from stdin.
func (s *streams) ask(question string) (string, error) {
	fmt.Fprint(s.Err, question)
	if s.reader == nil {
		s.reader = bufio.NewReader(s.In)
	}
	line, err := s.reader.ReadString('\n')
	if err != nil && line == "" {
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
	fmt.Fprint(s.Err, question)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(s.Err) // the Enter typed was not echoed either
	if err != nil {
		return "", fmt.Errorf("reading answer: %w", err)
	}
	return string(b), nil
}

// Output formats of --output.
const (
	outputTable = "table"
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
