package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrExists is matched (errors.Is) when a new script or deck would overwrite a file.
var ErrExists = errors.New("already exists")

// WriteFileAtomic writes data to path so that readers see either the old
// file or the whole new one: a temporary file in the same directory, fsync,
// then rename over path.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// CreateFileAtomic is WriteFileAtomic that refuses to replace an existing
// file (ErrExists).
func CreateFileAtomic(path string, data []byte, perm os.FileMode) error {
	return createFileAtomic(path, data, perm)
}

// createFileAtomic is WriteFileAtomic that refuses to replace an existing file.
func createFileAtomic(path string, data []byte, perm os.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s %w", path, ErrExists)
	}
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link fails if path appeared meanwhile; where links are not
	// supported, fall back to a rename after the check above.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s %w", path, ErrExists)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	syncDir(filepath.Dir(path))
	return nil
}

func writeTemp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return name, nil
}

// syncDir makes a rename durable; not every platform can fsync a directory,
// and the data is already safe in the file, so errors are ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func yamlScalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

const scriptScaffold = `# A cscript script definition. Check it with ` + "`cscript validate`" + `.
name: %s
description: Says hello. Replace this with what the script does, in one line.
# A preset (shell, debian, python, postgres) or a full image reference.
image: debian
# bash, sh or python.
interpreter: bash
author: %s
created: %s
modified: %s
# Typed parameters, given as --set name=value and used as {{ .Params.name }}.
# Types: string, int, bool, file, enum (with values). secret: true redacts the value.
params:
  - name: greeting
    type: string
    description: Whom to greet.
    default: world
# Credentials become env vars of the script. Never write secret values here:
# take them from a Kubernetes Secret, or locally from an env var, a file or a command.
# credentials:
#   - name: API_TOKEN
#     secret: {name: api-credentials, key: token}
#   - name: PGPASSWORD
#     fromCommand: pass show db/password
# env:
#   LOG_LEVEL: info
# timeout: 10m
# The body is a template (text/template + sprig) with .Params, .Values, .Deck,
# .Script and .Run. Put values into shell code with shellquote, never bare.
script: |
  set -euo pipefail
  echo "hello, "{{ .Params.greeting | shellquote }}
`

// ScriptScaffold is the valid, commented definition NewScript writes.
func ScriptScaffold(name, author string, now time.Time) []byte {
	ts := now.UTC().Format(time.RFC3339)
	return []byte(SchemaModeline("script") + "\n" + fmt.Sprintf(scriptScaffold, name, yamlScalar(author), ts, ts))
}

// NewScript writes a valid, commented definition for a new script called name
// to <lib.Root>/<name>.yaml and returns its path. It refuses to overwrite a
// file (ErrExists); checking that no other file of the library uses the name
// is the caller's job (LoadLibrary reports duplicates).
func NewScript(lib Library, name, author string, now time.Time) (string, error) {
	if !ValidName(name) {
		return "", fmt.Errorf("script name %q is not valid: %s", name, nameRule)
	}
	if err := checkRoot(lib); err != nil {
		return "", err
	}
	body := ScriptScaffold(name, author, now)
	path := filepath.Join(lib.Root, name+".yaml")
	if err := createFileAtomic(path, body, 0o644); err != nil {
		return "", fmt.Errorf("new script %q: %w", name, err)
	}
	return path, nil
}

const deckScaffold = `# A cscript deck: a target environment, chosen with --deck %s.
description: Replace this with what this environment is.
# kubernetes (the default) or docker.
backend: kubernetes
# The kubeconfig context; leave it out to use the current context.
# context: my-cluster
namespace: default
# protected: true makes every run on this deck ask for confirmation.
protected: false
# Values for the templates ({{ .Values.x }}), over the library's values.yaml.
values: {}
# Where this deck takes the scripts' credentials from, by credential name:
# credentials:
#   - name: PGPASSWORD
#     secret: {name: db-credentials, key: password}
# Every run leaves a record in the namespace (cscript runs --cluster): keep is
# how many finished records per script stay; required refuses a run that
# cannot write its record (by default it warns and runs).
# teamHistory: {keep: 100, required: false}
`

// NewDeck writes a valid, commented deck called name to
// <lib.Root>/decks/<name>.yaml and returns its path; it refuses to overwrite (ErrExists).
func NewDeck(lib Library, name string) (string, error) {
	if !ValidName(name) {
		return "", fmt.Errorf("deck name %q is not valid: %s", name, nameRule)
	}
	if err := checkRoot(lib); err != nil {
		return "", err
	}
	dir := filepath.Join(lib.Root, DecksDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("new deck %q: %w", name, err)
	}
	path := filepath.Join(dir, name+".yaml")
	if err := createFileAtomic(path, []byte(SchemaModeline("deck")+"\n"+fmt.Sprintf(deckScaffold, name)), 0o644); err != nil {
		return "", fmt.Errorf("new deck %q: %w", name, err)
	}
	return path, nil
}

