package action

import (
	"context"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

// Prompter asks the user what an action needs to know. The CLI asks on
// the terminal; the web UI asks with a form before it calls the action
// (and then passes RunOptions.Yes and the values).
type Prompter interface {
	// CanAsk says whether questions can be asked now (a terminal).
	CanAsk() bool
	// ConfirmDeck asks the user to type the name of the protected deck
	// c.Deck and returns what was typed.
	ConfirmDeck(ctx context.Context, c DeckConfirmation) (string, error)
	// Param asks for the value of a required param that no value gave.
	// problem is why the last answer was not taken (nil the first time).
	Param(ctx context.Context, p store.Param, problem error) (string, error)
}

// DeckConfirmation is what the user confirms before a run on a protected
// deck.
type DeckConfirmation struct {
	Deck, Context, Namespace string
}

func (c *Configuration) canAsk() bool { return c.Prompter != nil && c.Prompter.CanAsk() }

// confirmDeck makes the user type the deck's name before a run on a
// protected deck; yes is the confirmation given beforehand (--yes).
func (c *Configuration) confirmDeck(ctx context.Context, deck *store.Deck, kubeContext, namespace string, yes bool) error {
	if deck == nil || !deck.Protected || yes {
		return nil
	}
	if !c.canAsk() {
		return fail.Errorf(fail.Refused, "deck %s is protected: run from a terminal and confirm, or pass --yes", deck.Name)
	}
	answer, err := c.Prompter.ConfirmDeck(ctx, DeckConfirmation{Deck: deck.Name, Context: kubeContext, Namespace: namespace})
	if err != nil {
		return err
	}
	if strings.TrimSpace(answer) != deck.Name {
		return fail.Errorf(fail.Refused, "not confirmed: you typed %q, not %q; nothing was run", answer, deck.Name)
	}
	return nil
}

// orDash is s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
