package store

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultPathsHonoursEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "c"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "d"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "s"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "k"))
	want := Paths{
		ConfigFile: filepath.Join(dir, "c", "cscript", "config.yaml"),
		DataDir:    filepath.Join(dir, "d", "cscript"),
		StateDir:   filepath.Join(dir, "s", "cscript"),
		CacheDir:   filepath.Join(dir, "k", "cscript"),
	}
	if diff := cmp.Diff(want, DefaultPaths()); diff != "" {
		t.Errorf("DefaultPaths (-want +got):\n%s", diff)
	}
	// Read at call time: a later change is seen.
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "d2"))
	if got := DefaultPaths().DataDir; got != filepath.Join(dir, "d2", "cscript") {
		t.Errorf("DataDir = %q after changing XDG_DATA_HOME", got)
	}
	// Relative values are ignored, as the XDG specification says.
	if runtime.GOOS == "linux" {
		t.Setenv("HOME", dir)
		t.Setenv("XDG_STATE_HOME", "relative")
		if got := DefaultPaths().StateDir; got != filepath.Join(dir, ".local", "state", "cscript") {
			t.Errorf("StateDir = %q with a relative XDG_STATE_HOME", got)
		}
	}
}

func TestLoadConfigDefault(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	cfg, err := LoadConfig(filepath.Join(dir, "missing", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Libraries: []LibraryRef{{Name: "local", Path: filepath.Join(dir, "data", "cscript", "library")}}, Default: true}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("default config (-want +got):\n%s", diff)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cscript", "config.yaml")
	cfg := &Config{Libraries: []LibraryRef{
		{Name: "org", Path: filepath.Join(dir, "org"), URL: "ssh://git@example.com/org/scripts.git", Branch: "main", VerifySignatures: true, Keyring: filepath.Join(dir, "keys.asc")},
		{Name: "local", Path: filepath.Join(dir, "local")},
	}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %v, want 0600", st.Mode().Perm())
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg, got); diff != "" {
		t.Errorf("round trip (-saved +loaded):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("config dir holds %d files, want only config.yaml (no temp files)", len(entries))
	}
}

func TestLoadConfigPathsAndProblems(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	path := filepath.Join(dir, "config.yaml")
	writeFiles(t, dir, map[string]string{"config.yaml": "libraries:\n  - name: rel\n    path: libs/rel\n  - name: cloned\n    url: https://example.com/x.git\n"})
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []LibraryRef{
		{Name: "rel", Path: filepath.Join(dir, "libs", "rel")},
		{Name: "cloned", Path: filepath.Join(dir, "data", "cscript", "libraries", "cloned"), URL: "https://example.com/x.git"},
	}
	if diff := cmp.Diff(want, cfg.Libraries); diff != "" {
		t.Errorf("libraries (-want +got):\n%s", diff)
	}

	writeFiles(t, dir, map[string]string{"config.yaml": `libraries:
  - name: Bad_Name
    path: /x
  - name: twice
    path: /a
  - name: twice
    path: /b
    branch: main
    verifySignatures: true
  - name: ok
    pth: /typo
`})
	_, err = LoadConfig(path)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, strings.TrimPrefix(p.String(), path))
	}
	wantProblems := []string{
		`:2:11: library name "Bad_Name" is not a valid name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
		`:6:11: library "twice" is configured twice: keep one`,
		`:8:5: library "twice" has a branch but no url: remove branch, or add the git url`,
		`:9:5: library "twice" verifies signatures but has no keyring: set keyring to an armored OpenPGP public key file`,
		`:11:5: unknown field "pth" in libraries[3]: did you mean "path"?`,
	}
	if diff := cmp.Diff(wantProblems, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestConfigAddRemoveLibrary(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	cfg := DefaultConfig(DefaultPaths())
	if err := cfg.AddLibrary(LibraryRef{Name: "org", URL: "https://example.com/org.git"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.AddLibrary(LibraryRef{Name: "org"}); !errors.Is(err, ErrExists) {
		t.Errorf("adding org twice: %v, want ErrExists", err)
	}
	if err := cfg.AddLibrary(LibraryRef{Name: "Bad_Name"}); err == nil {
		t.Error("AddLibrary accepted an invalid name")
	}
	if err := cfg.AddLibrary(LibraryRef{Name: "signed", VerifySignatures: true}); err == nil {
		t.Error("AddLibrary accepted signature verification without a keyring")
	}
	want := []LibraryRef{
		{Name: "local", Path: filepath.Join(dir, "cscript", "library")},
		{Name: "org", Path: filepath.Join(dir, "cscript", "libraries", "org"), URL: "https://example.com/org.git"},
	}
	if diff := cmp.Diff(want, cfg.Libraries); diff != "" || cfg.Default {
		t.Errorf("libraries (-want +got):\n%s (default %v)", diff, cfg.Default)
	}
	removed, err := cfg.RemoveLibrary("local")
	if err != nil || removed.Name != "local" || len(cfg.Libraries) != 1 || cfg.Libraries[0].Name != "org" {
		t.Errorf("RemoveLibrary(local) = %v, %v; left %v", removed, err, cfg.Libraries)
	}
	if _, err := cfg.RemoveLibrary("orgg"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `did you mean "org"`) {
		t.Errorf("RemoveLibrary(orgg) = %v, want not found with a suggestion", err)
	}
}
