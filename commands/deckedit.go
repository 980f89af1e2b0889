package commands

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

// deckFile is the deck named by the one argument: its library and file,
// and, for an invalid deck, its problems.
func (a *app) deckFile(c *cli.Context) (lib *store.Index, rel string, d *store.Deck, ps []store.Problem, err error) {
	if c.NArg() != 1 {
		return nil, "", nil, nil, usageErrorf("deck %s needs exactly one deck name (NAME or LIB/NAME), got %d arguments", c.Command.Name, c.NArg())
	}
	cat, _, err := a.catalog()
	if err != nil {
		return nil, "", nil, nil, err
	}
	d, err = cat.Deck(c.Args().First())
	if lib, rel, ps, ok := a.invalidFile(cat, err); ok {
		return lib, rel, nil, ps, nil
	}
	if err != nil {
		return nil, "", nil, nil, err
	}
	if lib, err = cat.Library(d.Source.Library); err != nil {
		return nil, "", nil, nil, err
	}
	return lib, d.Source.RelPath, d, nil, nil
}

func (a *app) deckEditCommand() *cli.Command {
	return &cli.Command{
		Name:         "edit",
		Usage:        "edit a deck (a temporary copy, in $VISUAL or $EDITOR); re-validated on save and committed",
		ArgsUsage:    "NAME",
		BashComplete: a.completeDecks,
		Action: func(c *cli.Context) error {
			lib, rel, _, ps, err := a.deckFile(c)
			if err != nil {
				return err
			}
			editor := a.editor()
			if editor == "" {
				return usageErrorf("deck edit needs a terminal, or an editor in $VISUAL or $EDITOR: edit %s directly, then run `cscript validate`",
					filepath.Join(lib.Library.Root, filepath.FromSlash(rel)))
			}
			return a.editFile(c.Context, editor, lib, rel, "deck "+deckName(c), a.deckCheck(lib, rel), false, ps)
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
			lib, rel, d, _, err := a.deckFile(c)
			if err != nil {
				return err
			}
			name, path := deckName(c), filepath.Join(lib.Library.Root, filepath.FromSlash(rel))
			question := fmt.Sprintf("Remove deck %s (%s)?", name, path)
			if d != nil && d.Protected {
				question = fmt.Sprintf("Remove the protected deck %s (%s)?", name, path)
			}
			if err := a.confirm(c.Bool(flagYes.Name), question, path); err != nil {
				return err
			}
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove deck %q: %w", name, err)
			}
			if err := a.commitIfGit(lib, "cscript: remove deck "+name, path); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Removed %s\n", path)
			return nil
		},
	}
}

// deckName is the name part of the deck argument (NAME or LIB/NAME).
func deckName(c *cli.Context) string {
	_, name := store.SplitRef(c.Args().First())
	return name
}
