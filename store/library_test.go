package store

import (
	"bytes"
	"encoding/gob"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustTime(t *testing.T, s string) *time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

func loadValid(t *testing.T) *Index {
	t.Helper()
	ix, err := LoadLibrary("valid", "testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Err(); err != nil {
		t.Fatalf("testdata/valid has problems: %v", err)
	}
	return ix
}

func TestLoadLibraryValid(t *testing.T) {
	ix := loadValid(t)
	abs, err := filepath.Abs("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, s := range ix.Scripts {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"backup", "hello", "one-line"}, names); diff != "" {
		t.Errorf("script names (-want +got):\n%s", diff)
	}
	var decks []string
	for _, d := range ix.Decks {
		decks = append(decks, d.Name)
	}
	if diff := cmp.Diff([]string{"docker", "local", "prod"}, decks); diff != "" {
		t.Errorf("deck names (-want +got):\n%s", diff)
	}

	hello, ok := ix.Script("hello")
	if !ok {
		t.Fatal("hello not found")
	}
	want := &Script{
		Name:        "hello",
		Description: "Say hello.",
		Image:       "shell",
		Interpreter: "sh",
		Author:      "Ada <ada@example.com>",
		Created:     mustTime(t, "2024-05-01T12:00:00Z"),
		Modified:    mustTime(t, "2024-05-02T12:00:00+02:00"),
		Params: []Param{
			{Name: "who", Default: "world", Pattern: "[a-z]+"},
			{Name: "times", Type: "int", Default: 3},
			{Name: "loud", Type: "bool", Default: false},
			{Name: "color", Type: "enum", Values: []string{"red", "green"}, Default: "green"},
			{Name: "port", Default: "5432"},
			{Name: "input", Type: "file", Required: true, Secret: true},
		},
		Env:     map[string]string{"GREETING": "{{ .Values.greeting }}"},
		Timeout: Duration{90 * time.Second},
		Tags:    []string{"demo", "shell"},
		Script:  "echo \"$GREETING\" {{ .Params.who | shellquote }}\nexit 0\n",
		Source: Source{
			Library:  "valid",
			Path:     filepath.Join(abs, "hello.yaml"),
			RelPath:  "hello.yaml",
			Body:     "echo \"$GREETING\" {{ .Params.who | shellquote }}\nexit 0\n",
			BodyPath: filepath.Join(abs, "hello.yaml"),
			BodyLine: 34,
		},
	}
	timeCmp := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	if diff := cmp.Diff(want, hello, timeCmp); diff != "" {
		t.Errorf("hello (-want +got):\n%s", diff)
	}
	// BodyLine must point at the body's first line in the file.
	lines := strings.Split(readFile(t, "testdata/valid/hello.yaml"), "\n")
	if got := lines[hello.Source.BodyLine-1]; !strings.Contains(got, `echo "$GREETING"`) {
		t.Errorf("line %d of hello.yaml is %q, want the first body line", hello.Source.BodyLine, got)
	}

	oneLine, _ := ix.Script("one-line")
	if oneLine.Source.BodyLine != 10 || oneLine.Source.Body != "echo one line" || oneLine.Source.RelPath != "one-line.yml" {
		t.Errorf("one-line source = %+v, want body line 10", oneLine.Source)
	}
	if diff := cmp.Diff(Resources{Requests: map[string]string{"cpu": "100m", "memory": "64Mi"}, Limits: map[string]string{"cpu": "1", "memory": "64Mi"}}, oneLine.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}

	backup, _ := ix.Script("backup")
	wantSrc := Source{
		Library:  "valid",
		Path:     filepath.Join(abs, "jobs", "db", "backup.yaml"),
		RelPath:  "jobs/db/backup.yaml",
		Body:     "#!/bin/bash\nset -euo pipefail\npg_dump > /work/out.dump\n",
		BodyPath: filepath.Join(abs, "jobs", "db", "backup.sh"),
		BodyLine: 1,
	}
	if diff := cmp.Diff(wantSrc, backup.Source); diff != "" {
		t.Errorf("backup source (-want +got):\n%s", diff)
	}
	if got := len(backup.Credentials); got != 4 || backup.Credentials[0].Secret == nil || backup.Credentials[0].Secret.Key != "password" {
		t.Errorf("backup credentials = %+v", backup.Credentials)
	}

	prod, _ := ix.Deck("prod")
	wantDeck := &Deck{
		Name: "prod", Description: "Production.", Backend: "kubernetes", Context: "prod", Namespace: "prod", Protected: true,
		Values:      map[string]any{"db": map[string]any{"host": "db.prod.svc"}},
		Credentials: []Credential{{Name: "PGPASSWORD", Secret: &SecretRef{Name: "prod-db", Key: "password"}}},
		TeamHistory: &TeamHistory{Keep: 20, Required: true},
		Source:      Source{Library: "valid", Path: filepath.Join(abs, "decks", "prod.yml"), RelPath: "decks/prod.yml"},
	}
	if diff := cmp.Diff(wantDeck, prod); diff != "" {
		t.Errorf("prod deck (-want +got):\n%s", diff)
	}
	if prod.TeamHistoryKeep() != 20 || !prod.TeamHistoryRequired() {
		t.Errorf("prod team history: keep %d, required %v; want 20, true", prod.TeamHistoryKeep(), prod.TeamHistoryRequired())
	}
	local, _ := ix.Deck("local")
	if diff := cmp.Diff(&TeamHistory{Required: true}, local.TeamHistory); diff != "" {
		t.Errorf("local deck's \"teamHistory: required\" (-want +got):\n%s", diff)
	}
	if local.TeamHistoryKeep() != DefaultTeamHistoryKeep {
		t.Errorf("local deck keeps %d, want the default %d", local.TeamHistoryKeep(), DefaultTeamHistoryKeep)
	}
	var none *Deck
	if none.TeamHistoryKeep() != DefaultTeamHistoryKeep || none.TeamHistoryRequired() {
		t.Error("no deck: want the default count, not required")
	}

	wantPresets := BuiltinPresets()
	wantPresets["tools"] = "docker.io/library/debian:bookworm-slim"
	wantPresets["python"] = "docker.io/library/python:3.12-slim"
	if diff := cmp.Diff(wantPresets, ix.Presets); diff != "" {
		t.Errorf("presets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"greeting": "hello", "db": map[string]any{"host": "postgres", "port": 5432}}, ix.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if len(ix.Other) != 1 || ix.Other[0].Kind != KindLifecycle || ix.Other[0].RelPath != "jobs/lifecycle.yaml" || ix.Other[0].Node == nil {
		t.Errorf("other files = %+v, want the one lifecycle", ix.Other)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func script(name string) string {
	return "name: " + name + "\nimage: shell\ninterpreter: sh\nscript: echo " + name + "\n"
}

func TestLoadLibrarySkipsHiddenAndOtherFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.yaml":               script("a"),
		".git/config.yaml":     "not: a script",
		".hidden/b.yaml":       script("b"),
		"notes.txt":            "ignored",
		"nested/deeper/c.yaml": script("c"),
	})
	ix, err := LoadLibrary("t", root)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range ix.Scripts {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"a", "c"}, names); diff != "" {
		t.Errorf("scripts (-want +got):\n%s", diff)
	}
}

