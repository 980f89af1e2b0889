package commands

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

// deckView is a deck as deck list and deck show print it: with its name,
// which a deck's file does not hold (the file's name is the deck's).
type deckView struct {
	Name       string `json:"name" yaml:"name"`
	store.Deck `yaml:",inline"`
}

func (a *app) deckCommand() *cli.Command {
	flagLib := &cli.StringFlag{Name: "library", Aliases: []string{"l"}, Usage: "the `LIBRARY` to create the deck in (default: the first)"}
	return &cli.Command{
		Name:  "deck",
		Usage: "list, show, create, edit and remove decks (target environments)",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the decks of every library",
				Flags: []cli.Flag{flagOutput},
				Action: func(c *cli.Context) error {
					decks, err := a.act.ListDecks()
					if err != nil {
						return err
					}
					if f := c.String(flagOutput.Name); f != outputTable {
						views := make([]deckView, len(decks))
						for i, d := range decks {
							views[i] = deckView{Name: d.Name, Deck: *d}
						}
						return writeStructured(a.io.Out, f, views)
					}
					tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tLIBRARY\tBACKEND\tCONTEXT\tNAMESPACE\tPROTECTED\tDESCRIPTION")
					for _, d := range decks {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", d.Name, d.Source.Library, orDash(d.Backend), orDash(d.Context), orDash(d.Namespace), d.Protected, firstLine(d.Description))
					}
					return tw.Flush()
				},
			},
			{
				Name:         "show",
				Usage:        "show a deck",
				ArgsUsage:    "NAME",
				Flags:        []cli.Flag{outputFlag(outputYAML, outputJSON)},
				BashComplete: a.completeDecks,
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("deck show needs exactly one deck name")
					}
					cat, _, err := a.catalog()
					if err != nil {
						return err
					}
					d, err := cat.Deck(c.Args().First())
					if err != nil {
						return err
					}
					fmt.Fprintf(a.io.Err, "# %s (library %s)\n", d.Source.Path, d.Source.Library)
					return writeStructured(a.io.Out, c.String("output"), deckView{Name: d.Name, Deck: *d})
				},
			},
			{
				Name:      "new",
				Usage:     "create a deck from a commented template (and commit it in a git library)",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{flagLib},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("deck new needs exactly one deck name")
					}
					lib, err := a.targetLibrary(c.String(flagLib.Name))
					if err != nil {
						return err
					}
					path, err := store.NewDeck(lib.Library, c.Args().First())
					if err != nil {
						return err
					}
					if err := a.commitIfGit(lib, fmt.Sprintf("cscript: new deck %s", c.Args().First()), path); err != nil {
						return err
					}
					fmt.Fprintf(a.io.Out, "Created %s\n", path)
					return nil
				},
			},
			a.deckEditCommand(),
			a.deckRmCommand(),
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// targetLibrary is the library that new files go to: the named one or the first.
func (a *app) targetLibrary(name string) (*store.Index, error) {
	cat, _, err := a.catalog()
	if err != nil {
		return nil, err
	}
	if name != "" {
		return cat.Library(name)
	}
	libs := cat.Libraries()
	if len(libs) == 0 {
		return nil, &store.NotFoundError{What: "library", Name: "(none)", Hint: "create one with `cscript init`"}
	}
	return libs[0], nil
}

// commitIfGit commits the paths a command touched in a git library, with the
// user's identity; nothing else in the library is committed.
func (a *app) commitIfGit(lib *store.Index, message string, paths ...string) error {
	if _, err := os.Stat(filepath.Join(lib.Library.Root, ".git")); err != nil {
		return nil // a plain directory: nothing to commit
	}
	_, err := store.CommitPaths(lib.Library.Root, message, store.GitIdentity(lib.Library.Root), paths...)
	if err != nil && !isNothingToCommit(err) {
		return err
	}
	return nil
}

func isNothingToCommit(err error) bool { return errors.Is(err, store.ErrNothingToCommit) }
