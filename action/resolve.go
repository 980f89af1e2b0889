package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"sort"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// Values are the deck and the values a script is rendered with, in the
// documented order: param defaults < library values < deck values < Files
// (and Maps) < the --set family.
type Values struct {
	// Deck is the deck's NAME or LIB/NAME; "": no deck.
	Deck string
	// Files are YAML values files, in order; "-" reads
	// Configuration.Stdin (once).
	Files []string
	// Maps are values given as data (the web UI's form), after Files.
	Maps []map[string]any
	// The --set family, Helm's order: SetJSON < Set < SetString < SetFile.
	SetJSON, Set, SetString, SetFile []string
	// stdinBusy: the script's stdin is Configuration.Stdin (run -i).
	stdinBusy bool
}

// Resolved is a script with the deck and values it is rendered with.
type Resolved struct {
	Catalog *store.Catalog
	Library *store.Index
	Script  *store.Script
	Deck    *store.Deck // nil when no deck was given
	Values  map[string]any
	// userValues are the texts the user gave (-f, --set…): local paths
	// among them are the user's own, not the shared library's.
	userValues []string
}

// Resolve loads the catalog for ref (NAME or LIB/NAME), finds the script
// and the deck, and merges the values.
func (c *Configuration) Resolve(ref string, v Values) (*Resolved, error) {
	cat, _, err := c.Catalog(ref)
	if err != nil {
		return nil, err
	}
	return c.ResolveIn(cat, ref, v)
}

// ResolveIn is Resolve in a catalog already loaded.
func (c *Configuration) ResolveIn(cat *store.Catalog, ref string, v Values) (*Resolved, error) {
	s, err := cat.Script(ref)
	if err != nil {
		return nil, err
	}
	lib, err := cat.Library(s.Source.Library)
	if err != nil {
		return nil, err
	}
	if err := lib.SharedErr(); err != nil {
		return nil, err
	}
	r := &Resolved{Catalog: cat, Library: lib, Script: s}
	if v.Deck != "" {
		if r.Deck, err = cat.DeckFor(s, v.Deck); err != nil {
			return nil, err
		}
	}
	files, err := c.valuesFiles(v)
	if err != nil {
		return nil, err
	}
	files = append(files, v.Maps...)
	sets, err := c.setValues(v, s)
	if err != nil {
		return nil, err
	}
	var deckValues map[string]any
	if r.Deck != nil {
		deckValues = r.Deck.Values
	}
	r.Values = templates.Layers(lib.Values, deckValues, files, sets)
	for _, m := range append(files, sets) {
		r.userValues = appendTexts(r.userValues, m)
	}
	return r, nil
}

// valuesFiles reads the values files, in order; "-" is stdin (once).
func (c *Configuration) valuesFiles(v Values) ([]map[string]any, error) {
	var files []map[string]any
	stdin := false
	for _, f := range v.Files {
		if f != "-" {
			m, err := templates.ReadValuesFile(f)
			if err != nil {
				return nil, err
			}
			files = append(files, m)
			continue
		}
		if stdin {
			return nil, fail.New(fail.Usage, "-f - (values from stdin) can be given once")
		}
		if v.stdinBusy {
			return nil, fail.New(fail.Usage, "-f - and --interactive both want stdin: give the values in a file")
		}
		stdin = true
		var data []byte
		if c.Stdin != nil {
			var err error
			if data, err = io.ReadAll(c.Stdin); err != nil {
				return nil, fmt.Errorf("values from stdin: %w", err)
			}
		}
		m, err := templates.ParseValues("(stdin)", data)
		if err != nil {
			return nil, err
		}
		files = append(files, m)
	}
	return files, nil
}

// setFlag is one of the --set family, lowest precedence first.
type setFlag struct {
	name  string
	exprs []string
	parse func(dst map[string]any, expr string) error
}

// setValues parses --set-json, --set, --set-string and --set-file (later
// ones win) into one map, and warns about each key that neither a param
// nor a template of s uses.
func (c *Configuration) setValues(v Values, s *store.Script) (map[string]any, error) {
	read := cachedReader()
	flags := []setFlag{
		{"set-json", v.SetJSON, templates.ParseSetJSON},
		{"set", v.Set, templates.ParseSet},
		{"set-string", v.SetString, templates.ParseSetString},
		{"set-file", v.SetFile, func(dst map[string]any, expr string) error { return templates.ParseSetFile(dst, expr, read) }},
	}
	sets := map[string]any{}
	var unused []string
	var (
		chains  [][]string
		whole   bool
		scanned bool
	)
	for _, f := range flags {
		for _, e := range f.exprs {
			if err := f.parse(sets, e); err != nil {
				return nil, err
			}
			if !scanned {
				chains, whole = templates.ValuesRefs(s)
				scanned = true
			}
			if whole {
				continue
			}
			one := map[string]any{}
			_ = f.parse(one, e)
			seen := map[string]bool{}
			for _, path := range keyPaths(one, nil) {
				if usedKey(path, s, chains) {
					continue
				}
				// The shortest part of the path that nothing reads: cfg for cfg.x and cfg.y.
				for n := 1; n <= len(path); n++ {
					if !usedKey(path[:n], s, chains) {
						path = path[:n]
						break
					}
				}
				if key := strings.Join(path, "."); !seen[key] {
					seen[key] = true
					unused = append(unused, fmt.Sprintf("--%s %s: neither a param nor a template of %s uses %s%s",
						f.name, e, s.Name, key, suggestKey(path, s, chains)))
				}
			}
		}
	}
	for _, w := range unused {
		c.warn(w)
	}
	return sets, nil
}

