package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"
)

// FuzzLoadLibrary feeds arbitrary bytes to the loader as a script file and a
// deck: it must never panic, and every problem must name its file and say
// what is wrong.
func FuzzLoadLibrary(f *testing.F) {
	seeds := []string{
		"name: hello\nimage: shell\ninterpreter: sh\nscript: echo hi\n",
		"name: x\nimage: shell\ninterpreter: ruby\nscript: 1\nparams:\n  - {name: a, type: enum, values: [b], default: c}\n",
		"name: [broken\n",
		"kind: Lifecycle\nname: l\n",
		"&a [*a, *a]\n",
		"name: y\nimage: '{{ .Values.x }}'\ninterpreter: bash\nscriptFile: ../../etc/passwd\n",
		"---\n---\n",
		"name: z\ntimeout: -5s\nresources: {limits: {memory: lots}}\ncredentials: [{name: 1X, fromEnv: A, fromFile: b}]\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), []byte("namespace: ns\nvalues: {a: 1}\n"))
	}
	f.Fuzz(func(t *testing.T, script, deck []byte) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, DecksDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "fuzz.yaml"), script, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, DecksDir, "fuzz.yaml"), deck, 0o644); err != nil {
			t.Fatal(err)
		}
		ix, err := LoadLibrary("fuzz", root)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		for _, p := range ix.Problems {
			if p.File == "" || p.Message == "" {
				t.Fatalf("a problem without a file or a message: %+v", p)
			}
		}
		for _, s := range ix.Scripts {
			if !ValidName(s.Name) {
				t.Fatalf("an invalid name was loaded as a valid script: %q", s.Name)
			}
		}
	})
}

// FuzzLibraryValues feeds arbitrary bytes to the loader as a library's
// values.yaml. It must never panic; every problem names values.yaml; values
// loaded without a problem are never nil and load to the same values again
// once encoded back to YAML (after a first round, which may change types
// YAML cannot tell apart once written, such as a float -0 that comes back
// as the whole number 0).
func FuzzLibraryValues(f *testing.F) {
	for _, seed := range []string{
		"greeting: hello\ndb:\n  host: postgres\n  port: 5432\n",
		"", "~\n", "- a\n", "a: 1\n---\nb: 2\n", "a: [unclosed\n", "a: 1\na: 2\n",
		"base: &b {x: 1}\nderived: {<<: *b, y: 2}\n",
		"1: int key\n? [a]\n: list key\nn: null\n",
		"big: 18446744073709551615\nf: 1e400\nnan: .nan\nz: -0.0\nb: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		once, problems := loadValues(t, data)
		file := filepath.Join("values", LibraryValuesFile)
		for _, p := range problems {
			if !strings.HasSuffix(p.File, file) || p.Message == "" {
				t.Fatalf("problem %+v: want it about %s, with a message", p, file)
			}
		}
		if len(problems) > 0 {
			return
		}
		if once == nil {
			t.Fatal("values loaded without a problem are nil")
		}
		for i := range 2 {
			out, err := yaml.Marshal(once)
			if err != nil {
				t.Fatalf("encode %v: %v", once, err)
			}
			again, problems := loadValues(t, out)
			if len(problems) > 0 {
				t.Fatalf("the encoded values have problems: %v\n%s", problems, out)
			}
			if i > 0 {
				if diff := cmp.Diff(once, again, cmpopts.EquateNaNs()); diff != "" {
					t.Fatalf("values change each time they are encoded and loaded (-before +after):\n%s", diff)
				}
			}
			once = again
		}
	})
}

// loadValues loads a library whose values.yaml holds data.
func loadValues(t *testing.T, data []byte) (map[string]any, []Problem) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "values")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, LibraryValuesFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := LoadLibrary("fuzz", root)
	if err != nil {
		t.Fatalf("LoadLibrary: %v", err)
	}
	return ix.Values, ix.Problems
}
