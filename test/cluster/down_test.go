//go:build clusterdown

package cluster

// Built only with -tags clusterdown: it stops the cluster, so only the CI
// flow runs it (between its two legs; see the Makefile's e2e target).

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// stateDir is the harness's state directory.
func stateDir() string {
	if d := os.Getenv("CSCRIPT_CLUSTER_STATE"); d != "" {
		return d
	}
	return "/var/lib/cscript-cluster"
}

// clusterMounts lists the mount points of /proc/mounts under the state
// directory and the Pods' network namespaces (/run/netns/cni-*).
func clusterMounts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	state := stateDir()
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if p := f[1]; p == state || strings.HasPrefix(p, state+"/") || strings.HasPrefix(p, "/run/netns/cni-") {
			out = append(out, f[0]+" on "+p+" type "+f[2])
		}
	}
	return out
}

// TestDownLeavesNoMount: a running cluster has mounts (the kubelet's root,
// the Pods' volumes, sandboxes' shm, network namespaces); after `cluster
// down` none is left (`mount | grep` finds nothing).
func TestDownLeavesNoMount(t *testing.T) {
	before := clusterMounts(t)
	if len(before) == 0 {
		t.Fatalf("no mount under %s before down: is the cluster up? (the test needs one to check)", stateDir())
	}
	t.Logf("%d mounts before down", len(before))
	out, err := exec.Command("bash", Script(), "down").CombinedOutput()
	t.Logf("cluster down:\n%s", out)
	if err != nil {
		t.Errorf("cluster down: %v", err)
	}
	mount, _ := exec.Command("sh", "-c", "mount | grep -e "+stateDir()+" -e /run/netns/cni-").Output()
	if left := clusterMounts(t); len(left) > 0 || len(mount) > 0 {
		t.Errorf("left mounted after down:\n%s\n(mount | grep:\n%s)", strings.Join(left, "\n"), mount)
	}
}
