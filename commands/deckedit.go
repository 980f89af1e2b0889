package commands

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

// deckFromArg finds the deck named by the one argument, and its library.
func (a *app) deckFromArg(c *cli.Context) (*store.Deck, *store.Index, error) {
	if c.NArg() != 1 {
		return nil, nil, usageErrorf("deck %s needs exactly one deck name (NAME or LIB/NAME), got %d arguments", c.Command.Name, c.NArg())
	}
	cat, _, err := a.catalog()
	if err != nil {
		return nil, nil, err
	}
	d, err := cat.Deck(c.Args().First())
	if err != nil {
		return nil, nil, err
	}
	lib, err := cat.Library(d.Source.Library)
	if err != nil {
		return nil, nil, err
	}
	return d, lib, nil
}

func (a *app) deckEditCommand() *cli.Command {
	return &cli.Command{
		Name:         "edit",
		Usage:        "edit a deck (a temporary copy, in $VISUAL or $EDITOR); re-validated on save and committed",
		ArgsUsage:    "NAME",
		BashComplete: a.completeDecks,
		Action: func(c *cli.Context) error {
			d, lib, err := a.deckFromArg(c)
			if err != nil {
				return err
			}
			editor := a.editor()
			if editor == "" {
				return usageErrorf("deck edit needs a terminal, or an editor in $VISUAL or $EDITOR: edit %s directly, then run `cscript validate`", d.Source.Path)
			}
			return a.editFile(c.Context, editor, lib, d.Source.RelPath, "deck "+d.Name, a.deckCheck(lib, d.Source.RelPath), false)
		},
	}
}

func (a *app) deckRmCommand() *cli.Command {
	flagYes := &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}
	return &cli.Command{
		Name:         "rm",
		Usage:        "remove a deck (committed in a git library, so it can be restored)",
		ArgsUsage:    "NAME",
		Flags:        []cli.Flag{flagYes},
		BashComplete: a.completeDecks,
		Action: func(c *cli.Context) error {
			d, lib, err := a.deckFromArg(c)
			if err != nil {
				return err
			}
			question := fmt.Sprintf("Remove deck %s (%s)?", d.Name, d.Source.Path)
			if d.Protected {
				question = fmt.Sprintf("Remove the protected deck %s (%s)?", d.Name, d.Source.Path)
			}
			if err := a.confirm(c.Bool(flagYes.Name), question, d.Source.Path); err != nil {
				return err
			}
			if err := os.Remove(d.Source.Path); err != nil {
				return fmt.Errorf("remove deck %q: %w", d.Name, err)
			}
			if err := a.commitIfGit(lib, "cscript: remove deck "+d.Name, d.Source.Path); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Removed %s\n", d.Source.Path)
			return nil
		},
	}
}
