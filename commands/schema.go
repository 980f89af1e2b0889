package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

func (a *app) schemaCommand() *cli.Command {
	return &cli.Command{
		Name:      "schema",
		Usage:     "print the JSON Schema of a script, deck, lifecycle definition or values.yaml (for editors and CI)",
		ArgsUsage: strings.Join(store.SchemaKinds, "|"),
		Description: "Editors with the YAML language server read a file's schema from its first line:\n" +
			"   " + store.SchemaModeline("script") + "\n" +
			"new, deck new and init write that line; cscript schema prints the schema this binary checks against.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || store.Schema(c.Args().First()) == nil {
				return usageErrorf("schema takes one kind: %s", strings.Join(store.SchemaKinds, ", "))
			}
			_, err := a.io.Out.Write(store.Schema(c.Args().First()))
			return err
		},
	}
}

func (a *app) explainCommand() *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "describe a field of a script, deck, lifecycle definition or values.yaml, as kubectl explain does",
		ArgsUsage: "KIND[.FIELD[.FIELD…]]",
		Description: "Examples:\n" +
			"   cscript explain script                      the fields of a script\n" +
			"   cscript explain script.exclusive            one field (script.spec.exclusive works too)\n" +
			"   cscript explain script.credentials.fromCommand\n" +
			"   cscript explain deck.teamHistory.keep\n" +
			"   cscript explain lifecycle.plans.limits",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("explain takes one field path, such as script.exclusive (kinds: %s)", strings.Join(store.SchemaKinds, ", "))
			}
			return explain(a.io.Out, c.Args().First())
		},
	}
}

// schemaNode is one node of a JSON Schema, decoded.
type schemaNode = map[string]any

// explain prints what path (KIND.FIELD…) is, from the kind's JSON Schema.
func explain(w io.Writer, path string) error {
	parts := strings.Split(path, ".")
	kind := parts[0]
	raw := store.Schema(kind)
	if raw == nil {
		return usageErrorf("explain: %q is no kind: the kinds are %s", kind, strings.Join(store.SchemaKinds, ", "))
	}
	var root schemaNode
	if err := json.Unmarshal(raw, &root); err != nil {
		return err
	}
	node, required, where := root, false, kind
	for i, seg := range parts[1:] {
		seg = strings.TrimSuffix(seg, "[]")
		// kubectl's habit: script.spec.exclusive (a cscript file has no spec).
		if _, _, isField := schemaChild(root, root, seg); i == 0 && seg == "spec" && !isField {
			continue
		}
		child, req, ok := schemaChild(root, node, seg)
		if !ok {
			fields := propertyNames(root, node)
			msg := fmt.Sprintf("explain: %s has no field %q", where, seg)
			if len(fields) > 0 {
				msg += ": its fields are " + strings.Join(fields, ", ")
				if best := closest(seg, fields); best != "" {
					msg += fmt.Sprintf(" (did you mean %s.%s?)", where, best)
				}
			} else {
				msg += fmt.Sprintf(": it is %s", typeOf(root, node))
			}
			return usageErrorf("%s", msg)
		}
		node, required, where = child, req, where+"."+seg
	}
	fmt.Fprintf(w, "KIND:     %s\n", kind)
	if where != kind {
		fmt.Fprintf(w, "FIELD:    %s <%s>%s\n", strings.TrimPrefix(where, kind+"."), typeOf(root, node), map[bool]string{true: " -required-"}[required])
	}
	fmt.Fprintf(w, "\nDESCRIPTION:\n%s\n", indent(describe(root, node), "    "))
	if d := defaultOf(node); d != "" {
		fmt.Fprintf(w, "\nDEFAULT:  %s\n", d)
	}
	if fields := propertyNames(root, node); len(fields) > 0 {
		obj := objectOf(root, node)
		props, _ := obj["properties"].(schemaNode)
		req := requiredSet(obj)
		fmt.Fprintf(w, "\nFIELDS:\n")
		for _, f := range fields {
			p, _ := props[f].(schemaNode)
			fmt.Fprintf(w, "  %s\t<%s>%s\n%s\n\n", f, typeOf(root, p), map[bool]string{true: " -required-"}[req[f]], indent(describe(root, p), "    "))
		}
	}
	return nil
}

// resolve follows a node's $ref into root's $defs.
func resolve(root, node schemaNode) schemaNode {
	for node != nil {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		defs, _ := root["$defs"].(schemaNode)
		node, _ = defs[strings.TrimPrefix(ref, "#/$defs/")].(schemaNode)
	}
	return node
}

// objectOf is the object schema a node stands for: the node, the items of
// a list, or the values of a map (a field path passes through both).
func objectOf(root, node schemaNode) schemaNode {
	node = resolve(root, node)
	for range 3 {
		if _, ok := node["properties"]; ok {
			return node
		}
		if items, ok := node["items"].(schemaNode); ok {
			node = resolve(root, items)
			continue
		}
		if ap, ok := node["additionalProperties"].(schemaNode); ok {
			node = resolve(root, ap)
			continue
		}
		break
	}
	return node
}

func schemaChild(root, node schemaNode, name string) (schemaNode, bool, bool) {
	obj := objectOf(root, node)
	props, _ := obj["properties"].(schemaNode)
	child, ok := props[name].(schemaNode)
	return child, requiredSet(obj)[name], ok
}

func requiredSet(obj schemaNode) map[string]bool {
	req := map[string]bool{}
	list, _ := obj["required"].([]any)
	for _, r := range list {
		if s, ok := r.(string); ok {
			req[s] = true
		}
	}
	return req
}

func propertyNames(root, node schemaNode) []string {
	props, _ := objectOf(root, node)["properties"].(schemaNode)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// typeOf names a node's type as kubectl explain does: string, boolean,
// []Object, map[string]integer, enum values.
func typeOf(root, node schemaNode) string {
	node = resolve(root, node)
	if c, ok := node["const"]; ok {
		return fmt.Sprintf("%v", c)
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
			if items, ok := node["items"].(schemaNode); ok {
				types[i] = "[]" + typeOf(root, items)
			}
		case "object":
			switch ap := node["additionalProperties"].(type) {
			case schemaNode:
				types[i] = "map[string]" + typeOf(root, ap)
			default:
				if _, ok := node["properties"]; ok {
					types[i] = "Object"
				}
			}
		}
	}
	if len(types) == 0 {
		return "any"
	}
	return strings.Join(types, " or ")
}

func describe(root, node schemaNode) string {
	r := resolve(root, node)
	if d, ok := node["description"].(string); ok && d != "" {
		return d
	}
	if d, ok := r["description"].(string); ok && d != "" {
		return d
	}
	return "(no description)"
}

func defaultOf(node schemaNode) string {
	d, ok := node["default"]
	if !ok {
		return ""
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func closest(word string, names []string) string {
	best, bestD := "", len(word)/2+2
	for _, n := range names {
		if d := store.EditDistance(strings.ToLower(word), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}
