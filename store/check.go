package store

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// CheckScript checks the text of a script definition as the library loader
// does (YAML syntax, fields, values) without a library: the web UI's editor
// checks what is typed with it. file names the file in the problems and
// is the definition's path (its Source.Path). The script is nil when the
// text is not a script definition's mapping. A scriptFile is not read.
func CheckScript(file string, data []byte) (*Script, []Problem) {
	d := newFileDecoder(file)
	root := d.parseDocument(data)
	if root == nil {
		return nil, d.problems
	}
	if hasKey(root, "kind") {
		d.addf(node(root, "kind"), "kind", "this editor edits script definitions: remove kind, or edit the lifecycle definition in your editor and run `cscript validate`")
		return nil, d.problems
	}
	s := &Script{}
	d.decode(root, reflect.ValueOf(s).Elem(), "")
	d.validateScript(root, s)
	s.Source = Source{Path: file, BodyPath: file, Body: s.Script}
	if s.Script != "" {
		bn := node(root, "script")
		s.Source.BodyLine = bn.Line
		if bn.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			s.Source.BodyLine++
		}
	}
	return s, d.problems
}
