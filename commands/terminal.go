package commands

// The terminal side of the application layer (action): its questions
// asked on the terminal, its warnings and notes, and a run's progress.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/store"
)

// terminal is action's Prompter and Log on the process's streams.
type terminal struct{ a *app }

var (
	_ action.Prompter = terminal{}
	_ action.Log      = terminal{}
)

func (t terminal) CanAsk() bool { return t.a.io.interactive() }

func (t terminal) ConfirmDeck(_ context.Context, c action.DeckConfirmation) (string, error) {
	answer, err := t.a.io.ask(fmt.Sprintf("Deck %s is protected (context %s, namespace %s). Type the deck's name to run: ", c.Deck, orDash(c.Context), orDash(c.Namespace)))
	return answer, noAnswer(err, fmt.Sprintf("deck %s not confirmed, nothing was run; pass --yes to run without asking", c.Deck))
}

func (t terminal) Param(_ context.Context, p store.Param, problem error) (string, error) {
	if problem != nil {
		fmt.Fprintf(t.a.io.Err, "%v\n", problem)
	}
	q := p.Name
	if p.Description != "" {
		q += " (" + p.Description + ")"
	}
	if p.Type == store.ParamEnum {
		q += " [" + strings.Join(p.Values, "|") + "]"
	}
	ask := t.a.io.ask
	if p.Secret {
		ask = t.a.io.askSecret
	}
	answer, err := ask(q + ": ")
	return answer, noAnswer(err, fmt.Sprintf("param %s has no value; pass --set %s=…", p.Name, p.Name))
}

func (t terminal) Warn(msg string) { fmt.Fprintf(t.a.io.Err, "warning: %s\n", msg) }
func (t terminal) Note(msg string) { fmt.Fprintln(t.a.io.Err, msg) }

// runProgress is a run's progress on the terminal: the run's line when it
// starts, the script's output on stdout and stderr, each phase with
// --verbose, transfer bars when stderr is a terminal.
type runProgress struct {
	a       *app
	verbose bool
	start   time.Time // phases are timed from it
	// defaultDeck: the deck is the default chosen with `deck use`, and the
	// run's line says so.
	defaultDeck bool
}

var _ action.Progress = (*runProgress)(nil)

func (p *runProgress) Started(s action.RunStart) {
	if s.Event == "" {
		deck := s.Deck
		if p.defaultDeck {
			deck = "deck " + deck + " " + defaultDeckNote
		}
		fmt.Fprintf(p.a.io.Err, "%s %s in %s (%s), run %s\n", p.a.io.paint("1", "▶"), s.Script, deck, s.Where, s.ID)
		return
	}
	head := fmt.Sprintf("%s %s %s: script %s in %s", p.a.io.paint("1", "▶"), s.Event, s.Resource, s.Script, s.Deck)
	if s.ID != "" {
		head += ", run " + s.ID
	}
	fmt.Fprintln(p.a.io.Err, head)
}

func (p *runProgress) Phase(e action.PhaseEvent) {
	if p.verbose {
		fmt.Fprintf(p.a.io.Err, "%s %6.3fs %s %s\n", p.a.io.paint("2", "·"), e.Time.Sub(p.start).Seconds(), e.Phase, e.Message)
	}
}

func (p *runProgress) Output(s action.Stream, b []byte) {
	w := p.a.io.Out
	if s == action.Stderr {
		w = p.a.io.Err
	}
	_, _ = w.Write(b)
}

func (p *runProgress) Transfer(string) io.Writer {
	if p.a.io.progress() {
		return p.a.io.Err
	}
	return nil
}
