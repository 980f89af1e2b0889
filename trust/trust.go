// Package trust keeps the user's consent to what a shared library may do on
// the user's own machine. A library from a git remote is written by whoever
// can push to it (or sits on the path of an unauthenticated remote), so its
// local-side features — credentials read from a local command, file or
// environment variable, files uploaded from or downloaded to local paths —
// are refused until the user has reviewed and trusted them, as direnv's
// `allow` does. Consent is given per feature and value: a field that changes
// after a sync is asked about again.
package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

// Feature is one local-side request of a library: Where ("script db-dump",
// "deck staging") asks for Field ("credentials.fromCommand") with Value.
type Feature struct {
	Where string `json:"where"`
	Field string `json:"field"`
	Value string `json:"value"`
}

func (f Feature) String() string { return fmt.Sprintf("%s: %s %q", f.Where, f.Field, f.Value) }

func (f Feature) key(library string) string {
	h := sha256.Sum256([]byte(library + "\x00" + f.Where + "\x00" + f.Field + "\x00" + f.Value))
	return hex.EncodeToString(h[:])
}

// OfScript lists the local-side features of a script.
func OfScript(s *store.Script) []Feature {
	where := "script " + s.Name
	fs := credentialFeatures(where, s.Credentials)
	for _, f := range s.Files.Upload {
		fs = append(fs, Feature{Where: where, Field: "files.upload.from", Value: f.From})
	}
	for _, f := range s.Files.Download {
		fs = append(fs, Feature{Where: where, Field: "files.download.to", Value: f.To})
	}
	return fs
}

// OfDeck lists the local-side features of a deck.
func OfDeck(d *store.Deck) []Feature {
	return credentialFeatures("deck "+d.Name, d.Credentials)
}

func credentialFeatures(where string, creds []store.Credential) []Feature {
	var fs []Feature
	for _, c := range creds {
		switch {
		case c.FromCommand != "":
			fs = append(fs, Feature{Where: where, Field: "credentials." + c.Name + ".fromCommand", Value: c.FromCommand})
		case c.FromFile != "":
			fs = append(fs, Feature{Where: where, Field: "credentials." + c.Name + ".fromFile", Value: c.FromFile})
		case c.FromEnv != "":
			fs = append(fs, Feature{Where: where, Field: "credentials." + c.Name + ".fromEnv", Value: c.FromEnv})
		}
	}
	return fs
}

// OfLibrary lists the local-side features of every script and deck of a
// library, sorted.
func OfLibrary(idx *store.Index) []Feature {
	var fs []Feature
	for _, s := range idx.Scripts {
		fs = append(fs, OfScript(s)...)
	}
	for _, d := range idx.Decks {
		fs = append(fs, OfDeck(d)...)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].String() < fs[j].String() })
	return fs
}

// Store is the user's consent, one file (0600) in cscript's state directory.
type Store struct{ path string }

// Open returns the Store kept in file path (created on the first Trust).
func Open(path string) *Store { return &Store{path: path} }

type file struct {
	// Libraries maps a library's name to the keys of its trusted features.
	Libraries map[string][]string `json:"libraries"`
}

func (s *Store) read() (*file, error) {
	f := &file{Libraries: map[string][]string{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the trusted libraries: %w", err)
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fail.Wrap(fail.Invalid, fmt.Errorf("%s: %w: remove it and trust your libraries again", s.path, err))
	}
	if f.Libraries == nil {
		f.Libraries = map[string][]string{}
	}
	return f, nil
}

// Trust records consent to exactly features for library (what was trusted
// before and is not among them any more is forgotten).
func (s *Store) Trust(library string, features []Feature) error {
	f, err := s.read()
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(features))
	for _, ft := range features {
		keys = append(keys, ft.key(library))
	}
	sort.Strings(keys)
	f.Libraries[library] = keys
	return s.write(f)
}

// Revoke forgets every consent given to library.
func (s *Store) Revoke(library string) error {
	f, err := s.read()
	if err != nil {
		return err
	}
	delete(f.Libraries, library)
	return s.write(f)
}

func (s *Store) write(f *file) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".trust-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

// Untrusted returns the features of library that the user has not trusted.
func (s *Store) Untrusted(library string, features []Feature) ([]Feature, error) {
	if len(features) == 0 {
		return nil, nil
	}
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	ok := map[string]bool{}
	for _, k := range f.Libraries[library] {
		ok[k] = true
	}
	var out []Feature
	for _, ft := range features {
		if !ok[ft.key(library)] {
			out = append(out, ft)
		}
	}
	return out, nil
}

// RefusedError is a run that needs local-side features of a library the
// user has not trusted.
type RefusedError struct {
	Library  string
	Features []Feature
}

func (e *RefusedError) Error() string {
	lines := make([]string, len(e.Features))
	for i, f := range e.Features {
		lines[i] = "  " + f.String()
	}
	return fmt.Sprintf("library %s asks to act on this machine, which you have not trusted:\n%s\n"+
		"review them (cscript library trust %s --dry-run lists all of the library's), then run `cscript library trust %s`",
		e.Library, strings.Join(lines, "\n"), e.Library, e.Library)
}

// Kind is fail.Refused.
func (e *RefusedError) Kind() fail.Kind { return fail.Refused }

// LocalPath checks a local path that a library (not the user's command line)
// gave for an upload or a download: it must be relative and stay inside the
// working directory.
func LocalPath(field, p string) error {
	clean := filepath.Clean(p)
	switch {
	case p == "":
		return nil
	case filepath.IsAbs(p) || filepath.VolumeName(p) != "" || strings.HasPrefix(p, `\`) || strings.HasPrefix(p, "~"):
		return &PathError{Field: field, Path: p, Why: "is absolute"}
	case clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || strings.Contains(p, `\`):
		return &PathError{Field: field, Path: p, Why: "climbs out of the working directory"}
	}
	return nil
}

// PathError is a library's local path that could reach outside the working
// directory.
type PathError struct{ Field, Path, Why string }

func (e *PathError) Error() string {
	return fmt.Sprintf("%s %q %s: a library's local paths are relative to the working directory and stay inside it; "+
		"to use another path, give it on the command line (for example as a param: --set NAME=PATH)", e.Field, e.Path, e.Why)
}

// Kind is fail.Refused.
func (e *PathError) Kind() fail.Kind { return fail.Refused }
