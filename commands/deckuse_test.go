package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/action"
)

// run needs a deck: --deck, or the default chosen with `deck use` (kept in
// the state directory, 0600), which then counts as that deck (protection
// included); --clear forgets it.
func TestRunNeedsADeckOrTheDefault(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.kubeconfig("staging")
	var g strings.Builder
	step := func(r result, args ...string) {
		g.WriteString("$ cscript " + strings.Join(args, " ") + "  (exit " + strconv.Itoa(r.code) + ")\n" + r.out + r.err)
	}
	do := func(want int, args ...string) result {
		t.Helper()
		r := e.run("", args...)
		if r.code != want {
			t.Errorf("cscript %s: exit %d, want %d\nstdout %s\nstderr %s", strings.Join(args, " "), r.code, want, r.out, r.err)
		}
		step(r, args...)
		return r
	}
	// No deck and no default: a bad command line that lists the decks;
	// nothing ran (no run record).
	do(ExitUsage, "run", "hello")
	runs := filepath.Join(e.root, "state_home", "cscript", "runs")
	if ents, _ := os.ReadDir(runs); len(ents) != 0 {
		t.Errorf("%d run records without a deck", len(ents))
	}
	do(0, "deck", "use")
	do(ExitNotFound, "deck", "use", "nope")
	do(ExitUsage, "deck", "use", "local", "--clear")
	do(0, "deck", "use", "local")
	file := filepath.Join(e.root, "state_home", "cscript", "default-deck")
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the default deck's file: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(file)); len(ents) != 1 {
		t.Errorf("the state directory holds %d files, want only default-deck (no temporary file left)", len(ents))
	}
	do(0, "deck", "use")
	// render uses it too, and says so; --deck still wins.
	if r := do(0, "render", "hello"); !strings.Contains(r.out, "deck local.") {
		t.Errorf("render without --deck did not use the default: %q", r.out)
	}
	if r := do(0, "render", "hello", "--deck", "staging"); !strings.Contains(r.out, "deck staging.") || strings.Contains(r.err, "default") {
		t.Errorf("--deck did not win over the default: %q %q", r.out, r.err)
	}
	// A protected default is still protected: its name must be typed.
	do(0, "deck", "use", "staging")
	r := e.runTTY("prod\n", "run", "hello")
	step(r, "run", "hello", "# on a terminal, typing prod")
	if r.code != ExitRunFailed || !strings.Contains(r.err, "Deck staging is protected") || !strings.Contains(r.err, "not confirmed") {
		t.Errorf("run on the protected default deck: exit %d, stderr %q", r.code, r.err)
	}
	// A default deck that is gone says how to choose another.
	do(0, "deck", "use", "local")
	if err := os.Remove(filepath.Join(e.lib(), "decks", "local.yaml")); err != nil {
		t.Fatal(err)
	}
	do(ExitRunFailed, "run", "hello")
	do(0, "deck", "use", "--clear")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("--clear left %s: %v", file, err)
	}
	do(ExitUsage, "run", "hello")
	e.golden("deck-use", g.String())
}

// The run's line names a default deck as one.
func TestRunLineNamesTheDefaultDeck(t *testing.T) {
	var errb bytes.Buffer
	a := newApp(BuildInfo{Version: "test"}, strings.NewReader(""), &bytes.Buffer{}, &errb)
	a.io.getenv = func(string) string { return "" }
	start := action.RunStart{ID: "20261124-120000-abcdef", Script: "hello", Deck: "staging", Where: "context staging, namespace staging", Start: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	(&runProgress{a: a, defaultDeck: true}).Started(start)
	(&runProgress{a: a}).Started(start)
	want := "▶ hello in deck staging (default, from `cscript deck use`) (context staging, namespace staging), run 20261124-120000-abcdef\n" +
		"▶ hello in staging (context staging, namespace staging), run 20261124-120000-abcdef\n"
	if errb.String() != want {
		t.Errorf("run lines:\n%s\nwant:\n%s", errb.String(), want)
	}
}
