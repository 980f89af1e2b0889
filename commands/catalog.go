package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"sort"
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
	// userValues are the texts the user gave on the command line (-f, --set…).
	userValues []string
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
	if err := lib.SharedErr(); err != nil {
		return nil, err
	}
	r := &resolved{cat: cat, lib: lib, script: s}
	if name := c.String(flagDeck.Name); name != "" {
		if r.deck, err = cat.DeckFor(s, name); err != nil {
			return nil, err
		}
	}
	files, err := a.valuesFiles(c)
	if err != nil {
		return nil, err
	}
	sets, err := a.setValues(c, s)
	if err != nil {
		return nil, err
	}
	var deckValues map[string]any
	if r.deck != nil {
		deckValues = r.deck.Values
	}
	r.values = templates.Layers(lib.Values, deckValues, files, sets)
	for _, m := range append(files, sets) {
		r.userValues = appendTexts(r.userValues, m)
	}
	return r, nil
}

// valuesFiles reads the -f files, in order; "-" is stdin (once).
func (a *app) valuesFiles(c *cli.Context) ([]map[string]any, error) {
	var files []map[string]any
	stdin := false
	for _, f := range c.StringSlice(flagValues.Name) {
		if f != "-" {
			m, err := templates.ReadValuesFile(f)
			if err != nil {
				return nil, err
			}
			files = append(files, m)
			continue
		}
		if stdin {
			return nil, usageErrorf("-f - (values from stdin) can be given once")
		}
		if c.Command.Name == "run" && c.Bool(flagInteractive.Name) {
			return nil, usageErrorf("-f - and --interactive both want stdin: give the values in a file")
		}
		stdin = true
		data, err := io.ReadAll(a.io.In)
		if err != nil {
			return nil, fmt.Errorf("values from stdin: %w", err)
		}
		m, err := templates.ParseValues("(stdin)", data)
		if err != nil {
			return nil, err
		}
		files = append(files, m)
	}
	return files, nil
}

// setFlag is one of the flags that set values on the command line, lowest
// precedence first (Helm's order).
type setFlag struct {
	flag  *cli.StringSliceFlag
	parse func(dst map[string]any, expr string) error
}

// setValues parses --set-json, --set, --set-string and --set-file (later
// ones win) into one map, and warns about each key that neither a param nor
// a template of s uses.
func (a *app) setValues(c *cli.Context, s *store.Script) (map[string]any, error) {
	read := cachedReader()
	flags := []setFlag{
		{flagSetJSON, templates.ParseSetJSON},
		{flagSet, templates.ParseSet},
		{flagSetStr, templates.ParseSetString},
		{flagSetFile, func(dst map[string]any, expr string) error { return templates.ParseSetFile(dst, expr, read) }},
	}
	sets := map[string]any{}
	var unused []string
	var (
		chains  [][]string
		whole   bool
		scanned bool
	)
	for _, f := range flags {
		for _, e := range c.StringSlice(f.flag.Name) {
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
						f.flag.Name, e, s.Name, key, suggestKey(path, s, chains)))
				}
			}
		}
	}
	for _, w := range unused {
		fmt.Fprintf(a.io.Err, "warning: %s\n", w)
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

// suggestKey is ": did you mean X?" for the param or template key closest
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
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance counts the edits from a to b: insertions, deletions,
// substitutions and swaps of two neighbours (rnu → run is one).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
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
