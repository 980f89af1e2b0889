package runner_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The run core links neither backend's client, and the backends do not
// link each other: the Docker backend builds without any k8s.io package,
// the Kubernetes one without Docker's client.
func TestBackendsStayApart(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"github.com/cscript-dev/cscript/runner", []string{"k8s.io/", "github.com/moby/moby/", "cscript/runner/kube", "cscript/runner/docker"}},
		{"github.com/cscript-dev/cscript/runner/docker", []string{"k8s.io/", "cscript/runner/kube"}},
		{"github.com/cscript-dev/cscript/runner/kube", []string{"github.com/moby/moby/", "cscript/runner/docker"}},
	} {
		out, err := exec.Command("go", "list", "-deps", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", tc.pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s listed %d packages: %s", tc.pkg, len(deps), out)
		}
		for _, d := range deps {
			for _, f := range tc.forbidden {
				if strings.Contains(d, f) {
					t.Errorf("%s links %s", tc.pkg, d)
				}
			}
		}
	}
}