func TestLoadLibraryMissing(t *testing.T) {
	_, err := LoadLibrary("gone", filepath.Join(t.TempDir(), "nope"))
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.What != "library" || !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want a library *NotFoundError", err)
	}
	if !strings.Contains(err.Error(), "cscript init") || !strings.Contains(err.Error(), "cscript library add") {
		t.Errorf("err = %q, want it to name cscript init and cscript library add", err)
	}
}

// TestExamples loads the example library that `cscript init` copies: it must
// have no problems and hold what the issue asks for.
func TestExamples(t *testing.T) {
	ix, err := LoadLibrary("examples", "../examples")
	if err != nil {
		t.Fatalf("the example library must exist and load: %v", err)
	}
	if err := ix.Err(); err != nil {
		t.Fatalf("examples have problems:\n%v", err)
	}
	for _, name := range []string{"hello", "db-dump", "db-restore"} {
		if _, ok := ix.Script(name); !ok {
			t.Errorf("examples lack script %q", name)
		}
	}
	python := false
	for _, s := range ix.Scripts {
		if s.Interpreter == InterpreterPython {
			python = true
		}
		if s.Source.Body == "" || s.Source.BodyLine < 1 {
			t.Errorf("%s: empty body or no body line: %+v", s.Name, s.Source)
		}
	}
	if !python {
		t.Error("examples lack a python script")
	}
	for _, name := range []string{"local", "staging"} {
		if _, ok := ix.Deck(name); !ok {
			t.Errorf("examples lack deck %q", name)
		}
	}
	if st, ok := ix.Deck("staging"); ok && !st.Protected {
		t.Error("deck staging must be protected")
	}
}

