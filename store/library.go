package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Library is a library on disk: a name and the directory it lives in.
//
// Layout of Root:
//
//	cscript.yaml   library config (presets); optional
//	values.yaml    library-level values, the defaults under every deck's values; optional
//	decks/*.yaml   one deck per file, named after the file
//	**/*.yaml      script definitions, anywhere else below Root (also *.yml)
//
// Hidden directories (.git, …) are skipped. A YAML file whose top-level
// mapping has a "kind" key is not a script: kind Lifecycle goes to
// Index.Other for the lifecycle package; any other kind is a problem.
type Library struct {
	Name string
	Root string
}

// Names of the special files at a library's root and of the decks directory.
const (
	LibraryConfigFile = "cscript.yaml"
	LibraryValuesFile = "values.yaml"
	DecksDir          = "decks"
)

// Kinds of non-script YAML files a library may hold (top-level "kind: …").
const KindLifecycle = "Lifecycle"

func otherKinds() []string { return []string{KindLifecycle} }

// LibraryConfig is a library's cscript.yaml.
type LibraryConfig struct {
	// Presets maps a preset name to an image reference; they add to and
	// override the built-in presets.
	Presets map[string]string `yaml:"presets,omitempty" json:"presets,omitempty"`
}

// OtherFile is a YAML file of another kind than a script (see Library).
type OtherFile struct {
	Kind    string
	Path    string // absolute
	RelPath string // relative to the library root
	// File is the path used in problems (as the library root was given).
	File string
	// Node is the top-level mapping, for decoding with positions.
	Node *yaml.Node
}

// Index is a loaded library.
type Index struct {
	Library Library
	Config  LibraryConfig
	// Scripts are the valid scripts, sorted by name.
	Scripts []*Script
	// Decks are the valid decks, sorted by name.
	Decks []*Deck
	// Presets are the built-in presets overlaid by the library's.
	Presets map[string]string
	// Values are the library-level values (values.yaml); never nil.
	Values map[string]any
	// Other holds files of another kind (kind: Lifecycle), sorted by path.
	Other []*OtherFile
	// Problems are all problems of all files, sorted. Files with problems are
	// not in Scripts or Decks.
	Problems []Problem

	scripts map[string]*Script
	skipped []string // names of the valid scripts left out of Scripts
	decks   map[string]*Deck
	// invalid maps the name of a script (or "deck/"+name) whose file has
	// problems to those problems, so a lookup can show them.
	invalid map[string][]Problem
	// shared are the problems of cscript.yaml and values.yaml.
	shared []Problem
}

// Err returns a *ValidationError with all problems, or nil.
func (ix *Index) Err() error { return problemsErr(ix.Problems) }

// SharedErr returns a *ValidationError with the problems of the library's
// cscript.yaml and values.yaml, the files every script of the library is
// rendered with, or nil. Without them a script must not be rendered: a
// template's default would silently take the place of a value, the
// built-in preset the place of the library's.
func (ix *Index) SharedErr() error {
	err := problemsErr(ix.shared)
	if ve, ok := err.(*ValidationError); ok {
		ve.What = fmt.Sprintf("library %s has invalid values or presets (no script of it is rendered without them)", ix.Library.Name)
	}
	return err
}

// Script returns the valid script called name.
func (ix *Index) Script(name string) (*Script, bool) {
	s, ok := ix.scripts[name]
	return s, ok
}

// Deck returns the valid deck called name.
func (ix *Index) Deck(name string) (*Deck, bool) {
	d, ok := ix.decks[name]
	return d, ok
}

// fileKind says what a file of the library holds.
type fileKind int

const (
	kindScript fileKind = iota
	kindDeck
	kindConfig
	kindValues
)

type loadJob struct {
	kind    fileKind
	stamp   fileStamp
	cached  *cacheEntry
	rel     string // slash-separated, relative to root
	file    string // for problems
	abs     string
	problem string // set when the file is misplaced
	// data, when set, is the file's contents (LoadOptions.Overlay).
	data []byte
}

