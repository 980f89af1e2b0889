// Package templates merges values, types and validates script params, and
// renders script definitions with text/template and sprig, hermetically.
package templates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

// Limits that keep a hostile --set expression from exhausting memory or the stack.
const (
	maxSetIndex = 65536 // the same limit as Helm's strvals
	maxSetDepth = 128
)

// SetError is a --set (or --set-string, --set-file, --set-json) expression
// that cannot be parsed.
type SetError struct {
	Flag    string // "--set", "--set-string", "--set-file" or "--set-json"
	Expr    string // the whole expression as given
	Message string // what is wrong and what to do
}

func (e *SetError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Flag, e.Expr, e.Message)
}

// Kind is fail.Invalid.
func (e *SetError) Kind() fail.Kind { return fail.Invalid }

// ParseSet parses one --set expression into dst, with Helm's semantics and typing:
//
//   - a.b=c sets a nested key; name[0]=x and name[0].k=x set list elements
//     (missing elements become null); name={a,b} sets a whole list;
//   - a=1,b=2 makes several assignments; a backslash makes the next character
//     literal (\, \. \= \[ and \\ for a backslash);
//   - a value is a bool for true/false (any case), an int64 for a plain integer
//     without a leading zero (and "0"), nil for null (any case), else a string.
//     A nil value is kept in dst: Merge then deletes the key from lower layers.
//
// dst is changed in place, even when an error is returned part way through.
func ParseSet(dst map[string]any, expr string) error {
	p := &setParser{flag: "--set", expr: expr, rs: []rune(expr)}
	return p.parse(dst)
}

// ParseSetString is ParseSet for --set-string: every value is a string, never
// typed ("true", "007" and "null" stay strings).
func ParseSetString(dst map[string]any, expr string) error {
	p := &setParser{flag: "--set-string", expr: expr, rs: []rune(expr), mode: setString}
	return p.parse(dst)
}

// ParseSetFile is ParseSet for --set-file (Helm's): each value is the path
// of a file, and the key gets the file's contents as a string, read with
// readFile. key=path[,key=path…]; a backslash makes a comma in a path literal.
func ParseSetFile(dst map[string]any, expr string, readFile func(path string) ([]byte, error)) error {
	p := &setParser{flag: "--set-file", expr: expr, rs: []rune(expr), mode: setFile, readFile: readFile}
	return p.parse(dst)
}

// ParseSetJSON is ParseSet for --set-json (Helm's): each value is JSON, and
// the key gets it as decoded (an object is a map, an array a list; a whole
// number is an int64, another number a float64). key=JSON[,key=JSON…].
func ParseSetJSON(dst map[string]any, expr string) error {
	p := &setParser{flag: "--set-json", expr: expr, rs: []rune(expr), mode: setJSON}
	return p.parse(dst)
}

// How a setParser takes a value.
const (
	setTyped  = iota // --set: typed as Helm types
	setString        // --set-string: always a string
	setFile          // --set-file: the contents of the named file
	setJSON          // --set-json: JSON
)

type setParser struct {
	flag     string
	expr     string
	rs       []rune
	pos      int
	mode     int
	readFile func(string) ([]byte, error)
	depth    int
	start    int // where the current assignment starts, for messages
}

func (p *setParser) errorf(format string, args ...any) error {
	return &SetError{Flag: p.flag, Expr: p.expr, Message: fmt.Sprintf(format, args...)}
}

func (p *setParser) parse(dst map[string]any) error {
	if dst == nil {
		return p.errorf("no map to set values in (a bug in the caller)")
	}
	for p.pos < len(p.rs) {
		p.start = p.pos
		if err := p.mapKey(dst); err != nil {
			return err
		}
	}
	return nil
}

// readUntil reads up to (and consumes) the first unescaped rune in stops.
// found is false at the end of the expression.
func (p *setParser) readUntil(stops string) (s string, stop rune, found bool, err error) {
	var b strings.Builder
	for p.pos < len(p.rs) {
		r := p.rs[p.pos]
		p.pos++
		if r == '\\' {
			if p.pos >= len(p.rs) {
				return "", 0, false, p.errorf(`ends with a lone backslash; write \\ for a literal backslash`)
			}
			b.WriteRune(p.rs[p.pos])
			p.pos++
			continue
		}
		if strings.ContainsRune(stops, r) {
			return b.String(), r, true, nil
		}
		b.WriteRune(r)
	}
	return b.String(), 0, false, nil
}

func (p *setParser) enter() error {
	p.depth++
	if p.depth > maxSetDepth {
		return p.errorf("nests keys more than %d levels deep", maxSetDepth)
	}
	return nil
}

