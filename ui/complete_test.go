package ui

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/store"
)

// schemaFact is what the raw schema says of one field path.
type schemaFact struct {
	Description string
	Values      []string // enum or const
}

// rawFields walks a raw JSON Schema through properties, items,
// additionalProperties and $ref: every field path (a.b, a list's items
// add nothing, a map's values add ".*") with what the schema says of it.
func rawFields(root, n map[string]any, path string, out map[string]schemaFact, depth int) {
	if depth > 12 || n == nil {
		return
	}
	if ref, ok := n["$ref"].(string); ok {
		defs, _ := root["$defs"].(map[string]any)
		def, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		rawFields(root, def, path, out, depth+1)
	}
	if props, ok := n["properties"].(map[string]any); ok {
		for name, v := range props {
			p, _ := v.(map[string]any)
			fp := strings.TrimPrefix(path+"."+name, ".")
			f := schemaFact{}
			for _, m := range []map[string]any{p, deref(root, p)} {
				if d, ok := m["description"].(string); ok && f.Description == "" {
					f.Description = d
				}
				if e, ok := m["enum"].([]any); ok && f.Values == nil {
					for _, x := range e {
						b, _ := json.Marshal(x)
						f.Values = append(f.Values, strings.Trim(string(b), `"`))
					}
				}
				if c, ok := m["const"].(string); ok && f.Values == nil {
					f.Values = []string{c}
				}
			}
			out[fp] = f
			rawFields(root, p, fp, out, depth+1)
		}
	}
	if items, ok := n["items"].(map[string]any); ok {
		rawFields(root, items, path, out, depth+1)
	}
	if ap, ok := n["additionalProperties"].(map[string]any); ok {
		rawFields(root, ap, path+".*", out, depth+1)
	}
}

func deref(root, n map[string]any) map[string]any {
	if ref, ok := n["$ref"].(string); ok {
		defs, _ := root["$defs"].(map[string]any)
		d, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		return d
	}
	return n
}

// allPropertyNames is every key of every "properties" anywhere in the
// schema, $defs included: a definition no field reaches would be missed.
func allPropertyNames(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if props, ok := c.(map[string]any); ok && k == "properties" {
				for name := range props {
					out[name] = true
				}
			}
			allPropertyNames(c, out)
		}
	case []any:
		for _, c := range x {
			allPropertyNames(c, out)
		}
	}
}

// treeFields is the completion tree's field paths, as rawFields names them.
func treeFields(fs []complField, path string, out map[string]complField) {
	for _, f := range fs {
		fp := strings.TrimPrefix(path+"."+f.Name, ".")
		out[fp] = f
		treeFields(f.Fields, fp, out)
		treeFields(f.Any, fp+".*", out)
	}
}

// TestCompletionCoversSchema: the editor's completion data has every field
// of every kind's schema at its place, with the schema's description and
// its enum values; nothing else.
func TestCompletionCoversSchema(t *testing.T) {
	b, err := completionJSON()
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]complKind
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, kind := range store.SchemaKinds {
		var root map[string]any
		if err := json.Unmarshal(store.Schema(kind), &root); err != nil {
			t.Fatal(err)
		}
		want := map[string]schemaFact{}
		rawFields(root, root, "", want, 0)
		got := map[string]complField{}
		treeFields(data[kind].Fields, "", got)
		names := map[string]bool{}
		for p := range got {
			names[p[strings.LastIndex(p, ".")+1:]] = true
		}
		all := map[string]bool{}
		allPropertyNames(root, all)
		for name := range all {
			if !names[name] {
				t.Errorf("%s: the schema's field %q is offered nowhere", kind, name)
			}
		}
		paths := make([]string, 0, len(want))
		for p := range want {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			w := want[p]
			g, ok := got[p]
			if !ok {
				t.Errorf("%s: %s is not offered", kind, p)
				continue
			}
			if g.Description != w.Description {
				t.Errorf("%s: %s: description %q, the schema says %q", kind, p, g.Description, w.Description)
			}
			if w.Values != nil && !reflect.DeepEqual(g.Values, w.Values) {
				t.Errorf("%s: %s: values %q, the schema's enum is %q", kind, p, g.Values, w.Values)
			}
			total++
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("%s: %s is offered but is no field of the schema", kind, p)
			}
		}
	}
	// The script schema alone has more than 30 fields: an empty walk is a bug.
	if total < 30 {
		t.Errorf("only %d fields compared: the walk found too little", total)
	}
	// Spot checks a reader can follow.
	top := map[string]complField{}
	treeFields(data["script"].Fields, "", top)
	if f := top["params"]; f.Shape != "list" || f.Description == "" {
		t.Errorf("script params: %+v, want a list of mappings with a description", f)
	}
	if f := top["params.type"]; !reflect.DeepEqual(f.Values, []string{"string", "int", "bool", "file", "enum"}) {
		t.Errorf("script params.type offers %q", f.Values)
	}
	if f := top["files.upload.to"]; f.Name != "to" {
		t.Errorf("script files.upload items: no field to")
	}
}

// TestCompletionServed: the endpoint needs the session, answers JSON with
// the strict CSP, and holds only the schemas' words.
func TestCompletionServed(t *testing.T) {
	testHome(t)
	srv, base := testServer(t)
	resp, err := http.Get(base + "/write/completion.json")
	if err != nil {
		t.Fatal(err)
	}
	if body(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the session: %s, want 401", resp.Status)
	}
	c := session(t, srv)
	resp, err = c.Get(base + "/write/completion.json")
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /write/completion.json: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Content-Security-Policy") != csp {
		t.Errorf("CSP %q", resp.Header.Get("Content-Security-Policy"))
	}
	var data map[string]complKind
	if err := json.Unmarshal([]byte(b), &data); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	for _, kind := range store.SchemaKinds {
		if _, ok := data[kind]; !ok {
			t.Errorf("no completion for %s", kind)
		}
	}
}
