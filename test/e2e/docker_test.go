//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/test/cluster"
)

// These tests run the docker backend on the harness's real dockerd (or the
// engine DOCKER_HOST names): no fakes.

// dockerEngine connects the way cscript does, through DOCKER_HOST.
func dockerEngine(t *testing.T) *client.Client {
	t.Helper()
	t.Setenv("DOCKER_HOST", cluster.DockerHost(t))
	c, err := docker.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dockerSpec(name, image, interp, body string) docker.Spec {
	return docker.Spec{
		RunID:       fmt.Sprintf("e2e-%s-%d", name, time.Now().UnixNano()),
		Script:      name,
		Image:       image,
		Interpreter: interp,
		Body:        body,
		Timeout:     2 * time.Minute,
	}
}

// dockerLeftovers lists the containers of a run that still exist.
func dockerLeftovers(t *testing.T, c *client.Client, runID string) []string {
	t.Helper()
	f := client.Filters{}.Add("label", docker.LabelRunID+"="+runID)
	list, err := c.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var names []string
	for _, ctr := range list.Items {
		names = append(names, strings.Join(ctr.Names, ",")+" "+string(ctr.State))
	}
	return names
}

func TestDockerExitCodesAndOutput(t *testing.T) {
	c := dockerEngine(t)
	tests := []struct {
		name, image, interp, body string
		env                       map[string]string
		wantCode                  int
		wantErr                   any
		wantOut                   []string
	}{
		{"hello", cluster.BusyboxImage, "sh", "echo hello from $WHO; echo to-stderr >&2; pwd; ls -l /work/.cscript/script\n",
			map[string]string{"WHO": "docker"}, 0, nil, []string{"hello from docker", "to-stderr", "/work\n", "-r--r--r--"}},
		{"exit-3", cluster.BusyboxImage, "sh", "echo before; exit 3\n", nil, 3, new(*runner.ScriptError), []string{"before"}},
		{"bash", cluster.DebianImage, "bash", "echo \"bash ${BASH_VERSINFO[0]}\"; exit 0\n", nil, 0, nil, []string{"bash 5"}},
		{"py-fail", cluster.PythonImage, "python", "import os\nprint('token', os.environ['TOKEN'])\ndef f():\n    return 1/0\nf()\n",
			map[string]string{"TOKEN": "s3cr3t-value"}, 1, new(*runner.ScriptError),
			[]string{"token ***", "Traceback (most recent call last):", `File "/work/.cscript/script", line 5`, "ZeroDivisionError"}},
		{"no-python", cluster.BusyboxImage, "python", "print(1)\n", nil, 127, new(*runner.MissingToolError), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := dockerSpec(tt.name, tt.image, tt.interp, tt.body)
			spec.Env = tt.env
			spec.Redact = []string{"s3cr3t-value"}
			var out bytes.Buffer
			res, err := docker.Run(t.Context(), c, spec, &out, &out)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("run: %v\noutput:\n%s", err, out.String())
			}
			if tt.wantErr != nil && !errors.As(err, tt.wantErr) {
				t.Fatalf("error %T %v, want %T\noutput:\n%s", err, err, tt.wantErr, out.String())
			}
			if res.ExitCode != tt.wantCode {
				t.Errorf("exit code %d, want %d (err %v)", res.ExitCode, tt.wantCode, err)
			}
			if res.Output != out.String() {
				t.Errorf("Result.Output %q differs from the streamed output %q", res.Output, out.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "s3cr3t-value") {
				t.Errorf("a secret value reached the output:\n%s", out.String())
			}
			if left := dockerLeftovers(t, c, spec.RunID); len(left) > 0 {
				t.Errorf("containers left behind: %v", left)
			}
		})
	}
}

