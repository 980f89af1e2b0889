package action

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/examples"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

// InitOptions say which library to create.
type InitOptions struct {
	// Dir is the library's directory; "": the default local library's.
	Dir string
	// Name is the library's name in the config; "": the directory's
	// base name made a valid name (My_Scripts: my-scripts) when Dir is
	// given, else local (or the directory's name when local is taken).
	Name string
	// Empty creates the layout without the examples.
	Empty bool
}

// InitResult is the library that was created.
type InitResult struct{ Name, Dir string }

// InitLibrary creates a library (with the examples, git-initialised) and
// adds it to the config, as `cscript init` does. Nothing is half-written:
// the library is built beside its directory and renamed into place.
func (c *Configuration) InitLibrary(o InitOptions) (*InitResult, error) {
	cfg, err := c.Config()
	if err != nil {
		return nil, err
	}
	dir := o.Dir
	if dir == "" {
		dir = c.paths().LocalLibraryDir()
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	name := o.Name
	switch {
	case name != "":
	case o.Dir != "" && dir != c.paths().LocalLibraryDir():
		if name = libraryNameOf(filepath.Base(dir)); name == "" {
			return nil, fail.Errorf(fail.Usage, "cannot name a library after the directory %s: give it a name with --name", dir)
		}
	default:
		name = store.DefaultLibrary
		if ref, ok := cfg.Library(name); ok && !cfg.Default && ref.Path != dir {
			name = libraryNameOf(filepath.Base(dir))
		}
	}
	if !store.ValidName(name) {
		return nil, &store.ValidationError{Problems: []store.Problem{{Message: fmt.Sprintf("library name %q is not a DNS-1123 label: use lower-case letters, digits and '-', e.g. --name team-scripts", name)}}}
	}
	if ref, ok := cfg.Library(name); ok && !cfg.Default && ref.Path != dir {
		return nil, fail.Errorf(fail.Usage, "a library called %q already exists at %s: choose another with --name", name, ref.Path)
	}
	if err := initLibrary(dir, !o.Empty); err != nil {
		return nil, err
	}
	if _, ok := cfg.Library(name); !ok || cfg.Default {
		if cfg.Default {
			cfg.Libraries = nil
			cfg.Default = false
		}
		if _, ok := cfg.Library(name); !ok {
			cfg.Libraries = append(cfg.Libraries, store.LibraryRef{Name: name, Path: dir})
		}
		if err := cfg.Save(c.paths().ConfigFile); err != nil {
			return nil, err
		}
	}
	return &InitResult{Name: name, Dir: dir}, nil
}

// libraryNameOf makes a directory's base name a library name: lower case,
// every run of other characters than letters and digits one '-', at most 63
// characters; "" when nothing is left.
func libraryNameOf(base string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	name := strings.TrimRight(b.String()[:min(b.Len(), 63)], "-")
	if !store.ValidName(name) {
		return ""
	}
	return name
}

// initLibrary creates dir with the example library (or just the layout) and commits it.
func initLibrary(dir string, withExamples bool) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s already exists and is not empty: choose a new directory, or add it with `cscript library add NAME %s`: %w", dir, dir, fs.ErrExist)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	// Build in a temp dir beside the target and rename: no half-made library on failure.
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if withExamples {
		err = fs.WalkDir(examples.FS, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			target := filepath.Join(tmp, path)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			data, err := examples.FS.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		})
	} else {
		err = os.MkdirAll(filepath.Join(tmp, "decks"), 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, store.LibraryConfigFile), []byte("# Library configuration: presets map short names to images.\npresets: {}\n"), 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("writing the library: %w", err)
	}
	if err := store.InitLibraryRepo(tmp); err != nil {
		return err
	}
	_ = os.Remove(dir) // an empty directory may exist
	return os.Rename(tmp, dir)
}

// ScriptSummary is one script of a listing.
type ScriptSummary struct {
	Name        string   `json:"name" yaml:"name"` // NAME, or LIB/NAME when ambiguous
	Library     string   `json:"library" yaml:"library"`
	Interpreter string   `json:"interpreter" yaml:"interpreter"`
	Image       string   `json:"image" yaml:"image"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Tags        []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Path        string   `json:"path" yaml:"path"`
}

// ScriptList is the scripts of every configured library.
type ScriptList struct {
	Scripts []ScriptSummary
	// Problems are the library files that are invalid (and not listed).
	Problems []store.Problem
}

// ListScripts lists the scripts of every configured library; with a tag,
// only those that have it.
func (c *Configuration) ListScripts(tag string) (*ScriptList, error) {
	cat, _, err := c.Catalog("")
	if err != nil {
		return nil, err
	}
	l := &ScriptList{Scripts: []ScriptSummary{}, Problems: cat.Problems()}
	for _, s := range cat.Scripts() {
		if tag != "" && !contains(s.Tags, tag) {
			continue
		}
		l.Scripts = append(l.Scripts, ScriptSummary{Name: cat.Ref(s), Library: s.Source.Library, Interpreter: s.Interpreter,
			Image: s.Image, Description: s.Description, Tags: s.Tags, Path: s.Source.Path})
	}
	return l, nil
}

// ListDecks lists the decks of every configured library.
func (c *Configuration) ListDecks() ([]*store.Deck, error) {
	cat, _, err := c.Catalog("")
	if err != nil {
		return nil, err
	}
	decks := cat.Decks()
	if decks == nil {
		decks = []*store.Deck{}
	}
	return decks, nil
}

// ListRuns lists this machine's run records, newest first; at most limit
// (0: all).
func (c *Configuration) ListRuns(limit int) ([]history.Record, error) {
	hist, err := c.History(0)
	if err != nil {
		return nil, err
	}
	recs, err := hist.List(limit)
	if err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []history.Record{}
	}
	return recs, nil
}

// RunFilter selects runs of this machine's history (`cscript runs`, the
// web UI's runs page); a zero field matches every run.
type RunFilter struct {
	Script string // NAME, or LIB/NAME
	Deck   string
	State  history.State
	Since  time.Time // runs started at or after it
}

// Matches says whether rec passes the filter.
func (f RunFilter) Matches(rec history.Record) bool {
	switch {
	case f.Script != "" && f.Script != rec.Script && f.Script != rec.Library+"/"+rec.Script:
		return false
	case f.Deck != "" && f.Deck != rec.Deck:
		return false
	case f.State != "" && f.State != rec.State:
		return false
	case !f.Since.IsZero() && rec.Start.Before(f.Since):
		return false
	}
	return true
}

// FindRuns lists the runs of this machine that pass f, newest first, at
// most limit (0: all), and how many runs the history holds in all (to
// tell "no runs yet" from "none match").
func (c *Configuration) FindRuns(f RunFilter, limit int) (runs []history.Record, total int, err error) {
	if f.State != "" && !slices.Contains(history.States, f.State) {
		return nil, 0, fail.Errorf(fail.Usage, "state %q: use one of %s", f.State, joinStates())
	}
	all, err := c.ListRuns(0)
	if err != nil {
		return nil, 0, err
	}
	runs = []history.Record{}
	for _, r := range all {
		if limit > 0 && len(runs) == limit {
			break
		}
		if f.Matches(r) {
			runs = append(runs, r)
		}
	}
	return runs, len(all), nil
}

func joinStates() string {
	s := make([]string, len(history.States))
	for i, st := range history.States {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