type loadResult struct {
	problems []Problem
	script   *Script
	deck     *Deck
	other    *OtherFile
	config   *LibraryConfig
	values   map[string]any
	root     *yaml.Node
	name     string // the script's name when decoded, even if invalid
	// Positions of a script's name and image, for problems found across files.
	nameLine, nameCol, imageLine, imageCol int
	// noCache is set when the result depends on more than the files' size
	// and time (a permission error), so the load cache must not keep it.
	noCache bool
	// skipped is a valid cached script left undecoded (LoadOptions.Only);
	// image is its image.
	skipped bool
	image   string
}

// LoadLibrary loads every file of the library at root. The returned error is
// about the library as a whole (missing, unreadable): problems of single
// files are in Index.Problems (see Index.Err), and the valid files still load.
func LoadLibrary(name, root string) (*Index, error) {
	return LoadLibraryWith(name, root, LoadOptions{})
}

// LoadOptions tune LoadLibraryWith.
type LoadOptions struct {
	// CacheDir, when set, holds a cache of decoded script files (see
	// cache.go) so that loading a large library does not parse every file.
	// Paths.CacheDir is the usual place.
	CacheDir string
	// Only, when set, is the one script the caller needs: scripts that come
	// from the load cache are decoded only when they have this name, and the
	// others are left out of Index.Scripts (lookups that find nothing still
	// suggest their names). Problems are found as in a full load.
	Only string
	// Overlay replaces files of the library for this load: the key is a
	// path relative to the root (slash-separated), the value the contents
	// to use instead of the file on disk (a file that is not on disk is
	// added); a nil value leaves the file out, as if it were removed. An
	// edit is checked this way before it is written to the library.
	Overlay map[string][]byte
}

// LoadLibraryWith is LoadLibrary with options.
func LoadLibraryWith(name, root string, opts LoadOptions) (*Index, error) {
	lib := Library{Name: name, Root: root}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("library %q: %w", name, err)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{What: "library", Name: name,
			Hint: fmt.Sprintf("directory %s does not exist: run `cscript init` to create a library there, or `cscript library add` to configure another", root)}
	}
	if err != nil {
		return nil, fmt.Errorf("library %q: %w", name, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("library %q: %s is not a directory: fix its path with `cscript library rm` and `cscript library add`", name, root)
	}
	realRoot, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("library %q: %w", name, err)
	}

	var cache *loadCache
	if opts.CacheDir != "" {
		cache = openLoadCache(opts.CacheDir, abs)
	}
	var jobs []loadJob
	walkErr := filepath.WalkDir(abs, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == abs {
				return err
			}
			rel, _ := filepath.Rel(abs, p)
			jobs = append(jobs, loadJob{kind: kindScript, rel: filepath.ToSlash(rel), file: filepath.Join(root, rel), abs: p,
				problem: fmt.Sprintf("cannot read: %v: fix its permissions", cause(err))})
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p == abs {
			return nil
		}
		base := de.Name()
		if de.IsDir() {
			if strings.HasPrefix(base, ".") {
				return fs.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(base)
		if ext != ".yaml" && ext != ".yml" {
			return nil
		}
		rel, _ := filepath.Rel(abs, p)
		rel = filepath.ToSlash(rel)
		if data, ok := opts.Overlay[rel]; ok && data == nil {
			return nil // removed by the overlay
		}
		jobs = append(jobs, newLoadJob(root, abs, rel, cache, de))
		return nil
	})
	if walkErr != nil {
		return nil, fmt.Errorf("library %q: %w", name, walkErr)
	}
	seenRel := map[string]bool{}
	for _, j := range jobs {
		seenRel[j.rel] = true
	}
	for _, rel := range sortedKeys(opts.Overlay) {
		if opts.Overlay[rel] != nil && !seenRel[rel] {
			jobs = append(jobs, newLoadJob(root, abs, rel, nil, nil))
		}
	}
	for i := range jobs {
		if data, ok := opts.Overlay[jobs[i].rel]; ok {
			jobs[i].data, jobs[i].cached, jobs[i].stamp = data, nil, fileStamp{}
		}
	}
	return loadJobs(lib, abs, realRoot, jobs, cache, opts)
}

