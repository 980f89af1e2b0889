package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// fileDecoder decodes one YAML file into a Go value by walking its yaml.Node
// tree against the value's type. Unlike yaml.v3's own decoder it keeps going
// after a problem, so a file reports all of its problems at once, each with a
// line and column, and it rejects unknown fields with a spelling suggestion.
type fileDecoder struct {
	file     string
	problems []Problem
	// bad holds the field paths that already have a problem, so semantic
	// checks do not pile a second message onto the same field.
	bad map[string]bool
	// noCache marks a result that must not go into the load cache.
	noCache bool
}

func newFileDecoder(file string) *fileDecoder {
	return &fileDecoder{file: file, bad: map[string]bool{}}
}

// addf records a problem at node n (nil: the start of the file).
func (d *fileDecoder) addf(n *yaml.Node, field, format string, args ...any) {
	p := Problem{File: d.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	} else {
		p.Line, p.Col = 1, 1
	}
	d.problems = append(d.problems, p)
	if field != "" {
		d.bad[field] = true
	}
}

// isBad reports whether field or one of its parents already has a problem.
func (d *fileDecoder) isBad(field string) bool {
	for f := field; f != ""; {
		if d.bad[f] {
			return true
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return false
}

var credentialItemRE = regexp.MustCompile(`^credentials\[\d+\]$`)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument parses data into its single document's root node. It returns
// nil (and records a problem) when the file is not one YAML mapping.
func (d *fileDecoder) parseDocument(data []byte) *yaml.Node {
	if len(bytes.TrimSpace(data)) == 0 {
		d.problems = append(d.problems, Problem{File: d.file, Message: "file is empty: add a definition or delete the file"})
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		d.syntaxProblem(err, data)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.addf(&extra, "", "a file holds one definition but this one has a second YAML document (---): move it to a file of its own")
		return nil
	} else if !errors.Is(err, io.EOF) {
		d.syntaxProblem(err, data)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		d.problems = append(d.problems, Problem{File: d.file, Message: "file is empty: add a definition or delete the file"})
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.addf(root, "", "the file must be a YAML mapping (key: value lines), not %s", describe(root))
		return nil
	}
	return root
}

func (d *fileDecoder) syntaxProblem(err error, data []byte) {
	p := Problem{File: d.file}
	var msg string
	p.Line, msg = YAMLSyntaxError(err, data)
	p.Message = "invalid YAML: " + msg + ": fix the syntax (indentation, a missing ':' or an unclosed quote)"
	d.problems = append(d.problems, p)
}

// TextKeys makes every mapping key in the tree under n a text, as it is
// written, so that a mapping decodes into map[string]any at every level.
// YAML alone reads a key such as 1, 0x10, 1.0 or null as a number or null:
// the mapping then decodes into a map[any]any, and keys written differently
// but equal once made text again (0x10 and 16, 0 and 0.0) would overwrite
// each other. Merge keys (<<) are left as they are; a key that is an alias
// of a scalar is replaced by a text key of the same value. n is changed in
// place, and so are the nodes its aliases refer to.
func TextKeys(n *yaml.Node) { textKeys(n, map[*yaml.Node]bool{}) }

func textKeys(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if n.Kind == yaml.AliasNode {
		textKeys(n.Alias, seen)
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if a := resolveAlias(k); k.Kind == yaml.AliasNode && a != nil && a.Kind == yaml.ScalarNode {
				k = &yaml.Node{Kind: yaml.ScalarNode, Value: a.Value, Line: k.Line, Column: k.Column}
				n.Content[i] = k
			}
			if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
				k.Tag = "!!str"
			}
		}
	}
	for _, c := range n.Content {
		textKeys(c, seen)
	}
}

// yamlParserProblems are the messages of the YAML parser's errors (as
// opposed to its scanner's), whose line yaml.v3 gives counting from 0.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected key",
	"did not find expected node content", "did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "found duplicate %YAML directive", "found duplicate %TAG directive",
	"found incompatible YAML document", "found undefined tag handle",
}

// YAMLSyntaxError is the 1-based line (0 when unknown) and the message of a
// yaml.v3 syntax error in data. yaml.v3 counts the lines of its parser's
// errors from 0 (and leaves out line 0): they are counted from 1 here, and
// a position at the end of the input is on its last line with content.
func YAMLSyntaxError(err error, data []byte) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if !contains(yamlParserProblems, msg) {
		return line, msg
	}
	line++
	last := 0
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			last = i + 1
		}
	}
	if last > 0 && line > last {
		line = last
	}
	return line, msg
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// DescribeNode names what a YAML node is, for messages ("a mapping", "a
// list", "empty", a short value quoted): the words of every YAML
// diagnostic of a library file.
func DescribeNode(n *yaml.Node) string { return describe(n) }

// DerefNode follows aliases to the node they name.
func DerefNode(n *yaml.Node) *yaml.Node { return resolveAlias(n) }

// IsNullNode says whether n is YAML's null (an empty value).
func IsNullNode(n *yaml.Node) bool { return isNull(n) }

