package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A flag the chosen backend cannot carry out is refused before anything
// runs (exit 2), with what to do instead: never a silent no-op.
func TestRunRefusesWhatTheBackendCannotDo(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.kubeconfig("kind-a")
	if err := os.WriteFile(filepath.Join(e.lib(), "decks", "dock.yaml"), []byte("backend: docker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.lib(), "decks", "kube.yaml"), []byte("context: kind-a\nnamespace: ns\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--deck", "dock", "--compress"}, []string{"--compress: not available on a Docker deck", "archive API", "leave --compress out"}},
		{[]string{"--deck", "dock", "--detach", "-i"}, []string{"-i with --detach: not available on a Docker deck", "leave -i or --detach out"}},
		{[]string{"--deck", "dock", "--mode", "job"}, []string{"--mode job: a Docker deck runs a container"}},
		{[]string{"--deck", "dock", "-i", "--compress", "--detach"}, []string{"2 requests are not available on a Docker deck", "-i with --detach", "--compress"}},
		{[]string{"--deck", "kube", "--detach"}, []string{"--detach: not available on pod mode", "--mode job --detach", "--detach on a Docker deck"}},
		{[]string{"--deck", "kube", "--mode", "job", "-i"}, []string{"-i (stdin to the script): not available on job mode"}},
	} {
		r := e.run("", append([]string{"run", "hello", "--yes"}, tc.args...)...)
		ok := r.code == ExitUsage
		for _, w := range tc.want {
			ok = ok && strings.Contains(r.err, w)
		}
		if !ok {
			t.Errorf("run hello %v: exit %d, want %d with %q\nstderr: %s", tc.args, r.code, ExitUsage, tc.want, r.err)
		}
		if r2 := e.run("", "runs", "-o", "json"); strings.Contains(r2.out, `"script": "hello"`) {
			t.Fatalf("a refused run left a record: %s", r2.out)
		}
	}
}
