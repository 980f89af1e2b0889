package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Target is a platform, as GOOS and GOARCH.
type Target struct{ GOOS, GOARCH string }

func (t Target) String() string { return t.GOOS + "/" + t.GOARCH }

// ParseTarget reads "goos/goarch".
func ParseTarget(s string) (Target, error) {
	goos, goarch, ok := strings.Cut(s, "/")
	if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
		return Target{}, fmt.Errorf("%q is not a platform: write goos/goarch, e.g. windows/amd64", s)
	}
	return Target{goos, goarch}, nil
}

// Result is what Check found for one target.
type Result struct {
	Packages int      // packages type-checked, dependencies and the standard library included
	Roots    int      // of them, the ones the patterns named (test variants included)
	Errors   []string // file:line:col: message, sorted
	Took     time.Duration
}

// listed is the part of `go list -json` that Check reads.
type listed struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Imports    []string
	ImportMap  map[string]string
	DepOnly    bool
	ForTest    string
	Module     *struct{ GoVersion string }
	Error      *struct{ Err string }
}

// Check type-checks the packages the patterns match in dir, their tests, and everything they
// import, as they are built for target with cgo off.
func Check(dir string, target Target, patterns []string) (Result, error) {
	start := time.Now()
	if err := supported(target); err != nil {
		return Result{}, err
	}
	pkgs, err := list(dir, target, patterns)
	if err != nil {
		return Result{}, err
	}
	c := &checker{
		fset:   token.NewFileSet(),
		sizes:  types.SizesFor("gc", target.GOARCH),
		pkgs:   pkgs,
		done:   make(map[string]chan struct{}, len(pkgs)),
		types:  make(map[string]*types.Package, len(pkgs)),
		tokens: make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if c.sizes == nil {
		return Result{}, fmt.Errorf("go/types knows no sizes for GOARCH %q", target.GOARCH)
	}
	for id := range pkgs {
		c.done[id] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for id := range pkgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.check(id)
		}()
	}
	wg.Wait()
	roots := 0
	for _, p := range pkgs {
		if !p.DepOnly {
			roots++
		}
	}
	// A package and its test variant share their non-test files, and so their errors.
	sort.Strings(c.errors)
	c.errors = slices.Compact(c.errors)
	return Result{Packages: len(pkgs), Roots: roots, Errors: c.errors, Took: time.Since(start)}, nil
}

// supported says whether the go toolchain builds for target at all (go list does not).
func supported(target Target) error {
	out, err := exec.Command("go", "tool", "dist", "list").Output()
	if err != nil {
		return fmt.Errorf("go tool dist list: %v", err)
	}
	for _, line := range strings.Fields(string(out)) {
		if line == target.String() {
			return nil
		}
	}
	return fmt.Errorf("go does not build for %s (go tool dist list names the platforms it does)", target)
}

func list(dir string, target Target, patterns []string) (map[string]*listed, error) {
	args := append([]string{"list", "-e", "-deps", "-test",
		"-json=ImportPath,Name,Dir,GoFiles,Imports,ImportMap,DepOnly,ForTest,Module,Error"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+target.GOOS, "GOARCH="+target.GOARCH, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	pkgs := make(map[string]*listed)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		// The generated test mains ("p.test") live in go's cache, not the source tree: the
		// packages they import are checked in their own right.
		if strings.HasSuffix(p.ImportPath, ".test") && p.Name == "main" && p.ForTest == "" {
			continue
		}
		pkgs[p.ImportPath] = &p
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list found no packages for %s", strings.Join(patterns, " "))
	}
	return pkgs, nil
}

type checker struct {
	fset   *token.FileSet
	sizes  types.Sizes
	pkgs   map[string]*listed
	done   map[string]chan struct{} // closed when the package's types are in types (or it failed)
	tokens chan struct{}            // bounds the packages checked at once

	mu     sync.Mutex
	types  map[string]*types.Package
	errors []string
}

func (c *checker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors = append(c.errors, fmt.Sprintf(format, args...))
}

func (c *checker) check(id string) {
	defer close(c.done[id])
	p := c.pkgs[id]
	if p.Error != nil {
		c.fail("%s: %s", id, p.Error.Err)
		return
	}
	if id == "unsafe" {
		c.mu.Lock()
		c.types[id] = types.Unsafe
		c.mu.Unlock()
		return
	}
	for _, dep := range p.Imports {
		if ch, ok := c.done[dep]; ok {
			<-ch
		}
	}
	c.tokens <- struct{}{}
	defer func() { <-c.tokens }()

	files := make([]*ast.File, 0, len(p.GoFiles))
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(c.fset, filepath.Join(p.Dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			c.fail("%v", err)
			return
		}
		files = append(files, f)
	}
	var mine []string // the first few errors; one broken package need not drown the rest
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if mapped, ok := p.ImportMap[path]; ok {
				path = mapped
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if t, ok := c.types[path]; ok {
				return t, nil
			}
			return nil, fmt.Errorf("%s was not type-checked (see its own error)", path)
		}),
		Sizes: c.sizes,
		Error: func(err error) {
			if len(mine) < 10 {
				mine = append(mine, err.Error())
			}
		},
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + p.Module.GoVersion
	}
	t, _ := conf.Check(strings.TrimSuffix(p.ImportPath, " ["+p.ForTest+".test]"), c.fset, files, nil)
	for _, e := range mine {
		c.fail("%s", e)
	}
	c.mu.Lock()
	c.types[id] = t
	c.mu.Unlock()
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
