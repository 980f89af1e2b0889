//go:build e2e

package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/test/cluster"
	"github.com/moby/moby/client"
)

// dockerHome is a CLI home with a Docker deck "dock" and the engine.
func dockerHome(t *testing.T) (*cliHome, *client.Client) {
	t.Helper()
	host := cluster.DockerHost(t)
	h := newCLIHome(t, "unused")
	h.setenv("DOCKER_HOST", host)
	h.file("decks/dock.yaml", "description: the Docker engine\nbackend: docker\n")
	eng, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return h, eng
}

// -i on a Docker deck goes through the container's own stdin: 24 MiB
// arrive whole (sha256 on both sides).
func TestDockerStdinLarge(t *testing.T) {
	t.Parallel()
	h, eng := dockerHome(t)
	h.file("dock-stdin.yaml", "name: dock-stdin\nimage: shell\ninterpreter: sh\nscript: |\n  sha256sum\n  echo done >&2\n")
	data := make([]byte, 24<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	res := runWithStdin(t, h, string(data), "run", "dock-stdin", "--deck", "dock", "-i")
	if res.Code != 0 || !strings.Contains(res.Stdout, want) || !strings.Contains(res.Stderr, "done") {
		t.Fatalf("-i of 24 MiB: exit %d, want sha256 %s\nstdout: %s\nstderr: %s", res.Code, want, res.Stdout, res.Stderr)
	}
	if left := dockerLeftovers(t, eng, cliMustRunID(t, res)); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// --detach leaves the container running (hardened like the Pod: no
// capabilities, no-new-privileges, the script's memory limit, the script
// read-only even to root); `runs attach` streams its output live, exits
// with the script's code and removes the container.
func TestDockerDetachAttachAndHardening(t *testing.T) {
	t.Parallel()
	h, eng := dockerHome(t)
	h.file("dock-detach.yaml", `name: dock-detach
image: shell
interpreter: sh
resources:
  limits: {memory: 96Mi}
script: |
  id -u
  echo x >> /work/.cscript/script 2>/dev/null && echo script-writable
  chmod u+w /work/.cscript/script 2>/dev/null && echo script-chmod
  rm -f /work/.cscript/script 2>/dev/null && echo script-removed
  grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
  echo line-1
  sleep 4
  echo line-2
  exit 4
`)
	res := h.run("run", "dock-detach", "--deck", "dock", "--detach")
	if res.Code != 0 || !strings.Contains(res.Stderr, "runs attach") {
		t.Fatalf("--detach: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	id := cliMustRunID(t, res)
	rec := h.record(id)
	if rec.State != history.StateRunning || !rec.Detached || rec.ContainerID == "" {
		t.Fatalf("record of a detached run: state %s detached %v container %q", rec.State, rec.Detached, rec.ContainerID)
	}
	ins, err := eng.ContainerInspect(t.Context(), rec.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect the detached container: %v", err)
	}
	hc := ins.Container.HostConfig
	if !slices.Contains(hc.CapDrop, "ALL") || !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
		t.Errorf("container not hardened: CapDrop %v SecurityOpt %v", hc.CapDrop, hc.SecurityOpt)
	}
	if hc.Memory != 96<<20 {
		t.Errorf("memory limit %d, want the script's 96Mi", hc.Memory)
	}

	p := h.start("runs", "attach", id)
	if !p.waitOutput("line-1", time.Minute) {
		t.Fatalf("runs attach printed no line-1\nstdout: %s\nstderr: %s", p.stdout.String(), p.stderr.String())
	}
	if strings.Contains(p.stdout.String(), "line-2") || p.exited() {
		t.Errorf("runs attach did not stream: line-2 or the end came with line-1\nstdout: %s", p.stdout.String())
	}
	res = p.wait(2 * time.Minute)
	if res.Code != 4 || !strings.Contains(res.Stdout, "line-2") {
		t.Errorf("runs attach: exit %d, want 4 with line-2\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	for _, bad := range []string{"script-writable", "script-chmod", "script-removed"} {
		if strings.Contains(res.Stdout, bad) {
			t.Errorf("root in the container could change its script: %s\n%s", bad, res.Stdout)
		}
	}
	if !strings.Contains(res.Stdout, "CapEff:\t0000000000000000") || !strings.Contains(res.Stdout, "NoNewPrivs:\t1") {
		t.Errorf("the script has capabilities or may gain privileges:\n%s", res.Stdout)
	}
	rec = h.record(id)
	if rec.State != history.StateFailed || rec.ExitCode != 4 {
		t.Errorf("record after attach: state %s exit %d, want failed 4", rec.State, rec.ExitCode)
	}
	if left := dockerLeftovers(t, eng, id); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}
