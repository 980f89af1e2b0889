package commands

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/lifecycle"
)

// A resource whose create failed because the Docker engine was down is
// ERRED; `resource forget` removes it from the real state store (a docker
// deck's state files) after a confirmation, running no script; a resource
// that is not ERRED is refused unless --force, saying what stays behind.
func TestResourceForget(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	if err := os.WriteFile(filepath.Join(e.lib(), "decks", "dock.yaml"), []byte("backend: docker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(e.root, "no-engine.sock"))
	state := filepath.Join(e.root, "state_home", "cscript", "resources", "dock")
	runs := filepath.Join(e.root, "state_home", "cscript", "runs")
	countRuns := func() int {
		ents, _ := os.ReadDir(runs)
		return len(ents)
	}
	var g strings.Builder
	step := func(r result, want int, args ...string) result {
		t.Helper()
		if r.code != want {
			t.Errorf("cscript %s: exit %d, want %d\nstdout %s\nstderr %s", strings.Join(args, " "), r.code, want, r.out, r.err)
		}
		g.WriteString("$ cscript " + strings.Join(args, " ") + "  (exit " + strconv.Itoa(r.code) + ")\n" + r.out + r.err)
		return r
	}
	do := func(want int, args ...string) result { t.Helper(); return step(e.run("", args...), want, args...) }
	tty := func(answer string, want int, args ...string) result {
		t.Helper()
		return step(e.runTTY(answer, args...), want, append(args, "# on a terminal, answering "+strconv.Quote(answer))...)
	}

	do(ExitUnavailable, "resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small")
	if r := e.showResource("vm1"); r.State != lifecycle.StateErred {
		t.Fatalf("after a create with no engine: %s, want ERRED", r.State)
	}
	file := filepath.Join(state, "vm1.json")
	before := countRuns()
	do(ExitRefused, "resource", "forget", "vm1", "--deck", "dock")
	tty("n\n", ExitRefused, "resource", "forget", "vm1", "--deck", "dock")
	tty("", ExitUsage, "resource", "forget", "vm1", "--deck", "dock")
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("refused forgets removed the state: %v", err)
	}
	tty("y\n", 0, "resource", "forget", "vm1", "--deck", "dock")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the state file is still there: %v", err)
	}
	do(0, "resource", "list", "--deck", "dock")
	do(ExitNotFound, "resource", "forget", "vm1", "--deck", "dock", "--yes")
	if n := countRuns(); n != before {
		t.Errorf("forget ran something: %d run records, %d before", n, before)
	}
	e.golden("resource-forget", regexp.MustCompile(`\b\d{8}-\d{6}-[0-9a-f]{6}\b`).ReplaceAllString(g.String(), "$$RUN_ID"))

	// A resource that is OK (its create script really ran) is refused
	// without --force, with what would stay behind; --force forgets it
	// without running its terminate script.
	e.mustResource("resource", "create", "vm2", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small")
	ok := e.showResource("vm2")
	before = countRuns()
	r := e.runResource(context.Background(), "resource", "forget", "vm2", "--deck", "dock", "--yes")
	if r.code != ExitConflict || !strings.Contains(r.err, "is OK, not ERRED") || !strings.Contains(r.err, "backend id "+ok.BackendID) || !strings.Contains(r.err, "--force") {
		t.Errorf("forget of an OK resource: exit %d, stderr %q", r.code, r.err)
	}
	if got := e.showResource("vm2"); got.State != lifecycle.StateOK {
		t.Errorf("a refused forget changed the state: %s", got.State)
	}
	r = e.runResource(context.Background(), "resource", "forget", "vm2", "--deck", "dock", "--yes", "--force")
	if r.code != 0 || !strings.Contains(r.out, "left behind: backend id "+ok.BackendID) {
		t.Errorf("forget --force: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(state, "vm2.json")); !os.IsNotExist(err) {
		t.Errorf("forget --force left the state: %v", err)
	}
	if n := countRuns(); n != before {
		t.Errorf("forget --force ran a script: %d run records, %d before", n, before)
	}
	// Forgotten, it can be created again.
	e.mustResource("resource", "create", "vm2", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small")
}
