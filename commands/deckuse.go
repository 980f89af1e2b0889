package commands

// `cscript deck use NAME`: the deck `run` uses when no --deck is given.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

// defaultDeckNote is how a run names a deck that came from `deck use`.
const defaultDeckNote = "(default, from `cscript deck use`)"

// withDeckUse adds `deck use` to the deck command.
func (a *app) withDeckUse(deck *cli.Command) *cli.Command {
	deck.Subcommands = append(deck.Subcommands, a.deckUseCommand())
	return deck
}

func (a *app) deckUseCommand() *cli.Command {
	flagClear := &cli.BoolFlag{Name: "clear", Usage: "forget the default deck (run and render then need --deck again)"}
	return &cli.Command{
		Name:  "use",
		Usage: "choose the deck `run` and `render` use without --deck (kept for this user, on this machine)",
		Description: "Without NAME, prints the default deck. The choice is kept in the state directory\n" +
			"($XDG_STATE_HOME/cscript/default-deck); --deck and CSCRIPT_DECK still win over it.",
		ArgsUsage:    "NAME",
		Flags:        []cli.Flag{flagClear},
		BashComplete: a.completeDecks,
		Action: func(c *cli.Context) error {
			switch {
			case c.Bool(flagClear.Name) && c.NArg() > 0:
				return usageErrorf("deck use: give a NAME or --clear, not both")
			case c.NArg() > 1:
				return usageErrorf("deck use takes one deck name, not %d", c.NArg())
			case c.Bool(flagClear.Name):
				if err := os.Remove(a.defaultDeckPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				fmt.Fprintln(a.io.Out, "No default deck: run needs --deck")
				return nil
			case c.NArg() == 0:
				name, err := a.defaultDeck()
				if err != nil {
					return err
				}
				if name == "" {
					fmt.Fprintln(a.io.Out, "No default deck: choose one with `cscript deck use NAME`")
					return nil
				}
				fmt.Fprintln(a.io.Out, name)
				return nil
			}
			name := c.Args().First()
			cat, _, err := a.catalog()
			if err != nil {
				return err
			}
			d, err := cat.Deck(name)
			if err != nil {
				return err
			}
			if err := a.setDefaultDeck(name); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Default deck: %s (library %s, %s)\n", name, d.Source.Library, deckWhere(d))
			return nil
		},
	}
}

// deckWhere says where a deck's runs go.
func deckWhere(d *store.Deck) string {
	if d.Backend == "docker" {
		return "Docker"
	}
	ctx := "the current kubeconfig context"
	if d.Context != "" {
		ctx = "context " + d.Context
	}
	return fmt.Sprintf("%s, namespace %s", ctx, orDash(d.Namespace))
}

func (a *app) defaultDeckPath() string { return filepath.Join(a.paths().StateDir, "default-deck") }

// defaultDeck is the deck chosen with `deck use`, "" without one.
func (a *app) defaultDeck() (string, error) {
	b, err := os.ReadFile(a.defaultDeckPath())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the default deck: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// setDefaultDeck keeps name as the default deck (0600, written whole).
func (a *app) setDefaultDeck(name string) error {
	path := a.defaultDeckPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return store.WriteFileAtomic(path, []byte(name+"\n"), 0o600)
}

// deckOf is the deck a command uses: --deck (or CSCRIPT_DECK), else the
// default chosen with `deck use` (fromDefault), else "".
func (a *app) deckOf(c *cli.Context) (name string, fromDefault bool, err error) {
	if name = c.String(flagDeck.Name); name != "" {
		return name, false, nil
	}
	name, err = a.defaultDeck()
	return name, name != "", err
}

// requireDeck is deckOf for `run`: without a deck, a bad command line that
// lists the decks there are.
func (a *app) requireDeck(c *cli.Context) (string, bool, error) {
	name, fromDefault, err := a.deckOf(c)
	if err != nil || name != "" {
		return name, fromDefault, err
	}
	decks, err := a.act.ListDecks()
	if err != nil {
		return "", false, err
	}
	var names []string
	seen := map[string]bool{}
	for _, d := range decks {
		if !seen[d.Name] {
			seen[d.Name] = true
			names = append(names, d.Name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "", false, usageErrorf("run needs a deck, and there is none yet: create one with `cscript deck new NAME`, then pass --deck NAME or choose it with `cscript deck use NAME`")
	}
	return "", false, usageErrorf("run needs a deck: pass --deck NAME, or choose a default with `cscript deck use NAME`; the decks: %s", strings.Join(names, ", "))
}

// defaultDeckHint adds to a "deck not found" of the default deck how to
// choose another.
func defaultDeckHint(err error, deck string, fromDefault bool) error {
	var nf *store.NotFoundError
	if fromDefault && errors.As(err, &nf) && nf.What == "deck" {
		return &hintedError{err: err, hint: fmt.Sprintf("%s is the default deck, from `cscript deck use`: choose another with `cscript deck use NAME`, or forget it with `cscript deck use --clear`", deck)}
	}
	return err
}
