package templates

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

// MaxRenderedBytes bounds the output of one template, so a runaway template
// fails instead of exhausting memory.
const MaxRenderedBytes = 16 << 20

// Data is what templates see: .Params .Values .Deck .Script .Run.
type Data struct {
	Params map[string]any // typed param values (ResolveParams)
	Values map[string]any // all merged values (Layers)
	Deck   DeckData
	Script ScriptData
	Run    RunData
}

// DeckData is .Deck.
type DeckData struct{ Name, Namespace, Context string }

// ScriptData is .Script.
type ScriptData struct{ Name, Description, Library string }

// RunData is .Run.
type RunData struct{ ID, User string }

// Rendered is a script definition with every template field rendered.
type Rendered struct {
	// Script is a deep copy of the definition with Image (preset resolved),
	// ServiceAccount, Env values and Files rendered; its Script field and
	// Source.Body hold the rendered body and ScriptFile is cleared.
	Script  *store.Script
	Body    string
	Params  map[string]any
	Values  map[string]any
	Secrets []string // text of secret param values, to redact everywhere
}

// TemplateError is a template that does not parse or execute.
type TemplateError struct {
	File    string // the file the template is in
	Line    int    // line in File; 0 when unknown
	Field   string // script, scriptFile, image, serviceAccount, env.NAME, files.upload[0].from, …
	Key     string // the missing key, like .Values.db.host, if that is the problem
	Message string
}

func (e *TemplateError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Field + ": " + e.Message)
	return b.String()
}

// Kind is fail.Invalid.
func (e *TemplateError) Kind() fail.Kind { return fail.Invalid }

// RenderScript resolves the params of s from the merged values and renders it:
// ResolveParams then Render. Errors are those of either.
func RenderScript(s *store.Script, presets map[string]string, values map[string]any, deck DeckData, run RunData) (*Rendered, error) {
	params, _, err := ResolveParams(s, values)
	if err != nil {
		return nil, err
	}
	return Render(s, presets, Data{
		Params: params,
		Values: values,
		Deck:   deck,
		Script: ScriptData{Name: s.Name, Description: s.Description, Library: s.Source.Library},
		Run:    run,
	})
}