// mapKey parses "key…" (one assignment, or the rest of one) into data.
func (p *setParser) mapKey(data map[string]any) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	k, stop, found, err := p.readUntil("=[.,")
	if err != nil {
		return err
	}
	if !found || stop == ',' {
		if k == "" {
			if !found {
				return nil // a trailing comma, as Helm allows
			}
			return p.errorf("has an empty assignment between commas; write NAME=VALUE[,NAME=VALUE…]")
		}
		full := strings.TrimSuffix(string(p.rs[p.start:p.pos]), ",")
		return p.errorf("key %q has no value; write %s=VALUE", full, full)
	}
	if k == "" {
		return p.errorf("has an empty key before %q; write NAME=VALUE, with a backslash before a literal . [ , or =", string(stop))
	}
	switch stop {
	case '=':
		v, err := p.value()
		if err != nil {
			return err
		}
		data[k] = v
		return nil
	case '.':
		inner, ok := data[k].(map[string]any)
		if !ok {
			inner = map[string]any{}
			data[k] = inner
		}
		if p.pos >= len(p.rs) {
			return p.errorf("key %q ends with a dot; write %s.NAME=VALUE", k+".", k)
		}
		return p.mapKey(inner)
	default: // '['
		list, _ := data[k].([]any)
		list, err := p.listIndex(k, list)
		if err != nil {
			return err
		}
		data[k] = list
		return nil
	}
}

// listIndex parses "N]…" after a '[' and returns the list with the element set.
func (p *setParser) listIndex(name string, list []any) ([]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	s, _, found, err := p.readUntil("]")
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, p.errorf("list index of %q has no closing ]; write %s[0]=VALUE", name, name)
	}
	i, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return nil, p.errorf("list index %q of %q is not a number; write %s[0]=VALUE", s, name, name)
	}
	if i < 0 {
		return nil, p.errorf("list index %d of %q is negative; indexes start at 0", i, name)
	}
	if i > maxSetIndex {
		return nil, p.errorf("list index %d of %q is greater than the maximum of %d", i, name, maxSetIndex)
	}
	if p.pos >= len(p.rs) {
		return nil, p.errorf("%s[%d] has no value; write %s[%d]=VALUE", name, i, name, i)
	}
	r := p.rs[p.pos]
	p.pos++
	var cur any
	if i < len(list) {
		cur = list[i]
	}
	var v any
	switch r {
	case '=':
		if v, err = p.value(); err != nil {
			return nil, err
		}
	case '.':
		inner, ok := cur.(map[string]any)
		if !ok {
			inner = map[string]any{}
		}
		if err := p.mapKey(inner); err != nil {
			return nil, err
		}
		v = inner
	case '[':
		inner, _ := cur.([]any)
		if v, err = p.listIndex(fmt.Sprintf("%s[%d]", name, i), inner); err != nil {
			return nil, err
		}
	default:
		return nil, p.errorf("unexpected %q after %s[%d]; write %s[%d]=VALUE or %s[%d].KEY=VALUE", string(r), name, i, name, i, name, i)
	}
	for len(list) <= i {
		list = append(list, nil)
	}
	list[i] = v
	return list, nil
}

// value parses what follows '=' up to the next unescaped ',' (consumed).
func (p *setParser) value() (any, error) {
	switch p.mode {
	case setJSON:
		return p.jsonValue()
	case setFile:
		path, _, _, err := p.readUntil(",")
		if err != nil {
			return nil, err
		}
		if path == "" {
			return nil, p.errorf("has no file name after =; write KEY=PATH")
		}
		data, err := p.readFile(path)
		if err != nil {
			return nil, p.errorf("cannot read %s: %v", path, errorsCause(err))
		}
		return string(data), nil
	}
	if p.pos < len(p.rs) && p.rs[p.pos] == '{' {
		p.pos++
		list := []any{}
		for {
			s, stop, found, err := p.readUntil(",}")
			if err != nil {
				return nil, err
			}
			if !found {
				return nil, p.errorf("list value has no closing }; write NAME={a,b,c}")
			}
			if stop == '}' && s == "" && len(list) == 0 {
				break // {}
			}
			list = append(list, p.typed(s))
			if stop == '}' {
				break
			}
		}
		if p.pos < len(p.rs) {
			if p.rs[p.pos] != ',' {
				return nil, p.errorf("a list value must end at a comma or the end, not %q", string(p.rs[p.pos]))
			}
			p.pos++
		}
		return list, nil
	}
	s, _, _, err := p.readUntil(",")
	if err != nil {
		return nil, err
	}
	return p.typed(s), nil
}

func (p *setParser) typed(s string) any {
	if p.mode == setString {
		return s
	}
	return typedValue(s)
}