func TestDockerSeparateStreams(t *testing.T) {
	c := dockerEngine(t)
	spec := dockerSpec("streams", cluster.BusyboxImage, "sh", "echo out; echo err >&2\n")
	var stdout, stderr bytes.Buffer
	if _, err := docker.Run(t.Context(), c, spec, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDockerFilesUpAndDown(t *testing.T) {
	c := dockerEngine(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "data.bin")
	data := make([]byte, 20<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "sub", "a.txt"), []byte("alpha\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256File(t, in)

	spec := dockerSpec("files", cluster.DebianImage, "bash", `set -e
sha256sum in/data.bin | cut -d' ' -f1 > in.sha
mkdir -p out
cp in/data.bin out/copy.bin
cat /opt/tree/sub/a.txt
mkdir -p result/deep && echo beta > result/deep/b.txt
`)
	spec.Uploads = []docker.FileCopy{{Local: in, Remote: "in/data.bin"}, {Local: tree, Remote: "/opt/"}}
	spec.Downloads = []docker.FileCopy{
		{Local: filepath.Join(dir, "back.bin"), Remote: "out/copy.bin"},
		{Local: filepath.Join(dir, "in.sha"), Remote: "/work/in.sha"},
		{Local: filepath.Join(dir, "got") + string(filepath.Separator), Remote: "result"},
	}
	var out bytes.Buffer
	res, err := docker.Run(t.Context(), c, spec, &out, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "alpha") {
		t.Errorf("the uploaded tree was not readable: %q", out.String())
	}
	if got := sha256File(t, filepath.Join(dir, "back.bin")); got != want {
		t.Errorf("downloaded sha256 %s, want %s", got, want)
	}
	remote, err := os.ReadFile(filepath.Join(dir, "in.sha"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(remote)); got != want {
		t.Errorf("sha256 inside the container %s, want %s", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "got", "result", "deep", "b.txt")); err != nil || string(b) != "beta\n" {
		t.Errorf("downloaded directory: %q, %v", b, err)
	}
	if len(res.Uploads) != 2 || res.Uploads[0].Result.SHA256 != want || res.Uploads[0].Result.Bytes != int64(len(data)) {
		t.Errorf("upload results %+v", res.Uploads)
	}
	if len(res.Downloads) != 3 || res.Downloads[0].Result.SHA256 != want {
		t.Errorf("download results %+v", res.Downloads)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".cscript-download-") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
	if left := dockerLeftovers(t, c, spec.RunID); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}

	// A missing download fails the run and leaves no partial file.
	spec = dockerSpec("files-missing", cluster.BusyboxImage, "sh", "true\n")
	spec.Downloads = []docker.FileCopy{{Local: filepath.Join(dir, "never"), Remote: "nope.txt"}}
	res, err = docker.Run(t.Context(), c, spec, nil, nil)
	if !errors.Is(err, os.ErrNotExist) || res.ExitCode != 125 {
		t.Errorf("missing download: exit %d, %v", res.ExitCode, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing download created a file: %v", err)
	}
}

func TestDockerMemoryLimitAndOOM(t *testing.T) {
	c := dockerEngine(t)
	spec := dockerSpec("memory", cluster.BusyboxImage, "sh", "sleep 3\n")
	spec.Memory = 64 << 20

	// Inspect the container while the script runs.
	var wg sync.WaitGroup
	var inspected int64 = -1
	var inspectErr error
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		f := client.Filters{}.Add("label", docker.LabelRunID+"="+spec.RunID)
		for ctx.Err() == nil {
			list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
			if err == nil && len(list.Items) > 0 {
				ins, err := c.ContainerInspect(ctx, list.Items[0].ID, client.ContainerInspectOptions{})
				if err != nil {
					inspectErr = err
					return
				}
				inspected = ins.Container.HostConfig.Memory
				if got := ins.Container.Config.Labels[docker.LabelManagedBy]; got != docker.ManagedByValue {
					inspectErr = fmt.Errorf("managed-by label %q", got)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_, err := docker.Run(ctx, c, spec, nil, nil)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if inspectErr != nil || inspected != 64<<20 {
		t.Errorf("memory limit seen by inspect %d (err %v), want %d", inspected, inspectErr, 64<<20)
	}

	oom := dockerSpec("oom", cluster.PythonImage, "python", "b = bytearray(512 * 1024 * 1024)\nprint('survived', len(b))\n")
	oom.Memory = 64 << 20
	var out bytes.Buffer
	res, err := docker.Run(t.Context(), c, oom, &out, &out)
	var se *runner.ScriptError
	if !errors.As(err, &se) || res.ExitCode != 137 || res.Reason != runner.ReasonOOMKilled {
		t.Errorf("oom: exit %d reason %q err %v, want 137 %s\n%s", res.ExitCode, res.Reason, err, runner.ReasonOOMKilled, out.String())
	}
	if err != nil && !strings.Contains(err.Error(), "64Mi") {
		t.Errorf("the OOM error does not name the limit: %v", err)
	}
	if left := dockerLeftovers(t, c, oom.RunID); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

func TestDockerTimeoutAndCancel(t *testing.T) {
	c := dockerEngine(t)
	spec := dockerSpec("timeout", cluster.BusyboxImage, "sh", "echo started; sleep 60\n")
	// Long enough for the container to start on a loaded machine.
	spec.Timeout = 5 * time.Second
	start := time.Now()
	res, err := docker.Run(t.Context(), c, spec, nil, nil)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("timeout took %s", took)
	}
	if res.ExitCode != 137 || res.Reason != runner.ReasonDeadlineExceeded || !strings.Contains(fmt.Sprint(err), "timeout of 5s") {
		t.Errorf("timeout: exit %d reason %q err %v", res.ExitCode, res.Reason, err)
	}
	if !strings.Contains(res.Output, "started") {
		t.Errorf("output before the timeout lost: %q", res.Output)
	}
	if left := dockerLeftovers(t, c, spec.RunID); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}

	spec = dockerSpec("cancel", cluster.BusyboxImage, "sh", "echo started; sleep 60\n")
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	started := make(chan struct{})
	var once sync.Once
	w := writerTo(func(p []byte) {
		if bytes.Contains(p, []byte("started")) {
			once.Do(func() { close(started) })
		}
	})
	go func() {
		select {
		case <-started:
			cancel(runner.SignalCause(syscall.SIGTERM))
		case <-time.After(time.Minute):
		}
	}()
	res, err = docker.Run(ctx, c, spec, w, w)
	var ie *runner.InterruptedError
	if !errors.As(err, &ie) || res.ExitCode != 143 {
		t.Errorf("cancel: exit %d err %T %v, want 143 *runner.InterruptedError", res.ExitCode, err, err)
	}
	if left := dockerLeftovers(t, c, spec.RunID); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

type writerTo func(p []byte)

func (f writerTo) Write(p []byte) (int, error) { f(p); return len(p), nil }

func TestDockerMissingImage(t *testing.T) {
	c := dockerEngine(t)
	for _, noPull := range []bool{true, false} {
		// A registry on a closed loopback port: a pull fails at once and
		// sends nothing off the machine.
		spec := dockerSpec("missing-image", "127.0.0.1:1/cscript/none:1", "sh", "true\n")
		spec.NoPull = noPull
		start := time.Now()
		res, err := docker.Run(t.Context(), c, spec, nil, nil)
		var re *runner.RunError
		if !errors.As(err, &re) || res.ExitCode != 125 {
			t.Errorf("noPull=%v: exit %d err %v, want 125 *runner.RunError", noPull, res.ExitCode, err)
		}
		if !noPull && !strings.Contains(fmt.Sprint(err), "pull image") {
			t.Errorf("the error does not say the pull failed: %v", err)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("noPull=%v: took %s", noPull, took)
		}
	}
}
