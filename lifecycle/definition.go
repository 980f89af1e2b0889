// Package lifecycle runs scripts attached to the lifecycle of a resource
// (create, update, terminate, pull) under the contract of Waldur's "custom
// scripts" plugin, so that its scripts run unchanged: the environment they
// get, the output conventions they follow, and the resource state their
// results drive.
package lifecycle

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// Event is a lifecycle event of a resource.
type Event string

// The events, in the order a resource lives through them.
const (
	EventCreate    Event = "create"
	EventUpdate    Event = "update"
	EventTerminate Event = "terminate"
	EventPull      Event = "pull"
)

// Events lists every event.
func Events() []Event { return []Event{EventCreate, EventUpdate, EventTerminate, EventPull} }

// Definition is a lifecycle definition: a library YAML file with
// `kind: Lifecycle` that names one library script per event.
//
//	kind: Lifecycle
//	name: demo-vm
//	description: …
//	uuid: …                # optional; default derived from library and name
//	scripts: {create: vm-create, update: vm-update, terminate: vm-terminate, pull: vm-pull}
//	plans:
//	  small: {limits: {cpu: 1, ram: 1024}}
//	env:
//	  REGION: "{{ .Values.region }}"
type Definition struct {
	Name        string
	Description string
	// UUID is the offering's UUID as written in the file ("" when absent;
	// see OfferingUUID).
	UUID string
	// Scripts maps an event to a script reference (NAME or LIB/NAME).
	Scripts map[Event]string
	Plans   map[string]Plan
	// Env entries are templates; they override the standard contract entries.
	Env map[string]string

	// Library is the library the definition was loaded from.
	Library string
	// Path is the file; File the path used in problems; EnvLines the line of
	// each env entry, for template errors.
	Path, File string
	EnvLines   map[string]int
	// scriptPos is the line and column of each script reference.
	scriptPos map[Event][2]int
}