// cachedReader reads a file once however often it is asked for.
func cachedReader() func(string) ([]byte, error) {
	type read struct {
		data []byte
		err  error
	}
	cache := map[string]read{}
	return func(path string) ([]byte, error) {
		r, ok := cache[path]
		if !ok {
			r.data, r.err = os.ReadFile(path)
			cache[path] = r
		}
		return r.data, r.err
	}
}

// keyPaths lists the paths to the leaves of m (a list is a leaf), sorted.
func keyPaths(m map[string]any, prefix []string) [][]string {
	var out [][]string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := append(append([]string(nil), prefix...), k)
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			out = append(out, keyPaths(sub, p)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// usedKey says whether a value at path is read: by the param of its first
// key, or by a template that reads it, a part of it or what holds it.
func usedKey(path []string, s *store.Script, chains [][]string) bool {
	for _, p := range s.Params {
		if p.Name == path[0] {
			return true
		}
	}
	for _, c := range chains {
		n := min(len(c), len(path))
		if slices.Equal(c[:n], path[:n]) {
			return true
		}
	}
	return false
}

// suggestKey is " (did you mean X?)" for the param or template key closest
// to path, or "".
func suggestKey(path []string, s *store.Script, chains [][]string) string {
	key := strings.Join(path, ".")
	var known []string
	for _, p := range s.Params {
		known = append(known, p.Name)
	}
	for _, c := range chains {
		known = append(known, strings.Join(c, "."))
	}
	best, bestD := "", len(key)/3+2
	for _, k := range known {
		if d := store.EditDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// deckData is what templates see as .Deck.
func (r *Resolved) deckData() templates.DeckData {
	if r.Deck == nil {
		return templates.DeckData{}
	}
	return templates.DeckData{Name: r.Deck.Name, Namespace: r.Deck.Namespace, Context: r.Deck.Context}
}

// DeckName is the deck's name, "" without one.
func (r *Resolved) DeckName() string { return deckName(r.Deck) }

// render resolves params (asking for missing required ones when the
// Prompter can) and renders.
func (c *Configuration) render(ctx context.Context, r *Resolved, run templates.RunData) (*templates.Rendered, error) {
	params, _, err := templates.ResolveParams(r.Script, r.Values)
	var missing *templates.MissingParamsError
	if errors.As(err, &missing) && c.canAsk() {
		if err := c.promptParams(ctx, r, missing.Names); err != nil {
			return nil, err
		}
		params, _, err = templates.ResolveParams(r.Script, r.Values)
	}
	if err != nil {
		return nil, err
	}
	out, err := templates.Render(r.Script, r.Library.Presets, templates.Data{
		Params: params,
		Values: r.Values,
		Deck:   r.deckData(),
		Script: templates.ScriptData{Name: r.Script.Name, Description: r.Script.Description, Library: r.Script.Source.Library},
		Run:    run,
	})
	if out != nil {
		// Whatever is reported from here on (the final error too) is
		// redacted with the secret params' values.
		c.secrets().Add(out.Secrets...)
	}
	return out, err
}

// promptParams asks for each missing required param until the answer is valid.
func (c *Configuration) promptParams(ctx context.Context, r *Resolved, names []string) error {
	for _, name := range names {
		var p store.Param
		for _, q := range r.Script.Params {
			if q.Name == name {
				p = q
			}
		}
		var problem error
		for {
			answer, err := c.Prompter.Param(ctx, p, problem)
			if err != nil {
				return err
			}
			v, err := templates.ConvertParam(p, answer)
			if err != nil {
				problem = err
				continue
			}
			r.Values[name] = v
			break
		}
	}
	return nil
}

// UserName is the person running cscript, for .Run.User and run records:
// the git identity of lib, else the login name.
func UserName(lib *store.Index) string {
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

// appendTexts appends every string in v (maps and lists walked).
func appendTexts(dst []string, v any) []string {
	switch v := v.(type) {
	case string:
		return append(dst, v)
	case map[string]any:
		for _, x := range v {
			dst = appendTexts(dst, x)
		}
	case []any:
		for _, x := range v {
			dst = appendTexts(dst, x)
		}
	}
	return dst
}

func deckName(d *store.Deck) string {
	if d == nil {
		return ""
	}
	return d.Name
}
