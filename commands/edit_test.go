package commands

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/internal/gitserver"
)

// editorScript writes an "editor" for EDITOR: call N (1, 2, …) of it runs
// the shell code steps[N-1] (the last one again for later calls) with the
// file as $1, after copying the file it was given to seen-N and logging its
// path to paths.
func editorScript(t *testing.T, e *env, steps ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\nset -e\nd=" + e.root + "\n")
	b.WriteString(`n=$(cat "$d/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/count"` + "\n")
	b.WriteString(`cp "$1" "$d/seen-$n"; echo "$1" >> "$d/paths"` + "\n")
	b.WriteString("case $n in\n")
	for i, s := range steps {
		pat := string(rune('1' + i))
		if i == len(steps)-1 {
			pat = "*"
		}
		b.WriteString(pat + ") " + s + " ;;\n")
	}
	b.WriteString("esac\n")
	path := filepath.Join(e.root, "editor.sh")
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDITOR", path)
	// Temporary copies and kept attempts go under the test's directory.
	tmp := filepath.Join(e.root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	os.Remove(filepath.Join(e.root, "count"))
	os.Remove(filepath.Join(e.root, "paths"))
	return path
}

func (e *env) read(name string) string {
	e.t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// Without a terminal, with EDITOR set: the editor gets a temporary copy; an
// invalid save reopens it with the problems as comments at the top; the
// fixed save is written to the library and committed alone.
func TestEditInvalidThenFixedWithoutATerminal(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	hello := filepath.Join(e.lib(), "hello.yaml")
	before := e.read(hello)
	editorScript(t, e,
		`sed -i 's/interpreter: bash/interpreter: ruby/' "$1"; grep -q 'interpreter: bash' "`+hello+`"`,
		`sed -i 's/interpreter: ruby/interpreter: sh/' "$1"`)
	r := e.run("", "edit", "hello")
	if r.code != 0 {
		t.Fatalf("edit: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
	for _, p := range strings.Fields(e.read(filepath.Join(e.root, "paths"))) {
		if strings.HasPrefix(p, e.lib()) {
			t.Errorf("the editor was given the library's file %s, not a copy", p)
		}
	}
	// The second session shows the problems, as validate reports them, on top.
	seen := e.read(filepath.Join(e.root, "seen-2"))
	e.golden("edit-problems-header", seen[:strings.Index(seen, "name: hello")])
	after := e.read(hello)
	if !strings.Contains(after, "interpreter: sh") || strings.Contains(after, "cscript edit:") || !strings.Contains(after, "modified: 2026-11-24T12:00:00Z") {
		t.Fatalf("saved file:\n%s", after)
	}
	if after == before {
		t.Fatal("nothing saved")
	}
	if got := headCommit(t, e.lib()); got != "cscript: edit script hello\nM\thello.yaml\n" {
		t.Errorf("the commit: %q", got)
	}
}

// Giving up (the editor quits without a change after problems) leaves the
// library as it was and keeps the attempt in a file whose path is printed.
func TestEditNeverFixedKeepsTheAttempt(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	hello := filepath.Join(e.lib(), "hello.yaml")
	before := e.read(hello)
	head := gitserver.Git(t, e.lib(), "rev-parse", "HEAD")
	editorScript(t, e, `sed -i 's/interpreter: bash/interpreter: ruby/' "$1"`)
	r := e.run("", "edit", "hello")
	if r.code != ExitInvalid {
		t.Fatalf("edit: exit %d, want %d\nstdout %s\nstderr %s", r.code, ExitInvalid, r.out, r.err)
	}
	if got := e.read(hello); got != before {
		t.Errorf("the library's file changed:\n%s", got)
	}
	if got := gitserver.Git(t, e.lib(), "rev-parse", "HEAD"); got != head {
		t.Errorf("a commit was made")
	}
	kept := regexpFind(t, `kept in (\S+)\)`, r.err)
	if !strings.Contains(e.read(kept), "interpreter: ruby") {
		t.Errorf("the kept attempt %s lacks the edit", kept)
	}
	os.Remove(kept)
	// The script is still there for show, edit and rm.
	e.mustRun("show", "hello")
	e.golden("edit-given-up", strings.ReplaceAll(r.err, kept, "$KEPT"))
}

// On a terminal, answering no after problems gives up too; for new, nothing
// is created, and the name stays free.
func TestNewInvalidAnsweredNoCreatesNothing(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	editorScript(t, e, `sed -i 's/interpreter: bash/interpreter: ruby/' "$1"`)
	r := e.runTTY("n\n", "new", "backup")
	if r.code != ExitInvalid || !strings.Contains(r.err, "Edit again?") || !strings.Contains(r.err, "kept in ") {
		t.Fatalf("new: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(e.lib(), "backup.yaml")); err == nil {
		t.Fatal("an invalid backup.yaml was left in the library")
	}
	if r := e.run("", "show", "backup"); r.code != ExitNotFound {
		t.Errorf("show backup: exit %d", r.code)
	}
	e.mustRun("validate")
	t.Setenv("EDITOR", "")
	e.mustRun("new", "backup")
}

// Quitting the editor without saving cancels new: nothing is created.
func TestNewCancelledByQuittingTheEditor(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	head := gitserver.Git(t, e.lib(), "rev-parse", "HEAD")
	t.Setenv("EDITOR", "true")
	r := e.run("", "new", "backup")
	if r.code != ExitRefused || !strings.Contains(r.err, "cancelled") {
		t.Fatalf("new: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(e.lib(), "backup.yaml")); err == nil {
		t.Fatal("backup.yaml was created")
	}
	if got := gitserver.Git(t, e.lib(), "rev-parse", "HEAD"); got != head {
		t.Errorf("a commit was made")
	}
	// With a change, new creates and commits the edited script.
	editorScript(t, e, `sed -i 's/^description: .*/description: Backs up./' "$1"`)
	e.mustRun("new", "backup")
	if !strings.Contains(e.read(filepath.Join(e.lib(), "backup.yaml")), "description: Backs up.") {
		t.Error("the edit was not saved")
	}
}

func TestNewFromAndMv(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.mustRun("new", "greet", "--from", "hello")
	data := e.read(filepath.Join(e.lib(), "greet.yaml"))
	if !strings.Contains(data, "name: greet\n") || !strings.Contains(data, `echo "hello, `) && !strings.Contains(data, "hello") {
		t.Fatalf("greet.yaml:\n%s", data)
	}
	if got := headCommit(t, e.lib()); got != "cscript: new script greet\nA\tgreet.yaml\n" {
		t.Errorf("the commit: %q", got)
	}
	if r := e.run("", "new", "x", "--from", "nope"); r.code != ExitNotFound {
		t.Errorf("--from an unknown script: exit %d %q", r.code, r.err)
	}

	r := e.mustRun("mv", "greet", "welcome")
	if !strings.Contains(r.out, "Renamed greet to welcome") {
		t.Errorf("mv: %q", r.out)
	}
	if got := headCommit(t, e.lib()); got != "cscript: rename script greet to welcome\nD\tgreet.yaml\nA\twelcome.yaml\n" {
		t.Errorf("the commit: %q", got)
	}
	e.mustRun("show", "welcome")
	if r := e.run("", "show", "greet"); r.code != ExitNotFound {
		t.Errorf("show greet after mv: exit %d", r.code)
	}
	// A rename that would break a lifecycle definition is refused, nothing changed.
	r = e.run("", "mv", "demo-vm-create", "vm-create")
	if r.code != ExitInvalid || !strings.Contains(r.err, "demo-vm") || !strings.Contains(r.err, "not renamed") {
		t.Fatalf("mv of a lifecycle's script: exit %d\nstderr %s", r.code, r.err)
	}
	e.mustRun("show", "demo-vm-create")
	if r := e.run("", "mv", "welcome", "hello"); r.code != ExitError || !strings.Contains(r.err, "already exists") {
		t.Errorf("mv onto an existing name: exit %d %q", r.code, r.err)
	}
}

func TestDeckEditAndRm(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	local := filepath.Join(e.lib(), "decks", "local.yaml")
	editorScript(t, e, `sed -i 's/^namespace: .*/namespace: Bad_NS/' "$1"`, `sed -i 's/^namespace: .*/namespace: team-a/' "$1"`)
	r := e.run("", "deck", "edit", "local")
	if r.code != 0 || !strings.Contains(r.err, "decks/local.yaml:") {
		t.Fatalf("deck edit: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
	if !strings.Contains(e.read(local), "namespace: team-a") {
		t.Errorf("deck not saved:\n%s", e.read(local))
	}
	if got := headCommit(t, e.lib()); got != "cscript: edit deck local\nM\tdecks/local.yaml\n" {
		t.Errorf("the commit: %q", got)
	}
	if r := e.run("", "deck", "rm", "staging"); r.code != ExitRefused || !strings.Contains(r.err, "--yes") {
		t.Errorf("deck rm without --yes and no terminal: exit %d %q", r.code, r.err)
	}
	if r := e.runTTY("n\n", "deck", "rm", "staging"); r.code != ExitRefused {
		t.Errorf("deck rm answered no: exit %d %q", r.code, r.err)
	}
	e.mustRun("deck", "show", "staging")
	e.mustRun("deck", "rm", "staging", "--yes")
	if r := e.run("", "deck", "show", "staging"); r.code != ExitNotFound {
		t.Errorf("deck show after rm: exit %d", r.code)
	}
	if got := headCommit(t, e.lib()); got != "cscript: remove deck staging\nD\tdecks/staging.yaml\n" {
		t.Errorf("the commit: %q", got)
	}
}

// regexpFind is the first submatch of re in s.
func regexpFind(t *testing.T, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in %q", re, s)
	}
	return m[1]
}

// headCommit is the subject of dir's HEAD commit and its files' changes
// (git show --name-status, renames as a removal and an addition), a line each.
func headCommit(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(gitserver.Git(t, dir, "show", "--name-status", "--no-renames", "--format=%s", "HEAD"), "\n") {
		if l != "" {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// A definition that is already invalid (written by hand) can still be
// edited, opened with its problems on top, and removed.
func TestEditAndRmAnInvalidDefinition(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	writeFiles(t, e.lib(), map[string]string{
		"broken.yaml":      "name: broken\nimage: debian\ninterpreter: ruby\nscript: echo hi\n",
		"gone.yaml":        "name: gone\nimage: debian\ninterpreter: ruby\nscript: echo hi\n",
		"decks/bad.yaml":   "namespace: Bad_NS\n",
		"decks/worse.yaml": "namespace: [\n",
	})
	gitserver.Git(t, e.lib(), "add", ".")
	gitserver.Git(t, e.lib(), "commit", "-qm", "by hand")
	editorScript(t, e, `sed -i 's/interpreter: ruby/interpreter: sh/' "$1"`)
	e.mustRun("edit", "broken")
	if !strings.HasPrefix(e.read(filepath.Join(e.root, "seen-1")), "# cscript edit: script broken is not saved") {
		t.Errorf("the invalid file was not opened with its problems:\n%s", e.read(filepath.Join(e.root, "seen-1")))
	}
	if got := e.read(filepath.Join(e.lib(), "broken.yaml")); !strings.HasPrefix(got, "name: broken\n") || !strings.Contains(got, "interpreter: sh") {
		t.Errorf("broken.yaml:\n%s", got)
	}
	e.mustRun("show", "broken")
	e.mustRun("rm", "gone", "--yes")
	if _, err := os.Stat(filepath.Join(e.lib(), "gone.yaml")); err == nil {
		t.Error("gone.yaml was not removed")
	}
	editorScript(t, e, `sed -i 's/Bad_NS/team-b/' "$1"`)
	e.mustRun("deck", "edit", "bad")
	e.mustRun("deck", "show", "bad")
	e.mustRun("deck", "rm", "worse", "--yes")
	if got := headCommit(t, e.lib()); got != "cscript: remove deck worse\nD\tdecks/worse.yaml\n" {
		t.Errorf("the commit: %q", got)
	}
	e.mustRun("validate")
}

// Without a terminal, an editor that changes something on every call but
// never fixes the problem does not loop forever.
func TestEditWithoutATerminalGivesUpAfterTenInvalidSaves(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	editorScript(t, e, `sed -i 's/interpreter: bash/interpreter: ruby/' "$1"; echo "# $n" >> "$1"`)
	r := e.run("", "edit", "hello")
	if r.code != ExitInvalid || !strings.Contains(r.err, "still invalid after 10 saves") {
		t.Fatalf("edit: exit %d\nstderr %s", r.code, r.err)
	}
	if n := strings.TrimSpace(e.read(filepath.Join(e.root, "count"))); n != "10" {
		t.Errorf("the editor ran %s times", n)
	}
	os.Remove(regexpFind(t, `kept in (\S+)\)`, r.err))
}
