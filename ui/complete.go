package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/cscript-dev/cscript/store"
)

// The editor's completion comes from the JSON Schemas cscript checks
// files against (store.Schema): for each kind, the tree of fields with
// their descriptions, types and allowed values. The browser fetches it
// once from /write/completion.json; nothing in it is a value of the
// user's (no secrets), only the schema's words.

// complField is one field the editor offers at a position.
type complField struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Type        string   `json:"type"`
	Required    bool     `json:"required,omitempty"`
	Values      []string `json:"values,omitempty"` // enum, const or boolean: the values offered after "name: "
	// Shape is what follows the key: "scalar" (name: value), "object"
	// (a mapping below), "list" (a sequence of mappings below), "scalars"
	// (a sequence of scalars below) or "map" (the user's keys below).
	Shape string `json:"shape"`
	// Fields are the fields of the value's mapping (an object, a list's
	// items); Any those of each value of a map (a key of the user's each).
	Fields []complField `json:"fields,omitempty"`
	Any    []complField `json:"any,omitempty"`
}

// complKind is a kind's completion: the fields at the top level.
type complKind struct {
	Fields []complField `json:"fields"`
}

var completionJSON = sync.OnceValues(func() ([]byte, error) {
	out := map[string]complKind{}
	for _, kind := range store.SchemaKinds {
		k, err := completionOf(store.Schema(kind))
		if err != nil {
			return nil, fmt.Errorf("the %s schema: %w", kind, err)
		}
		out[kind] = k
	}
	return json.Marshal(out)
})

// completionOf is the completion tree of one JSON Schema.
func completionOf(raw []byte) (complKind, error) {
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return complKind{}, err
	}
	w := schemaWalk{root: root}
	return complKind{Fields: w.fields(root, 0)}, nil
}

type schemaWalk struct{ root map[string]any }

// resolve follows $ref into the root's $defs.
func (w schemaWalk) resolve(n map[string]any) map[string]any {
	for n != nil {
		ref, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		defs, _ := w.root["$defs"].(map[string]any)
		n, _ = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
	return n
}

// fields are the properties of an object node, sorted by name.
func (w schemaWalk) fields(n map[string]any, depth int) []complField {
	n = w.resolve(n)
	props, _ := n["properties"].(map[string]any)
	if len(props) == 0 || depth > 8 {
		return nil
	}
	req := map[string]bool{}
	if list, ok := n["required"].([]any); ok {
		for _, r := range list {
			if s, ok := r.(string); ok {
				req[s] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]complField, 0, len(names))
	for _, name := range names {
		p, _ := props[name].(map[string]any)
		out = append(out, w.field(name, p, req[name], depth))
	}
	return out
}

func (w schemaWalk) field(name string, p map[string]any, required bool, depth int) complField {
	r := w.resolve(p)
	f := complField{Name: name, Required: required, Type: w.typeOf(p), Shape: "scalar"}
	if d, ok := p["description"].(string); ok {
		f.Description = d
	} else if d, ok := r["description"].(string); ok {
		f.Description = d
	}
	types := typesOf(r)
	switch {
	case r["const"] != nil:
		f.Values = []string{fmt.Sprint(r["const"])}
	case r["enum"] != nil:
		for _, v := range r["enum"].([]any) {
			f.Values = append(f.Values, fmt.Sprint(v))
		}
	case types["boolean"]:
		f.Values = []string{"true", "false"}
	case types["array"]:
		items, _ := r["items"].(map[string]any)
		if f.Fields = w.fields(items, depth+1); f.Fields != nil {
			f.Shape = "list"
		} else {
			f.Shape = "scalars"
		}
	case types["object"]:
		if f.Fields = w.fields(r, depth+1); f.Fields != nil {
			f.Shape = "object"
		} else {
			f.Shape = "map"
		}
		if ap, ok := r["additionalProperties"].(map[string]any); ok {
			f.Any = w.fields(ap, depth+1)
		}
	}
	return f
}

func typesOf(n map[string]any) map[string]bool {
	out := map[string]bool{}
	switch t := n["type"].(type) {
	case string:
		out[t] = true
	case []any:
		for _, x := range t {
			out[fmt.Sprint(x)] = true
		}
	}
	return out
}

// typeOf names a node's type as `cscript explain` does: string, boolean,
// []Object, map[string]integer, the enum's values.
func (w schemaWalk) typeOf(n map[string]any) string {
	n = w.resolve(n)
	if c, ok := n["const"]; ok {
		return fmt.Sprint(c)
	}
	if e, ok := n["enum"].([]any); ok {
		vals := make([]string, len(e))
		for i, v := range e {
			vals[i] = fmt.Sprint(v)
		}
		return strings.Join(vals, "|")
	}
	var types []string
	switch t := n["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, fmt.Sprint(x))
		}
	}
	for i, t := range types {
		switch t {
		case "array":
			if items, ok := n["items"].(map[string]any); ok {
				types[i] = "[]" + w.typeOf(items)
			}
		case "object":
			if ap, ok := n["additionalProperties"].(map[string]any); ok {
				types[i] = "map[string]" + w.typeOf(ap)
			} else if _, ok := n["properties"]; ok {
				types[i] = "Object"
			}
		}
	}
	if len(types) == 0 {
		if _, ok := n["properties"]; ok {
			return "Object"
		}
		return "any"
	}
	return strings.Join(types, " or ")
}

// completion serves the editor's completion data: every kind's fields.
func (s *Server) completion(w http.ResponseWriter, r *http.Request) {
	b, err := completionJSON()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
