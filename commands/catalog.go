package commands

import (
	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

// config loads the configuration (the default one when no file exists).
func (a *app) config() (*store.Config, error) { return a.act.Config() }

// catalog loads the configuration and every configured library.
func (a *app) catalog() (*store.Catalog, *store.Config, error) {
	return a.catalogFor("")
}

// catalogFor is catalog for commands that need one script, named by ref
// (NAME or LIB/NAME; "" for all): scripts from the load cache are decoded
// only when they have that name.
func (a *app) catalogFor(ref string) (*store.Catalog, *store.Config, error) {
	return a.act.Catalog(ref)
}

// scriptArg returns the one script argument of a command.
func scriptArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("%s needs exactly one script name (NAME or LIB/NAME), got %d arguments", c.Command.Name, c.NArg())
	}
	return c.Args().First(), nil
}

// scriptFromArg loads the catalog for the script named by the one argument
// (see catalogFor) and finds it.
func (a *app) scriptFromArg(c *cli.Context) (*store.Catalog, *store.Script, error) {
	ref, err := scriptArg(c)
	if err != nil {
		return nil, nil, err
	}
	cat, _, err := a.catalogFor(ref)
	if err != nil {
		return nil, nil, err
	}
	s, err := cat.Script(ref)
	if err != nil {
		return cat, nil, err // the catalog, for an invalid script's file
	}
	return cat, s, nil
}
