// Package examples holds the example library that `cscript init` copies into a new library.
package examples

import "embed"

// FS is the example library: scripts, decks, values, the library config and
// lifecycle definitions.
//
//go:embed *.yaml decks lifecycle
var FS embed.FS