// newLoadJob is the job of loading the file rel of the library at abs (given
// as root); de is its directory entry, nil for a file given by an overlay.
func newLoadJob(root, abs, rel string, cache *loadCache, de fs.DirEntry) loadJob {
	p := filepath.Join(abs, filepath.FromSlash(rel))
	j := loadJob{kind: kindScript, rel: rel, file: filepath.Join(root, filepath.FromSlash(rel)), abs: p}
	switch {
	case rel == LibraryConfigFile || rel == "cscript.yml":
		j.kind = kindConfig
	case rel == LibraryValuesFile || rel == "values.yml":
		j.kind = kindValues
	case strings.HasPrefix(rel, DecksDir+"/"):
		j.kind = kindDeck
		if strings.Contains(strings.TrimPrefix(rel, DecksDir+"/"), "/") {
			j.problem = "decks live directly in decks/ as decks/<name>.yaml: move this file there or out of decks/"
		}
	}
	if cache != nil && de != nil && j.kind == kindScript {
		info := de.Info
		if de.Type()&fs.ModeSymlink != 0 {
			info = func() (fs.FileInfo, error) { return os.Stat(p) }
		}
		if fi, err := info(); err == nil {
			j.stamp = stampOf(p, fi)
			j.cached = cache.lookup(rel, fi)
		}
	}
	return j
}

// loadJobs loads the files of jobs into an Index.
func loadJobs(lib Library, abs, realRoot string, jobs []loadJob, cache *loadCache, opts LoadOptions) (*Index, error) {
	name := lib.Name
	results := make([]loadResult, len(jobs))
	var todo []int
	for i := range jobs {
		j := &jobs[i]
		if e := j.cached; e != nil && e.ScriptAt > 0 && (opts.Only == "" || e.Name == opts.Only) && cache.script(e, opts.Only != "") == nil {
			j.cached = nil // does not decode: parse it
		}
	}
	for i, j := range jobs {
		if j.cached != nil {
			results[i] = resultFromEntry(j.cached, j.file)
			if s := results[i].script; s != nil {
				s.Source.Library = name
			}
		} else {
			todo = append(todo, i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = loadFile(lib, abs, realRoot, jobs[i])
			}
		}()
	}
	for _, i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	if cache != nil {
		for i, j := range jobs {
			switch {
			case j.cached != nil:
				cache.keep(j.rel, j.cached, false)
			case j.kind == kindScript && results[i].other == nil && !results[i].noCache && j.problem == "" && j.stamp.Exists && j.data == nil:
				cache.keep(j.rel, entryFromResult(&results[i], j.stamp), true)
			}
		}
		cache.save()
	}

	ix := &Index{
		Library: lib,
		Presets: BuiltinPresets(),
		Values:  map[string]any{},
		scripts: map[string]*Script{},
		decks:   map[string]*Deck{},
		invalid: map[string][]Problem{},
	}
	for _, r := range results {
		if r.config != nil {
			ix.Config = *r.config
			for k, v := range r.config.Presets {
				ix.Presets[k] = v
			}
		}
		if r.values != nil {
			ix.Values = r.values
		}
	}

	// Names must be unique: every file of a clash gets a problem naming the others.
	byName := map[string][]int{}
	uniqueKey := func(i int) string {
		if jobs[i].kind == kindDeck {
			return "deck/" + results[i].name
		}
		return results[i].name
	}
	for i, r := range results {
		if r.name != "" && (jobs[i].kind == kindScript || jobs[i].kind == kindDeck) {
			byName[uniqueKey(i)] = append(byName[uniqueKey(i)], i)
		}
	}
	for i := range results {
		r := &results[i]
		if (jobs[i].kind != kindScript && jobs[i].kind != kindDeck) || r.name == "" {
			continue
		}
		if same := byName[uniqueKey(i)]; len(same) > 1 {
			var others []string
			for _, j := range same {
				if j == i {
					continue
				}
				if jobs[j].kind == kindDeck {
					others = append(others, jobs[j].file)
				} else {
					others = append(others, fmt.Sprintf("%s:%d:%d", jobs[j].file, results[j].nameLine, results[j].nameCol))
				}
			}
			if jobs[i].kind == kindDeck {
				r.problems = append(r.problems, Problem{File: jobs[i].file, Line: 1, Col: 1,
					Message: fmt.Sprintf("deck %q is also defined by %s: keep one of the files", r.name, strings.Join(others, ", "))})
			} else {
				r.problems = append(r.problems, Problem{File: jobs[i].file, Line: r.nameLine, Col: r.nameCol, Field: "name",
					Message: fmt.Sprintf("name %q is also used by %s: names must be unique in a library; rename one", r.name, strings.Join(others, ", "))})
			}
		}
		image := r.image
		if r.script != nil {
			image = r.script.Image
		}
		if isBareImageName(image) && (r.script != nil || r.skipped) {
			if _, ok := ix.Presets[image]; !ok {
				msg := fmt.Sprintf("image %q is neither a preset nor an image reference with a tag", image)
				if sug := suggest(image, sortedKeys(ix.Presets)); len(sug) > 0 {
					msg += fmt.Sprintf(": did you mean the preset %q?", sug[0])
				} else {
					msg += fmt.Sprintf(": use a preset (%s) or a reference such as docker.io/library/%s:TAG", strings.Join(sortedKeys(ix.Presets), ", "), image)
				}
				r.problems = append(r.problems, Problem{File: jobs[i].file, Line: r.imageLine, Col: r.imageCol, Field: "image", Message: msg})
			}
		}
	}

	for i, r := range results {
		ix.Problems = append(ix.Problems, r.problems...)
		if k := jobs[i].kind; k == kindValues || k == kindConfig {
			ix.shared = append(ix.shared, r.problems...)
		}
		switch {
		case r.skipped && len(r.problems) == 0:
			ix.skipped = append(ix.skipped, r.name)
		case r.other != nil:
			ix.Other = append(ix.Other, r.other)
		case len(r.problems) > 0:
			if r.name != "" {
				key := r.name
				if jobs[i].kind == kindDeck {
					key = "deck/" + key
				}
				ix.invalid[key] = append(ix.invalid[key], r.problems...)
			}
		case r.script != nil:
			ix.Scripts = append(ix.Scripts, r.script)
			ix.scripts[r.script.Name] = r.script
		case r.deck != nil:
			ix.Decks = append(ix.Decks, r.deck)
			ix.decks[r.deck.Name] = r.deck
		}
	}
	sortProblems(ix.Problems)
	sort.Slice(ix.Scripts, func(i, j int) bool { return ix.Scripts[i].Name < ix.Scripts[j].Name })
	sort.Slice(ix.Decks, func(i, j int) bool { return ix.Decks[i].Name < ix.Decks[j].Name })
	sort.Slice(ix.Other, func(i, j int) bool { return ix.Other[i].RelPath < ix.Other[j].RelPath })
	return ix, nil
}

