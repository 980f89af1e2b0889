package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cscript-dev/cscript/store"
)

func writeLibrary(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func loadIndexAt(t *testing.T, name, root string) *store.Index {
	t.Helper()
	ix, err := store.LoadLibrary(name, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Err(); err != nil {
		t.Fatalf("library problems: %v", err)
	}
	return ix
}

func TestDecodeValid(t *testing.T) {
	root := writeLibrary(t, map[string]string{
		"mk.yaml": "name: mk\nimage: shell\ninterpreter: sh\nscript: echo id\n",
		"rm.yaml": "name: rm\nimage: shell\ninterpreter: sh\nscript: echo bye\n",
		"vm.yaml": `kind: Lifecycle
name: vm
description: A VM.
scripts:
  create: mk
  terminate: rm
plans:
  small:
    limits: {cpu: 1, ram: 1024}
  big:
    uuid: 0f5a4f1c-4f0e-4d38-9d4a-2c1c2d9b7e11
    limits: {cpu: 8}
env:
  REGION: "{{ .Values.region }}"
`,
	})
	ix := loadIndexAt(t, "lib", root)
	defs, problems := LoadIndex(ix)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(defs) != 1 {
		t.Fatalf("%d definitions, want 1", len(defs))
	}
	got := defs[0]
	want := &Definition{Name: "vm", Description: "A VM.", Library: "lib",
		Scripts: map[Event]string{EventCreate: "mk", EventTerminate: "rm"},
		Plans: map[string]Plan{"small": {Limits: map[string]int64{"cpu": 1, "ram": 1024}},
			"big": {UUID: "0f5a4f1c4f0e4d389d4a2c1c2d9b7e11", Limits: map[string]int64{"cpu": 8}}},
		Env: map[string]string{"REGION": "{{ .Values.region }}"}, EnvLines: map[string]int{"REGION": 14}}
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Definition{}), cmpopts.IgnoreFields(Definition{}, "Path", "File")); d != "" {
		t.Errorf("definition (-want +got):\n%s", d)
	}
	if u := got.OfferingUUID(); len(u) != 32 || u != StableUUID("lifecycle", "lib", "vm") {
		t.Errorf("OfferingUUID = %q, want the stable 32-hex UUID", u)
	}
	if got.PlanUUID("big") != "0f5a4f1c4f0e4d389d4a2c1c2d9b7e11" || got.PlanUUID("small") == got.PlanUUID("big") || got.PlanUUID("") != "" {
		t.Errorf("PlanUUIDs: %q %q", got.PlanUUID("big"), got.PlanUUID("small"))
	}
	if StableUUID("lifecycle", "lib", "vm") == StableUUID("lifecycle", "lib", "vm2") {
		t.Error("StableUUID must differ by name")
	}

	cat := Load(store.NewCatalog(ix))
	if err := cat.Err(); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"vm", "lib/vm"} {
		if d, err := cat.Find(ref); err != nil || d.Name != "vm" {
			t.Errorf("Find(%q) = %v, %v", ref, d, err)
		}
	}
	if _, err := cat.Find("vn"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Find(vn) = %v, want store.ErrNotFound", err)
	}
}

