package commands

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// `init DIR` names the library after DIR (made a valid name), unless
// --name says otherwise; `init` alone makes "local".
func TestInitNamesTheLibraryAfterDir(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	say := func(args ...string) {
		r := e.run("", args...)
		fmt.Fprintf(&b, "$ cscript %s\n%s%s(exit %d)\n", strings.Join(args, " "), r.out, r.err, r.code)
	}
	say("init", "--empty")
	say("init", filepath.Join(e.root, "ops-scripts"), "--empty")
	say("init", filepath.Join(e.root, "My_Team Scripts"), "--empty")
	say("init", filepath.Join(e.root, "elsewhere"), "--name", "team", "--empty")
	say("init", filepath.Join(e.root, "___"), "--empty")
	say("init", filepath.Join(e.root, "x", "ops-scripts"), "--empty")
	e.golden("init-names", b.String())
	var libs []struct{ Name string }
	if err := json.Unmarshal([]byte(e.mustRun("library", "list", "-o", "json").out), &libs); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(libs); got != "[{local} {ops-scripts} {my-team-scripts} {team}]" {
		t.Errorf("library list: %s", got)
	}
}