func TestLoadCache(t *testing.T) {
	root, cacheDir := t.TempDir(), t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.yaml":       script("a"),
		"b.yaml":       "name: b\nimage: shell\ninterpreter: sh\nscriptFile: b.sh\n",
		"b.sh":         "echo b\n",
		"bad.yaml":     "name: bad\nimage: shell\ninterpreter: zsh\nscript: x\n",
		"decks/d.yaml": "namespace: d\n",
	})
	ageFiles(t, root, -time.Hour)
	opts := LoadOptions{CacheDir: cacheDir}
	first, err := LoadLibraryWith("one", root, opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadLibraryWith("two", root, opts)
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreUnexported(Index{})
	libName := cmpopts.IgnoreFields(Source{}, "Library")
	if diff := cmp.Diff(first, second, ignore, libName, cmpopts.IgnoreFields(Index{}, "Library")); diff != "" {
		t.Errorf("cached load differs (-first +second):\n%s", diff)
	}
	if s, _ := second.Script("a"); s.Source.Library != "two" {
		t.Errorf("cached script has library %q, want two", s.Source.Library)
	}
	if len(second.Problems) != 1 || !strings.Contains(second.Problems[0].String(), "bad.yaml:3:14: interpreter \"zsh\"") {
		t.Errorf("cached problems = %v", second.Problems)
	}

	// Proof that the cache is used: a change that keeps size and time is not seen.
	bPath := filepath.Join(root, "b.sh")
	fi, _ := os.Stat(bPath)
	writeFiles(t, root, map[string]string{"b.sh": "echo B\n"})
	os.Chtimes(bPath, fi.ModTime(), fi.ModTime())
	third, _ := LoadLibraryWith("one", root, opts)
	if s, _ := third.Script("b"); s.Source.Body != "echo b\n" {
		t.Errorf("body = %q, want the cached body", s.Source.Body)
	}
	// A new modification time is seen, for the definition and for its scriptFile.
	now := time.Now().Add(-time.Minute)
	os.Chtimes(bPath, now, now)
	writeFiles(t, root, map[string]string{"a.yaml": script("a") + "description: changed\n"})
	fourth, _ := LoadLibraryWith("one", root, opts)
	if s, _ := fourth.Script("b"); s.Source.Body != "echo B\n" {
		t.Errorf("body = %q, want the new body", s.Source.Body)
	}
	if s, _ := fourth.Script("a"); s.Description != "changed" {
		t.Errorf("description = %q, want the new one", s.Description)
	}
	// A removed file disappears.
	os.Remove(filepath.Join(root, "a.yaml"))
	fifth, _ := LoadLibraryWith("one", root, opts)
	if _, ok := fifth.Script("a"); ok {
		t.Error("a is still loaded after its file was removed")
	}
	// A corrupt cache is ignored.
	entries, _ := os.ReadDir(cacheDir)
	if len(entries) != 1 {
		t.Fatalf("cache dir holds %d files, want 1", len(entries))
	}
	os.WriteFile(filepath.Join(cacheDir, entries[0].Name()), []byte("garbage"), 0o600)
	sixth, err := LoadLibraryWith("one", root, opts)
	if err != nil || len(sixth.Scripts) != 1 {
		t.Errorf("load with a corrupt cache: %v, %d scripts", err, len(sixth.Scripts))
	}
}

