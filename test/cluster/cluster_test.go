package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseExports(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"empty", "", map[string]string{}},
		{
			"env output",
			"export KUBECONFIG=/var/lib/cscript-cluster/kubeconfig\nexport DOCKER_HOST=unix:///var/lib/cscript-cluster/docker/docker.sock\n",
			map[string]string{
				"KUBECONFIG":  "/var/lib/cscript-cluster/kubeconfig",
				"DOCKER_HOST": "unix:///var/lib/cscript-cluster/docker/docker.sock",
			},
		},
		{
			"noise and quotes are ignored",
			"cluster: cluster is up (12 s)\n  export A='x=y'\nexport B=\"b\"\nexportC=1\n",
			map[string]string{"A": "x=y", "B": "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseExports([]byte(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseExports (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		ci, require string
		want        bool
	}{
		{"", "", false},
		{"true", "", true},
		{"1", "", true},
		{"false", "", false},
		{"", "1", true},
	}
	for _, tt := range tests {
		t.Setenv("CI", tt.ci)
		t.Setenv("CSCRIPT_E2E_REQUIRE", tt.require)
		if got := Required(); got != tt.want {
			t.Errorf("CI=%q CSCRIPT_E2E_REQUIRE=%q: Required() = %v, want %v", tt.ci, tt.require, got, tt.want)
		}
	}
}

func TestScriptExists(t *testing.T) {
	if _, err := exec.LookPath(Script()); err != nil {
		t.Fatalf("harness script %s: %v", Script(), err)
	}
}

// Under -trimpath this file's compiled-in path is its import path; the root is then found
// upwards from the working directory, by the module's go.mod, not by any go.mod (a nested
// module, like the harness's build modules, is passed over).
func TestModuleRoot(t *testing.T) {
	wd, err := os.Getwd() // test/cluster
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Clean(filepath.Join(wd, "..", ".."))
	nested := filepath.Join(wd, "build", "kube-v1.34.4")
	if _, err := os.Stat(filepath.Join(nested, "go.mod")); err != nil {
		t.Fatalf("the nested module this test walks from: %v", err)
	}
	tests := []struct{ name, file, wd, want string }{
		{"absolute path", filepath.Join(root, "test", "cluster", "cluster.go"), "/", root},
		{"trimmed, from the package", module + "/test/cluster/cluster.go", wd, root},
		{"trimmed, from a nested module", module + "/test/cluster/cluster.go", nested, root},
		{"trimmed, outside the module", module + "/test/cluster/cluster.go", t.TempDir(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.wd
			}
			if got := moduleRoot(tt.file, tt.wd); got != want {
				t.Errorf("moduleRoot(%q, %q) = %q, want %q", tt.file, tt.wd, got, want)
			}
		})
	}
	if _, err := os.Stat(Script()); err != nil {
		t.Errorf("Script(): %v", err)
	}
}
