package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

func (a *app) validateCommand() *cli.Command {
	flagFormat := outputFlagWith(" (json: the problems as a list of {file, line, col, severity, message} on stdout, for CI annotations)", outputText, outputJSON)
	return &cli.Command{
		Name: "validate",
		Usage: "check the scripts, decks, lifecycle definitions and templates of every configured library, of the libraries named, " +
			"or of the library directories given; prints every problem as file:line:col",
		ArgsUsage: "[LIB|DIR]...",
		Flags:     []cli.Flag{flagFormat},
		Action: func(c *cli.Context) error {
			format := c.String(flagFormat.Name)
			if format != outputText && format != outputJSON {
				return usageErrorf("--output %q: use text or json", format)
			}
			libs, cat, err := a.validateTargets(c.Args().Slice())
			if err != nil {
				return err
			}
			ps := validationProblems(libs, cat)
			if format == outputJSON {
				if err := writeProblemsJSON(a.io, ps); err != nil {
					return err
				}
				if len(ps) > 0 {
					return fail.Errorf(fail.Invalid, "%s: the list is on stdout", plural(len(ps), "problem", "problems"))
				}
				return nil
			}
			if len(ps) > 0 {
				return &store.ValidationError{Problems: ps}
			}
			scripts, decks := 0, 0
			for _, ix := range libs {
				scripts += len(ix.Scripts)
				decks += len(ix.Decks)
			}
			fmt.Fprintf(a.io.Out, "%s and %s in %s: all valid\n", plural(scripts, "script", "scripts"), plural(decks, "deck", "decks"), plural(len(libs), "library", "libraries"))
			return nil
		},
	}
}

// validateTargets loads what validate checks: every configured library
// (no args), or each arg, a configured library's name or a library
// directory. cat holds them and the configured libraries (for LIB/NAME
// references between libraries) as far as they load.
func (a *app) validateTargets(args []string) (libs []*store.Index, cat *store.Catalog, err error) {
	if len(args) == 0 {
		cat, _, err := a.catalog()
		if err != nil {
			return nil, nil, err
		}
		return cat.Libraries(), cat, nil
	}
	cfg, cfgErr := a.config()
	var configured *store.Catalog
	loadConfigured := func() (*store.Catalog, error) {
		if configured == nil {
			c, _, err := a.catalog()
			if err != nil {
				return nil, err
			}
			configured = c
		}
		return configured, nil
	}
	seen := map[*store.Index]bool{}
	var dirs []*store.Index
	selectLib := func(ix *store.Index) {
		if !seen[ix] {
			seen[ix] = true
			libs = append(libs, ix)
		}
	}
	for _, arg := range args {
		name := ""
		if cfgErr == nil {
			if ref, ok := cfg.Library(arg); ok && !isPathLike(arg) {
				name = ref.Name
			} else if ref := configuredAt(cfg, arg); ref != nil {
				name = ref.Name
			}
		}
		if name != "" {
			c, err := loadConfigured()
			if err != nil {
				return nil, nil, err
			}
			ix, err := c.Library(name)
			if err != nil {
				return nil, nil, err
			}
			selectLib(ix)
			continue
		}
		st, statErr := os.Stat(arg)
		if statErr != nil || !st.IsDir() {
			hint := "give the name of a configured library (see `cscript library list`) or the directory of a library"
			if statErr == nil {
				hint = arg + " is a file: " + hint
			}
			return nil, nil, &store.NotFoundError{What: "library or directory", Name: arg, Hint: hint}
		}
		abs, _ := filepath.Abs(arg)
		ix, err := store.LoadLibrary(filepath.Base(abs), arg)
		if err != nil {
			return nil, nil, err
		}
		dirs = append(dirs, ix)
		selectLib(ix)
	}
	if len(dirs) == 0 {
		return libs, configured, nil
	}
	// A directory's lifecycle definitions may name scripts of configured
	// libraries (LIB/NAME): they are found when the configuration loads.
	all := append([]*store.Index(nil), dirs...)
	names := map[string]bool{}
	for _, ix := range dirs {
		names[ix.Library.Name] = true
	}
	if c, err := loadConfigured(); err == nil {
		for _, ix := range c.Libraries() {
			if !names[ix.Library.Name] {
				all = append(all, ix)
			}
		}
	}
	return libs, store.NewCatalog(all...), nil
}

// isPathLike says whether arg can only be a directory, not a library name.
func isPathLike(arg string) bool {
	return strings.ContainsRune(arg, filepath.Separator) || strings.ContainsRune(arg, '/') || strings.HasPrefix(arg, ".")
}

// configuredAt is the configured library whose directory dir is, or nil.
func configuredAt(cfg *store.Config, dir string) *store.LibraryRef {
	real := func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		return abs
	}
	want := real(dir)
	for i, ref := range cfg.Libraries {
		if real(ref.Path) == want {
			return &cfg.Libraries[i]
		}
	}
	return nil
}

// validationProblems are all problems of libs: their files, their
// lifecycle definitions (against the scripts of cat) and the templates of
// their scripts, sorted by file and position.
func validationProblems(libs []*store.Index, cat *store.Catalog) []store.Problem {
	lc := lifecycle.Load(cat)
	var ps []store.Problem
	for _, ix := range libs {
		ps = append(ps, ix.Problems...)
		files := map[string]bool{}
		for _, f := range ix.Other {
			files[f.File] = true
		}
		for _, p := range lc.Problems() {
			if files[p.File] {
				ps = append(ps, p)
			}
		}
		for _, s := range ix.Scripts {
			ps = append(ps, templates.Check(s, ix.Library.Root)...)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return ps
}

// problemJSON is one problem of `validate --output json`.
type problemJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func writeProblemsJSON(s streams, ps []store.Problem) error {
	out := make([]problemJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, problemJSON{File: p.File, Line: p.Line, Col: p.Col, Severity: "error", Message: p.Message})
	}
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