func TestDecodeProblems(t *testing.T) {
	root := writeLibrary(t, map[string]string{
		"mk.yaml": "name: mk\nimage: shell\ninterpreter: sh\nscript: echo id\n",
		"bad.yaml": `kind: Lifecycle
name: Bad_Name
scripts:
  create: mk
  destroy: mk
  pull: [x]
plans:
  small:
    limits: {cpu: one}
    size: 3
env:
  1X: a
  OK: "{{ .Values.x"
colour: red
`,
		"missing.yaml":   "kind: Lifecycle\nname: missing\nscripts:\n  create: nope\n",
		"noscripts.yaml": "kind: Lifecycle\nname: empty\n",
		"dup1.yaml":      "kind: Lifecycle\nname: dup\nscripts: {create: mk}\n",
		"dup2.yaml":      "kind: Lifecycle\nname: dup\nscripts: {create: mk}\n",
	})
	ix := loadIndexAt(t, "lib", root)
	defs, problems := LoadIndex(ix)
	var got []string
	for _, p := range problems {
		got = append(got, strings.TrimPrefix(p.String(), root+string(filepath.Separator)))
	}
	want := []string{
		`bad.yaml:2:7: name "Bad_Name" is not valid: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
		`bad.yaml:5:3: unknown event "destroy": events are create, update, terminate and pull`,
		`bad.yaml:6:9: scripts.pull must be a text, not a list`,
		`bad.yaml:9:19: plans.small.limits.cpu must be a whole number, not "one"`,
		`bad.yaml:10:5: unknown field "size": a plan has limits, uuid and description`,
		`bad.yaml:12:3: env name "1X" is not valid: use letters, digits and '_', not starting with a digit`,
		`bad.yaml:13:7: env.OK is not a valid template: unclosed action`,
		`bad.yaml:14:1: unknown field "colour": a lifecycle definition has kind, name, description, uuid, scripts, plans, env`,
		`dup2.yaml:2:7: lifecycle name "dup" is also used by ` + filepath.Join(root, "dup1.yaml") + `: names must be unique in a library; rename one`,
		`missing.yaml:4:11: script "nope" is not a valid script of library lib: create it, fix its problems (` + "`cscript validate`" + `) or fix the name`,
		`noscripts.yaml:1:1: scripts is missing: name at least one script, e.g. ` + "`scripts: {create: my-create}`" + ` (events: create, update, terminate, pull)`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if len(defs) != 1 || defs[0].Name != "dup" {
		t.Errorf("valid definitions = %v, want only the first dup", defs)
	}
	cat := Load(store.NewCatalog(ix))
	var ve *store.ValidationError
	if _, err := cat.Find("missing"); !errors.As(err, &ve) {
		t.Errorf("Find of an invalid definition = %v, want its problems", err)
	}
}

// TestExamples loads the example library: its lifecycle definitions have no
// problems and hold what the issue asks for.
func TestExamples(t *testing.T) {
	ix := loadIndexAt(t, "examples", "../examples")
	defs, problems := LoadIndex(ix)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	byName := map[string]*Definition{}
	for _, d := range defs {
		byName[d.Name] = d
	}
	vm, ok := byName["demo-vm"]
	if !ok {
		t.Fatalf("examples lack lifecycle demo-vm (have %v)", defs)
	}
	for _, ev := range Events() {
		if vm.Scripts[ev] == "" {
			t.Errorf("demo-vm has no %s script", ev)
		}
	}
	if len(defs) < 2 {
		t.Errorf("examples need a second lifecycle whose create prints only a UUID")
	}
}

// A mistyped lifecycle gets the suggestions a mistyped script gets: both
// go through the store's one "did you mean" (store.Suggest, ranked by
// store.EditDistance), a swap of two letters included.
func TestLifecycleSuggestionsAreTheStores(t *testing.T) {
	files := map[string]string{}
	for _, name := range []string{"vm-small", "db-backup", "web"} {
		files[name+"-s.yaml"] = "name: " + name + "\nimage: shell\ninterpreter: sh\nscript: echo hi\n"
		files[name+".yaml"] = "kind: Lifecycle\nname: " + name + "\nscripts:\n  create: " + name + "\n"
	}
	// The scripts and the lifecycles have the same names, in files of
	// their own: the scripts are named like the lifecycles.
	root := writeLibrary(t, files)
	ix := loadIndexAt(t, "lib", root)
	sc := store.NewCatalog(ix)
	cat := Load(sc)
	if err := cat.Err(); err != nil {
		t.Fatal(err)
	}
	for _, typo := range []string{"mv-small", "db-bakcup", "wbe", "vm-smal"} {
		_, lerr := cat.Find(typo)
		_, serr := sc.Script(typo)
		var lnf, snf *store.NotFoundError
		if !errors.As(lerr, &lnf) || !errors.As(serr, &snf) {
			t.Fatalf("%s: lifecycle %v, script %v: want not found", typo, lerr, serr)
		}
		if len(lnf.Suggestions) == 0 || !slices.Equal(lnf.Suggestions, snf.Suggestions) {
			t.Errorf("%s: lifecycle suggests %q, a script %q", typo, lnf.Suggestions, snf.Suggestions)
		}
	}
}