func loadFile(lib Library, absRoot, realRoot string, j loadJob) loadResult {
	d := newFileDecoder(j.file)
	var r loadResult
	if j.problem != "" {
		d.problems = append(d.problems, Problem{File: j.file, Message: j.problem})
		r.problems = d.problems
		return r
	}
	data, err := j.data, error(nil)
	if data == nil {
		data, err = os.ReadFile(j.abs)
	}
	if err != nil {
		d.problems = append(d.problems, Problem{File: j.file, Message: fmt.Sprintf("cannot read: %v: fix its permissions", cause(err))})
		r.problems = d.problems
		r.noCache = true
		return r
	}
	if j.kind == kindDeck {
		// A deck is named after its file: a deck that does not parse is
		// still known, as invalid rather than not found.
		r.name = deckNameOf(j.rel)
	}
	root := d.parseDocument(data)
	r.root = root
	if root == nil {
		r.problems = d.problems
		return r
	}
	src := Source{Library: lib.Name, Path: j.abs, RelPath: j.rel}
	switch j.kind {
	case kindConfig:
		var c LibraryConfig
		d.decode(root, reflect.ValueOf(&c).Elem(), "")
		for _, k := range sortedKeys(c.Presets) {
			f := "presets." + k
			switch {
			case d.isBad(f):
			case !ValidName(k):
				d.addf(keyNode(root, "presets", k), f, "preset name %q is not a valid name: %s", k, nameRule)
			case strings.TrimSpace(c.Presets[k]) == "" || strings.ContainsAny(c.Presets[k], " \t\n"):
				d.addf(node(root, "presets", k), f, "preset %q needs an image reference such as docker.io/library/alpine:3.20", k)
			}
		}
		if len(d.problems) == 0 {
			r.config = &c
		}
	case kindValues:
		var v map[string]any
		d.decode(root, reflect.ValueOf(&v).Elem(), "")
		if len(d.problems) == 0 {
			if v == nil {
				v = map[string]any{}
			}
			r.values = v
		}
	case kindDeck:
		dk := &Deck{Name: deckNameOf(j.rel)}
		d.decode(root, reflect.ValueOf(dk).Elem(), "")
		d.validateDeck(root, dk)
		dk.Source = src
		r.name = dk.Name
		r.deck = dk
	case kindScript:
		if hasKey(root, "kind") {
			kn := node(root, "kind")
			if kn.Kind == yaml.ScalarNode && contains(otherKinds(), kn.Value) {
				r.other = &OtherFile{Kind: kn.Value, Path: j.abs, RelPath: j.rel, File: j.file, Node: root}
				return r
			}
			d.addf(kn, "kind", "kind %s is not known: remove kind for a script definition, or use one of %s", describe(kn), strings.Join(otherKinds(), ", "))
			r.problems = d.problems
			return r
		}
		s := &Script{}
		d.decode(root, reflect.ValueOf(s).Elem(), "")
		d.validateScript(root, s)
		if !d.isBad("name") {
			r.name = s.Name
		}
		n := node(root, "name")
		r.nameLine, r.nameCol = n.Line, n.Column
		n = node(root, "image")
		r.imageLine, r.imageCol = n.Line, n.Column
		s.Source = src
		s.Source.BodyPath = j.abs
		if s.Script != "" {
			s.Source.Body = s.Script
			bn := node(root, "script")
			s.Source.BodyLine = bn.Line
			if bn.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				s.Source.BodyLine++
			}
		} else if s.ScriptFile != "" && s.Script == "" && !d.isBad("scriptFile") {
			d.readScriptFile(root, s, absRoot, realRoot)
		}
		r.script = s
	}
	r.problems = d.problems
	r.noCache = r.noCache || d.noCache
	return r
}

