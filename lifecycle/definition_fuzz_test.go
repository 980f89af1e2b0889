package lifecycle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// FuzzDecode feeds arbitrary bytes to the library loader as a lifecycle
// definition file beside one valid script, the way `cscript` reads it, and
// decodes it with Decode and LoadIndex. Neither may panic; every problem
// names the file and says what is wrong; a definition decoded without a
// problem is valid (a good name, at least one script, templates that parse)
// and decodes to the same definition again once encoded back to YAML.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"kind: Lifecycle\nname: vm\nscripts: {create: mk}\n",
		"kind: Lifecycle\nname: vm\ndescription: A VM.\nuuid: 0f5a4f1c-4f0e-4d38-9d4a-2c1c2d9b7e11\n" +
			"scripts: {create: mk, update: lib/up, terminate: mk, pull: mk}\n" +
			"plans:\n  small: {description: one CPU, limits: {cpu: 1, ram: 1024}}\n  big: {uuid: 0F5A4F1C4F0E4D389D4A2C1C2D9B7E11}\n" +
			"env:\n  REGION: \"{{ .Values.region }}\"\n  N: 3\n",
		"kind: Lifecycle\nname: Bad_Name\nscripts: {boot: mk, create: [x]}\nplans: {p: {limits: {cpu: 1.5, 'no-dash': 1}}}\n",
		"kind: Lifecycle\nname: vm\nscripts: {create: nosuch}\nenv: {'1X': a, OK: '{{ .Values.x'}\n",
		"kind: Lifecycle\nname: vm\nname: again\nscripts: &s {create: mk}\nplans: {p: {limits: *s}}\n",
		"kind: Lifecycle\n",
		"kind: Lifecycle\nname: ''\nscripts: ~\nplans: []\nenv: 3\nuuid: nope\nextra: 1\n",
		"kind: Lifecycle\nname: vm\nscripts: {create: mk}\nplans: {p: {limits: {cpu: 0x10, ram: 99999999999999999999}}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		const name = "vm.yaml"
		if err := os.WriteFile(filepath.Join(root, "mk.yaml"), []byte("name: mk\nimage: shell\ninterpreter: sh\nscript: echo id\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		ix, err := store.LoadLibrary("fuzz", root)
		if err != nil {
			t.Fatalf("LoadLibrary: %v", err)
		}
		file := filepath.Join(root, name)
		_, problems := LoadIndex(ix)
		for _, p := range append(problems, ix.Problems...) {
			if p.File == "" || p.Message == "" {
				t.Fatalf("a problem without a file or a message: %+v", p)
			}
			if !strings.HasPrefix(p.String(), p.File) {
				t.Fatalf("problem %q does not start with its file %s", p.String(), p.File)
			}
		}
		for _, of := range ix.Other {
			if of.Kind != store.KindLifecycle {
				continue
			}
			def, ps := Decode(of, "fuzz")
			if def == nil {
				t.Fatal("Decode returned no definition")
			}
			for _, p := range ps {
				if p.File != file || p.Message == "" || p.Line < 1 {
					t.Fatalf("problem %+v: want file %s, a message and a line", p, file)
				}
			}
			if len(ps) > 0 {
				continue
			}
			checkValid(t, def)
			again := redecode(t, def)
			want := canonical(def)
			if diff := cmp.Diff(want, canonical(again)); diff != "" {
				t.Fatalf("decode → encode → decode changed the definition (-first +second):\n%s", diff)
			}
			if def.OfferingUUID() != again.OfferingUUID() {
				t.Fatalf("offering UUID %s became %s", def.OfferingUUID(), again.OfferingUUID())
			}
		}
	})
}

// checkValid checks what a definition without problems promises.
func checkValid(t *testing.T, def *Definition) {
	t.Helper()
	if !store.ValidName(def.Name) {
		t.Fatalf("decoded without a problem, but the name %q is not valid", def.Name)
	}
	if len(def.Scripts) == 0 {
		t.Fatal("decoded without a problem, but without a script")
	}
	for ev, ref := range def.Scripts {
		lib, name := splitRef(ref)
		if !store.ValidName(name) || lib != "" && !store.ValidName(lib) {
			t.Fatalf("scripts.%s: %q is not a script reference", ev, ref)
		}
	}
	for plan := range def.Plans {
		if !store.ValidName(plan) {
			t.Fatalf("plan name %q is not valid", plan)
		}
	}
	for k, v := range def.Env {
		if !envNameRE.MatchString(k) {
			t.Fatalf("env name %q is not valid", k)
		}
		if _, err := template.New(k).Funcs(templates.FuncMap()).Parse(v); err != nil {
			t.Fatalf("env.%s does not parse: %v", k, err)
		}
	}
}

// lifecycleYAML is a Definition as a lifecycle file writes it.
type lifecycleYAML struct {
	Kind        string            `yaml:"kind"`
	Name        string            `yaml:"name"`
	Description string            `yaml:"description,omitempty"`
	UUID        string            `yaml:"uuid,omitempty"`
	Scripts     map[Event]string  `yaml:"scripts"`
	Plans       map[string]Plan   `yaml:"plans,omitempty"`
	Env         map[string]string `yaml:"env,omitempty"`
}

func canonical(def *Definition) lifecycleYAML {
	plans := map[string]Plan{}
	for k, p := range def.Plans {
		if len(p.Limits) == 0 {
			p.Limits = nil
		}
		plans[k] = p
	}
	return lifecycleYAML{Kind: store.KindLifecycle, Name: def.Name, Description: def.Description, UUID: def.UUID,
		Scripts: def.Scripts, Plans: plans, Env: def.Env}
}

// redecode encodes def as YAML and decodes that again; it must decode without a problem.
func redecode(t *testing.T, def *Definition) *Definition {
	t.Helper()
	out, err := yaml.Marshal(canonical(def))
	if err != nil {
		t.Fatalf("encode %+v: %v", def, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("the encoded definition does not parse: %v\n%s", err, out)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		t.Fatalf("the encoded definition is not one document:\n%s", out)
	}
	again, ps := Decode(&store.OtherFile{Kind: store.KindLifecycle, File: "again.yaml", Node: doc.Content[0]}, "fuzz")
	if len(ps) > 0 {
		t.Fatalf("the encoded definition has problems: %v\n%s", ps, out)
	}
	return again
}
