package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// SchemaNode is one node of a decoded JSON Schema.
type SchemaNode = map[string]any

// SchemaDoc walks one kind's JSON Schema (Schema(kind)): `cscript explain`
// and the web editor's completion read field names, types and
// descriptions through it, so both say the same.
type SchemaDoc struct{ Root SchemaNode }

// LoadSchemaDoc decodes the JSON Schema of kind (script, deck, lifecycle,
// values); ok is false for a kind that has none.
func LoadSchemaDoc(kind string) (doc SchemaDoc, ok bool, err error) {
	raw := Schema(kind)
	if raw == nil {
		return SchemaDoc{}, false, nil
	}
	if err := json.Unmarshal(raw, &doc.Root); err != nil {
		return SchemaDoc{}, true, fmt.Errorf("the %s schema: %w", kind, err)
	}
	return doc, true, nil
}

// Resolve follows a node's $ref into the root's $defs.
func (d SchemaDoc) Resolve(node SchemaNode) SchemaNode {
	for node != nil {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		defs, _ := d.Root["$defs"].(SchemaNode)
		node, _ = defs[strings.TrimPrefix(ref, "#/$defs/")].(SchemaNode)
	}
	return node
}

// ObjectOf is the object schema a node stands for: the node, the items of
// a list, or the values of a map (a field path passes through both).
func (d SchemaDoc) ObjectOf(node SchemaNode) SchemaNode {
	node = d.Resolve(node)
	for range 3 {
		if _, ok := node["properties"]; ok {
			return node
		}
		if items, ok := node["items"].(SchemaNode); ok {
			node = d.Resolve(items)
			continue
		}
		if ap, ok := node["additionalProperties"].(SchemaNode); ok {
			node = d.Resolve(ap)
			continue
		}
		break
	}
	return node
}

// Child is the field name of node's object, whether it is required, and
// whether there is such a field.
func (d SchemaDoc) Child(node SchemaNode, name string) (SchemaNode, bool, bool) {
	obj := d.ObjectOf(node)
	props, _ := obj["properties"].(SchemaNode)
	child, ok := props[name].(SchemaNode)
	return child, RequiredFields(obj)[name], ok
}

// RequiredFields is the set of an object node's required fields.
func RequiredFields(obj SchemaNode) map[string]bool {
	req := map[string]bool{}
	list, _ := obj["required"].([]any)
	for _, r := range list {
		if s, ok := r.(string); ok {
			req[s] = true
		}
	}
	return req
}

// FieldNames are the sorted field names of node's object.
func (d SchemaDoc) FieldNames(node SchemaNode) []string {
	props, _ := d.ObjectOf(node)["properties"].(SchemaNode)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Types is the set of a node's JSON types ("string", "array", …).
func Types(node SchemaNode) map[string]bool {
	out := map[string]bool{}
	switch t := node["type"].(type) {
	case string:
		out[t] = true
	case []any:
		for _, x := range t {
			out[fmt.Sprint(x)] = true
		}
	}
	return out
}

// TypeOf names a node's type as kubectl explain does: string, boolean,
// []Object, map[string]integer, the enum's values.
func (d SchemaDoc) TypeOf(node SchemaNode) string {
	node = d.Resolve(node)
	if c, ok := node["const"]; ok {
		return fmt.Sprint(c)
	}
	if e, ok := node["enum"].([]any); ok {
		vals := make([]string, len(e))
		for i, v := range e {
			vals[i] = fmt.Sprint(v)
		}
		return strings.Join(vals, "|")
	}
	var types []string
	switch t := node["type"].(type) {
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
			if items, ok := node["items"].(SchemaNode); ok {
				types[i] = "[]" + d.TypeOf(items)
			}
		case "object":
			if ap, ok := node["additionalProperties"].(SchemaNode); ok {
				types[i] = "map[string]" + d.TypeOf(ap)
			} else if _, ok := node["properties"]; ok {
				types[i] = "Object"
			}
		}
	}
	if len(types) == 0 {
		if _, ok := node["properties"]; ok {
			return "Object"
		}
		return "any"
	}
	return strings.Join(types, " or ")
}

// Describe is a node's description (its own, else its $ref's), "" when
// the schema has none.
func (d SchemaDoc) Describe(node SchemaNode) string {
	if s, ok := node["description"].(string); ok && s != "" {
		return s
	}
	s, _ := d.Resolve(node)["description"].(string)
	return s
}
