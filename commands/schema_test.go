package commands

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/store"
)

// walkSchema calls f for every property of every object in node (through
// $defs, list items and map values), with its path.
func walkSchema(doc store.SchemaDoc, node store.SchemaNode, path string, seen map[string]bool, f func(path string, prop store.SchemaNode)) {
	if ref, ok := node["$ref"].(string); ok {
		if seen[ref] {
			return
		}
		seen[ref] = true
	}
	node = doc.Resolve(node)
	props, _ := node["properties"].(store.SchemaNode)
	for name, p := range props {
		prop, _ := p.(store.SchemaNode)
		f(path+"."+name, prop)
		walkSchema(doc, prop, path+"."+name, seen, f)
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if sub, ok := node[k].(store.SchemaNode); ok {
			walkSchema(doc, sub, path, seen, f)
		}
	}
}

// Every field of every schema has a description, and explain shows it.
func TestEverySchemaFieldHasADescription(t *testing.T) {
	fields := 0
	for _, kind := range store.SchemaKinds {
		doc, _, err := store.LoadSchemaDoc(kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if d, _ := doc.Root["description"].(string); d == "" {
			t.Errorf("the %s schema has no description", kind)
		}
		walkSchema(doc, doc.Root, kind, map[string]bool{}, func(path string, prop store.SchemaNode) {
			fields++
			if describe(doc, prop) == "(no description)" {
				t.Errorf("%s has no description", path)
				return
			}
			var out strings.Builder
			if err := explain(&out, path); err != nil || !strings.Contains(out.String(), describe(doc, prop)) {
				t.Errorf("explain %s: %v\n%s", path, err, out.String())
			}
		})
	}
	if fields < 60 {
		t.Errorf("walked %d fields: the walk misses some", fields)
	}
}

func TestExplain(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string][]string{
		"script.spec.exclusive":          {"FIELD:    exclusive <boolean>", "never overlap (a Lease)"},
		"script.runAsNonRoot":            {"FIELD:    runAsNonRoot <boolean>", "non-root user"},
		"script.serviceAccount":          {"FIELD:    serviceAccount <string>", "service account the Pod runs as"},
		"script.credentials.fromCommand": {"FIELD:    credentials.fromCommand <string>", "password manager"},
		"script.interpreter":             {"<bash|sh|python>"},
		"deck":                           {"KIND:     deck", "FIELDS:", "namespace\t<string>", "teamHistory\t<Object or string>"},
		"deck.teamHistory.keep":          {"<integer>", "DEFAULT:  100"},
		"lifecycle.scripts":              {"create\t<string>", "pull\t<string>"},
		"lifecycle.plans.limits":         {"<map[string]integer>"},
		"script.name":                    {"<string> -required-"},
	} {
		r := e.mustRun("explain", path)
		for _, w := range want {
			if !strings.Contains(r.out, w) {
				t.Errorf("explain %s lacks %q:\n%s", path, w, r.out)
			}
		}
	}
	for path, want := range map[string]string{
		"script.exclusiv": `script has no field "exclusiv"`,
		"pod.spec":        `"pod" is no kind: the kinds are script, deck, lifecycle, values`,
		"script.name.x":   `script.name has no field "x": it is string`,
	} {
		if r := e.run("", "explain", path); r.code != ExitUsage || !strings.Contains(r.err, want) {
			t.Errorf("explain %s: exit %d\n%s", path, r.code, r.err)
		}
	}
	if r := e.run("", "explain", "script.exclusiv"); !strings.Contains(r.err, "did you mean script.exclusive?") {
		t.Errorf("no suggestion: %s", r.err)
	}
}

// cscript schema KIND prints the schema whose $id the scaffolds' modeline names.
func TestSchemaCommand(t *testing.T) {
	e := newEnv(t)
	for _, kind := range store.SchemaKinds {
		r := e.mustRun("schema", kind)
		var s struct {
			ID     string `json:"$id"`
			Schema string `json:"$schema"`
		}
		if err := json.Unmarshal([]byte(r.out), &s); err != nil || s.ID != store.SchemaURL(kind) || !strings.Contains(s.Schema, "json-schema.org") {
			t.Errorf("schema %s: %v, $id %q\n%.200s", kind, err, s.ID, r.out)
		}
	}
	if r := e.run("", "schema", "pod"); r.code != ExitUsage || !strings.Contains(r.err, "script, deck, lifecycle, values") {
		t.Errorf("schema pod: exit %d\n%s", r.code, r.err)
	}
}

// new, deck new and init's examples start with the yaml-language-server
// line naming the schema of their kind.
func TestScaffoldsCarrySchemaModeline(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.mustRun("new", "backup")
	e.mustRun("deck", "new", "prod")
	files := 0
	err := filepath.WalkDir(e.lib(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yaml") || d.Name() == "cscript.yaml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		kind := "script"
		switch {
		case filepath.Base(filepath.Dir(p)) == store.DecksDir:
			kind = "deck"
		case d.Name() == "values.yaml":
			kind = "values"
		case strings.Contains(string(b), "\nkind: Lifecycle"):
			kind = "lifecycle"
		}
		files++
		if first, _, _ := strings.Cut(string(b), "\n"); first != store.SchemaModeline(kind) {
			t.Errorf("%s (a %s) starts with %q", p, kind, first)
		}
		return nil
	})
	if err != nil || files < 10 {
		t.Fatalf("%d files, %v", files, err)
	}
}