// jsonValue decodes one JSON value after '=' and consumes the ',' after it.
func (p *setParser) jsonValue() (any, error) {
	rest := string(p.rs[p.pos:])
	dec := json.NewDecoder(strings.NewReader(rest))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.errorf("has no JSON value after =; write KEY=JSON, e.g. a='{\"b\":1}' or a='[1,2]'")
		}
		return nil, p.errorf("the value is not JSON: %v", err)
	}
	p.pos += len([]rune(rest[:dec.InputOffset()]))
	for p.pos < len(p.rs) && unicode.IsSpace(p.rs[p.pos]) {
		p.pos++
	}
	if p.pos < len(p.rs) {
		if p.rs[p.pos] != ',' {
			return nil, p.errorf("a JSON value must end at a comma or the end, not %q", string(p.rs[p.pos]))
		}
		p.pos++
	}
	return jsonNumbers(v), nil
}

// jsonNumbers turns the json.Numbers in v into int64 (whole numbers) or float64.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = jsonNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = jsonNumbers(x)
		}
	}
	return v
}

// errorsCause drops the *fs.PathError wrapping of a file error (the path
// is in the message already).
func errorsCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// typedValue types a --set value exactly as Helm's strvals does.
func typedValue(s string) any {
	switch {
	case strings.EqualFold(s, "true"):
		return true
	case strings.EqualFold(s, "false"):
		return false
	case strings.EqualFold(s, "null"):
		return nil
	case s == "0":
		return int64(0)
	}
	if s != "" && s[0] != '0' {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
	}
	return s
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ReadValuesFile reads a YAML values file (a -f file): a mapping at the top.
// An empty file is an empty map. Errors name path:line and are of kind
// fail.Invalid, like a file that cannot be read.
func ReadValuesFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail.Errorf(fail.Invalid, "values file: %w", err)
	}
	return ParseValues(path, data)
}

// ParseValues parses the contents of a values file; name is used in errors,
// which are of kind fail.Invalid.
func ParseValues(name string, data []byte) (map[string]any, error) {
	m, err := parseValues(name, data)
	return m, fail.Wrap(fail.Invalid, err)
}

func parseValues(name string, data []byte) (map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]any{}, nil
		}
		return nil, syntaxError(name, err, data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: a values file holds one YAML document; remove the second one or split it into two -f files", name, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, err, data)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return map[string]any{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: a values file must be a mapping of names to values (like `db: {host: x}`), not a %s", name, root.Line, nodeKind(root))
	}
	var m map[string]any
	store.TextKeys(root)
	if err := root.Decode(&m); err != nil {
		return nil, yamlError(name, err)
	}
	out, _ := normalize(m).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	default:
		return "document"
	}
}

// syntaxError names name:line of a YAML syntax error in data.
func syntaxError(name string, err error, data []byte) error {
	line, msg := store.YAMLSyntaxError(err, data)
	if line == 0 {
		return fmt.Errorf("%s: %s", name, msg)
	}
	return fmt.Errorf("%s:%d: %s", name, line, msg)
}

func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var msgs []string
		for _, e := range te.Errors {
			msgs = append(msgs, yamlLine(name, e))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return errors.New(yamlLine(name, err.Error()))
}

func yamlLine(name, msg string) string {
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s: %s", name, m[1], m[2])
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			return fmt.Sprintf("%s:%s: %s", name, n, after)
		}
	}
	return fmt.Sprintf("%s: %s", name, strings.TrimPrefix(msg, "yaml: "))
}

// Merge deep-merges layers into a new map, later layers winning. Maps are
// merged key by key; anything else (lists included) is replaced whole. A nil
// value in a later layer deletes the key (Helm's `--set key=null`). The inputs
// are never changed and share nothing with the result. Nested
// map[any]any values (from YAML with non-string keys) become map[string]any.
func Merge(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		mergeInto(out, l)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		v = normalize(v)
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
			m := map[string]any{}
			mergeInto(m, sm) // drops nested nils, as Helm does
			dst[k] = m
			continue
		}
		dst[k] = v
	}
}

// normalize returns a deep copy of v with map[any]any turned into map[string]any.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = normalize(x)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = normalize(x)
		}
		return l
	case []string:
		return append([]string(nil), t...)
	default:
		return v
	}
}

// Layers merges values in cscript's precedence, lowest first: library values <
// deck values < -f files (in order) < --set. Param defaults rank lowest of all:
// ResolveParams applies a param's default only when the merged map has no
// value for it at the top-level key of the param's name.
func Layers(libValues, deckValues map[string]any, files []map[string]any, sets map[string]any) map[string]any {
	all := make([]map[string]any, 0, len(files)+3)
	all = append(all, libValues, deckValues)
	all = append(all, files...)
	all = append(all, sets)
	return Merge(all...)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
