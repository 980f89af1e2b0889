package store

import (
	"os"
	"path/filepath"
	"testing"
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
