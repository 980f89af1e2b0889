//go:build clusterdown

package cluster

// Built only with -tags clusterdown, like TestDownLeavesNoMount: it damages
// the running cluster's dockerd store, so only the CI flow runs it (between
// its two legs, before the cluster goes down; see scripts/e2e.sh).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dockerCmd runs Debian's docker client against the harness's dockerd.
func dockerCmd(args ...string) *exec.Cmd {
	return exec.Command("/usr/bin/docker", append([]string{"-H", "unix://" + filepath.Join(stateDir(), "docker", "docker.sock")}, args...)...)
}

// dockerCanCreate creates (does not start) a container of image and removes
// it; it returns what dockerd said when it could not.
func dockerCanCreate(t *testing.T, image string) (ok bool, why string) {
	t.Helper()
	out, err := dockerCmd("create", "--network", "none", image, "true").CombinedOutput()
	if err != nil {
		return false, strings.TrimSpace(string(out))
	}
	if rm, err := dockerCmd("rm", "-f", strings.TrimSpace(string(out))).CombinedOutput(); err != nil {
		t.Fatalf("docker rm: %v: %s", err, rm)
	}
	return true, ""
}

// TestUpRepairsDamagedDockerStore: dockerd's store outlives runs of the
// harness, and a damaged one (a layer's link file lost: dockerd still lists
// the image, and fails only when a container is made of it) once failed every
// Docker test of a CI run. `cluster up` finds such an image and loads it
// again, so the tests meet a working engine.
func TestUpRepairsDamagedDockerStore(t *testing.T) {
	const image = "docker.io/library/busybox:1.36"
	if ok, why := dockerCanCreate(t, image); !ok {
		t.Fatalf("before the damage, dockerd cannot make a container of %s: %s (is the cluster up with dockerd?)", image, why)
	}
	leg, err := os.ReadFile(filepath.Join(stateDir(), "kubernetes-version"))
	if err != nil {
		t.Fatalf("the leg the cluster runs: %v", err)
	}
	upper, err := dockerCmd("image", "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", image).Output()
	if err != nil {
		t.Fatalf("docker image inspect: %v", err)
	}
	link := filepath.Join(filepath.Dir(strings.TrimSpace(string(upper))), "link")
	if err := os.Remove(link); err != nil {
		t.Fatalf("damaging the store: %v", err)
	}
	if ok, _ := dockerCanCreate(t, image); ok {
		t.Fatalf("with %s removed, dockerd still makes containers of %s: the test no longer damages the store", link, image)
	}

	out, err := exec.Command("bash", Script(), "up", "--kubernetes", strings.TrimSpace(string(leg))).CombinedOutput()
	t.Logf("cluster up:\n%s", out)
	if err != nil {
		t.Fatalf("cluster up: %v", err)
	}
	if !strings.Contains(string(out), "cannot make a container of "+image) {
		t.Errorf("cluster up did not say it found %s damaged", image)
	}
	if ok, why := dockerCanCreate(t, image); !ok {
		t.Errorf("after cluster up, dockerd still cannot make a container of %s: %s", image, why)
	}
}