// deckNameOf is the name of the deck in file rel (decks/NAME.yaml).
func deckNameOf(rel string) string {
	return strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel))
}

// readScriptFile fills s.Source.Body from s.ScriptFile, which must be a
// relative path that stays inside the library.
func (d *fileDecoder) readScriptFile(root *yaml.Node, s *Script, absRoot, realRoot string) {
	n := node(root, "scriptFile")
	sf := s.ScriptFile
	if filepath.IsAbs(sf) || strings.HasPrefix(sf, "/") {
		d.addf(n, "scriptFile", "scriptFile %q is absolute: give a path relative to this definition, inside the library", sf)
		return
	}
	p := filepath.Join(filepath.Dir(s.Source.Path), filepath.FromSlash(sf))
	if rel, err := filepath.Rel(absRoot, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		d.addf(n, "scriptFile", "scriptFile %q is outside the library: keep script files inside the library directory", sf)
		return
	}
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		d.addf(n, "scriptFile", "scriptFile %q does not exist: create it (the path is relative to this definition) or fix the path", sf)
		return
	}
	if err != nil {
		d.addf(n, "scriptFile", "scriptFile %q cannot be read: %v", sf, cause(err))
		d.noCache = true
		return
	}
	if rel, err := filepath.Rel(realRoot, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		d.addf(n, "scriptFile", "scriptFile %q is a link to a file outside the library: copy the file into the library", sf)
		return
	}
	body, err := os.ReadFile(p)
	if err != nil {
		d.noCache = true
		d.addf(n, "scriptFile", "scriptFile %q cannot be read: %v: fix its permissions or the path", sf, cause(err))
		return
	}
	s.Source.Body = string(body)
	s.Source.BodyPath = p
	s.Source.BodyLine = 1
}

// cause drops the *PathError wrapping (the path is already in the message).
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
