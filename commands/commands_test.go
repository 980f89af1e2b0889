package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/internal/gitserver"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// env is an isolated cscript home: XDG dirs and HOME in a temp dir.
type env struct {
	t    *testing.T
	root string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{t: t, root: root}
	for k := range e.vars() {
		t.Setenv(k, "") // restored after the test
	}
	// No editor of the machine's user: tests that edit set their own.
	t.Setenv("EDITOR", "")
	t.Setenv("VISUAL", "")
	e.activate()
	if err := os.WriteFile(filepath.Join(root, ".gitconfig"), []byte("[user]\n\tname = Test User\n\temail = test@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// vars is the environment of this cscript home.
func (e *env) vars() map[string]string {
	v := map[string]string{"HOME": e.root, "GIT_CONFIG_GLOBAL": filepath.Join(e.root, ".gitconfig"), "NO_COLOR": "1", "CSCRIPT_DECK": ""}
	for _, x := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"} {
		v[x] = filepath.Join(e.root, strings.ToLower(strings.TrimPrefix(x, "XDG_")))
	}
	return v
}

// activate points the process environment at this home: tests with two users switch per command.
func (e *env) activate() {
	for k, v := range e.vars() {
		os.Setenv(k, v)
	}
}

// lib is the default library's directory.
func (e *env) lib() string { return filepath.Join(e.root, "data_home", "cscript", "library") }

// kubeconfig writes a kubeconfig with the given contexts (never contacted) and points KUBECONFIG at it.
func (e *env) kubeconfig(contexts ...string) {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n")
	for _, c := range contexts {
		b.WriteString("- name: " + c + "\n  context: {cluster: c, user: u}\n")
	}
	b.WriteString("current-context: " + contexts[0] + "\n")
	path := filepath.Join(e.root, "kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.t.Setenv("KUBECONFIG", path)
}

type result struct {
	out, err string
	code     int
}

// run runs cscript in-process with the real command tree.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	e.activate()
	var out, errb bytes.Buffer
	a := newApp(BuildInfo{Version: "test"}, strings.NewReader(stdin), &out, &errb)
	a.now = func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }
	code := a.main(context.Background(), append([]string{"cscript"}, args...))
	return result{out: out.String(), err: errb.String(), code: code}
}

func (e *env) mustRun(args ...string) result {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != 0 {
		e.t.Fatalf("cscript %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

// golden compares got with testdata/NAME.golden (rewritten with -update).
// The temp root is replaced by $ROOT so the files are stable.
func (e *env) golden(name, got string) {
	e.t.Helper()
	got = strings.ReplaceAll(got, e.root, "$ROOT")
	got = regexp.MustCompile(`\b[0-9a-f]{40}\b`).ReplaceAllString(got, "$$COMMIT")
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatalf("%v (run go test ./commands -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		e.t.Errorf("%s mismatch (-want +got):\n%s", path, d)
	}
}

func TestNoLibraryYet(t *testing.T) {
	e := newEnv(t)
	r := e.run("", "list")
	if r.code != ExitNotFound {
		t.Fatalf("list without a library: exit %d, want %d (stderr %q)", r.code, ExitNotFound, r.err)
	}
	if !strings.Contains(r.err, "cscript init") {
		t.Errorf("the message should say to run cscript init: %q", r.err)
	}
}

func TestInitListRender(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.golden("list", e.mustRun("list").out)

	var rows []action.ScriptSummary
	if err := json.Unmarshal([]byte(e.mustRun("list", "-o", "json").out), &rows); err != nil {
		t.Fatalf("list -o json is not JSON: %v", err)
	}
	if len(rows) != 9 || rows[0].Name != "db-dump" || rows[1].Interpreter != "bash" {
		t.Errorf("list -o json rows = %+v", rows)
	}
	e.golden("validate", e.mustRun("validate").out)
	// Flags after the script name, and a hostile value quoted for the shell.
	e.golden("render-hello", e.mustRun("render", "hello", "--deck", "local", "--set", "who=O'Brien; touch /tmp/x", "--set", "code=3").out)
	e.golden("render-db-dump-pod", e.mustRun("render", "db-dump", "--deck", "staging", "--pod").out)
	e.golden("alias", e.mustRun("alias", "--deck", "local").out)
	if r := e.mustRun("init", filepath.Join(e.root, "second"), "--name", "team"); !strings.Contains(r.out, `"team"`) {
		t.Errorf("init second library: %q", r.out)
	}
	// Both libraries have hello now: a bare name is ambiguous, LIB/NAME is not.
	if r := e.run("", "render", "hello", "--deck", "local"); r.code != ExitNotFound || !strings.Contains(r.err, "LIB/NAME") {
		t.Errorf("ambiguous render: exit %d, stderr %q", r.code, r.err)
	}
	e.mustRun("render", "team/hello", "--deck", "local")
}

func TestExitCodes(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.kubeconfig("local", "staging")
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"unknown script", []string{"render", "nope"}, ExitNotFound, `script "nope" not found`},
		{"unknown deck", []string{"render", "hello", "--deck", "prod"}, ExitNotFound, `deck "prod" not found`},
		{"missing required param", []string{"render", "db-restore", "--deck", "local"}, ExitInvalid, "missing required param dump"},
		{"bad param value", []string{"render", "hello", "--set", "code=abc", "--deck", "local"}, ExitInvalid, "code"},
		{"bad --set", []string{"render", "hello", "--set", "=x", "--deck", "local"}, ExitInvalid, "--set"},
		{"missing file param", []string{"render", "db-restore", "--deck", "local", "--set", "dump=/nonexistent.gz"}, ExitInvalid, "/nonexistent.gz"},
		{"no args", []string{"render"}, ExitUsage, "exactly one script name"},
		{"unknown flag", []string{"list", "--bogus"}, ExitUsage, "bogus"},
		{"run on protected deck without terminal", []string{"run", "hello", "--deck", "staging"}, ExitRunFailed, "protected"},
		{"run unknown script", []string{"run", "nope", "--deck", "local"}, ExitRunFailed, `script "nope" not found`},
		{"run with a bad --mode", []string{"run", "hello", "--deck", "local", "--mode", "cron"}, ExitUsage, "--mode"},
		{"run without a script", []string{"run"}, ExitUsage, "exactly one script name"},
		{"unknown command", []string{"bogus"}, ExitUsage, `unknown command "bogus"`},
		{"unknown command, close to one", []string{"rnu", "hello"}, ExitUsage, `did you mean "run"?`},
		{"unknown subcommand", []string{"deck", "shwo"}, ExitUsage, `unknown command "deck shwo": did you mean "deck show"?`},
		{"unknown subcommand of runs", []string{"runs", "bogus"}, ExitUsage, `unknown command "runs bogus"`},
		{"unknown help topic", []string{"help", "bogus"}, ExitUsage, "bogus"},
		{"-f file that is not YAML", []string{"render", "hello", "-f", "testdata/broken-values.yaml"}, ExitInvalid, "broken-values.yaml:2:"},
		{"-f file that is not there", []string{"render", "hello", "-f", "nope.yaml"}, ExitInvalid, "nope.yaml"},
		{"gc with the cluster unreachable", []string{"gc"}, ExitUnavailable, "127.0.0.1:1"},
		{"resource with the cluster unreachable", []string{"resource", "list", "--deck", "local"}, ExitUnavailable, "127.0.0.1:1"},
		{"trace without runs", []string{"trace"}, ExitNotFound, "run"},
		{"rm without --yes", []string{"rm", "hello"}, ExitRefused, "--yes"},
		// Last: it leaves a run record.
		{"run with the cluster unreachable", []string{"run", "hello", "--deck", "local"}, ExitRunFailed, "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run("", tt.args...)
			if r.code != tt.code || !strings.Contains(r.err, tt.message) {
				t.Fatalf("cscript %s: exit %d, stderr %q; want exit %d and a message containing %q", strings.Join(tt.args, " "), r.code, r.err, tt.code, tt.message)
			}
			if n := strings.Count(r.err, "cscript:"); n != 1 {
				t.Errorf("the error should be reported once, got %d times: %q", n, r.err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	lib := e.lib()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(lib, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bad-interp.yaml", "name: bad-interp\nimage: shell\ninterpreter: ruby\nscript: puts 1\n")
	write("unknown-field.yaml", "name: unknown-field\nimage: shell\ninterpreter: sh\nscirpt: echo\n")
	write("dup.yaml", "name: hello\nimage: shell\ninterpreter: sh\nscript: echo\n")
	write("broken.yaml", "name: [broken\n")
	r := e.run("", "validate")
	if r.code != ExitInvalid {
		t.Fatalf("validate: exit %d, want %d; stderr %q", r.code, ExitInvalid, r.err)
	}
	e.golden("validate-problems", r.err)
}

func TestNewEditRmCommit(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.mustRun("new", "backup")
	r := e.mustRun("list")
	if !strings.Contains(r.out, "backup") {
		t.Fatalf("new script not listed:\n%s", r.out)
	}
	if r := e.run("", "new", "backup"); r.code == 0 || !strings.Contains(r.err, "already exists") {
		t.Errorf("new over an existing script: exit %d %q", r.code, r.err)
	}
	if r := e.run("", "edit", "backup"); r.code != ExitUsage || !strings.Contains(r.err, "terminal") {
		t.Errorf("edit without a terminal: exit %d %q", r.code, r.err)
	}
	e.mustRun("rm", "backup", "--yes")
	if r := e.mustRun("list"); strings.Contains(r.out, "backup") {
		t.Fatalf("removed script still listed:\n%s", r.out)
	}
	// The library is a git repository with a commit per change.
	lib := e.lib()
	out := gitLog(t, lib)
	for _, want := range []string{"cscript: new script backup", "cscript: remove script backup"} {
		if !strings.Contains(out, want) {
			t.Errorf("git log lacks %q:\n%s", want, out)
		}
	}
}

func TestLibraryAddListRm(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	other := filepath.Join(e.root, "other")
	e.mustRun("init", other, "--name", "other", "--empty")
	e.mustRun("library", "rm", "other")
	e.mustRun("library", "add", "mine", other)
	r := e.mustRun("library", "list")
	if !strings.Contains(r.out, "mine") || !strings.Contains(r.out, "local") {
		t.Fatalf("library list:\n%s", r.out)
	}
	if r := e.run("", "library", "add", "mine", other); r.code != ExitUsage {
		t.Errorf("adding a library twice: exit %d %q", r.code, r.err)
	}
	if r := e.run("", "sync", "mine"); r.code != ExitUsage || !strings.Contains(r.err, "without a git remote") {
		t.Errorf("sync of a local library: exit %d %q", r.code, r.err)
	}
}

func TestCompletion(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := e.mustRun("completion", sh); !strings.Contains(r.out, "__complete") {
			t.Errorf("completion %s does not complete dynamically:\n%s", sh, r.out)
		}
	}
	r := e.mustRun("__complete", "run", "")
	var words []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n")[1:] {
		w, _, _ := strings.Cut(l, "\t")
		words = append(words, w)
	}
	if strings.Join(words, " ") != "db-dump db-restore demo-id-create demo-vm-create demo-vm-pull demo-vm-terminate demo-vm-update hello py-fail" {
		t.Errorf("__complete run '' = %q", r.out)
	}
	if r := e.mustRun("__complete", "run", "hello", "--deck", ""); r.out != ":default\nlocal\tThe local test cluster (test/cluster up).\nstaging\tShared staging. Runs ask you to type the deck name first.\n" {
		t.Errorf("__complete decks = %q", r.out)
	}
}

func TestInterspersed(t *testing.T) {
	app := New(BuildInfo{}, nil, nil, nil)
	tests := []struct{ in, want string }{
		{"cscript run hello --deck d --set a=1 -y", "cscript run --deck d --set a=1 -y hello"},
		{"cscript render hello --pod --deck=d", "cscript render --pod --deck=d hello"},
		{"cscript deck show local -o json", "cscript deck show -o json local"},
		{"cscript run hello -- --weird", "cscript run -- hello --weird"},
		{"cscript list", "cscript list"},
		{"cscript --kube-verbosity 10 run hello --deck d", "cscript --kube-verbosity 10 run --deck d hello"},
		{"cscript run hello --kube-verbosity=8 -v", "cscript --kube-verbosity=8 run -v hello"},
		{"cscript --kube-verbosity 3 list", "cscript --kube-verbosity 3 list"},
		{"cscript run hello -- --kube-verbosity 2", "cscript run -- hello --kube-verbosity 2"},
	}
	for _, tt := range tests {
		got := strings.Join(interspersed(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("interspersed(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// runTTY runs cscript as if stdin and stderr were a terminal, answering from stdin.
func (e *env) runTTY(stdin string, args ...string) result {
	e.t.Helper()
	e.activate()
	var out, errb bytes.Buffer
	a := newApp(BuildInfo{Version: "test"}, strings.NewReader(stdin), &out, &errb)
	tty := true
	a.io.tty = &tty
	code := a.main(context.Background(), append([]string{"cscript"}, args...))
	return result{out: out.String(), err: errb.String(), code: code}
}

func TestPromptsOnATerminal(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	dump := filepath.Join(e.root, "dump.sql.gz")
	if err := os.WriteFile(dump, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A missing required param is asked for; a bad answer is asked again.
	r := e.runTTY(filepath.Join(e.root, "nope")+"\n"+dump+"\n", "render", "db-restore", "--deck", "local", "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.out, "from: "+dump) || strings.Count(r.err, "dump (") != 2 {
		t.Fatalf("prompted render: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
	// A protected deck needs its name typed; a wrong answer refuses before anything runs.
	e.kubeconfig("staging")
	r = e.runTTY("prod\n", "run", "hello", "--deck", "staging")
	if r.code != ExitRunFailed || !strings.Contains(r.err, "not confirmed") {
		t.Fatalf("wrong confirmation: exit %d, stderr %q", r.code, r.err)
	}
}

func TestEditRevalidatesAndCommits(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	// An "editor" that first writes an invalid interpreter, then (second call) a valid file.
	editor := filepath.Join(e.root, "editor.sh")
	script := `#!/bin/sh
n=$(cat "` + e.root + `/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "` + e.root + `/count"
if [ $n = 1 ]; then sed -i 's/interpreter: bash/interpreter: ruby/' "$1"; else sed -i 's/interpreter: ruby/interpreter: sh/' "$1"; fi
`
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDITOR", editor)
	t.Setenv("VISUAL", "")
	r := e.runTTY("y\n", "edit", "hello")
	if r.code != 0 || !strings.Contains(r.err, `interpreter "ruby" is not supported`) || !strings.Contains(r.err, "Edit again?") {
		t.Fatalf("edit: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
	data, err := os.ReadFile(filepath.Join(e.lib(), "hello.yaml"))
	if err != nil || !strings.Contains(string(data), "interpreter: sh") || !strings.Contains(string(data), "modified: ") {
		t.Fatalf("edited file: %v\n%s", err, data)
	}
	if log := gitLog(t, e.lib()); !strings.Contains(log, "cscript: edit script hello") {
		t.Errorf("edit not committed:\n%s", log)
	}
}

// writeFiles writes files (path relative to dir: contents) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A library directory with template problems that only a static look at
// the templates finds, and a lifecycle that names a script that is not there.
var templateProblemFiles = map[string]string{
	"a.yaml": `name: a
image: shell
interpreter: sh
params:
  - name: who
env:
  X: "{{ .Params.nope }}"
  Y: '{{ env "HOME" }}'
script: |
  echo {{ .Params.who | shellquot }}
  echo {{ .Parms.who }} {{ .Deck.Nme }}
  {{ range .Values.list }}{{ .Params.inside }}{{ end }} {{ $.Params.outside }}
`,
	"b.yaml":           "name: b\nimage: shell\ninterpreter: sh\nscript: |\n  echo ok\n  echo {{ .Values.x }\n",
	"c.yaml":           "name: c\nimage: shell\ninterpreter: sh\nscriptFile: c.sh\n",
	"c.sh":             "echo 1\necho {{ 3x }}\n",
	"d.yaml":           "name: d\nimage: shell\ninterpreter: sh\nscript: echo {{ .Values.fine | default \"x\" | shellquote }} {{ .Script.Name }}\n",
	"lifecycle/l.yaml": "kind: Lifecycle\nname: l\nscripts: {create: missing-one, pull: a}\n",
}

func TestValidateDirectory(t *testing.T) {
	e := newEnv(t) // no configuration at all, as on a CI machine
	dir := filepath.Join(e.root, "checkout")
	writeFiles(t, dir, templateProblemFiles)
	r := e.run("", "validate", dir)
	if r.code != ExitInvalid {
		t.Fatalf("validate DIR: exit %d, want %d\nstdout %s\nstderr %s", r.code, ExitInvalid, r.out, r.err)
	}
	e.golden("validate-dir", r.err)

	r = e.run("", "validate", dir, "--output", "json")
	if r.code != ExitInvalid || !strings.Contains(r.err, "9 problems") {
		t.Fatalf("validate DIR -o json: exit %d, stderr %q", r.code, r.err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.out)
	}
	for _, p := range list {
		if len(p) != 5 || p["severity"] != "error" || p["file"] == "" || p["line"].(float64) < 1 || p["col"].(float64) < 1 || p["message"] == "" {
			t.Errorf("problem %v: want file, line, col, severity and message", p)
		}
	}
	e.golden("validate-dir-json", r.out)

	// A directory without problems, and one that does not exist.
	good := filepath.Join(e.root, "good")
	writeFiles(t, good, map[string]string{"d.yaml": templateProblemFiles["d.yaml"]})
	if r := e.run("", "validate", good, "-o", "json"); r.code != 0 || strings.TrimSpace(r.out) != "[]" {
		t.Errorf("validate of a good directory: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
	if r := e.run("", "validate", filepath.Join(e.root, "nope")); r.code != ExitNotFound || !strings.Contains(r.err, "library or directory") {
		t.Errorf("validate of a missing directory: exit %d, stderr %q", r.code, r.err)
	}
}

func TestValidateNamedLibrary(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	team := filepath.Join(e.root, "team")
	writeFiles(t, team, templateProblemFiles)
	e.mustRun("library", "add", "team", team)
	// The default library alone is valid; team is not.
	if r := e.mustRun("validate", "local"); r.out != "9 scripts and 2 decks in 1 library: all valid\n" {
		t.Errorf("validate local: %q", r.out)
	}
	r := e.run("", "validate", "team")
	if r.code != ExitInvalid || !strings.Contains(r.err, "9 problems:") || strings.Contains(r.err, "data_home") {
		t.Errorf("validate team: exit %d\n%s", r.code, r.err)
	}
	// The same library by its directory, and all libraries.
	if r2 := e.run("", "validate", team); r2.code != ExitInvalid || r2.err != r.err {
		t.Errorf("validate DIR of a configured library: exit %d\n%s\nwant\n%s", r2.code, r2.err, r.err)
	}
	if r := e.run("", "validate"); r.code != ExitInvalid || !strings.Contains(r.err, "9 problems:") {
		t.Errorf("validate: exit %d\n%s", r.code, r.err)
	}
}

// A library values file or a deck that does not parse stops render and run
// with its file:line; a broken deck is invalid (3), not unknown (4).
func TestBrokenValuesAndDecks(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.kubeconfig("local")
	lib := e.lib()
	writeFiles(t, lib, map[string]string{
		"dig.yaml":          "name: dig\nimage: shell\ninterpreter: sh\nscript: echo {{ dig \"db\" \"host\" \"localhost\" .Values }}\n",
		"values.yaml":       "greeting: hello\ndb: {host: prod-db, port: [5432}\n",
		"decks/broken.yaml": "namespace: team\nvalues:\n  db: {host: [x}\n",
	})
	var got strings.Builder
	for _, args := range [][]string{
		{"render", "dig"},
		{"run", "dig", "--deck", "local"},
	} {
		r := e.run("", args...)
		want := ExitInvalid
		if args[0] == "run" {
			want = ExitRunFailed
		}
		if r.code != want || strings.Contains(r.out, "localhost") {
			t.Errorf("cscript %s with a broken values file: exit %d (want %d)\nstdout %s\nstderr %s", strings.Join(args, " "), r.code, want, r.out, r.err)
		}
		got.WriteString("$ cscript " + strings.Join(args, " ") + "\n" + r.err)
	}
	writeFiles(t, lib, map[string]string{"values.yaml": "db: {host: prod-db}\n"})
	if r := e.mustRun("render", "dig"); r.out != "echo prod-db" {
		t.Errorf("render dig with the values fixed: %q", r.out)
	}
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"render", "dig", "--deck", "broken"}, ExitInvalid},
		{[]string{"render", "dig", "--deck", "brokn"}, ExitNotFound},
		{[]string{"deck", "show", "broken"}, ExitInvalid},
	} {
		r := e.run("", tt.args...)
		if r.code != tt.code {
			t.Errorf("cscript %s: exit %d, want %d\n%s", strings.Join(tt.args, " "), r.code, tt.code, r.err)
		}
		got.WriteString("$ cscript " + strings.Join(tt.args, " ") + "\n" + r.err)
	}
	e.golden("broken-values-decks", got.String())
}

// --set and its kin as in Helm: commas inside a value, lists, files, JSON,
// values from stdin, and a warning for a key nothing reads.
func TestSetValuesHelmStyle(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	writeFiles(t, e.root, map[string]string{
		"who.txt":  "from a file",
		"a,b.yaml": "greeting: from a file with a comma in its name\n",
	})
	var got strings.Builder
	show := func(stdin string, args ...string) {
		t.Helper()
		r := e.run(stdin, args...)
		if r.code != 0 {
			t.Errorf("cscript %s: exit %d\n%s", strings.Join(args, " "), r.code, r.err)
		}
		fmt.Fprintf(&got, "$ cscript %s\n%s%s\n", strings.Join(args, " "), r.out, r.err)
	}
	show("", "render", "hello", "--deck", "local", "--set", `who=a\,b`)
	show("", "render", "hello", "--deck", "local", "--set", "who=x,code=3", "--set", "hosts={a,b}", "--set-json", `cfg={"x":[1,2.5],"y":{"z":true}}`, "-o", "yaml")
	show("", "render", "hello", "--deck", "local", "--set-json", `who="json"`, "--set", "who=set", "--set-string", "who=string", "--set-file", "who="+filepath.Join(e.root, "who.txt"), "--set", "gretting=hi")
	show("greeting: from stdin\n", "render", "hello", "--deck", "local", "-f", filepath.Join(e.root, "a,b.yaml"), "-f", "-", "-o", "json")
	e.golden("set-values", got.String())

	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"render", "hello", "--set-file", "who=" + filepath.Join(e.root, "nope.txt")}, ExitInvalid, "cannot read"},
		{[]string{"render", "hello", "--set-json", "who={bad"}, ExitInvalid, "not JSON"},
		{[]string{"render", "hello", "-f", "-", "-f", "-"}, ExitUsage, "once"},
		{[]string{"run", "hello", "--deck", "local", "-i", "-f", "-"}, ExitUsage, "stdin"},
	} {
		if r := e.run("", tt.args...); r.code != tt.code || !strings.Contains(r.err, tt.msg) {
			t.Errorf("cscript %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), r.code, r.err, tt.code, tt.msg)
		}
	}

	// --attr and --limit of resource commands carry commas too.
	writeFiles(t, e.lib(), map[string]string{"decks/dock.yaml": "backend: docker\n"})
	r := e.runResource(context.Background(), "resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small",
		"--limit", "cpu=2,ram=512", "--attr", `note=a\,b`, "--attr", "tags={x,y}", "--dry-run")
	if r.code != 0 || !strings.Contains(r.out, "cpu: 2") || !strings.Contains(r.out, "ram: 512") || !strings.Contains(r.out, "note: a,b") || !strings.Contains(r.out, "- x") {
		t.Errorf("resource create with commas: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
}

// A Docker engine that cannot be reached: 7 for resource commands, 125 for run.
func TestDockerEngineUnreachable(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	writeFiles(t, e.lib(), map[string]string{"decks/dock.yaml": "backend: docker\n"})
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(e.root, "no-engine.sock"))
	if r := e.run("", "run", "hello", "--deck", "dock"); r.code != ExitRunFailed || !strings.Contains(r.err, "no-engine.sock") {
		t.Errorf("run: exit %d, want %d\n%s", r.code, ExitRunFailed, r.err)
	}
	if r := e.run("", "resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small"); r.code != ExitUnavailable || !strings.Contains(r.err, "no-engine.sock") {
		t.Errorf("resource create: exit %d, want %d\n%s", r.code, ExitUnavailable, r.err)
	}
}

var runIDRE = regexp.MustCompile(`\b\d{8}-\d{6}-[0-9a-z]{6}\b`)

// Messages say what is wrong where it is: an API server that is not there,
// the contexts a kubeconfig has, the kubeconfig files tried; and a run id
// is printed only for a run that has a record to find it by.
func TestMessagesPointTheRightWay(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.kubeconfig("local", "staging") // its server, https://127.0.0.1:1, refuses connections
	var got strings.Builder
	step := func(args ...string) result {
		t.Helper()
		r := e.run("", args...)
		fmt.Fprintf(&got, "$ cscript %s\nexit %d\n%s", strings.Join(args, " "), r.code, runIDRE.ReplaceAllString(r.err, "RUN-ID"))
		return r
	}
	// Nothing is recorded, so no run id is printed.
	for _, args := range [][]string{
		{"run", "hello", "--deck", "local", "--context", "nope"},
		{"run", "hello", "--deck", "staging"}, // protected, no terminal
	} {
		if r := step(args...); r.code != ExitRunFailed || runIDRE.MatchString(r.err) {
			t.Errorf("cscript %s: exit %d, a run id printed without a record:\n%s", strings.Join(args, " "), r.code, r.err)
		}
	}
	if r := e.run("", "runs", "-o", "json"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("runs recorded: %s", r.out)
	}
	// A run that starts has a record, and the refused connection is named.
	r := step("run", "hello", "--deck", "local")
	if r.code != ExitRunFailed || strings.Contains(r.err, "kubelet") || !runIDRE.MatchString(r.err) {
		t.Errorf("run against a refusing API server: exit %d\n%s", r.code, r.err)
	}
	if id := runIDRE.FindString(r.err); id != "" {
		e.mustRun("runs", "show", id)
	}
	step("gc")
	step("resource", "list", "--deck", "local", "--context", "staging")
	t.Setenv("KUBECONFIG", filepath.Join(e.root, "nowhere", "config")+string(os.PathListSeparator)+filepath.Join(e.root, "nowhere", "other"))
	step("gc")
	if err := os.WriteFile(filepath.Join(e.root, "empty-kubeconfig"), []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	step("gc", "--kubeconfig", filepath.Join(e.root, "empty-kubeconfig"))
	e.golden("messages", got.String())

	// A resource event refused before its script runs prints no run id.
	writeFiles(t, e.lib(), map[string]string{"decks/dock.yaml": "backend: docker\n"})
	e.mustResource("resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small")
	r = e.runResource(context.Background(), "resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small")
	if r.code != ExitConflict || runIDRE.MatchString(r.err) {
		t.Errorf("create over an existing resource: exit %d, stderr %q", r.code, r.err)
	}
}

// new, rm and deck new commit only the files they wrote or removed: an
// untracked file beside them, or a change staged by hand, is not swept in.
func TestCommitsOnlyTouchedPaths(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	lib := e.lib()
	if err := os.WriteFile(filepath.Join(lib, "prod-creds.env"), []byte("TOKEN=secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lib, "staged.txt"), []byte("staged by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.Git(t, lib, "add", "staged.txt")

	e.mustRun("new", "backup")
	e.mustRun("deck", "new", "prod")
	e.mustRun("rm", "backup", "--yes")

	committed := gitserver.Git(t, lib, "log", "--name-status", "--format=%s", "-3")
	for _, s := range []string{"prod-creds.env", "staged.txt"} {
		if strings.Contains(committed, s) {
			t.Errorf("%s was committed:\n%s", s, committed)
		}
	}
	for _, s := range []string{"A\tbackup.yaml", "D\tbackup.yaml", "A\tdecks/prod.yaml"} {
		if !strings.Contains(committed, s) {
			t.Errorf("commits lack %q:\n%s", s, committed)
		}
	}
	if got := gitserver.Git(t, lib, "ls-files", "prod-creds.env"); got != "" {
		t.Errorf("prod-creds.env is tracked: %q", got)
	}
	st := gitserver.Git(t, lib, "status", "--porcelain")
	if !strings.Contains(st, "?? prod-creds.env") || !strings.Contains(st, "A  staged.txt") {
		t.Errorf("status after the commands:\n%s", st)
	}
}
