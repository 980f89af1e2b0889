//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/cscript-dev/cscript/test/cluster"
)

// These tests prove the harness itself: Pods run with the test images, report
// exit codes and logs, and accept exec, and the Docker engine has the images.

func newPod(name, image string, command ...string) *corev1.Pod {
	zero := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name:            "main",
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         command,
			}},
		},
	}
}

// waitPod watches the Pod until done reports true for it.
func waitPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, done func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		t.Fatalf("watch pod %s: %v", name, err)
	}
	defer w.Stop()
	var last *corev1.Pod
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch of pod %s closed; last status: %+v", name, last)
			}
			if p, ok := ev.Object.(*corev1.Pod); ok {
				last = p
				if done(p) {
					return p
				}
			}
		case <-ctx.Done():
			t.Fatalf("pod %s: %v; last status: %+v", name, ctx.Err(), last)
		}
	}
}

// runPod runs a Pod to completion and returns its container's termination
// state and its logs.
func runPod(t *testing.T, cs kubernetes.Interface, ns string, pod *corev1.Pod) (*corev1.ContainerStateTerminated, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	p := waitPod(ctx, t, cs, ns, pod.Name, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("pod %s finished without a terminated container: %+v", pod.Name, p.Status)
	}
	logs, err := cs.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs of pod %s: %v", pod.Name, err)
	}
	return p.Status.ContainerStatuses[0].State.Terminated, string(logs)
}

func TestClusterPodExitCodeAndLogs(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "e2e-cluster")
	term, logs := runPod(t, cs, ns, newPod("exit3", cluster.BusyboxImage, "sh", "-c", "echo hello from the pod; echo to stderr >&2; exit 3"))
	if term.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3 (reason %q)", term.ExitCode, term.Reason)
	}
	// The runtime reads stdout and stderr through separate pipes: their order in the log is not fixed.
	lines := strings.Split(strings.TrimSuffix(logs, "\n"), "\n")
	sort.Strings(lines)
	if diff := cmp.Diff([]string{"hello from the pod", "to stderr"}, lines); diff != "" {
		t.Errorf("log lines (-want +got):\n%s\nlogs: %q", diff, logs)
	}
}

// TestClusterImages checks that the Debian-based images have what the example
// presets need: python, tar, gzip, sha256sum, and a PostgreSQL 15 server that
// a Pod can start itself as the postgres user (uid 999).
func TestClusterImages(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "e2e-images")
	tests := []struct {
		name, image, script, want string
		uid                       int64
	}{
		{"busybox", cluster.BusyboxImage, "for c in sh tar gzip sha256sum; do command -v $c >/dev/null || echo missing $c; done; echo ok", "ok\n", 0},
		{"python", cluster.PythonImage, "python -c 'print(6*7)'; python3 --version | cut -d. -f1-2", "42\nPython 3.11\n", 0},
		{"debian", cluster.DebianImage, "bash -c 'echo $BASH_VERSION' | cut -c1; for c in tar gzip sha256sum; do command -v $c >/dev/null || echo missing $c; done", "5\n", 0},
		{"hostile", cluster.HostileImage, `a=$(HOSTILE_TAR=symlink-relative tar cf - . | sha256sum); b=$(sha256sum < /hostile/symlink-relative.tar); [ "$a" = "$b" ] && echo crafted; tar -cf - . | tar -tf - 2>/dev/null | head -n 1`, "crafted\nok.txt\n", 0},
		{"postgres", cluster.PostgresImage, "initdb -U postgres >/tmp/initdb.log 2>&1 && pg_ctl -w -l /tmp/pg.log start >/dev/null && psql -U postgres -Atc 'select 40+2'", "42\n", 999},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pod := newPod(tt.name, tt.image, "sh", "-c", tt.script)
			if tt.uid != 0 {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &tt.uid}
			}
			term, logs := runPod(t, cs, ns, pod)
			if term.ExitCode != 0 {
				t.Errorf("exit code = %d, want 0; logs:\n%s", term.ExitCode, logs)
			}
			if diff := cmp.Diff(tt.want, logs); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}
}

// execIn runs command in the Pod's container the way kubectl does (WebSocket,
// falling back to SPDY).
func execIn(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, ns, pod string, stdin []byte, command ...string) (stdout, stderr string, err error) {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: "main",
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return "", "", err
	}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return "", "", err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return "", "", err
	}
	var out, errOut bytes.Buffer
	opts := remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut}
	if stdin != nil {
		opts.Stdin = bytes.NewReader(stdin)
	}
	err = ex.StreamWithContext(ctx, opts)
	return out.String(), errOut.String(), err
}

func TestClusterExec(t *testing.T) {
	cfg := cluster.RESTConfig(t)
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "e2e-exec")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pod := newPod("sleeper", cluster.BusyboxImage, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done")
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	waitPod(ctx, t, cs, ns, pod.Name, func(p *corev1.Pod) bool {
		if p.Status.Phase != corev1.PodPending && p.Status.Phase != corev1.PodRunning {
			t.Fatalf("pod ended before exec: %+v", p.Status)
		}
		return p.Status.Phase == corev1.PodRunning
	})

	t.Run("output", func(t *testing.T) {
		stdout, stderr, err := execIn(ctx, cfg, cs, ns, pod.Name, nil, "sh", "-c", "echo out; echo err >&2")
		if err != nil {
			t.Fatalf("exec: %v", err)
		}
		if stdout != "out\n" || stderr != "err\n" {
			t.Errorf("stdout %q, stderr %q; want %q, %q", stdout, stderr, "out\n", "err\n")
		}
	})
	t.Run("exit code", func(t *testing.T) {
		_, _, err := execIn(ctx, cfg, cs, ns, pod.Name, nil, "sh", "-c", "exit 7")
		var exitErr utilexec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 7 {
			t.Errorf("exec error = %v, want exit status 7", err)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		// The shell stays the session's process until stdin is consumed, so
		// the CRI stream is not cut early (see docs/exec-stdin.md).
		in := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		stdout, _, err := execIn(ctx, cfg, cs, ns, pod.Name, in, "sh", "-c", "cat > /tmp/in; wc -c < /tmp/in")
		if err != nil {
			t.Fatalf("exec: %v", err)
		}
		if got := strings.TrimSpace(stdout); got != "1048576" {
			t.Errorf("bytes received = %s, want 1048576", got)
		}
	})
}

func TestDockerEngine(t *testing.T) {
	host := cluster.DockerHost(t)
	docker := "/usr/bin/docker" // Debian's docker.io client
	if _, err := os.Stat(docker); err != nil {
		docker = "docker"
	}
	cmd := exec.Command(docker, "version", "--format", "{{.Server.Version}}")
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("docker version: %v: %s", err, out)
	}
	t.Logf("docker engine %s at %s", strings.TrimSpace(string(out)), host)

	c, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	defer c.Close()
	for _, image := range []string{cluster.BusyboxImage, cluster.DebianImage, cluster.PythonImage, cluster.PostgresImage} {
		if _, err := c.ImageInspect(t.Context(), image); err != nil {
			t.Errorf("image %s not loaded: %v", image, err)
		}
	}

	run := exec.Command(docker, "run", "--rm", cluster.BusyboxImage, "sh", "-c", "echo hi; exit 3")
	run.Env = cmd.Env
	out, err = run.Output()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 || string(out) != "hi\n" {
		t.Errorf("docker run: err %v, output %q; want exit status 3 and %q", err, out, "hi\n")
	}
}
