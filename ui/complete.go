package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
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
		k, err := completionOf(kind)
		if err != nil {
			return nil, err
		}
		out[kind] = k
	}
	return json.Marshal(out)
})

// completionOf is the completion tree of one kind's JSON Schema, read
// through store.SchemaDoc (as `cscript explain` reads it).
func completionOf(kind string) (complKind, error) {
	doc, _, err := store.LoadSchemaDoc(kind)
	if err != nil {
		return complKind{}, err
	}
	return complKind{Fields: fieldsOf(doc, doc.Root, 0)}, nil
}

// fieldsOf are the properties of an object node, sorted by name.
func fieldsOf(doc store.SchemaDoc, n store.SchemaNode, depth int) []complField {
	n = doc.Resolve(n)
	props, _ := n["properties"].(store.SchemaNode)
	if len(props) == 0 || depth > 8 {
		return nil
	}
	req := store.RequiredFields(n)
	names := doc.FieldNames(n)
	out := make([]complField, 0, len(names))
	for _, name := range names {
		p, _ := props[name].(store.SchemaNode)
		out = append(out, fieldOf(doc, name, p, req[name], depth))
	}
	return out
}

func fieldOf(doc store.SchemaDoc, name string, p store.SchemaNode, required bool, depth int) complField {
	r := doc.Resolve(p)
	f := complField{Name: name, Required: required, Type: doc.TypeOf(p), Shape: "scalar", Description: doc.Describe(p)}
	types := store.Types(r)
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
		items, _ := r["items"].(store.SchemaNode)
		if f.Fields = fieldsOf(doc, items, depth+1); f.Fields != nil {
			f.Shape = "list"
		} else {
			f.Shape = "scalars"
		}
	case types["object"]:
		if f.Fields = fieldsOf(doc, r, depth+1); f.Fields != nil {
			f.Shape = "object"
		} else {
			f.Shape = "map"
		}
		if ap, ok := r["additionalProperties"].(store.SchemaNode); ok {
			f.Any = fieldsOf(doc, ap, depth+1)
		}
	}
	return f
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
