package store

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func decodeSchema(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return m
}

// resolveRef follows a local "$ref": "#/$defs/x".
func resolveRef(t *testing.T, root, s map[string]any) map[string]any {
	t.Helper()
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		t.Fatalf("unsupported $ref %q", ref)
	}
	def, ok := root["$defs"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("$ref %q does not resolve", ref)
	}
	return def
}

// compareStruct checks that the schema object s has exactly the yaml keys of
// struct type typ as properties, recursing into nested structs and lists of them.
func compareStruct(t *testing.T, path string, typ reflect.Type, root, s map[string]any) {
	t.Helper()
	s = resolveRef(t, root, s)
	props, _ := s["properties"].(map[string]any)
	if s["additionalProperties"] != false {
		t.Errorf("%s: schema must set additionalProperties: false, as the loader rejects unknown fields", path)
	}
	keys, index := yamlFields(typ)
	var schemaKeys []string
	for k := range props {
		schemaKeys = append(schemaKeys, k)
	}
	sort.Strings(keys)
	sort.Strings(schemaKeys)
	if diff := cmp.Diff(keys, schemaKeys); diff != "" {
		t.Errorf("%s: yaml fields of %s (-) and schema properties (+) differ:\n%s", path, typ, diff)
	}
	for _, k := range keys {
		ps, ok := props[k].(map[string]any)
		if !ok {
			continue
		}
		ft := typ.Field(index[k]).Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == timeType || ft == durationType:
		case ft.Kind() == reflect.Struct:
			compareStruct(t, path+"."+k, ft, root, ps)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			items, _ := resolveRef(t, root, ps)["items"].(map[string]any)
			if items == nil {
				t.Errorf("%s.%s: schema has no items for a list of %s", path, k, ft.Elem())
				continue
			}
			compareStruct(t, path+"."+k+"[]", ft.Elem(), root, items)
		}
	}
}

func TestSchemaMatchesTypes(t *testing.T) {
	script := decodeSchema(t, ScriptSchema())
	compareStruct(t, "script", reflect.TypeOf(Script{}), script, script)
	deck := decodeSchema(t, DeckSchema())
	compareStruct(t, "deck", reflect.TypeOf(Deck{}), deck, deck)

	// Enumerations in the schema match the Go lists.
	interp := script["properties"].(map[string]any)["interpreter"].(map[string]any)["enum"]
	if diff := cmp.Diff(toStrings(interp), Interpreters()); diff != "" {
		t.Errorf("interpreter enum (-schema +Go):\n%s", diff)
	}
	ptype := script["$defs"].(map[string]any)["param"].(map[string]any)["properties"].(map[string]any)["type"].(map[string]any)["enum"]
	if diff := cmp.Diff(toStrings(ptype), ParamTypes()); diff != "" {
		t.Errorf("param type enum (-schema +Go):\n%s", diff)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func compileSchema(t *testing.T, data []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	id := doc.(map[string]any)["$id"].(string)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return sch
}

// yamlAsJSON reads a YAML file as the JSON value an editor's validator sees.
func yamlAsJSON(t *testing.T, path string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(readFile(t, path)), &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestSchemaAcceptsValidFiles validates every script and deck of the example
// library and of testdata/valid against the schemas.
func TestSchemaAcceptsValidFiles(t *testing.T) {
	scriptSchema := compileSchema(t, ScriptSchema())
	deckSchema := compileSchema(t, DeckSchema())
	n := 0
	for _, root := range []string{"../examples", "testdata/valid"} {
		ix, err := LoadLibrary("x", root)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ix.Scripts {
			n++
			if err := scriptSchema.Validate(yamlAsJSON(t, s.Source.Path)); err != nil {
				t.Errorf("%s: %v", s.Source.Path, err)
			}
		}
		for _, d := range ix.Decks {
			n++
			if err := deckSchema.Validate(yamlAsJSON(t, d.Source.Path)); err != nil {
				t.Errorf("%s: %v", d.Source.Path, err)
			}
		}
	}
	if n < 10 {
		t.Errorf("validated only %d files", n)
	}
}

// TestSchemaRejectsInvalidFiles makes sure the schema is not vacuous: files
// the loader rejects for reasons a schema can express fail it too.
func TestSchemaRejectsInvalidFiles(t *testing.T) {
	scriptSchema := compileSchema(t, ScriptSchema())
	deckSchema := compileSchema(t, DeckSchema())
	for _, f := range []string{
		"unknown-field.yaml", "bad-interpreter.yaml", "bad-name.yaml", "missing-required.yaml", "both-bodies.yaml",
		"params.yaml", "credentials.yaml", "env.yaml", "files.yaml", "types.yaml", "timeout.yaml",
	} {
		if err := scriptSchema.Validate(yamlAsJSON(t, filepath.Join("testdata/invalid", f))); err == nil {
			t.Errorf("%s passes the script schema, want it rejected", f)
		}
	}
	for _, f := range []string{"bad-deck.yaml", "team-keep.yaml", "team-unknown.yaml", "team-word.yaml"} {
		if err := deckSchema.Validate(yamlAsJSON(t, filepath.Join("testdata/invalid/decks", f))); err == nil {
			t.Errorf("decks/%s passes the deck schema, want it rejected", f)
		}
	}
}

// TestSchemaAcceptsScaffolds validates what NewScript and NewDeck write.
func TestSchemaAcceptsScaffolds(t *testing.T) {
	root := t.TempDir()
	lib := Library{Name: "t", Root: root}
	sp, err := NewScript(lib, "fresh", "Ada", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dp, err := NewDeck(lib, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if err := compileSchema(t, ScriptSchema()).Validate(yamlAsJSON(t, sp)); err != nil {
		t.Errorf("scaffolded script: %v", err)
	}
	if err := compileSchema(t, DeckSchema()).Validate(yamlAsJSON(t, dp)); err != nil {
		t.Errorf("scaffolded deck: %v", err)
	}
	if _, err := os.Stat(sp); err != nil {
		t.Fatal(err)
	}
}

// The example lifecycle definitions and values.yaml pass their schemas; a
// lifecycle definition with a misspelt event or field does not.
func TestLifecycleAndValuesSchemas(t *testing.T) {
	lc := compileSchema(t, LifecycleSchema())
	vs := compileSchema(t, ValuesSchema())
	ix, err := LoadLibrary("x", "../examples")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range ix.Other {
		n++
		if err := lc.Validate(yamlAsJSON(t, o.Path)); err != nil {
			t.Errorf("%s: %v", o.Path, err)
		}
	}
	if n < 2 {
		t.Errorf("validated %d lifecycle definitions", n)
	}
	if err := vs.Validate(yamlAsJSON(t, "../examples/values.yaml")); err != nil {
		t.Errorf("values.yaml: %v", err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"event.yaml": "kind: Lifecycle\nname: x\nscripts: {creat: a}\n",
		"field.yaml": "kind: Lifecycle\nname: x\nscripts: {create: a}\nplanz: {}\n",
		"kind.yaml":  "kind: Lifecycl\nname: x\nscripts: {create: a}\n",
		"limit.yaml": "kind: Lifecycle\nname: x\nscripts: {create: a}\nplans: {s: {limits: {cpu: many}}}\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := lc.Validate(yamlAsJSON(t, p)); err == nil {
			t.Errorf("%s passes the lifecycle schema", name)
		}
	}
}
