package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An overlay load sees contents that are not on disk: a file replaced, one
// removed, one added; the disk is untouched.
func TestLoadLibraryOverlay(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"a.yaml": "name: a\nimage: debian\ninterpreter: sh\nscript: echo a\n",
		"b.yaml": "name: b\nimage: debian\ninterpreter: sh\nscript: echo b\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ix, err := LoadLibraryWith("l", dir, LoadOptions{CacheDir: t.TempDir(), Overlay: map[string][]byte{
		"a.yaml":     []byte("name: a\nimage: debian\ninterpreter: ruby\nscript: echo a\n"),
		"b.yaml":     nil,
		"sub/c.yaml": []byte("name: c\nimage: debian\ninterpreter: sh\nscript: echo c\n"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range ix.Scripts {
		names = append(names, s.Name+"@"+s.Source.RelPath)
	}
	if got := strings.Join(names, " "); got != "c@sub/c.yaml" {
		t.Errorf("scripts = %q", got)
	}
	if len(ix.Problems) != 1 || ix.Problems[0].File != filepath.Join(dir, "a.yaml") || ix.Problems[0].Line != 3 {
		t.Errorf("problems = %v", ix.Problems)
	}
	ix, err = LoadLibrary("l", dir)
	if err != nil || len(ix.Scripts) != 2 || len(ix.Problems) != 0 {
		t.Errorf("the disk changed: %v %v %v", err, ix.Scripts, ix.Problems)
	}
}

func TestSetFields(t *testing.T) {
	in := "# keep me\nname: hello # the name\nimage: debian\ncreated: 2020-01-01T00:00:00Z\n"
	out, err := SetFields("x.yaml", []byte(in), [][2]string{{"name", "greet"}, {"author", "Ada <a@x>"}, {"created", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	want := "# keep me\nname: greet # the name\nauthor: Ada <a@x>\nimage: debian\ncreated: 2026-01-02T03:04:05Z\n"
	if string(out) != want {
		t.Errorf("SetFields =\n%s\nwant\n%s", out, want)
	}
}
