package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// list names each script's library (column and -o json/yaml), takes words
// as filters, and names every file it leaves out for being invalid.
func TestListLibraryColumnFilterAndInvalid(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	other := filepath.Join(e.root, "ops")
	e.mustRun("init", other, "--name", "ops", "--empty")
	e.mustRun("new", "db-vacuum", "-l", "ops")
	e.golden("list-filtered", e.mustRun("list", "db").out)
	if out := e.mustRun("list", "ops/").out; !strings.Contains(out, "db-vacuum") || strings.Contains(out, "db-dump") {
		t.Errorf("list ops/:\n%s", out)
	}
	if out := e.mustRun("list", "db", "-o", "yaml", "ops").out; out != "- name: db-vacuum\n  library: ops\n  interpreter: bash\n  image: debian\n  description: Says hello. Replace this with what the script does, in one line.\n  path: "+filepath.Join(other, "db-vacuum.yaml")+"\n" {
		t.Errorf("list -o yaml:\n%s", out)
	}
	if out := e.mustRun("list", "-o", "json", "vacuum").out; !strings.Contains(out, `"library": "ops"`) {
		t.Errorf("list -o json:\n%s", out)
	}
	// An invalid file is named, never silently missing.
	if err := os.WriteFile(filepath.Join(other, "broken.yaml"), []byte("name: broken\nimage: debian\ninterpreter: ruby\nscript: echo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.mustRun("list", "broken")
	e.golden("list-invalid", r.out+"--- stderr\n"+r.err)
}

func TestLifecycleListAndShow(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.golden("lifecycle-list", e.mustRun("lifecycle", "list").out)
	r := e.mustRun("lifecycle", "show", "demo-vm")
	e.golden("lifecycle-show", r.out)
	if !strings.Contains(r.err, filepath.Join(e.lib(), "lifecycle", "demo-vm.yaml")) {
		t.Errorf("show names no file: %q", r.err)
	}
	if r := e.run("", "lifecycle", "show", "demo-vn"); r.code != ExitNotFound || !strings.Contains(r.err, "demo-vm") {
		t.Errorf("show of an unknown lifecycle: exit %d %q", r.code, r.err)
	}
	if out := e.mustRun("lifecycle", "list", "-o", "json", "id").out; !strings.Contains(out, `"name": "demo-id"`) || strings.Contains(out, `"demo-vm"`) {
		t.Errorf("lifecycle list -o json id:\n%s", out)
	}
}
