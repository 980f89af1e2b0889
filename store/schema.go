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
