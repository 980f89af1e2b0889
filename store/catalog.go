package store

import (
	"fmt"
	"sort"
	"strings"
)

// Catalog is every configured library, loaded, in search order.
//
// A script is addressed as NAME or LIB/NAME. A NAME is searched in every
// library; found in more than one it is an *AmbiguousError, never a guess.
// A deck for a script is looked up in the script's own library first, then
// in the other libraries (where a name in several is ambiguous); see DeckFor.
type Catalog struct {
	libs   []*Index
	byName map[string]*Index
}

// OpenCatalog loads every library of cfg. A library whose directory is
// missing is a *NotFoundError (What "library") that says how to create it.
// Problems in single files do not fail it: see Problems and Err.
func OpenCatalog(cfg *Config) (*Catalog, error) {
	return OpenCatalogWith(cfg, LoadOptions{})
}

// OpenCatalogWith is OpenCatalog with load options (e.g. the load cache).
// With opts.Only, every library is loaded for that one script (see
// LoadOptions.Only): Script finds it, Scripts lists only it.
func OpenCatalogWith(cfg *Config, opts LoadOptions) (*Catalog, error) {
	c := &Catalog{byName: map[string]*Index{}}
	for _, ref := range cfg.Libraries {
		ix, err := LoadLibraryWith(ref.Name, ref.Path, opts)
		if err != nil {
			if nf, ok := err.(*NotFoundError); ok && ref.URL != "" {
				nf.Hint = fmt.Sprintf("the clone at %s is missing: run `cscript library rm %s` and `cscript library add %s %s` to clone it again", ref.Path, ref.Name, ref.Name, ref.URL)
			}
			return nil, err
		}
		c.libs = append(c.libs, ix)
		c.byName[ref.Name] = ix
	}
	return c, nil
}

// NewCatalog builds a catalog from already loaded libraries, in search order.
func NewCatalog(libs ...*Index) *Catalog {
	c := &Catalog{byName: map[string]*Index{}}
	for _, ix := range libs {
		c.libs = append(c.libs, ix)
		c.byName[ix.Library.Name] = ix
	}
	return c
}

// Libraries returns the loaded libraries in search order.
func (c *Catalog) Libraries() []*Index { return c.libs }

// Library returns the library called name.
func (c *Catalog) Library(name string) (*Index, error) {
	if ix, ok := c.byName[name]; ok {
		return ix, nil
	}
	names := make([]string, len(c.libs))
	for i, ix := range c.libs {
		names[i] = ix.Library.Name
	}
	return nil, &NotFoundError{What: "library", Name: name, Suggestions: suggest(name, names),
		Hint: "list libraries with `cscript library list`, add one with `cscript library add`"}
}

// Problems returns the problems of all libraries.
func (c *Catalog) Problems() []Problem {
	var ps []Problem
	for _, ix := range c.libs {
		ps = append(ps, ix.Problems...)
	}
	return ps
}

// Err returns a *ValidationError with the problems of all libraries, or nil.
func (c *Catalog) Err() error { return problemsErr(c.Problems()) }

// SplitRef splits a script or deck ref, "LIB/NAME" or "NAME", into its
// parts; lib is empty for a plain NAME.
func SplitRef(ref string) (lib, name string) { return splitRef(ref) }

func splitRef(ref string) (lib, name string) {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	return "", ref
}

// Script resolves ref, NAME or LIB/NAME. A NAME found in several libraries is
// an *AmbiguousError; one found nowhere a *NotFoundError with suggestions; a
// script whose file has problems a *ValidationError with them.
func (c *Catalog) Script(ref string) (*Script, error) {
	return lookupIn(c, ref, "script", "", func(ix *Index, n string) (*Script, bool) { return ix.Script(n) })
}

// Deck resolves a deck ref, NAME or LIB/NAME, across all libraries.
func (c *Catalog) Deck(ref string) (*Deck, error) {
	return lookupIn(c, ref, "deck", "", func(ix *Index, n string) (*Deck, bool) { return ix.Deck(n) })
}

// DeckFor resolves a deck ref for script s: a plain NAME is taken from s's
// own library when it has one of that name, and otherwise searched in all
// other libraries like Deck.
func (c *Catalog) DeckFor(s *Script, ref string) (*Deck, error) {
	return lookupIn(c, ref, "deck", s.Source.Library, func(ix *Index, n string) (*Deck, bool) { return ix.Deck(n) })
}

