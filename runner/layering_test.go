package runner_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The run core links neither backend's client, and the backends do not
// link each other: the Docker backend builds without any k8s.io package,
// the Kubernetes one without Docker's client. The lifecycle engine, tests
// and fuzz targets included, links no Kubernetes client either (its cluster
// state store is lifecycle/kubestate): its fuzzing instruments every package
// its test binary links, and client-go's would make that build minutes long.
func TestBackendsStayApart(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
		test      bool // the test binary's dependencies, not only the package's
	}{
		{"github.com/cscript-dev/cscript/runner", []string{"k8s.io/", "github.com/moby/moby/", "cscript/runner/kube", "cscript/runner/docker"}, false},
		{"github.com/cscript-dev/cscript/runner/docker", []string{"k8s.io/", "cscript/runner/kube"}, false},
		{"github.com/cscript-dev/cscript/runner/kube", []string{"github.com/moby/moby/", "cscript/runner/docker"}, false},
		{"github.com/cscript-dev/cscript/lifecycle", []string{"k8s.io/client-go", "cscript/runner/kube", "github.com/moby/moby/", "cscript/runner/docker"}, true},
	} {
		args := []string{"list", "-deps"}
		if tc.test {
			args = append(args, "-test")
		}
		out, err := exec.Command("go", append(args, tc.pkg)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %s %s: %v\n%s", strings.Join(args, " "), tc.pkg, err, out)
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

// Only the CLI knows urfave/cli: the application layer (action) and every
// library below it are what the web UI calls too.
func TestOnlyTheCLIKnowsUrfave(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "github.com/cscript-dev/cscript/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	cli := map[string]bool{"github.com/cscript-dev/cscript": true, "github.com/cscript-dev/cscript/commands": true}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || cli[fields[0]] {
			continue
		}
		checked++
		for _, d := range fields[1:] {
			if strings.HasPrefix(d, "github.com/urfave/cli") || d == "github.com/cscript-dev/cscript/commands" {
				t.Errorf("%s links %s", fields[0], d)
			}
		}
		if fields[0] == "github.com/cscript-dev/cscript/action" && !strings.Contains(line, "github.com/cscript-dev/cscript/runner/kube") {
			t.Errorf("go list listed action without its dependencies: %s", line)
		}
	}
	if checked < 10 {
		t.Fatalf("go list listed %d packages besides the CLI:\n%s", checked, out)
	}
}