// Plan is a named set of limits.
type Plan struct {
	UUID        string           `json:"uuid,omitempty" yaml:"uuid,omitempty"`
	Description string           `json:"description,omitempty" yaml:"description,omitempty"`
	Limits      map[string]int64 `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// uuidNamespace is the namespace of every UUID cscript derives (UUIDv5), so
// the same library, deck and lifecycle names give the same UUIDs everywhere.
var uuidNamespace = uuid.MustParse("8d1c0b5e-6c43-5a7f-9f0e-2f1d3c6b4a10")

// StableUUID derives a UUID (version 5) from parts; Waldur's hex form.
func StableUUID(parts ...string) string {
	return hexUUID(uuid.NewSHA1(uuidNamespace, []byte(strings.Join(parts, "\x00"))))
}

func hexUUID(u uuid.UUID) string { return strings.ReplaceAll(u.String(), "-", "") }

// NewUUID returns a random UUID (version 4) in Waldur's hex form.
func NewUUID() string { return hexUUID(uuid.New()) }

// OfferingUUID is the definition's UUID: the one in the file, or one derived
// from its library and name.
func (d *Definition) OfferingUUID() string {
	if d.UUID != "" {
		return d.UUID
	}
	return StableUUID("lifecycle", d.Library, d.Name)
}

// PlanUUID is the plan's UUID: the one in the file, or one derived from the
// definition's UUID and the plan's name. "" for no plan.
func (d *Definition) PlanUUID(plan string) string {
	if plan == "" {
		return ""
	}
	if p, ok := d.Plans[plan]; ok && p.UUID != "" {
		return p.UUID
	}
	return StableUUID("plan", d.OfferingUUID(), plan)
}

// PlanNames lists the plans, sorted.
func (d *Definition) PlanNames() []string {
	names := make([]string, 0, len(d.Plans))
	for n := range d.Plans {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	uuidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
)

// decoder collects the problems of one file.
type decoder struct {
	file     string
	problems []store.Problem
}

func (d *decoder) addf(n *yaml.Node, field, format string, args ...any) {
	p := store.Problem{File: d.file, Field: field, Message: fmt.Sprintf(format, args...), Line: 1, Col: 1}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

// mapping walks a mapping node, calling f for each key; other kinds are a problem.
func (d *decoder) mapping(n *yaml.Node, field, want string, f func(k, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n, field, "%s must be %s, not %s", field, want, describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if seen[k.Value] {
			d.addf(k, field, "%s: key %q appears twice: keep one", field, k.Value)
			continue
		}
		seen[k.Value] = true
		f(k, v)
	}
}

func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) || (n.Tag != "!!str" && n.ShortTag() != "!!str" && n.ShortTag() != "!!int" && n.ShortTag() != "!!float" && n.ShortTag() != "!!bool") {
		d.addf(n, field, "%s must be a text, not %s", field, describe(n))
		return "", false
	}
	return n.Value, true
}

// The YAML helpers are the store's: a lifecycle file's problems read like
// a script's.
var (
	deref    = store.DerefNode
	isNull   = store.IsNullNode
	describe = store.DescribeNode
)

var topFields = []string{"kind", "name", "description", "uuid", "scripts", "plans", "env"}

// Decode decodes one `kind: Lifecycle` file of library. Every problem has a
// file:line:col; the definition is usable only when there are none (it is
// returned anyway, with what could be read, so its name is known).
func Decode(f *store.OtherFile, library string) (*Definition, []store.Problem) {
	d := &decoder{file: f.File}
	def := &Definition{Library: library, Path: f.Path, File: f.File, Scripts: map[Event]string{},
		Plans: map[string]Plan{}, Env: map[string]string{}, EnvLines: map[string]int{}, scriptPos: map[Event][2]int{}}
	var nameNode *yaml.Node
	d.mapping(f.Node, "", "a mapping", func(k, v *yaml.Node) {
		switch k.Value {
		case "kind":
			if s, ok := d.str(v, "kind"); ok && s != store.KindLifecycle {
				d.addf(v, "kind", "kind must be %s here, not %q", store.KindLifecycle, s)
			}
		case "name":
			nameNode = v
			if s, ok := d.str(v, "name"); ok {
				def.Name = s
			}
		case "description":
			def.Description, _ = d.str(v, "description")
		case "uuid":
			if s, ok := d.str(v, "uuid"); ok {
				if !uuidRE.MatchString(s) {
					d.addf(v, "uuid", "uuid %q is not a UUID: give 32 hex digits (dashes allowed) or leave it out for one derived from the name", s)
				}
				def.UUID = strings.ToLower(strings.ReplaceAll(s, "-", ""))
			}
		case "scripts":
			d.scripts(def, v)
		case "plans":
			d.plans(def, v)
		case "env":
			d.env(def, v)
		default:
			d.addf(k, k.Value, "unknown field %q: a lifecycle definition has %s", k.Value, strings.Join(topFields, ", "))
		}
	})
	switch {
	case nameNode == nil:
		d.addf(f.Node, "name", "name is missing: add `name: NAME` (%s)", nameRule)
	case def.Name != "" && !store.ValidName(def.Name):
		d.addf(nameNode, "name", "name %q is not valid: %s", def.Name, nameRule)
	case def.Name == "":
		if len(d.problems) == 0 {
			d.addf(nameNode, "name", "name is empty: %s", nameRule)
		}
	}
	if len(def.Scripts) == 0 && len(d.problems) == 0 {
		d.addf(f.Node, "scripts", "scripts is missing: name at least one script, e.g. `scripts: {create: my-create}` (events: create, update, terminate, pull)")
	}
	return def, d.problems
}

const nameRule = "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"

func (d *decoder) scripts(def *Definition, n *yaml.Node) {
	d.mapping(n, "scripts", "a mapping of event to script name", func(k, v *yaml.Node) {
		field := "scripts." + k.Value
		ev := Event(k.Value)
		known := false
		for _, e := range Events() {
			known = known || e == ev
		}
		if !known {
			d.addf(k, field, "unknown event %q: events are create, update, terminate and pull", k.Value)
			return
		}
		s, ok := d.str(v, field)
		if !ok {
			return
		}
		lib, name := splitRef(s)
		if !store.ValidName(name) || (lib != "" && !store.ValidName(lib)) {
			d.addf(v, field, "%s: %q is not a script name: give NAME or LIB/NAME of a library script", field, s)
			return
		}
		def.Scripts[ev] = s
		def.scriptPos[ev] = [2]int{v.Line, v.Column}
	})
}

func (d *decoder) plans(def *Definition, n *yaml.Node) {
	d.mapping(n, "plans", "a mapping of plan name to plan", func(k, v *yaml.Node) {
		field := "plans." + k.Value
		if !store.ValidName(k.Value) {
			d.addf(k, field, "plan name %q is not valid: %s", k.Value, nameRule)
			return
		}
		p := Plan{Limits: map[string]int64{}}
		d.mapping(v, field, "a mapping with limits (and optionally uuid, description)", func(pk, pv *yaml.Node) {
			pf := field + "." + pk.Value
			switch pk.Value {
			case "uuid":
				if s, ok := d.str(pv, pf); ok {
					if !uuidRE.MatchString(s) {
						d.addf(pv, pf, "%s %q is not a UUID: give 32 hex digits or leave it out", pf, s)
					}
					p.UUID = strings.ToLower(strings.ReplaceAll(s, "-", ""))
				}
			case "description":
				p.Description, _ = d.str(pv, pf)
			case "limits":
				d.mapping(pv, pf, "a mapping of limit name to a whole number", func(lk, lv *yaml.Node) {
					lf := pf + "." + lk.Value
					if !envNameRE.MatchString(lk.Value) {
						d.addf(lk, lf, "limit name %q is not valid: use letters, digits and '_'", lk.Value)
						return
					}
					if lv.Kind != yaml.ScalarNode || lv.ShortTag() != "!!int" {
						d.addf(lv, lf, "%s must be a whole number, not %s", lf, describe(lv))
						return
					}
					x, err := strconv.ParseInt(lv.Value, 0, 64)
					if err != nil {
						d.addf(lv, lf, "%s: %q is not a whole number", lf, lv.Value)
						return
					}
					p.Limits[lk.Value] = x
				})
			default:
				d.addf(pk, pf, "unknown field %q: a plan has limits, uuid and description", pk.Value)
			}
		})
		def.Plans[k.Value] = p
	})
}

func (d *decoder) env(def *Definition, n *yaml.Node) {
	d.mapping(n, "env", "a mapping of NAME to value", func(k, v *yaml.Node) {
		field := "env." + k.Value
		if !envNameRE.MatchString(k.Value) {
			d.addf(k, field, "env name %q is not valid: use letters, digits and '_', not starting with a digit", k.Value)
			return
		}
		s, ok := d.str(v, field)
		if !ok {
			return
		}
		if _, err := template.New(field).Funcs(templates.FuncMap()).Parse(s); err != nil {
			d.addf(v, field, "%s is not a valid template: %s", field, templateMessage(err))
			return
		}
		def.Env[k.Value] = s
		def.EnvLines[k.Value] = v.Line
	})
}

// templateMessage drops text/template's "template: NAME:LINE: " prefix.
func templateMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "template: ") && i >= 0 {
		rest := msg[len("template: "):]
		if j := strings.Index(rest, ": "); j >= 0 {
			return rest[j+2:]
		}
	}
	return msg
}

// splitRef is the store's: a lifecycle ref reads like a script's.
var splitRef = store.SplitRef

// LoadIndex decodes every lifecycle definition of a library and checks that
// the scripts they name exist (a LIB/NAME of another library is checked by
// Load). Definitions with problems are left out; their problems are returned.
func LoadIndex(ix *store.Index) ([]*Definition, []store.Problem) {
	defs, invalid := loadIndex(ix)
	var problems []store.Problem
	for _, ps := range invalid {
		problems = append(problems, ps...)
	}
	sortProblems(problems)
	return defs, problems
}

// loadIndex is LoadIndex with the problems keyed by definition name ("" when
// the name could not be read).
func loadIndex(ix *store.Index) ([]*Definition, map[string][]store.Problem) {
	var defs []*Definition
	invalid := map[string][]store.Problem{}
	byName := map[string]*Definition{}
	for _, f := range ix.Other {
		if f.Kind != store.KindLifecycle {
			continue
		}
		def, ps := Decode(f, ix.Library.Name)
		if len(ps) == 0 {
			for _, ev := range Events() {
				ref, ok := def.Scripts[ev]
				if !ok {
					continue
				}
				lib, name := splitRef(ref)
				if lib != "" && lib != ix.Library.Name {
					continue
				}
				if _, ok := ix.Script(name); !ok {
					pos := def.scriptPos[ev]
					ps = append(ps, store.Problem{File: f.File, Line: pos[0], Col: pos[1], Field: "scripts." + string(ev),
						Message: fmt.Sprintf("script %q is not a valid script of library %s: create it, fix its problems (`cscript validate`) or fix the name", name, ix.Library.Name)})
				}
			}
			if other, ok := byName[def.Name]; ok {
				n := valueNode(f.Node, "name")
				ps = append(ps, store.Problem{File: f.File, Line: n.Line, Col: n.Column, Field: "name",
					Message: fmt.Sprintf("lifecycle name %q is also used by %s: names must be unique in a library; rename one", def.Name, other.File)})
			}
		}
		if len(ps) > 0 {
			invalid[def.Name] = append(invalid[def.Name], ps...)
			continue
		}
		byName[def.Name] = def
		defs = append(defs, def)
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	return defs, invalid
}

// sortProblems is the store's one order of problems.
var sortProblems = store.SortProblems

func valueNode(root *yaml.Node, key string) *yaml.Node {
	root = deref(root)
	if root != nil && root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				return deref(root.Content[i+1])
			}
		}
	}
	if root == nil {
		return &yaml.Node{Line: 1, Column: 1}
	}
	return root
}

// Catalog holds the lifecycle definitions of every library of a store.Catalog.
type Catalog struct {
	cat      *store.Catalog
	byLib    map[string][]*Definition
	invalid  map[string][]store.Problem // by definition name
	problems []store.Problem
}

// Load decodes the lifecycle definitions of every library of cat.
func Load(cat *store.Catalog) *Catalog {
	c := &Catalog{cat: cat, byLib: map[string][]*Definition{}, invalid: map[string][]store.Problem{}}
	for _, ix := range cat.Libraries() {
		defs, invalid := loadIndex(ix)
		for name, ps := range invalid {
			c.invalid[name] = append(c.invalid[name], ps...)
		}
		for _, def := range defs {
			var ps []store.Problem
			for _, ev := range Events() {
				ref, ok := def.Scripts[ev]
				if lib, _ := splitRef(ref); !ok || lib == "" || lib == ix.Library.Name {
					continue
				}
				if _, err := cat.Script(ref); err != nil {
					pos := def.scriptPos[ev]
					ps = append(ps, store.Problem{File: def.File, Line: pos[0], Col: pos[1], Field: "scripts." + string(ev),
						Message: fmt.Sprintf("script %s: %v", ref, err)})
				}
			}
			if len(ps) > 0 {
				c.invalid[def.Name] = append(c.invalid[def.Name], ps...)
				continue
			}
			c.byLib[ix.Library.Name] = append(c.byLib[ix.Library.Name], def)
		}
	}
	for _, ps := range c.invalid {
		c.problems = append(c.problems, ps...)
	}
	sortProblems(c.problems)
	return c
}

// Problems are the problems of every lifecycle definition.
func (c *Catalog) Problems() []store.Problem { return c.problems }

// Err is a *store.ValidationError with every problem, or nil.
func (c *Catalog) Err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &store.ValidationError{Problems: append([]store.Problem(nil), c.problems...)}
}

// Definitions lists the valid definitions of every library, by library
// search order, then name.
func (c *Catalog) Definitions() []*Definition {
	var out []*Definition
	for _, ix := range c.cat.Libraries() {
		out = append(out, c.byLib[ix.Library.Name]...)
	}
	return out
}

// Find resolves ref, NAME or LIB/NAME. Not found is a *store.NotFoundError
// (What "lifecycle"); a name in several libraries a *store.AmbiguousError; a
// definition with problems a *store.ValidationError.
func (c *Catalog) Find(ref string) (*Definition, error) {
	lib, name := splitRef(ref)
	var found []*Definition
	var libs []string
	for _, ix := range c.cat.Libraries() {
		if lib != "" && ix.Library.Name != lib {
			continue
		}
		for _, d := range c.byLib[ix.Library.Name] {
			if d.Name == name {
				found = append(found, d)
				libs = append(libs, ix.Library.Name)
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, &store.AmbiguousError{What: "lifecycle", Name: name, Libraries: libs}
	}
	if bad := c.invalid[name]; len(bad) > 0 {
		return nil, &store.ValidationError{Problems: append([]store.Problem(nil), bad...)}
	}
	var names []string
	for _, d := range c.Definitions() {
		names = append(names, d.Name)
	}
	return nil, &store.NotFoundError{What: "lifecycle", Name: ref, Suggestions: store.Suggest(name, names),
		Hint: "a lifecycle is a library YAML file with `kind: Lifecycle`; see examples/lifecycle"}
}