func lookupIn[T any](c *Catalog, ref, kind, prefer string, get func(*Index, string) (*T, bool)) (*T, error) {
	invalidKey := func(n string) string {
		if kind == "deck" {
			return "deck/" + n
		}
		return n
	}
	invalidErr := func(name string, ps []Problem) error {
		err := problemsErr(ps)
		if ve, ok := err.(*ValidationError); ok {
			ve.What = fmt.Sprintf("%s %q is invalid", kind, name)
		}
		return err
	}
	libName, name := splitRef(ref)
	if libName != "" {
		ix, err := c.Library(libName)
		if err != nil {
			return nil, err
		}
		if v, ok := get(ix, name); ok {
			return v, nil
		}
		if ps := ix.invalid[invalidKey(name)]; len(ps) > 0 {
			return nil, invalidErr(ref, ps)
		}
		return nil, c.notFound(kind, ref, []*Index{ix})
	}
	if prefer != "" {
		if ix, ok := c.byName[prefer]; ok {
			if v, ok := get(ix, name); ok {
				return v, nil
			}
		}
	}
	var found []*T
	var libs []string
	var invalid []Problem
	for _, ix := range c.libs {
		if v, ok := get(ix, name); ok {
			found = append(found, v)
			libs = append(libs, ix.Library.Name)
		}
		invalid = append(invalid, ix.invalid[invalidKey(name)]...)
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, &AmbiguousError{What: kind, Name: name, Libraries: libs}
	case len(invalid) > 0:
		return nil, invalidErr(ref, invalid)
	}
	return nil, c.notFound(kind, ref, c.libs)
}

func (c *Catalog) notFound(kind, ref string, libs []*Index) error {
	lib, name := splitRef(ref)
	var names []string
	for _, ix := range libs {
		if kind == "deck" {
			for _, d := range ix.Decks {
				names = append(names, d.Name)
			}
		} else {
			for _, s := range ix.Scripts {
				names = append(names, s.Name)
			}
			names = append(names, ix.skipped...)
		}
	}
	sug := suggest(name, names)
	if lib != "" {
		for i := range sug {
			sug[i] = lib + "/" + sug[i]
		}
	}
	hint := "list them with `cscript list`, create one with `cscript new NAME`"
	if kind == "deck" {
		hint = "list them with `cscript deck list`, create one with `cscript deck new NAME`"
	}
	return &NotFoundError{What: kind, Name: ref, Suggestions: sug, Hint: hint}
}

// Scripts returns the valid scripts of all libraries sorted by name, then by
// library search order.
func (c *Catalog) Scripts() []*Script {
	var out []*Script
	order := map[string]int{}
	for i, ix := range c.libs {
		order[ix.Library.Name] = i
		out = append(out, ix.Scripts...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return order[out[i].Source.Library] < order[out[j].Source.Library]
	})
	return out
}

// Decks returns the valid decks of all libraries sorted by name, then by
// library search order.
func (c *Catalog) Decks() []*Deck {
	var out []*Deck
	order := map[string]int{}
	for i, ix := range c.libs {
		order[ix.Library.Name] = i
		out = append(out, ix.Decks...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return order[out[i].Source.Library] < order[out[j].Source.Library]
	})
	return out
}

// Ref returns the shortest reference that resolves to s: NAME when the name
// is unique across libraries, LIB/NAME otherwise.
func (c *Catalog) Ref(s *Script) string {
	n := 0
	for _, ix := range c.libs {
		if _, ok := ix.Script(s.Name); ok {
			n++
		}
	}
	if n > 1 {
		return s.Source.Library + "/" + s.Name
	}
	return s.Name
}

// Presets returns the presets of s's library (the built-ins overlaid by the
// library's cscript.yaml), for ResolveImage.
func (c *Catalog) Presets(s *Script) map[string]string {
	if ix, ok := c.byName[s.Source.Library]; ok {
		return ix.Presets
	}
	return BuiltinPresets()
}

// Values returns the library-level values (values.yaml) of s's library.
func (c *Catalog) Values(s *Script) map[string]any {
	if ix, ok := c.byName[s.Source.Library]; ok {
		return ix.Values
	}
	return map[string]any{}
}
