package store

import "embed"

//go:embed schema/*.json
var schemaFS embed.FS

// ScriptSchema returns the JSON Schema (draft 2020-12) of a script definition,
// for editors (e.g. a yaml-language-server "$schema" modeline).
func ScriptSchema() []byte { return mustSchema("schema/script.schema.json") }

// DeckSchema returns the JSON Schema (draft 2020-12) of a deck.
func DeckSchema() []byte { return mustSchema("schema/deck.schema.json") }

func mustSchema(name string) []byte {
	b, err := schemaFS.ReadFile(name)
	if err != nil {
		// The files are embedded at build time; a missing one is a build mistake.
		panic(err)
	}
	return b
}

// LifecycleSchema returns the JSON Schema (draft 2020-12) of a lifecycle
// definition (kind: Lifecycle).
func LifecycleSchema() []byte { return mustSchema("schema/lifecycle.schema.json") }

// ValuesSchema returns the JSON Schema (draft 2020-12) of a library's values.yaml.
func ValuesSchema() []byte { return mustSchema("schema/values.schema.json") }

// SchemaKinds are the kinds of file that have a schema, for `cscript schema KIND`.
var SchemaKinds = []string{"script", "deck", "lifecycle", "values"}

// Schema returns the JSON Schema of kind (one of SchemaKinds), or nil.
func Schema(kind string) []byte {
	switch kind {
	case "script":
		return ScriptSchema()
	case "deck":
		return DeckSchema()
	case "lifecycle":
		return LifecycleSchema()
	case "values":
		return ValuesSchema()
	}
	return nil
}

// SchemaURL is where editors fetch the schema of kind: the file in the
// repository, which is also the schema's $id.
func SchemaURL(kind string) string {
	return "https://raw.githubusercontent.com/cscript-dev/cscript/main/store/schema/" + kind + ".schema.json"
}

// SchemaModeline is the first line of a scaffold of kind: the
// yaml-language-server comment that gives editors completion and checks.
func SchemaModeline(kind string) string {
	return "# yaml-language-server: $schema=" + SchemaURL(kind)
}