// describe names what a node is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "empty"
		}
		if len(n.Value) > 40 || strings.Contains(n.Value, "\n") {
			return "a text"
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

var (
	durationType    = reflect.TypeOf(Duration{})
	timeType        = reflect.TypeOf(time.Time{})
	teamHistoryType = reflect.TypeOf(TeamHistory{})
)

func joinField(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// decode sets v from n, recording a problem for every mismatch.
func (d *fileDecoder) decode(n *yaml.Node, v reflect.Value, field string) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	switch v.Type() {
	case durationType:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.addf(n, field, "%s must be a duration such as \"90s\" or \"10m\", not %s", field, describe(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.addf(n, field, "%s %q is not a duration: use a value such as \"90s\", \"10m\" or \"1h30m\"", field, n.Value)
			return
		}
		if dur < 0 {
			d.addf(n, field, "%s %q must not be negative: use a positive duration, or leave it out for no limit", field, n.Value)
			return
		}
		v.Set(reflect.ValueOf(Duration{dur}))
		return
	case timeType:
		if n.Kind != yaml.ScalarNode {
			d.addf(n, field, "%s must be an RFC 3339 time such as 2024-05-01T12:00:00Z, not %s", field, describe(n))
			return
		}
		t, err := time.Parse(time.RFC3339, n.Value)
		if err != nil {
			d.addf(n, field, "%s %q is not an RFC 3339 time: use a value such as 2024-05-01T12:00:00Z", field, n.Value)
			return
		}
		v.Set(reflect.ValueOf(t))
		return
	case teamHistoryType:
		if n.Kind == yaml.ScalarNode {
			if n.Value != "required" {
				d.addf(n, field, "%s must be a mapping such as {keep: 20, required: true}, or the word required, not %s", field, describe(n))
				return
			}
			v.Set(reflect.ValueOf(TeamHistory{Required: true}))
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		before := len(d.problems)
		d.decode(n, nv.Elem(), field)
		if len(d.problems) == before {
			v.Set(nv)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, field)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.addf(n, field, "%s must be a list (lines starting with \"- \"), not %s", field, describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.addf(n, field, "%s must be a mapping (key: value lines), not %s", field, describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolveAlias(n.Content[i]), n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.addf(k, field, "keys of %s must be plain names, not %s", field, describe(k))
				continue
			}
			sub := joinField(field, k.Value)
			if prev, dup := seen[k.Value]; dup {
				d.addf(k, sub, "%s is set twice (first at line %d): keep one", sub, prev.Line)
				continue
			}
			seen[k.Value] = k
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, sub)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.addf(n, field, "%s must be a text value, not %s", field, describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := parseBool(n)
		if !ok {
			d.addf(n, field, "%s must be true or false, not %s", field, describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := parseInt(n)
		if !ok || v.OverflowInt(i) {
			d.addf(n, field, "%s must be a whole number, not %s", field, describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Interface:
		var x any
		TextKeys(n)
		if err := n.Decode(&x); err != nil {
			d.addf(n, field, "%s cannot be read: %v", field, err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.addf(n, field, "%s has a type cscript cannot read (%s)", field, v.Type())
	}
}

func parseBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, false
	}
	return b, true
}

func parseInt(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	var i int64
	if err := n.Decode(&i); err != nil {
		return 0, false
	}
	return i, true
}

// yamlFields lists a struct type's fields by their yaml key, in declaration order.
func yamlFields(t reflect.Type) (keys []string, index map[string]int) {
	index = map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, name)
		index[name] = i
	}
	return keys, index
}

func (d *fileDecoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) {
	what := field
	if what == "" {
		what = "the definition"
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n, field, "%s must be a mapping (key: value lines), not %s", what, describe(n))
		return
	}
	keys, index := yamlFields(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.addf(k, field, "keys of %s must be plain names, not %s", what, describe(k))
			continue
		}
		sub := joinField(field, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.addf(k, sub, "%s is set twice (first at line %d): keep one", sub, prev.Line)
			continue
		}
		seen[k.Value] = k
		fi, ok := index[k.Value]
		if !ok {
			d.unknownField(k, field, k.Value, keys)
			continue
		}
		d.decode(val, v.Field(fi), sub)
	}
}

func (d *fileDecoder) unknownField(k *yaml.Node, parent, name string, keys []string) {
	where := "in " + parent
	if parent == "" {
		where = "at the top level"
	}
	if name == "value" && credentialItemRE.MatchString(parent) {
		// The one unknown field that is a security problem gets its own message.
		d.addf(k, joinField(parent, name), "a credential never holds its value in the library: remove value and set secret: {name, key}, fromEnv, fromFile or fromCommand")
		d.bad[parent] = true
		return
	}
	msg := fmt.Sprintf("unknown field %q %s", name, where)
	if s := suggest(name, keys); len(s) > 0 {
		msg += fmt.Sprintf(": did you mean %q?", s[0])
	} else {
		msg += ": remove it; known fields are " + strings.Join(keys, ", ")
	}
	d.addf(k, joinField(parent, name), "%s", msg)
}

// node finds the node at path below root: string elements are mapping keys,
// int elements list indexes. keyNode returns the key instead of the value for
// a final string element. It returns the deepest node found, so a problem
// about a missing field points at its parent.
func node(root *yaml.Node, path ...any) *yaml.Node {
	return lookup(root, false, path...)
}

func keyNode(root *yaml.Node, path ...any) *yaml.Node {
	return lookup(root, true, path...)
}

func lookup(root *yaml.Node, wantKey bool, path ...any) *yaml.Node {
	cur := resolveAlias(root)
	for pi, p := range path {
		if cur == nil {
			return root
		}
		switch p := p.(type) {
		case string:
			if cur.Kind != yaml.MappingNode {
				return cur
			}
			found := false
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == p {
					if wantKey && pi == len(path)-1 {
						return cur.Content[i]
					}
					cur = resolveAlias(cur.Content[i+1])
					found = true
					break
				}
			}
			if !found {
				return cur
			}
		case int:
			if cur.Kind != yaml.SequenceNode || p >= len(cur.Content) {
				return cur
			}
			cur = resolveAlias(cur.Content[p])
		}
	}
	return cur
}

// hasKey reports whether mapping n has the key.
func hasKey(n *yaml.Node, key string) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}