// A load for one script (LoadOptions.Only) decodes only that script from
// the load cache, finds the same problems as a full load, and leaves a cache
// from which the next full load still gets every script.
func TestLoadCacheOnlyOne(t *testing.T) {
	root, cacheDir := t.TempDir(), t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.yaml":   script("a"),
		"b.yaml":   "name: b\nimage: shell\ninterpreter: sh\nscriptFile: b.sh\n",
		"b.sh":     "echo b\n",
		"c.yaml":   script("c"),
		"bad.yaml": "name: bad\nimage: shell\ninterpreter: zsh\nscript: x\n",
		"d.yaml":   "name: d\nimage: alpine\ninterpreter: sh\nscript: x\n", // a bare image that is no preset
	})
	ageFiles(t, root, -time.Hour)
	opts := LoadOptions{CacheDir: cacheDir}
	full, err := LoadLibraryWith("lib", root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := scriptNames(full); !slices.Equal(got, []string{"a", "b", "c"}) || len(full.skipped) != 0 || len(full.Problems) != 2 {
		t.Fatalf("full load: scripts %v, skipped %v, problems %v", got, full.skipped, full.Problems)
	}

	// The cache is used: a change that keeps size and time is not seen.
	bPath := filepath.Join(root, "b.sh")
	fi, _ := os.Stat(bPath)
	writeFiles(t, root, map[string]string{"b.sh": "echo B\n"})
	os.Chtimes(bPath, fi.ModTime(), fi.ModTime())
	only := opts
	only.Only = "b"
	one, err := LoadLibraryWith("lib", root, only)
	if err != nil {
		t.Fatal(err)
	}
	if got := scriptNames(one); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("load of b: scripts %v; want [b]", got)
	}
	if s, _ := one.Script("b"); s.Source.Body != "echo b\n" || s.Source.Library != "lib" {
		t.Errorf("b from the cache: body %q, library %q", s.Source.Body, s.Source.Library)
	}
	if diff := cmp.Diff(full.Problems, one.Problems); diff != "" {
		t.Errorf("problems differ from the full load's (-full +one):\n%s", diff)
	}
	if !slices.Equal(one.skipped, []string{"a", "c"}) {
		t.Errorf("skipped %v, want [a c]", one.skipped)
	}
	// A misspelt name decodes nothing, and is still told the near ones.
	typo := opts
	typo.Only = "cc"
	none, err := LoadLibraryWith("lib", root, typo)
	if err != nil {
		t.Fatal(err)
	}
	var nf *NotFoundError
	if _, err := NewCatalog(none).Script("cc"); !errors.As(err, &nf) || !slices.Contains(nf.Suggestions, "c") || len(none.Scripts) != 0 {
		t.Errorf("cc in a load for cc: %v (scripts %v); want not found, suggesting c", err, scriptNames(none))
	}

	// A load for one script that finds a changed file rewrites the cache
	// with every script, not only the decoded one: a keeps its cached
	// definition (a change that keeps size and time is not seen).
	aPath := filepath.Join(root, "a.yaml")
	fi, _ = os.Stat(aPath)
	writeFiles(t, root, map[string]string{"a.yaml": strings.Replace(script("a"), "echo a", "echo A", 1)})
	os.Chtimes(aPath, fi.ModTime(), fi.ModTime())
	writeFiles(t, root, map[string]string{"c.yaml": script("c") + "description: changed\n"})
	os.Chtimes(filepath.Join(root, "c.yaml"), time.Now().Add(-time.Minute), time.Now().Add(-time.Minute))
	if _, err := LoadLibraryWith("lib", root, only); err != nil {
		t.Fatal(err)
	}
	again, err := LoadLibraryWith("lib", root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := scriptNames(again); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("full load after it: scripts %v", got)
	}
	if s, _ := again.Script("b"); s.Source.Body != "echo b\n" {
		t.Errorf("b: body %q, want the cached one (the cache was not rewritten from the files)", s.Source.Body)
	}
	if s, _ := again.Script("a"); s.Script != "echo a" {
		t.Errorf("a: script %q, want the cached one: the load of b dropped a from the cache", s.Script)
	}
	if s, _ := again.Script("c"); s.Description != "changed" {
		t.Errorf("c: description %q, want the change", s.Description)
	}

	// Scripts that do not decode are parsed instead.
	entries, _ := os.ReadDir(cacheDir)
	cachePath := filepath.Join(cacheDir, entries[0].Name())
	data, _ := os.ReadFile(cachePath)
	corrupt := map[string]func(f *cacheFile){
		"bytes": func(f *cacheFile) {
			for i := f.ScriptEnds[0]; i < len(f.Scripts); i++ {
				f.Scripts[i] = 0xff
			}
		},
		"offsets": func(f *cacheFile) { slices.Reverse(f.ScriptEnds) },
		"indexes": func(f *cacheFile) {
			for _, e := range f.Entries {
				e.ScriptAt = -e.ScriptAt
			}
		},
	}
	for what, spoil := range corrupt {
		var f cacheFile
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
			t.Fatal(err)
		}
		spoil(&f)
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(&f); err != nil {
			t.Fatal(err)
		}
		for _, o := range []LoadOptions{only, opts} {
			os.WriteFile(cachePath, buf.Bytes(), 0o600)
			ix, err := LoadLibraryWith("lib", root, o)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := ix.Script("b"); !ok || s.Source.Body != "echo B\n" {
				t.Errorf("corrupt %s, only %q: b %v (body %+v), want it parsed from the files", what, o.Only, ok, s)
			}
		}
	}
}

func scriptNames(ix *Index) []string {
	var out []string
	for _, s := range ix.Scripts {
		out = append(out, s.Name)
	}
	return out
}

// Nested keys of values are texts as written, like the top-level ones: YAML
// alone reads 0 and 0.0 as equal numbers, which overwrote each other.
func TestLibraryValuesKeysAsWritten(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, LibraryValuesFile), []byte("0x10: top\nn:\n  0: int\n  0.0: float\n  0x10: hex\n  ~: tilde\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := LoadLibrary("keys", root)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"0x10": "top", "n": map[string]any{"0": "int", "0.0": "float", "0x10": "hex", "~": "tilde"}}
	if diff := cmp.Diff(want, ix.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}
