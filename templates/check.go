package templates

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template/parse"

	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/store"
)

// builtinFuncs are text/template's own functions.
var builtinFuncs = []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"}

// dataFields are the fields of the template data (Data) and of its structs.
var dataFields = map[string][]string{
	"":       {"Params", "Values", "Deck", "Script", "Run"},
	"Deck":   {"Name", "Namespace", "Context"},
	"Script": {"Name", "Description", "Library"},
	"Run":    {"ID", "User"},
}

// Check looks at the templates of s without rendering them (no values, no
// deck) and returns every problem at its position in its file: a template
// that does not parse, a function that does not exist, a .Params.NAME that
// s does not declare, a field that is not template data (.Parms, .Deck.Nme).
// root is the library root as it was given, so that problems name files as
// the library's other problems do.
func Check(s *store.Script, root string) []store.Problem {
	var ps []store.Problem
	funcs := FuncMap()
	params := map[string]bool{}
	for _, p := range s.Params {
		params[p.Name] = true
	}
	for _, f := range templateFields(s, root) {
		trees, err := parseTemplate(f.text)
		if err != nil {
			line, col, msg := parseErrorAt(f.text, err)
			ps = append(ps, f.problem(line, col, "the template does not parse: "+msg))
			continue
		}
		for _, name := range sortedKeys(trees) {
			walkTemplate(trees[name], name == "main", func(n parse.Node, rootDot bool) {
				line, col := nodeAt(f.text, n)
				switch n := n.(type) {
				case *parse.IdentifierNode:
					if _, ok := funcs[n.Ident]; ok || contains(builtinFuncs, n.Ident) {
						return
					}
					ps = append(ps, f.problem(line, col, unknownFunc(n.Ident, funcs)))
				case *parse.FieldNode:
					if rootDot {
						if msg := checkChain(n.Ident, params); msg != "" {
							ps = append(ps, f.problem(line, col, msg))
						}
					}
				case *parse.VariableNode:
					if len(n.Ident) > 1 && n.Ident[0] == "$" && (name == "main") {
						if msg := checkChain(n.Ident[1:], params); msg != "" {
							ps = append(ps, f.problem(line, col, msg))
						}
					}
				}
			})
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return ps
}

// checkChain checks a field chain read from the data root (.A.B…).
func checkChain(chain []string, params map[string]bool) string {
	top := chain[0]
	if !contains(dataFields[""], top) {
		return fmt.Sprintf(".%s is not template data: templates see .Params, .Values, .Deck, .Script and .Run", top)
	}
	if len(chain) < 2 {
		return ""
	}
	switch top {
	case "Params":
		if !params[chain[1]] {
			return fmt.Sprintf(".Params.%s: the script declares no param %q: declare it under params, or read .Values.%s", chain[1], chain[1], chain[1])
		}
	case "Deck", "Script", "Run":
		if !contains(dataFields[top], chain[1]) {
			return fmt.Sprintf(".%s has no field %s: it has %s", top, chain[1], strings.Join(dataFields[top], ", "))
		}
	}
	return ""
}

func unknownFunc(name string, funcs map[string]any) string {
	if contains(removedFuncs, name) {
		return fmt.Sprintf("function %q is not available: templates are hermetic (they cannot read the environment or the network); pass the value with --set or in the deck's values", name)
	}
	msg := fmt.Sprintf("function %q is not defined", name)
	best, bestD := "", 3
	for _, n := range append(sortedKeys(funcs), builtinFuncs...) {
		if d := store.EditDistance(name, n); d < bestD || (d == bestD && best != "" && n < best) {
			best, bestD = n, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(": did you mean %q?", best)
	} else {
		msg += ": see the functions in docs/templates.md (sprig's, shellquote and required)"
	}
	return msg
}

// parseTemplate parses text as the renderer does, except that functions are
// not looked up (Check reports every unknown one, with its position). The
// template itself is "main"; {{define}}d ones have their own names.
func parseTemplate(text string) (map[string]*parse.Tree, error) {
	t := parse.New("main")
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "", "", trees); err != nil {
		return nil, err
	}
	return trees, nil
}

// walkTemplate calls f for every node of tree, saying whether dot is the
// data root there: it is in the template itself, except inside the body of
// a range or a with; it is not known in a {{define}}d template.
func walkTemplate(tree *parse.Tree, main bool, f func(n parse.Node, rootDot bool)) {
	var walk func(n parse.Node, rootDot bool)
	walk = func(n parse.Node, rootDot bool) {
		if n == nil {
			return
		}
		f(n, rootDot)
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c, rootDot)
			}
		case *parse.ActionNode:
			walk(n.Pipe, rootDot)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c, rootDot)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a, rootDot)
			}
		case *parse.ChainNode:
			walk(n.Node, rootDot)
		case *parse.IfNode:
			walkBranch(walk, &n.BranchNode, rootDot, rootDot)
		case *parse.RangeNode:
			walkBranch(walk, &n.BranchNode, rootDot, false)
		case *parse.WithNode:
			walkBranch(walk, &n.BranchNode, rootDot, false)
		case *parse.TemplateNode:
			walk(n.Pipe, rootDot)
		}
	}
	if tree.Root != nil {
		walk(tree.Root, main)
	}
}

