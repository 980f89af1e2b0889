package commands

import (
	"encoding/json"
	"fmt"
	"io"
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

// explain prints what path (KIND.FIELD…) is, from the kind's JSON Schema.
func explain(w io.Writer, path string) error {
	parts := strings.Split(path, ".")
	kind := parts[0]
	doc, ok, err := store.LoadSchemaDoc(kind)
	if err != nil {
		return err
	}
	if !ok {
		return usageErrorf("explain: %q is no kind: the kinds are %s", kind, strings.Join(store.SchemaKinds, ", "))
	}
	root := doc.Root
	node, required, where := root, false, kind
	for i, seg := range parts[1:] {
		seg = strings.TrimSuffix(seg, "[]")
		// kubectl's habit: script.spec.exclusive (a cscript file has no spec).
		if _, _, isField := doc.Child(root, seg); i == 0 && seg == "spec" && !isField {
			continue
		}
		child, req, ok := doc.Child(node, seg)
		if !ok {
			fields := doc.FieldNames(node)
			msg := fmt.Sprintf("explain: %s has no field %q", where, seg)
			if len(fields) > 0 {
				msg += ": its fields are " + strings.Join(fields, ", ")
				if best := closest(seg, fields); best != "" {
					msg += fmt.Sprintf(" (did you mean %s.%s?)", where, best)
				}
			} else {
				msg += fmt.Sprintf(": it is %s", doc.TypeOf(node))
			}
			return usageErrorf("%s", msg)
		}
		node, required, where = child, req, where+"."+seg
	}
	fmt.Fprintf(w, "KIND:     %s\n", kind)
	if where != kind {
		fmt.Fprintf(w, "FIELD:    %s <%s>%s\n", strings.TrimPrefix(where, kind+"."), doc.TypeOf(node), map[bool]string{true: " -required-"}[required])
	}
	fmt.Fprintf(w, "\nDESCRIPTION:\n%s\n", indent(describe(doc, node), "    "))
	if d := defaultOf(node); d != "" {
		fmt.Fprintf(w, "\nDEFAULT:  %s\n", d)
	}
	if fields := doc.FieldNames(node); len(fields) > 0 {
		obj := doc.ObjectOf(node)
		props, _ := obj["properties"].(store.SchemaNode)
		req := store.RequiredFields(obj)
		fmt.Fprintf(w, "\nFIELDS:\n")
		for _, f := range fields {
			p, _ := props[f].(store.SchemaNode)
			fmt.Fprintf(w, "  %s\t<%s>%s\n%s\n\n", f, doc.TypeOf(p), map[bool]string{true: " -required-"}[req[f]], indent(describe(doc, p), "    "))
		}
	}
	return nil
}

func describe(doc store.SchemaDoc, node store.SchemaNode) string {
	if d := doc.Describe(node); d != "" {
		return d
	}
	return "(no description)"
}

func defaultOf(node store.SchemaNode) string {
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