// Render renders the body, image, serviceAccount, env values and file
// mappings of s with data, and resolves the image through presets (a rendered
// image equal to a preset name becomes that preset's image). s is not changed.
// Errors are *TemplateError (several are joined with errors.Join); they name
// file:line and never show a secret param value.
func Render(s *store.Script, presets map[string]string, data Data) (*Rendered, error) {
	r := &renderer{s: s, data: data, secrets: secretTexts(s, data.Params), funcs: FuncMap()}
	out := copyScript(s)

	bodyField := "script"
	if s.ScriptFile != "" {
		bodyField = "scriptFile"
	}
	bodyFile := s.Source.BodyPath
	if bodyFile == "" {
		bodyFile = s.Source.Path
	}
	bodyLine := s.Source.BodyLine
	if bodyLine < 1 {
		bodyLine = 1
	}
	body := r.render(bodyField, bodyFile, s.Source.Body, func(line int) int { return line + bodyLine - 1 })

	out.Image = r.field("image", s.Image, "image")
	if img, ok := presets[out.Image]; ok {
		out.Image = img
	}
	if strings.TrimSpace(out.Image) == "" && !r.failed("image") {
		r.errs = append(r.errs, &TemplateError{File: s.Source.Path, Line: r.yamlLine(1, "image"), Field: "image",
			Message: "renders to an empty image; give a full image reference or a preset name"})
	}
	out.ServiceAccount = r.field("serviceAccount", s.ServiceAccount, "serviceAccount")
	for _, k := range sortedKeys(s.Env) {
		out.Env[k] = r.field("env."+k, s.Env[k], "env", k)
	}
	for i, m := range s.Files.Upload {
		out.Files.Upload[i].From = r.field(fmt.Sprintf("files.upload[%d].from", i), m.From, "files", "upload", i, "from")
		out.Files.Upload[i].To = r.field(fmt.Sprintf("files.upload[%d].to", i), m.To, "files", "upload", i, "to")
	}
	for i, m := range s.Files.Download {
		out.Files.Download[i].From = r.field(fmt.Sprintf("files.download[%d].from", i), m.From, "files", "download", i, "from")
		out.Files.Download[i].To = r.field(fmt.Sprintf("files.download[%d].to", i), m.To, "files", "download", i, "to")
	}
	if len(r.errs) > 0 {
		if len(r.errs) == 1 {
			return nil, r.errs[0]
		}
		errs := make([]error, len(r.errs))
		for i, e := range r.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	out.Script = body
	out.ScriptFile = ""
	out.Source.Body = body
	return &Rendered{Script: out, Body: body, Params: data.Params, Values: data.Values, Secrets: r.secrets}, nil
}

type renderer struct {
	s       *store.Script
	data    Data
	secrets []string
	errs    []*TemplateError
	funcs   template.FuncMap
	yaml    *yaml.Node // the definition file, read on the first error in it
	yamlErr bool
}

func (r *renderer) failed(field string) bool {
	for _, e := range r.errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

// field renders one template field of the definition file; path locates its
// value in the YAML file for error lines.
func (r *renderer) field(field, text string, path ...any) string {
	if !strings.Contains(text, "{{") {
		return text // the common case: no template at all
	}
	return r.render(field, r.s.Source.Path, text, func(line int) int { return r.yamlLine(line, path...) })
}

func (r *renderer) render(field, file, text string, lineOf func(int) int) string {
	name := file
	if name == "" {
		name = field
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(r.funcs).Parse(text)
	if err == nil {
		var b strings.Builder
		err = t.Execute(&limitWriter{b: &b, n: MaxRenderedBytes}, r.data)
		if err == nil {
			return b.String()
		}
	}
	te := r.templateError(name, text, err)
	te.File, te.Field = file, field
	if te.Line > 0 {
		te.Line = lineOf(te.Line)
	}
	// Messages can name other lines of the template ("unclosed action started at NAME:2").
	te.Message = regexp.MustCompile(regexp.QuoteMeta(name)+`:(\d+)`).ReplaceAllStringFunc(te.Message, func(m string) string {
		n, err := strconv.Atoi(m[len(name)+1:])
		if err != nil {
			return m
		}
		return file + ":" + strconv.Itoa(lineOf(n))
	})
	r.errs = append(r.errs, te)
	return ""
}

// errLocRE matches what follows "template: NAME:" in text/template errors.
var errLocRE = regexp.MustCompile(`(?s)^(\d+)(?::(\d+))?: (.*)$`)

var noEntryRE = regexp.MustCompile(`^map has no entry for key "((?:[^"\\]|\\.)*)"$`)

func (r *renderer) templateError(name, text string, err error) *TemplateError {
	te := &TemplateError{}
	msg := err.Error()
	var lw *limitError
	if errors.As(err, &lw) {
		msg = lw.Error()
	}
	rest, ok := strings.CutPrefix(msg, "template: "+name+":")
	m := errLocRE.FindStringSubmatch(rest)
	if !ok || m == nil {
		te.Message = r.redact(msg)
		return te
	}
	te.Line, _ = strconv.Atoi(m[1])
	col := -1
	if m[2] != "" {
		col, _ = strconv.Atoi(m[2])
	}
	inner := m[3]
	// Execution errors read `executing "NAME" at <NODE>: MESSAGE`; NODE is cut at 20 characters.
	if after, ok := strings.CutPrefix(inner, `executing "`+name+`" at <`); ok {
		if i := strings.Index(after, ">: "); i >= 0 {
			inner = after[i+3:]
		}
	}
	if nm := noEntryRE.FindStringSubmatch(inner); nm != nil {
		key, _ := strconv.Unquote(`"` + nm[1] + `"`)
		te.Key = keyPath(chainAt(text, te.Line, col), key)
		te.Message = r.redact(missingKeyMessage(te.Key))
		return te
	}
	if strings.HasPrefix(inner, `function "env" not defined`) || strings.HasPrefix(inner, `function "expandenv" not defined`) || strings.HasPrefix(inner, `function "getHostByName" not defined`) {
		inner += " (templates are hermetic: they cannot read the environment or the network; pass the value with --set or in the deck's values)"
	}
	te.Message = r.redact(inner)
	return te
}

// chainAt returns the field chain (like .Values.db.host) around byte column
// col (0-based) of 1-based line in text, or "".
func chainAt(text string, line, col int) string {
	if line < 1 || col < 0 {
		return ""
	}
	lines := strings.SplitN(text, "\n", line+1)
	if len(lines) < line {
		return ""
	}
	l := lines[line-1]
	if col > len(l) {
		return ""
	}
	isChain := func(c byte) bool {
		return c == '.' || c == '$' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
	}
	start, end := col, col
	for start > 0 && isChain(l[start-1]) {
		start--
	}
	for end < len(l) && isChain(l[end]) {
		end++
	}
	return l[start:end]
}

// keyPath cuts chain after the segment that is the missing key:
// (".Values.db.host", "db") → ".Values.db".
func keyPath(chain, key string) string {
	if chain == "" || !strings.Contains(chain, ".") {
		return key
	}
	segs := strings.Split(chain, ".")
	for i := 1; i < len(segs); i++ {
		if segs[i] == key {
			return strings.Join(segs[:i+1], ".")
		}
	}
	return key
}

func missingKeyMessage(key string) string {
	switch {
	case strings.HasPrefix(key, ".Values."):
		k := strings.TrimPrefix(key, ".Values.")
		return fmt.Sprintf("missing key %s: set it with --set %s=VALUE or in the deck's values (or use `dig` or `index` with a default in the template)", key, k)
	case strings.HasPrefix(key, ".Params."):
		k := strings.TrimPrefix(key, ".Params.")
		return fmt.Sprintf("missing key %s: the script declares no param %q; declare it under params, or read .Values.%s", key, k, k)
	case strings.HasPrefix(key, "."):
		return fmt.Sprintf("missing key %s: set it with --set or in the deck's values", key)
	default:
		return fmt.Sprintf("missing key %q: set it with --set or in the deck's values", key)
	}
}

func (r *renderer) redact(msg string) string {
	for _, s := range r.secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

// yamlLine maps line (1-based, within a field's template) to a line of the
// definition file, by finding the field's value node; 0 when it cannot.
func (r *renderer) yamlLine(line int, path ...any) int {
	if r.yaml == nil && !r.yamlErr {
		r.yamlErr = true
		if data, err := os.ReadFile(r.s.Source.Path); err == nil {
			var doc yaml.Node
			if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 {
				r.yaml = doc.Content[0]
				r.yamlErr = false
			}
		}
	}
	if r.yaml == nil {
		return 0
	}
	n := r.yaml
	for _, p := range path {
		n = child(n, p)
		if n == nil {
			return 0
		}
	}
	if n.Kind != yaml.ScalarNode {
		return 0
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Line + line // the text starts on the line after | or >
	}
	return n.Line + line - 1
}

func child(n *yaml.Node, p any) *yaml.Node {
	switch k := p.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				return n.Content[i+1]
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && k < len(n.Content) {
			return n.Content[k]
		}
	}
	return nil
}

func secretTexts(s *store.Script, params map[string]any) []string {
	var out []string
	for _, p := range s.Params {
		if !p.Secret {
			continue
		}
		if t := paramText(params[p.Name]); t != "" {
			out = append(out, t)
		}
	}
	return out
}

type limitError struct{ n int }

func (e *limitError) Error() string {
	return fmt.Sprintf("renders to more than %d bytes; check the template for a runaway loop", e.n)
}

type limitWriter struct {
	b *strings.Builder
	n int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.n {
		return 0, &limitError{n: w.n}
	}
	return w.b.Write(p)
}

// copyScript deep-copies the parts of s that Render changes or that callers
// may change on the result.
func copyScript(s *store.Script) *store.Script {
	c := *s
	if s.Created != nil {
		t := *s.Created
		c.Created = &t
	}
	if s.Modified != nil {
		t := *s.Modified
		c.Modified = &t
	}
	if s.Credentials != nil {
		c.Credentials = make([]store.Credential, len(s.Credentials))
		for i, cr := range s.Credentials {
			if cr.Secret != nil {
				ref := *cr.Secret
				cr.Secret = &ref
			}
			c.Credentials[i] = cr
		}
	}
	if s.Params != nil {
		c.Params = make([]store.Param, len(s.Params))
		for i, p := range s.Params {
			p.Values = append([]string(nil), p.Values...)
			p.Default = normalizeDefault(p.Default)
			c.Params[i] = p
		}
	}
	c.Files.Upload = append([]store.FileMapping(nil), s.Files.Upload...)
	c.Files.Download = append([]store.FileMapping(nil), s.Files.Download...)
	if s.Env != nil {
		c.Env = make(map[string]string, len(s.Env))
		for k, v := range s.Env {
			c.Env[k] = v
		}
	}
	c.Resources.Requests = copyStrings(s.Resources.Requests)
	c.Resources.Limits = copyStrings(s.Resources.Limits)
	c.Tags = append([]string(nil), s.Tags...)
	return &c
}

func normalizeDefault(v any) any {
	switch v.(type) {
	case map[string]any, map[any]any, []any, []string:
		return normalize(v)
	}
	return v
}

func copyStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
