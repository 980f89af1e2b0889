package templates

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// definition is a script definition file; the line numbers matter to the tests.
const definition = `name: db-dump
description: Dump a database
image: "{{ .Values.registry }}/pg:16"
interpreter: sh
serviceAccount: '{{ .Values.sa }}'
env:
  PGHOST: "{{ .Values.db.host }}"
  NOTE: |
    first line
    {{ .Values.note }}
files:
  upload:
    - from: "{{ .Params.dump }}"
      to: /tmp/dump.sql.gz
  download:
    - from: /tmp/out
      to: "out-{{ .Run.ID }}.txt"
params:
  - name: dbname
    required: true
  - name: dump
  - name: password
    secret: true
script: |
  echo {{ .Params.dbname | shellquote }} on {{ .Deck.Name }} by {{ .Run.User }}
  pg_dump -h "$PGHOST" {{ .Script.Name }}
`

const bodyLine = 25 // the line of "echo …" in definition

// loadDefinition writes definition (with replacements) to a temp dir and
// decodes it as the store would.
func loadDefinition(t *testing.T, replace ...string) *store.Script {
	t.Helper()
	text := strings.NewReplacer(replace...).Replace(definition)
	path := filepath.Join(t.TempDir(), "db-dump.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var s store.Script
	if err := yaml.Unmarshal([]byte(text), &s); err != nil {
		t.Fatal(err)
	}
	s.Source = store.Source{Library: "org", Path: path, RelPath: "db-dump.yaml", Body: s.Script, BodyPath: path, BodyLine: bodyLine}
	return &s
}

func goodValues() map[string]any {
	return map[string]any{
		"registry": "docker.io/library",
		"sa":       "backup",
		"db":       map[string]any{"host": "db.internal"},
		"note":     "$(not run)",
		"dbname":   "app's db",
		"password": "Hunter2",
	}
}

func TestRender(t *testing.T) {
	s := loadDefinition(t)
	before := copyScript(s)
	values := goodValues()
	got, err := RenderScript(s, nil, values, DeckData{Name: "staging", Namespace: "ns"}, RunData{ID: "r1", User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	wantBody := "echo 'app'\\''s db' on staging by ada\npg_dump -h \"$PGHOST\" db-dump\n"
	if got.Body != wantBody {
		t.Errorf("body = %q, want %q", got.Body, wantBody)
	}
	want := copyScript(s)
	want.Image = "docker.io/library/pg:16"
	want.ServiceAccount = "backup"
	want.Env = map[string]string{"PGHOST": "db.internal", "NOTE": "first line\n$(not run)\n"}
	want.Files.Upload[0].From = ""
	want.Files.Download[0].To = "out-r1.txt"
	want.Script, want.Source.Body = wantBody, wantBody
	if diff := cmp.Diff(want, got.Script); diff != "" {
		t.Errorf("rendered script (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Hunter2"}, got.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"dbname": "app's db", "dump": "", "password": "Hunter2"}, got.Params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	// The definition itself is not changed, and the result shares no maps with it.
	got.Script.Env["PGHOST"] = "changed"
	got.Script.Files.Upload[0].To = "changed"
	if diff := cmp.Diff(before, s); diff != "" {
		t.Errorf("Render changed its input (-before +after):\n%s", diff)
	}
}

func TestRenderPresets(t *testing.T) {
	presets := map[string]string{"postgres": "postgres:16-alpine", "shell": "alpine:3.20"}
	tests := []struct{ image, want string }{
		{"postgres", "postgres:16-alpine"},
		{"{{ .Values.flavour }}", "alpine:3.20"},
		{"example.com/own:1", "example.com/own:1"},
	}
	for _, tt := range tests {
		s := &store.Script{Name: "x", Image: tt.image, Source: store.Source{Body: "true"}}
		got, err := Render(s, presets, Data{Values: map[string]any{"flavour": "shell"}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Script.Image != tt.want {
			t.Errorf("image %q → %q, want %q", tt.image, got.Script.Image, tt.want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		replace []string       // applied to definition
		drop    []string       // value keys removed
		set     map[string]any // values added
		field   string
		line    int
		key     string
		message string // substring
	}{
		{name: "missing nested key", drop: []string{"db"}, field: "env.PGHOST", line: 7, key: ".Values.db",
			message: "missing key .Values.db: set it with --set db=VALUE or in the deck's values"},
		{name: "missing leaf key", set: map[string]any{"db": map[string]any{}}, field: "env.PGHOST", line: 7, key: ".Values.db.host",
			message: "set it with --set db.host=VALUE"},
		{name: "body line offset", replace: []string{`"$PGHOST"`, "{{ .Values.pghost }}"},
			field: "script", line: bodyLine + 1, key: ".Values.pghost"},
		{name: "image", drop: []string{"registry"}, field: "image", line: 3, key: ".Values.registry"},
		{name: "single-quoted field", drop: []string{"sa"}, field: "serviceAccount", line: 5, key: ".Values.sa"},
		{name: "block scalar env", drop: []string{"note"}, field: "env.NOTE", line: 10, key: ".Values.note"},
		{name: "undeclared param", replace: []string{".Params.dump", ".Params.dumpfile"}, field: "files.upload[0].from", line: 13,
			key: ".Params.dumpfile", message: `the script declares no param "dumpfile"`},
		{name: "env is not defined", replace: []string{`{{ .Run.ID }}`, "{{ env `HOME` }}"}, field: "files.download[0].to", line: 17,
			message: `function "env" not defined (templates are hermetic`},
		{name: "parse error in body", replace: []string{"{{ .Script.Name }}", "{{ .Script.Name"}, field: "script", line: bodyLine + 2,
			message: "unclosed action started at $PATH:" + strconv.Itoa(bodyLine+1)},
		{name: "secret redacted", replace: []string{"{{ .Script.Name }}", `{{ fail (printf "bad password %s" .Params.password) }}`},
			field: "script", line: bodyLine + 1, message: "bad password ***"},
		{name: "shellquote of a map", replace: []string{"{{ .Script.Name }}", `{{ shellquote .Values.db }}`},
			field: "script", line: bodyLine + 1, message: "shellquote cannot quote a map"},
		{name: "runaway output", replace: []string{"{{ .Script.Name }}", `{{ repeat 20000000 "x" }}`},
			field: "script", message: "renders to more than 16777216 bytes"},
		{name: "empty image", replace: []string{`"{{ .Values.registry }}/pg:16"`, `"{{ .Values.empty }}"`}, set: map[string]any{"empty": ""},
			field: "image", line: 3, message: "renders to an empty image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loadDefinition(t, tt.replace...)
			values := goodValues()
			for _, k := range tt.drop {
				delete(values, k)
			}
			for k, v := range tt.set {
				values[k] = v
			}
			_, err := RenderScript(s, nil, values, DeckData{Name: "d"}, RunData{ID: "r"})
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *TemplateError", err)
			}
			if te.File != s.Source.Path || te.Field != tt.field || te.Line != tt.line || te.Key != tt.key {
				t.Errorf("TemplateError = {File %q Line %d Field %q Key %q}, want {%q %d %q %q}\n%v",
					te.File, te.Line, te.Field, te.Key, s.Source.Path, tt.line, tt.field, tt.key, err)
			}
			if msg := strings.ReplaceAll(tt.message, "$PATH", s.Source.Path); !strings.Contains(te.Message, msg) {
				t.Errorf("message %q lacks %q", te.Message, tt.message)
			}
			prefix := s.Source.Path + ":"
			if tt.line > 0 {
				prefix = s.Source.Path + ":" + strconv.Itoa(tt.line) + ": " + tt.field + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Error() = %q, want prefix %q", err, prefix)
			}
			if strings.Contains(err.Error(), "Hunter2") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestRenderScriptFileLines(t *testing.T) {
	dir := t.TempDir()
	bodyPath := filepath.Join(dir, "restore.sh")
	body := "#!/bin/sh\nset -eu\n\npsql -h {{ .Values.db.host }}\n"
	if err := os.WriteFile(bodyPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &store.Script{Name: "restore", Image: "alpine", ScriptFile: "restore.sh",
		Source: store.Source{Path: filepath.Join(dir, "restore.yaml"), Body: body, BodyPath: bodyPath, BodyLine: 1}}
	_, err := Render(s, nil, Data{Values: map[string]any{"db": map[string]any{"port": 1}}})
	want := bodyPath + ":4: scriptFile: missing key .Values.db.host: set it with --set db.host=VALUE or in the deck's values"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v\nwant prefix %s", err, want)
	}
}

func TestRenderCollectsAllErrors(t *testing.T) {
	s := loadDefinition(t)
	values := goodValues()
	delete(values, "sa")
	delete(values, "registry")
	_, err := RenderScript(s, nil, values, DeckData{}, RunData{})
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var te *TemplateError
		if errors.As(e, &te) {
			fields = append(fields, te.Field)
		}
	}
	if diff := cmp.Diff([]string{"image", "serviceAccount"}, fields); diff != "" {
		t.Errorf("fields with errors (-want +got):\n%s", diff)
	}
}

// TestErrorMessagesGolden pins the exact text users see; run with -update to rewrite.
func TestErrorMessagesGolden(t *testing.T) {
	var out strings.Builder
	add := func(name string, err error, dir string) {
		msg := "<nil>"
		if err != nil {
			msg = strings.ReplaceAll(err.Error(), dir, "$DIR")
		}
		out.WriteString("## " + name + "\n" + msg + "\n\n")
	}
	s := loadDefinition(t, `"$PGHOST"`, "{{ .Values.pg.host }}")
	dir := filepath.Dir(s.Source.Path)
	values := goodValues()
	_, err := RenderScript(s, nil, values, DeckData{}, RunData{})
	add("missing key in body", err, dir)
	delete(values, "dbname")
	values["password"] = ""
	_, err = RenderScript(s, nil, values, DeckData{}, RunData{})
	add("missing required param", err, dir)
	_, _, err = ResolveParams(&store.Script{Params: []store.Param{
		{Name: "jobs", Type: store.ParamInt}, {Name: "mode", Type: store.ParamEnum, Values: []string{"full", "schema"}},
		{Name: "token", Secret: true, Pattern: "[a-f0-9]{8}"}, {Name: "db", Required: true},
	}}, map[string]any{"jobs": "lots", "mode": "all", "token": "not-hex"})
	add("invalid params", err, dir)
	add("--set", ParseSet(map[string]any{}, "db.host"), dir)
	add("--set list", ParseSet(map[string]any{}, "hosts[x]=a"), dir)
	_, err = ParseValues(filepath.Join(dir, "values.yaml"), []byte("- a\n"))
	add("values file", err, dir)

	golden := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("error messages (-want +got):\n%s", diff)
	}
}

func TestRenderData(t *testing.T) {
	s := &store.Script{Name: "hello", Description: "says hi", Image: "alpine", Source: store.Source{Library: "org",
		Body: "{{ .Deck.Name }} {{ .Deck.Namespace }} {{ .Deck.Context }} {{ .Script.Name }} {{ .Script.Description }} {{ .Script.Library }} {{ .Run.ID }} {{ .Run.User }} {{ .Params.who }} {{ .Values.x }}"}}
	got, err := Render(s, nil, Data{
		Params: map[string]any{"who": "w"}, Values: map[string]any{"x": int64(1)},
		Deck:   DeckData{Name: "dk", Namespace: "ns", Context: "ctx"},
		Script: ScriptData{Name: s.Name, Description: s.Description, Library: "org"},
		Run:    RunData{ID: "id", User: "u"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "dk ns ctx hello says hi org id u w 1"; got.Body != want {
		t.Errorf("body = %q, want %q", got.Body, want)
	}
}

// TestDocExample renders the example in docs/templates.md and checks the
// result is a valid shell script, so the documentation stays true.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "templates.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Examples\n\n```yaml\n")
	if !ok {
		t.Fatal("docs/templates.md has no yaml example under ## Examples")
	}
	example, _, _ := strings.Cut(rest, "```")
	var s store.Script
	if err := yaml.Unmarshal([]byte(example), &s); err != nil {
		t.Fatal(err)
	}
	s.Source = store.Source{Path: "templates.md", Body: s.Script, BodyPath: "templates.md", BodyLine: 1}
	for _, values := range []map[string]any{
		{"dbname": "app", "db": map[string]any{"host": "pg"}},
		{"dbname": "app", "db": map[string]any{"host": "pg", "port": int64(6432)}, "tables": []any{"a b", "$(c)"}},
	} {
		r, err := RenderScript(&s, map[string]string{"postgres": "postgres:16"}, values, DeckData{Name: "staging", Namespace: "ns"}, RunData{ID: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Script.Image != "postgres:16" || r.Script.Env["PGHOST"] != "pg" {
			t.Errorf("image %q, PGHOST %q", r.Script.Image, r.Script.Env["PGHOST"])
		}
		if want := "staging-app-r1.sql.gz"; r.Script.Files.Download[0].To != want {
			t.Errorf("download to %q, want %q", r.Script.Files.Download[0].To, want)
		}
		cmd := exec.Command("/bin/sh", "-n", "-c", r.Body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sh -n of the rendered example: %v\n%s\n%s", err, out, r.Body)
		}
	}
}