func walkBranch(walk func(parse.Node, bool), b *parse.BranchNode, rootDot, inBody bool) {
	walk(b.Pipe, rootDot)
	if b.List != nil {
		walk(b.List, inBody)
	}
	if b.ElseList != nil {
		walk(b.ElseList, rootDot)
	}
}

// nodeAt is the 1-based line and column (in bytes) of n in text. A field
// chain (.A.B, $.A.B) is where it starts: the parser puts it at its second
// part.
func nodeAt(text string, n parse.Node) (int, int) {
	pos := int(n.Position())
	var chain string
	switch n := n.(type) {
	case *parse.FieldNode:
		chain = "." + strings.Join(n.Ident, ".")
	case *parse.VariableNode:
		chain = strings.Join(n.Ident, ".")
	}
	if chain != "" {
		if i := strings.LastIndex(text[:min(len(text), pos+len(chain))], chain); i >= 0 {
			pos = i
		}
	}
	return offsetAt(text, pos)
}

func offsetAt(text string, pos int) (int, int) {
	if pos > len(text) {
		pos = len(text)
	}
	before := text[:pos]
	line := 1 + strings.Count(before, "\n")
	return line, pos - (strings.LastIndexByte(before, '\n') + 1) + 1
}

var (
	parseErrRE = regexp.MustCompile(`^template: main:(\d+): (.*)$`)
	// quotedRE finds what a parse error names: unexpected "}" / <.> / {{end}}, bad number syntax: "3x".
	quotedRE = regexp.MustCompile(`"((?:[^"\\]|\\.)+)"|<([^>]+)>|(\{\{\w+\}\})`)
)

// parseErrorAt finds the line and column of a parse error of text.
// text/template says only the line; the column is that of what the message
// names on that line (inside an action), else of the line's first action,
// else 1.
func parseErrorAt(text string, err error) (line, col int, msg string) {
	m := parseErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 1, 1, err.Error()
	}
	line, _ = strconv.Atoi(m[1])
	msg = m[2]
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) {
		return line, 1, msg
	}
	l := lines[line-1]
	action := strings.Index(l, "{{")
	col = 1
	if action >= 0 {
		col = action + 1
	}
	if q := quotedRE.FindStringSubmatch(msg); q != nil {
		what := q[1] + q[2]
		if u, err := strconv.Unquote(`"` + q[1] + `"`); err == nil && q[1] != "" {
			what = u
		}
		if q[3] != "" { // {{end}}: the action that holds it
			word := strings.Trim(q[3], "{}")
			if i := regexp.MustCompile(`\{\{-?\s*` + regexp.QuoteMeta(word) + `\b`).FindStringIndex(l); i != nil {
				return line, i[0] + 1, msg
			}
		}
		from := max(action, 0)
		if strings.Contains(msg, "quoted string") || strings.Contains(msg, "raw quoted") {
			what = `"`
		}
		if i := strings.Index(l[from:], what); what != "" && i >= 0 {
			return line, from + i + 1, msg
		}
	}
	if strings.Contains(msg, "quoted string") {
		if i := strings.IndexAny(l[max(action, 0):], "\"`"); i >= 0 {
			return line, max(action, 0) + i + 1, msg
		}
	}
	return line, col, msg
}

// tmplField is one template of a definition and where its text is.
type tmplField struct {
	field string // script, image, env.NAME, files.upload[0].from, …
	text  string
	file  string
	// at maps a line and column of text to its line and column in file.
	at func(line, col int) (int, int)
}

func (f tmplField) problem(line, col int, msg string) store.Problem {
	l, c := f.at(line, col)
	return store.Problem{File: f.file, Line: l, Col: c, Field: f.field, Message: f.field + ": " + msg}
}

