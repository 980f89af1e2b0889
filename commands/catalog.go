package commands

import (
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// config loads the configuration (the default one when no file exists).
func (a *app) config() (*store.Config, error) {
	return store.LoadConfig(a.paths().ConfigFile)
}

// catalog loads the configuration and every configured library.
func (a *app) catalog() (*store.Catalog, *store.Config, error) {
	return a.catalogFor("")
}

// catalogFor is catalog for commands that need one script, named by ref
// (NAME or LIB/NAME; "" for all): scripts from the load cache are decoded
// only when they have that name.
func (a *app) catalogFor(ref string) (*store.Catalog, *store.Config, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	opts := store.LoadOptions{CacheDir: a.paths().CacheDir}
	if ref != "" {
		_, opts.Only = store.SplitRef(ref)
	}
	cat, err := store.OpenCatalogWith(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	return cat, cfg, nil
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
		return nil, nil, err
	}
	return cat, s, nil
}

// resolved is a script with the deck and values it is rendered with.
type resolved struct {
	cat    *store.Catalog
	lib    *store.Index
	script *store.Script
	deck   *store.Deck // nil when no deck was given
	values map[string]any
}

// resolve finds the script and deck and merges values in the documented order:
// param defaults < library values < deck values < -f files < --set.
func (a *app) resolve(c *cli.Context, ref string) (*resolved, error) {
	cat, _, err := a.catalogFor(ref)
	if err != nil {
		return nil, err
	}
	return a.resolveIn(c, cat, ref)
}

// resolveIn is resolve in a catalog already loaded.
func (a *app) resolveIn(c *cli.Context, cat *store.Catalog, ref string) (*resolved, error) {
	s, err := cat.Script(ref)
	if err != nil {
		return nil, err
	}
	lib, err := cat.Library(s.Source.Library)
	if err != nil {
		return nil, err
	}
	r := &resolved{cat: cat, lib: lib, script: s}
	if name := c.String(flagDeck.Name); name != "" {
		if r.deck, err = cat.DeckFor(s, name); err != nil {
			return nil, err
		}
	}
	var files []map[string]any
	for _, f := range c.StringSlice(flagValues.Name) {
		m, err := templates.ReadValuesFile(f)
		if err != nil {
			return nil, err
		}
		files = append(files, m)
	}
	sets := map[string]any{}
	for _, e := range c.StringSlice(flagSet.Name) {
		if err := templates.ParseSet(sets, e); err != nil {
			return nil, err
		}
	}
	for _, e := range c.StringSlice(flagSetStr.Name) {
		if err := templates.ParseSetString(sets, e); err != nil {
			return nil, err
		}
	}
	var deckValues map[string]any
	if r.deck != nil {
		deckValues = r.deck.Values
	}
	r.values = templates.Layers(lib.Values, deckValues, files, sets)
	return r, nil
}

// deckData is what templates see as .Deck.
func (r *resolved) deckData() templates.DeckData {
	if r.deck == nil {
		return templates.DeckData{}
	}
	return templates.DeckData{Name: r.deck.Name, Namespace: r.deck.Namespace, Context: r.deck.Context}
}

// render resolves params (prompting for missing required ones on a terminal) and renders.
func (a *app) render(r *resolved, run templates.RunData) (*templates.Rendered, error) {
	params, _, err := templates.ResolveParams(r.script, r.values)
	var missing *templates.MissingParamsError
	if errors.As(err, &missing) && a.io.interactive() {
		if err := a.promptParams(r, missing.Names); err != nil {
			return nil, err
		}
		params, _, err = templates.ResolveParams(r.script, r.values)
	}
	if err != nil {
		return nil, err
	}
	out, err := templates.Render(r.script, r.lib.Presets, templates.Data{
		Params: params,
		Values: r.values,
		Deck:   r.deckData(),
		Script: templates.ScriptData{Name: r.script.Name, Description: r.script.Description, Library: r.script.Source.Library},
		Run:    run,
	})
	if out != nil {
		// Whatever the command prints from here on (its final error too)
		// is redacted with the secret params' values.
		a.secrets.Add(out.Secrets...)
	}
	return out, err
}

// promptParams asks for each missing required param until the answer is valid.
func (a *app) promptParams(r *resolved, names []string) error {
	for _, name := range names {
		var p store.Param
		for _, q := range r.script.Params {
			if q.Name == name {
				p = q
			}
		}
		for {
			q := name
			if p.Description != "" {
				q += " (" + p.Description + ")"
			}
			if p.Type == store.ParamEnum {
				q += " [" + strings.Join(p.Values, "|") + "]"
			}
			ask := a.io.ask
			if p.Secret {
				ask = a.io.askSecret
			}
			answer, err := ask(q + ": ")
			if err != nil {
				return err
			}
			v, err := templates.ConvertParam(p, answer)
			if err != nil {
				fmt.Fprintf(a.io.Err, "%v\n", err)
				continue
			}
			r.values[name] = v
			break
		}
	}
	return nil
}

// userName is the person running cscript, for .Run.User and run records.
func userName(lib *store.Index) string {
	if lib != nil {
		if id := store.GitIdentity(lib.Library.Root); id.Email != "" {
			return id.Email
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
