package store

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.yaml")
	for _, content := range []string{"first\n", "second, longer\n"} {
		if err := WriteFileAtomic(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, p); got != content {
			t.Errorf("content = %q, want %q", got, content)
		}
	}
	st, _ := os.Stat(p)
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d files, want 1 (no temp files left)", len(entries))
	}
	// A failed write leaves the old file alone and no temp file behind.
	if err := WriteFileAtomic(filepath.Join(dir, "missing-dir", "x"), []byte("x"), 0o644); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if got := readFile(t, p); got != "second, longer\n" {
		t.Errorf("content after a failed write elsewhere = %q", got)
	}
}

func TestNewScriptAndDeck(t *testing.T) {
	root := t.TempDir()
	lib := Library{Name: "t", Root: root}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	p, err := NewScript(lib, "my-job", `Ada "the" Lovelace <ada@example.com>`, now)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(root, "my-job.yaml") {
		t.Errorf("path = %q", p)
	}
	if _, err := NewScript(lib, "my-job", "x", now); !errors.Is(err, ErrExists) {
		t.Errorf("second NewScript error = %v, want ErrExists", err)
	}
	if _, err := NewScript(lib, "Bad_Name", "x", now); err == nil {
		t.Error("NewScript accepted an invalid name")
	}
	dp, err := NewDeck(lib, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if dp != filepath.Join(root, "decks", "staging.yaml") {
		t.Errorf("deck path = %q", dp)
	}
	if _, err := NewDeck(lib, "staging"); !errors.Is(err, ErrExists) {
		t.Errorf("second NewDeck error = %v, want ErrExists", err)
	}

	ix, err := LoadLibrary("t", root)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Err(); err != nil {
		t.Fatalf("scaffolds are not valid: %v", err)
	}
	s, ok := ix.Script("my-job")
	if !ok {
		t.Fatal("my-job not loaded")
	}
	if s.Author != `Ada "the" Lovelace <ada@example.com>` || !s.Created.Equal(now) || !s.Modified.Equal(now) {
		t.Errorf("author/created/modified = %q %v %v", s.Author, s.Created, s.Modified)
	}
	if !strings.Contains(readFile(t, p), "# Typed parameters") {
		t.Error("scaffold has lost its comments")
	}
	if _, ok := ix.Deck("staging"); !ok {
		t.Error("deck staging not loaded")
	}
	if _, err := NewScript(Library{Name: "gone", Root: filepath.Join(root, "nope")}, "x", "", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("NewScript in a missing library: %v, want ErrNotFound", err)
	}
}

func TestTouch(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const ts = "2025-01-02T03:04:05Z"
	tests := []struct {
		name, in, want string
	}{
		{
			name: "plain value, comments kept",
			in:   "# head\nname: a   # the name\nmodified: 2024-01-01T00:00:00Z # last edit\n\nscript: |\n  echo   spaced\n",
			want: "# head\nname: a   # the name\nmodified: " + ts + " # last edit\n\nscript: |\n  echo   spaced\n",
		},
		{
			name: "quoted value",
			in:   "name: a\nmodified: \"2024-01-01T00:00:00Z\"\nscript: x\n",
			want: "name: a\nmodified: " + ts + "\nscript: x\n",
		},
		{
			name: "inserted after created",
			in:   "name: a\ncreated: 2024-01-01T00:00:00Z\nscript: |\n  x\n",
			want: "name: a\ncreated: 2024-01-01T00:00:00Z\nmodified: " + ts + "\nscript: |\n  x\n",
		},
		{
			name: "inserted after name without a final newline",
			in:   "name: a",
			want: "name: a\nmodified: " + ts + "\n",
		},
		{
			name: "flow style falls back to a node round trip",
			in:   "{name: a, script: x}\n",
			want: "{name: a, script: x, modified: \"" + ts + "\"}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "s.yaml")
			if err := os.WriteFile(p, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := Touch(p, now); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, readFile(t, p)); diff != "" {
				t.Errorf("after Touch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.yaml":      "name: a\nimage: shell\ninterpreter: sh\nscriptFile: own.sh\n",
		"own.sh":      "echo a\n",
		"b.yaml":      "name: b\nimage: shell\ninterpreter: sh\nscriptFile: shared.sh\n",
		"c.yaml":      "name: c\nimage: shell\ninterpreter: sh\nscriptFile: shared.sh\n",
		"shared.sh":   "echo shared\n",
		"inline.yaml": script("inline"),
	})
	ix, err := LoadLibrary("t", root)
	if err != nil || ix.Err() != nil {
		t.Fatal(err, ix.Err())
	}
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"a", []string{"a.yaml", "own.sh"}},
		{"b", []string{"b.yaml"}}, // shared.sh is still used by c
		{"inline", []string{"inline.yaml"}},
	} {
		s, _ := ix.Script(tt.name)
		got, err := Remove(ix, s)
		if err != nil {
			t.Fatal(err)
		}
		var rel []string
		for _, p := range got {
			r, _ := filepath.Rel(s.Source.Path[:len(s.Source.Path)-len(s.Source.RelPath)], p)
			rel = append(rel, filepath.ToSlash(r))
		}
		if diff := cmp.Diff(tt.want, rel); diff != "" {
			t.Errorf("Remove(%s) (-want +got):\n%s", tt.name, diff)
		}
	}
	var left []string
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if diff := cmp.Diff([]string{"c.yaml", "shared.sh"}, left); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}
}
