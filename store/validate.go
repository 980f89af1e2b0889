package store

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

var (
	dnsLabelRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	identifierRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretKeyRE    = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	resourceNameRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9._]*[a-z0-9])?$`)
)

// ValidName reports whether name is a valid script, deck, library or preset
// name: a DNS-1123 label (lowercase letters, digits and '-', at most 63).
func ValidName(name string) bool {
	return len(name) <= 63 && dnsLabelRE.MatchString(name)
}

// ValidIdentifier reports whether name can name a param or an env var:
// letters, digits and '_', not starting with a digit.
func ValidIdentifier(name string) bool { return identifierRE.MatchString(name) }

const nameRule = "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"

func isTemplate(s string) bool { return strings.Contains(s, "{{") }

// Interpreters lists the interpreters a script may name.
func Interpreters() []string { return []string{InterpreterBash, InterpreterSh, InterpreterPython} }

// ParamTypes lists the types a param may have.
func ParamTypes() []string { return []string{ParamString, ParamInt, ParamBool, ParamFile, ParamEnum} }

// Backends a deck may name.
const (
	BackendKubernetes = "kubernetes"
	BackendDocker     = "docker"
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validateScript checks the meaning of a decoded script; root is its YAML mapping.
func (d *fileDecoder) validateScript(root *yaml.Node, s *Script) {
	d.checkName(root, s.Name, "name", `add a line such as "name: my-script"`)

	switch {
	case d.isBad("image"):
	case strings.TrimSpace(s.Image) == "":
		d.addf(node(root, "image"), "image", "image is required: set a preset (shell, debian, python, postgres) or a full image reference such as docker.io/library/alpine:3.20")
	case !isTemplate(s.Image) && strings.ContainsAny(s.Image, " \t\n"):
		d.addf(node(root, "image"), "image", "image %q contains white space: set a preset name or a full image reference", s.Image)
	}

	switch {
	case d.isBad("interpreter"):
	case s.Interpreter == "":
		d.addf(node(root, "interpreter"), "interpreter", "interpreter is required: use bash, sh or python")
	case !contains(Interpreters(), s.Interpreter):
		d.addf(node(root, "interpreter"), "interpreter", "interpreter %q is not supported: use bash, sh or python", s.Interpreter)
	}

	if sa := s.ServiceAccount; sa != "" && !d.isBad("serviceAccount") && !isTemplate(sa) &&
		(len(sa) > 253 || !dnsSubdomainRE.MatchString(sa)) {
		d.addf(node(root, "serviceAccount"), "serviceAccount", "serviceAccount %q is not a valid Kubernetes name: use lowercase letters, digits, '-' and '.'", sa)
	}

	switch {
	case d.isBad("script") || d.isBad("scriptFile"):
	case s.Script != "" && s.ScriptFile != "":
		d.addf(keyNode(root, "scriptFile"), "scriptFile", "both script and scriptFile are set: keep exactly one (the inline body or the path of a file)")
	case s.Script == "" && s.ScriptFile == "":
		n := root
		if hasKey(root, "script") {
			n = node(root, "script")
		}
		d.addf(n, "script", "the script body is missing: set script (the inline body) or scriptFile (a path relative to this file)")
	}

	credNames := d.validateCredentials(root, "credentials", s.Credentials)
	d.validateParams(root, s.Params)
	d.validateEnv(root, s.Env, credNames)
	d.validateFiles(root, s.Files)
	d.validateResources(root, s.Resources)
	d.validateTags(root, s.Tags)
}

func (d *fileDecoder) checkName(root *yaml.Node, name, field, example string) {
	switch {
	case d.isBad(field):
	case name == "":
		d.addf(node(root, field), field, "%s is required: %s", field, example)
	case !ValidName(name):
		d.addf(node(root, field), field, "%s %q is not a valid name: %s", field, name, nameRule)
	}
}

// validateCredentials checks a credentials list at key field of root and
// returns the credential names.
func (d *fileDecoder) validateCredentials(root *yaml.Node, field string, creds []Credential) map[string]bool {
	names := map[string]bool{}
	for i, c := range creds {
		f := fmt.Sprintf("%s[%d]", field, i)
		if d.isBad(f) {
			continue
		}
		item := node(root, field, i)
		switch {
		case c.Name == "":
			d.addf(item, f+".name", "%s.name is required: the name of the env var the script reads the credential from, e.g. PGPASSWORD", f)
		case !ValidIdentifier(c.Name):
			d.addf(node(root, field, i, "name"), f+".name", "%s.name %q is not a valid env var name: use letters, digits and '_', not starting with a digit", f, c.Name)
		case names[c.Name]:
			d.addf(node(root, field, i, "name"), f+".name", "credential %q is listed twice: keep one", c.Name)
		}
		names[c.Name] = true

		var sources []string
		if c.Secret != nil {
			sources = append(sources, "secret")
		}
		if c.FromEnv != "" {
			sources = append(sources, "fromEnv")
		}
		if c.FromFile != "" {
			sources = append(sources, "fromFile")
		}
		if c.FromCommand != "" {
			sources = append(sources, "fromCommand")
		}
		switch len(sources) {
		case 0:
			d.addf(item, f, "credential %q has no source: set exactly one of secret: {name, key} (a Kubernetes Secret), fromEnv, fromFile or fromCommand; values are never written in the library", c.Name)
		case 1:
		default:
			d.addf(keyNode(root, field, i, sources[1]), f+"."+sources[1], "credential %q has several sources (%s): keep exactly one", c.Name, strings.Join(sources, ", "))
		}
		if c.Secret != nil && !d.isBad(f+".secret") {
			sf := f + ".secret"
			sn := node(root, field, i, "secret")
			switch {
			case c.Secret.Name == "":
				d.addf(sn, sf+".name", "%s.name is required: the name of the Kubernetes Secret", sf)
			case len(c.Secret.Name) > 253 || !dnsSubdomainRE.MatchString(c.Secret.Name):
				d.addf(node(root, field, i, "secret", "name"), sf+".name", "%s.name %q is not a valid Secret name: use lowercase letters, digits, '-' and '.'", sf, c.Secret.Name)
			}
			switch {
			case c.Secret.Key == "":
				d.addf(sn, sf+".key", "%s.key is required: the key inside the Secret", sf)
			case len(c.Secret.Key) > 253 || !secretKeyRE.MatchString(c.Secret.Key):
				d.addf(node(root, field, i, "secret", "key"), sf+".key", "%s.key %q is not a valid Secret key: use letters, digits, '-', '_' and '.'", sf, c.Secret.Key)
			}
		}
		if c.FromEnv != "" && !ValidIdentifier(c.FromEnv) && !d.isBad(f+".fromEnv") {
			d.addf(node(root, field, i, "fromEnv"), f+".fromEnv", "%s.fromEnv %q is not a valid env var name: use letters, digits and '_'", f, c.FromEnv)
		}
	}
	return names
}

func (d *fileDecoder) validateParams(root *yaml.Node, params []Param) {
	seen := map[string]bool{}
	for i := range params {
		p := &params[i]
		f := fmt.Sprintf("params[%d]", i)
		if d.isBad(f) {
			continue
		}
		item := node(root, "params", i)
		switch {
		case d.isBad(f + ".name"):
		case p.Name == "":
			d.addf(item, f+".name", "%s.name is required: a name such as db_name, used as --set db_name=… and {{ .Params.db_name }}", f)
		case !ValidIdentifier(p.Name):
			d.addf(node(root, "params", i, "name"), f+".name", "param name %q cannot be used in templates: use letters, digits and '_' (e.g. %q), not starting with a digit", p.Name, strings.NewReplacer("-", "_", ".", "_", " ", "_").Replace(p.Name))
		case seen[p.Name]:
			d.addf(node(root, "params", i, "name"), f+".name", "param %q is declared twice: keep one", p.Name)
		}
		seen[p.Name] = true

		if d.isBad(f + ".type") {
			continue
		}
		typ := p.Type
		if typ == "" {
			typ = ParamString
		}
		if !contains(ParamTypes(), typ) {
			d.addf(node(root, "params", i, "type"), f+".type", "param %q has type %q: use string, int, bool, file or enum", p.Name, p.Type)
			continue
		}
		if typ == ParamEnum {
			if len(p.Values) == 0 && !d.isBad(f+".values") {
				d.addf(item, f+".values", "enum param %q needs values: add values: [a, b]", p.Name)
			}
			vs := map[string]bool{}
			for j, v := range p.Values {
				if vs[v] {
					d.addf(node(root, "params", i, "values", j), fmt.Sprintf("%s.values[%d]", f, j), "enum param %q lists the value %q twice: keep one", p.Name, v)
				}
				vs[v] = true
			}
		} else if len(p.Values) > 0 {
			d.addf(keyNode(root, "params", i, "values"), f+".values", "param %q has values but is of type %s: set type: enum, or remove values", p.Name, typ)
		}
		var re *regexp.Regexp
		if p.Pattern != "" && !d.isBad(f+".pattern") {
			if typ == ParamBool || typ == ParamEnum {
				d.addf(keyNode(root, "params", i, "pattern"), f+".pattern", "param %q is of type %s, which takes no pattern: remove pattern", p.Name, typ)
			} else if r, err := compilePattern(p.Pattern); err != nil {
				d.addf(node(root, "params", i, "pattern"), f+".pattern", "pattern of param %q does not compile: %v: fix the regular expression (Go RE2 syntax)", p.Name, unwrapRegexpErr(err))
			} else {
				re = r
			}
		}
		if p.Default != nil && !d.isBad(f+".default") && (p.Pattern == "" || re != nil) {
			dn := node(root, "params", i, "default")
			// A string-like default keeps the YAML text as written ("5432" for 5432).
			if (typ == ParamString || typ == ParamFile || typ == ParamEnum) && dn.Kind == yaml.ScalarNode {
				p.Default = dn.Value
			}
			v, err := p.coerce(p.Default, re)
			if err != nil {
				d.addf(dn, f+".default", "default of param %q: %v", p.Name, err)
			} else {
				p.Default = v
			}
		}
	}
}

// compilePattern compiles a param pattern so that it must match the whole value.
func compilePattern(p string) (*regexp.Regexp, error) {
	// Parsing p alone catches input such as "a)(b" that the wrapped form would accept.
	if _, err := syntax.Parse(p, syntax.Perl); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + p + `)$`)
}

func unwrapRegexpErr(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// Coerce checks a value for the param and returns it in the param's Go type:
// string for string, file and enum; int for int; bool for bool. A string
// value (from the command line) is parsed for int and bool. A pattern must
// match the whole value; an enum value must be one of Values.
func (p *Param) Coerce(v any) (any, error) {
	var re *regexp.Regexp
	if p.Pattern != "" {
		r, err := compilePattern(p.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pattern %q does not compile: %s", p.Pattern, unwrapRegexpErr(err))
		}
		re = r
	}
	return p.coerce(v, re)
}

func (p *Param) coerce(v any, re *regexp.Regexp) (any, error) {
	typ := p.Type
	if typ == "" {
		typ = ParamString
	}
	switch typ {
	case ParamInt:
		var n int
		switch x := v.(type) {
		case int:
			n = x
		case int64:
			n = int(x)
		case uint64:
			n = int(x)
		case float64:
			if x != float64(int(x)) {
				return nil, fmt.Errorf("%v is not a whole number: use an integer such as 3", x)
			}
			n = int(x)
		case string:
			i, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number: use an integer such as 3", x)
			}
			n = i
		default:
			return nil, fmt.Errorf("%v is not a whole number: use an integer such as 3", v)
		}
		if err := p.matchPattern(re, strconv.Itoa(n)); err != nil {
			return nil, err
		}
		return n, nil
	case ParamBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not a bool: use true or false", x)
			}
			return b, nil
		default:
			return nil, fmt.Errorf("%v is not a bool: use true or false", v)
		}
	case ParamString, ParamFile, ParamEnum:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case int, int64, uint64, float64, bool:
			s = fmt.Sprint(x)
		default:
			return nil, fmt.Errorf("must be a text value, not %T: quote it", v)
		}
		if typ == ParamEnum && !contains(p.Values, s) {
			return nil, fmt.Errorf("%q is not one of the allowed values: use one of %s", s, strings.Join(p.Values, ", "))
		}
		if err := p.matchPattern(re, s); err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown param type %q: use string, int, bool, file or enum", p.Type)
}

func (p *Param) matchPattern(re *regexp.Regexp, s string) error {
	if re == nil {
		return nil
	}
	if !re.MatchString(s) {
		return fmt.Errorf("%q does not match the pattern %s: give a value that does", s, p.Pattern)
	}
	return nil
}

func (d *fileDecoder) validateEnv(root *yaml.Node, env map[string]string, credNames map[string]bool) {
	for _, k := range sortedKeys(env) {
		f := "env." + k
		if d.isBad(f) {
			continue
		}
		switch {
		case !ValidIdentifier(k):
			d.addf(keyNode(root, "env", k), f, "env name %q is not a valid env var name: use letters, digits and '_', not starting with a digit", k)
		case credNames[k]:
			d.addf(keyNode(root, "env", k), f, "env %q is also a credential: rename one, a credential sets its env var itself", k)
		}
	}
}

func (d *fileDecoder) validateFiles(root *yaml.Node, files Files) {
	check := func(dir string, ms []FileMapping, fromWhere, toWhere string) {
		for i, m := range ms {
			f := fmt.Sprintf("files.%s[%d]", dir, i)
			if d.isBad(f) {
				continue
			}
			item := node(root, "files", dir, i)
			if strings.TrimSpace(m.From) == "" {
				d.addf(item, f+".from", "%s.from is required: the %s path to copy", f, fromWhere)
			}
			if strings.TrimSpace(m.To) == "" {
				d.addf(item, f+".to", "%s.to is required: the %s path to copy to", f, toWhere)
			}
		}
	}
	check("upload", files.Upload, "local", "container")
	check("download", files.Download, "container", "local")
}

func (d *fileDecoder) validateResources(root *yaml.Node, r Resources) {
	parsed := map[string]map[string]resource.Quantity{}
	for _, kind := range []string{"requests", "limits"} {
		m := r.Requests
		if kind == "limits" {
			m = r.Limits
		}
		parsed[kind] = map[string]resource.Quantity{}
		for _, name := range sortedKeys(m) {
			f := "resources." + kind + "." + name
			if d.isBad(f) {
				continue
			}
			if !resourceNameRE.MatchString(name) {
				d.addf(keyNode(root, "resources", kind, name), f, "%q is not a resource name: use cpu, memory, ephemeral-storage or an extended resource such as nvidia.com/gpu", name)
				continue
			}
			q, err := resource.ParseQuantity(m[name])
			if err != nil {
				d.addf(node(root, "resources", kind, name), f, "%s %q is not a quantity: use a value such as 500m or 2 for cpu, 256Mi or 1Gi for memory", f, m[name])
				continue
			}
			if q.Sign() < 0 {
				d.addf(node(root, "resources", kind, name), f, "%s %q must not be negative", f, m[name])
				continue
			}
			parsed[kind][name] = q
		}
	}
	for _, name := range sortedKeys(parsed["requests"]) {
		req := parsed["requests"][name]
		if lim, ok := parsed["limits"][name]; ok && req.Cmp(lim) > 0 {
			d.addf(node(root, "resources", "requests", name), "resources.requests."+name,
				"resources.requests.%s (%s) is more than resources.limits.%s (%s): lower the request or raise the limit", name, req.String(), name, lim.String())
		}
	}
}

func (d *fileDecoder) validateTags(root *yaml.Node, tags []string) {
	seen := map[string]bool{}
	for i, t := range tags {
		f := fmt.Sprintf("tags[%d]", i)
		if d.isBad(f) {
			continue
		}
		switch {
		case strings.TrimSpace(t) == "" || strings.ContainsAny(t, " \t\n,"):
			d.addf(node(root, "tags", i), f, "tag %q is not valid: use one word without spaces or commas, e.g. database", t)
		case seen[t]:
			d.addf(node(root, "tags", i), f, "tag %q is listed twice: keep one", t)
		}
		seen[t] = true
	}
}

// validateDeck checks the meaning of a decoded deck; root is its YAML mapping.
func (d *fileDecoder) validateDeck(root *yaml.Node, dk *Deck) {
	if !ValidName(dk.Name) {
		d.addf(nil, "", "deck name %q (from the file name) is not a valid name: rename the file; %s", dk.Name, nameRule)
	}
	if b := dk.Backend; b != "" && !d.isBad("backend") && b != BackendKubernetes && b != BackendDocker {
		d.addf(node(root, "backend"), "backend", "backend %q is not supported: use kubernetes (the default) or docker", b)
	}
	if ns := dk.Namespace; ns != "" && !d.isBad("namespace") && !ValidName(ns) {
		d.addf(node(root, "namespace"), "namespace", "namespace %q is not a valid Kubernetes namespace: %s", ns, nameRule)
	}
	d.validateCredentials(root, "credentials", dk.Credentials)
	if th := dk.TeamHistory; th != nil && !d.isBad("teamHistory") {
		if dk.Backend == BackendDocker {
			d.addf(keyNode(root, "teamHistory"), "teamHistory", "teamHistory is for Kubernetes decks: a docker deck's runs are recorded only on this machine; remove it")
		}
		if hasKey(node(root, "teamHistory"), "keep") && !d.isBad("teamHistory.keep") && (th.Keep < 1 || th.Keep > MaxTeamHistoryKeep) {
			d.addf(node(root, "teamHistory", "keep"), "teamHistory.keep", "teamHistory.keep %d is out of range: keep between 1 and %d finished records per script (the default is %d)", th.Keep, MaxTeamHistoryKeep, DefaultTeamHistoryKeep)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