// templateFields lists the templates of s, as Render renders them.
func templateFields(s *store.Script, root string) []tmplField {
	defFile := s.Source.Path
	if root != "" && s.Source.RelPath != "" {
		defFile = filepath.Join(root, filepath.FromSlash(s.Source.RelPath))
	}
	doc, lines := readYAML(s.Source.Path)
	scalar := func(path ...any) func(int, int) (int, int) {
		n := doc
		for _, p := range path {
			if n == nil {
				break
			}
			n = child(n, p)
		}
		return scalarAt(n, lines)
	}
	var out []tmplField
	if s.ScriptFile != "" && s.Script == "" {
		file := s.Source.BodyPath
		if root != "" && s.Source.RelPath != "" {
			file = filepath.Join(filepath.Dir(defFile), filepath.FromSlash(s.ScriptFile))
		}
		out = append(out, tmplField{field: "scriptFile", text: s.Source.Body, file: file, at: func(l, c int) (int, int) { return l, c }})
	} else {
		out = append(out, tmplField{field: "script", text: s.Source.Body, file: defFile, at: scalar("script")})
	}
	add := func(field, text string, path ...any) {
		if strings.Contains(text, "{{") {
			out = append(out, tmplField{field: field, text: text, file: defFile, at: scalar(path...)})
		}
	}
	add("image", s.Image, "image")
	add("serviceAccount", s.ServiceAccount, "serviceAccount")
	for _, k := range sortedKeys(s.Env) {
		add("env."+k, s.Env[k], "env", k)
	}
	for i, m := range s.Files.Upload {
		add(fmt.Sprintf("files.upload[%d].from", i), m.From, "files", "upload", i, "from")
		add(fmt.Sprintf("files.upload[%d].to", i), m.To, "files", "upload", i, "to")
	}
	for i, m := range s.Files.Download {
		add(fmt.Sprintf("files.download[%d].from", i), m.From, "files", "download", i, "from")
		add(fmt.Sprintf("files.download[%d].to", i), m.To, "files", "download", i, "to")
	}
	return out
}

func readYAML(path string) (*yaml.Node, []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil, strings.Split(string(data), "\n")
	}
	return doc.Content[0], strings.Split(string(data), "\n")
}

// scalarAt maps a line and column of the text of scalar node n to the file:
// a block scalar (| or >) starts on the next line, at its indentation; a
// plain or quoted one where the node is (after the quote).
func scalarAt(n *yaml.Node, lines []string) func(int, int) (int, int) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return func(l, c int) (int, int) { return 0, 0 }
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		indent := 0
		for i := n.Line; i < len(lines); i++ { // lines[n.Line] is the line after the node's
			if t := strings.TrimLeft(lines[i], " "); t != "" {
				indent = len(lines[i]) - len(t)
				break
			}
		}
		return func(l, c int) (int, int) { return n.Line + l, indent + c }
	}
	off := 0
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		off = 1
	}
	return func(l, c int) (int, int) {
		if l == 1 {
			return n.Line, n.Column + off + c - 1
		}
		return n.Line + l - 1, c
	}
}

// ValuesRefs is what the templates of s read of .Values: the field chains
// after .Values (.Values.db.host is [db host], also inside range and with
// as $.Values…), and whether a template reads .Values whole (passes it to a
// function such as dig or index, ranges over it), so that it may read any
// key. A template that does not parse counts as reading .Values whole.
func ValuesRefs(s *store.Script) (chains [][]string, whole bool) {
	for _, f := range templateFields(s, "") {
		if !strings.Contains(f.text, "{{") {
			continue
		}
		trees, err := parseTemplate(f.text)
		if err != nil {
			return nil, true
		}
		for _, name := range sortedKeys(trees) {
			walkTemplate(trees[name], name == "main", func(n parse.Node, rootDot bool) {
				var chain []string
				switch n := n.(type) {
				case *parse.FieldNode:
					if !rootDot {
						return
					}
					chain = n.Ident
				case *parse.VariableNode:
					if len(n.Ident) < 2 || n.Ident[0] != "$" || name != "main" {
						return
					}
					chain = n.Ident[1:]
				default:
					return
				}
				if chain[0] != "Values" {
					return
				}
				if len(chain) == 1 {
					whole = true
					return
				}
				chains = append(chains, append([]string(nil), chain[1:]...))
			})
		}
	}
	return chains, whole
}
