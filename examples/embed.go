// Package examples holds the example library that `cscript init` copies into a new library.
package examples

import "embed"

// FS is the example library: scripts, decks, values and the library config.
//
//go:embed *.yaml decks
var FS embed.FS
