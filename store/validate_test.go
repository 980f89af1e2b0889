package store

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestInvalidGolden loads testdata/invalid as one library and compares the
// problems of every YAML file with the file's .golden (one problem per line).
// Every YAML file there must have at least one problem.
func TestInvalidGolden(t *testing.T) {
	const root = "testdata/invalid"
	ix, err := LoadLibrary("invalid", root)
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string][]string{}
	for _, p := range ix.Problems {
		byFile[p.File] = append(byFile[p.File], p.String())
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range byFile {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("problem for a file that is not in the library: %s", f)
		}
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, root+"/"), func(t *testing.T) {
			got := strings.Join(byFile[f], "\n") + "\n"
			if len(byFile[f]) == 0 {
				t.Fatalf("%s has no problems, want at least one", f)
			}
			golden := f + ".golden" // x.yml.golden: x.yaml and x.yml may both exist
			if strings.HasSuffix(f, ".yaml") {
				golden = strings.TrimSuffix(f, ".yaml") + ".golden"
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./store -run TestInvalidGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("problems of %s (-want +got):\n%s", f, diff)
			}
		})
	}
	if len(ix.Scripts) != 0 || len(ix.Decks) != 0 {
		t.Errorf("loaded %d scripts and %d decks from invalid files, want none", len(ix.Scripts), len(ix.Decks))
	}
	var ve *ValidationError
	if !errors.As(ix.Err(), &ve) || len(ve.Problems) != len(ix.Problems) {
		t.Errorf("Err() = %v, want a *ValidationError with all %d problems", ix.Err(), len(ix.Problems))
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{File: "a.yaml", Line: 3, Col: 5, Message: "bad"}
	if got, want := p.String(), "a.yaml:3:5: bad"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	e := &ValidationError{Problems: []Problem{p, {File: "b.yaml", Line: 1, Col: 1, Message: "worse"}}}
	if got, want := e.Error(), "2 problems:\n  a.yaml:3:5: bad\n  b.yaml:1:1: worse"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParamCoerce(t *testing.T) {
	tests := []struct {
		name    string
		param   Param
		in      any
		want    any
		wantErr string
	}{
		{"string default type", Param{}, "x", "x", ""},
		{"string from int", Param{Type: ParamString}, 5432, "5432", ""},
		{"int from string", Param{Type: ParamInt}, " 42", 42, ""},
		{"int from float", Param{Type: ParamInt}, 3.0, 3, ""},
		{"int rejects fraction", Param{Type: ParamInt}, 3.5, nil, "3.5 is not a whole number"},
		{"int rejects text", Param{Type: ParamInt}, "many", nil, `"many" is not a whole number`},
		{"int pattern", Param{Type: ParamInt, Pattern: "[0-9]{2}"}, 7, nil, `"7" does not match the pattern [0-9]{2}`},
		{"bool from string", Param{Type: ParamBool}, "true", true, ""},
		{"bool rejects yes", Param{Type: ParamBool}, "yes", nil, `"yes" is not a bool: use true or false`},
		{"enum ok", Param{Type: ParamEnum, Values: []string{"a", "b"}}, "b", "b", ""},
		{"enum rejects", Param{Type: ParamEnum, Values: []string{"a", "b"}}, "c", nil, `"c" is not one of the allowed values: use one of a, b`},
		{"pattern is anchored", Param{Pattern: "[a-z]+"}, "abc1", nil, `"abc1" does not match`},
		{"pattern alternation is anchored", Param{Pattern: "a|b"}, "ab", nil, `"ab" does not match`},
		{"pattern ok", Param{Pattern: "a|b"}, "b", "b", ""},
		{"bad pattern", Param{Pattern: "a)(b"}, "a", nil, "does not compile"},
		{"file", Param{Type: ParamFile}, "./dump.sql", "./dump.sql", ""},
		{"string rejects map", Param{}, map[string]any{"a": 1}, nil, "must be a text value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.param.Coerce(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Coerce(%v) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Coerce(%v): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Coerce(%v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
