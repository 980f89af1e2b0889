package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A secret param used in env: reaches the container through the run's
// Secret, never as a plain value in the Pod spec.
func TestSecretParamInEnvGoesThroughTheSecret(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.kubeconfig("kind-a")
	body := "name: pw\nimage: shell\ninterpreter: sh\nparams:\n  - {name: pw, secret: true}\n" +
		"env:\n  PGPASSWORD: \"{{ .Params.pw }}\"\n  PLAIN: visible\nscript: psql\n"
	if err := os.WriteFile(filepath.Join(e.lib(), "pw.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.mustRun("render", "pw", "--deck", "local", "--pod", "--set", "pw=hunter2-SECRET")
	if strings.Contains(r.out, "hunter2-SECRET") {
		t.Fatalf("the secret is in the Pod:\n%s", r.out)
	}
	i := strings.Index(r.out, "name: PGPASSWORD")
	if i < 0 {
		t.Fatalf("no PGPASSWORD in the Pod:\n%s", r.out)
	}
	entry := r.out[i:min(len(r.out), i+200)]
	if !strings.Contains(entry, "secretKeyRef") || strings.Contains(entry, "value:") {
		t.Errorf("PGPASSWORD is not taken from the run's Secret:\n%s", entry)
	}
	if !strings.Contains(r.out, "value: visible") {
		t.Errorf("a plain env var left the spec:\n%s", r.out)
	}
}