func checkRoot(lib Library) error {
	st, err := os.Stat(lib.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return &NotFoundError{What: "library", Name: lib.Name,
			Hint: fmt.Sprintf("directory %s does not exist: run `cscript init` first", lib.Root)}
	}
	if err != nil {
		return fmt.Errorf("library %q: %w", lib.Name, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("library %q: %s is not a directory", lib.Name, lib.Root)
	}
	return nil
}

// Touch sets the top-level "modified" field of the definition at path to now
// (RFC 3339, UTC). It edits the one line in place so comments and formatting
// stay as they are; it adds the field after created (or author, or name) when
// missing. Only for an unusual layout (flow style) does it fall back to a
// yaml.v3 node round trip, which keeps comments but may re-indent.
func Touch(path string, now time.Time) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("touch: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("touch: %w", err)
	}
	d := newFileDecoder(path)
	root := d.parseDocument(data)
	if root == nil {
		return problemsErr(d.problems)
	}
	ts := now.UTC().Format(time.RFC3339)
	out, ok := setFieldText(data, root, "modified", ts, []string{"created", "author", "name"})
	if !ok {
		if out, err = setFieldNode(root, "modified", ts); err != nil {
			return fmt.Errorf("touch %s: %w", path, err)
		}
	}
	return WriteFileAtomic(path, out, st.Mode().Perm())
}

func singleLineScalar(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "\n") &&
		n.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.FlowStyle) == 0
}

// SetFields sets top-level single-line fields of the definition data to
// the given values (as YAML scalars), editing the lines in place so that
// comments and formatting stay; a missing field is added after name. For a
// layout it cannot edit in place it falls back to a yaml.v3 node round trip.
// file names data in problems.
func SetFields(file string, data []byte, fields [][2]string) ([]byte, error) {
	for _, f := range fields {
		d := newFileDecoder(file)
		root := d.parseDocument(data)
		if root == nil {
			return nil, problemsErr(d.problems)
		}
		text := yamlScalar(f[1])
		if _, err := time.Parse(time.RFC3339, f[1]); err == nil {
			text = f[1] // a timestamp, as Touch writes it
		}
		out, ok := setFieldText(data, root, f[0], text, []string{"name"})
		if !ok {
			var err error
			if out, err = setFieldNode(root, f[0], f[1]); err != nil {
				return nil, fmt.Errorf("set %s in %s: %w", f[0], file, err)
			}
		}
		data = out
	}
	return data, nil
}

// setFieldText sets the top-level field key to the scalar text ts in the
// source text, or adds it after the first of after that is there; ok is
// false when the layout is not one it handles.
func setFieldText(data []byte, root *yaml.Node, key, ts string, after []string) ([]byte, bool) {
	if root.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if hasKey(root, key) {
		v := node(root, key)
		if !singleLineScalar(v) || v.Line < 1 || v.Line > len(lines) {
			return nil, false
		}
		line := []rune(string(lines[v.Line-1]))
		start := v.Column - 1
		if start < 0 || start > len(line) {
			return nil, false
		}
		rest := string(line[start:])
		var old string
		switch {
		case v.Style&yaml.DoubleQuotedStyle != 0:
			old = `"` + v.Value + `"`
		case v.Style&yaml.SingleQuotedStyle != 0:
			old = `'` + v.Value + `'`
		default:
			old = v.Value
		}
		if !strings.HasPrefix(rest, old) {
			return nil, false
		}
		lines[v.Line-1] = []byte(string(line[:start]) + ts + rest[len(old):])
		return bytes.Join(lines, nil), true
	}
	for _, after := range after {
		if !hasKey(root, after) {
			continue
		}
		k, v := keyNode(root, after), node(root, after)
		if !singleLineScalar(v) || v.Line != k.Line || v.Line > len(lines) {
			continue
		}
		prev := lines[v.Line-1]
		nl := ""
		if !bytes.HasSuffix(prev, []byte("\n")) {
			nl = "\n"
		}
		ins := []byte(nl + strings.Repeat(" ", k.Column-1) + key + ": " + ts + "\n")
		out := append([][]byte{}, lines[:v.Line]...)
		out = append(out, ins)
		out = append(out, lines[v.Line:]...)
		return bytes.Join(out, nil), true
	}
	return nil, false
}

func setFieldNode(root *yaml.Node, key, ts string) ([]byte, error) {
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ts}
	if hasKey(root, key) {
		*node(root, key) = *val
	} else {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Remove deletes the definition of s and, when it has a scriptFile that no
// other script of ix uses, that file too. It returns the paths it removed.
func Remove(ix *Index, s *Script) ([]string, error) {
	var removed []string
	if err := os.Remove(s.Source.Path); err != nil {
		return nil, fmt.Errorf("remove script %q: %w", s.Name, err)
	}
	removed = append(removed, s.Source.Path)
	if s.ScriptFile == "" || s.Source.BodyPath == "" || s.Source.BodyPath == s.Source.Path {
		return removed, nil
	}
	if ix != nil {
		for _, o := range ix.Scripts {
			if o != s && o.Source.Path != s.Source.Path && o.Source.BodyPath == s.Source.BodyPath {
				return removed, nil
			}
		}
	}
	if err := os.Remove(s.Source.BodyPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, fmt.Errorf("remove script file of %q: %w", s.Name, err)
	}
	return append(removed, s.Source.BodyPath), nil
}
