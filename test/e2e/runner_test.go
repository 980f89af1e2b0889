//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/test/cluster"
)

// These tests run the runner against the real cluster: no fakes.

type runnerEnv struct {
	target *kube.Target
	ns     string
}

func newRunnerEnv(t *testing.T) *runnerEnv {
	t.Helper()
	kc := cluster.Kubeconfig(t)
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "runner")
	target, err := kube.LoadTarget(kube.TargetOptions{Kubeconfig: kc, Namespace: ns})
	if err != nil {
		t.Fatalf("LoadTarget: %v", err)
	}
	if target.Namespace != ns {
		t.Fatalf("target namespace %s, want %s", target.Namespace, ns)
	}
	return &runnerEnv{target: target, ns: ns}
}

// syncBuffer is a bytes.Buffer safe for the exec's concurrent writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (e *runnerEnv) runner(stdout, stderr io.Writer) *kube.Runner {
	return &kube.Runner{
		Client:    e.target.Client,
		Config:    e.target.Config,
		Namespace: e.ns,
		Stdout:    stdout,
		Stderr:    stderr,
		Host:      "e2e",
	}
}

var runSeq struct {
	sync.Mutex
	n int
}

func spec(script, image, interp, body string) runner.Spec {
	runSeq.Lock()
	runSeq.n++
	n := runSeq.n
	runSeq.Unlock()
	return runner.Spec{
		RunID:       fmt.Sprintf("e2e-%d-%d", time.Now().UnixNano(), n),
		Script:      script,
		User:        "e2e",
		Deck:        "test",
		Image:       image,
		Interpreter: interp,
		Body:        body,
		Timeout:     2 * time.Minute,
	}
}

// leftovers lists the Pods and Secrets of a run that still exist, Pods
// being deleted included.
func leftovers(t *testing.T, cs kubernetes.Interface, ns, runID string) []string {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{runner.LabelRunID: runID}).String()}
	ctx := context.Background()
	var out []string
	pods, err := cs.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		out = append(out, "pod/"+p.Name)
	}
	secrets, err := cs.CoreV1().Secrets(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		out = append(out, "secret/"+s.Name)
	}
	return out
}

// assertGone waits (up to the Pod's termination, a few seconds: its main
// process exits on SIGTERM) until nothing of the run is left.
func assertGone(t *testing.T, cs kubernetes.Interface, ns, runID string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := leftovers(t, cs, ns, runID)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind after the run: %v", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRunnerHelloExitCodes(t *testing.T) {
	env := newRunnerEnv(t)
	tests := []struct {
		name, image, interp, body string
		wantCode                  int
		wantOut                   string
	}{
		{"busybox exit 0", cluster.BusyboxImage, runner.InterpreterSh, "echo hello from $CSCRIPT_SCRIPT\n", 0, "hello from hello\n"},
		{"busybox exit 3", cluster.BusyboxImage, runner.InterpreterSh, "echo before; exit 3\n", 3, "before\n"},
		{"busybox killed 137", cluster.BusyboxImage, runner.InterpreterSh, "echo dying; kill -9 $$\n", 137, "dying\n"},
		{"debian bash exit 0", cluster.DebianImage, runner.InterpreterBash, "set -euo pipefail\necho \"hello ${BASH_VERSION%%.*}\" | sed 's/[0-9]/N/'\n", 0, "hello N\n"},
		{"debian bash exit 137", cluster.DebianImage, runner.InterpreterBash, "exit 137\n", 137, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr syncBuffer
			s := spec("hello", tt.image, tt.interp, tt.body)
			start := time.Now()
			r := env.runner(&stdout, &stderr)
			var timeline []string
			r.OnEvent = func(e kube.Event) {
				timeline = append(timeline, fmt.Sprintf("%s@%dms", e.Phase, time.Since(start).Milliseconds()))
			}
			res, err := r.Run(context.Background(), s)
			t.Logf("%s: %s, exit %d, err %v; %s", tt.name, time.Since(start).Round(time.Millisecond), res.ExitCode, err, strings.Join(timeline, " "))
			if res.ExitCode != tt.wantCode {
				t.Fatalf("exit code %d, want %d (err %v, stderr %q)", res.ExitCode, tt.wantCode, err, stderr.String())
			}
			if tt.wantCode == 0 && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tt.wantCode != 0 {
				var se *runner.ScriptError
				if !errors.As(err, &se) || se.ExitCode() != tt.wantCode {
					t.Fatalf("err = %v, want *ScriptError with code %d", err, tt.wantCode)
				}
				if res.Diagnostics == nil || !strings.Contains(res.Diagnostics.PodYAML, res.PodName) {
					t.Errorf("no diagnostics with the pod manifest: %+v", res.Diagnostics)
				}
			}
			if got := stdout.String(); got != tt.wantOut {
				t.Errorf("stdout = %q, want %q", got, tt.wantOut)
			}
			assertGone(t, env.target.Client, env.ns, s.RunID)
		})
	}
}

func TestRunnerMissingImageFailsFast(t *testing.T) {
	env := newRunnerEnv(t)
	s := spec("missing-image", "docker.io/library/cscript-does-not-exist:nope", runner.InterpreterSh, "true\n")
	start := time.Now()
	res, err := env.runner(io.Discard, io.Discard).Run(context.Background(), s)
	took := time.Since(start)
	var se *runner.StartError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *StartError", err)
	}
	t.Logf("failed in %s: %v", took.Round(time.Millisecond), err)
	if took > 10*time.Second {
		t.Errorf("took %s to fail, want < 10 s", took)
	}
	switch se.Reason {
	case "ErrImagePull", "ImagePullBackOff":
	default:
		t.Errorf("reason %q, want ErrImagePull or ImagePullBackOff", se.Reason)
	}
	if se.Message == "" || res.ExitCode != 125 {
		t.Errorf("message %q, exit %d; want a message and 125", se.Message, res.ExitCode)
	}
	if res.Diagnostics == nil || res.Diagnostics.Events == "" {
		t.Errorf("no events in the diagnostics: %+v", res.Diagnostics)
	}
	assertGone(t, env.target.Client, env.ns, s.RunID)
}

func TestRunnerStartFailures(t *testing.T) {
	env := newRunnerEnv(t)
	tests := []struct {
		name       string
		modify     func(*runner.Spec)
		wantType   string
		wantReason string
	}{
		{"unschedulable", func(s *runner.Spec) {
			s.Resources.Requests = map[string]string{"cpu": "500"}
		}, "start", "Unschedulable"},
		{"missing secret ref", func(s *runner.Spec) {
			s.Credentials = []runner.Credential{{Name: "TOKEN", SecretRef: &runner.SecretKeyRef{Name: "nope", Key: "k"}}}
		}, "start", "CreateContainerConfigError"},
		{"missing interpreter", func(s *runner.Spec) { s.Interpreter = runner.InterpreterPython }, "tool", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := spec("start-fail", cluster.BusyboxImage, runner.InterpreterSh, "true\n")
			tt.modify(&s)
			start := time.Now()
			res, err := env.runner(io.Discard, io.Discard).Run(context.Background(), s)
			t.Logf("%s after %s: %v", tt.name, time.Since(start).Round(time.Millisecond), err)
			switch tt.wantType {
			case "start":
				var se *runner.StartError
				if !errors.As(err, &se) || se.Reason != tt.wantReason || res.ExitCode != 125 {
					t.Fatalf("err = %v (exit %d), want *StartError %s", err, res.ExitCode, tt.wantReason)
				}
			case "tool":
				var me *runner.MissingToolError
				if !errors.As(err, &me) || res.ExitCode != 127 || !strings.Contains(err.Error(), "python3 or python") {
					t.Fatalf("err = %v (exit %d), want *MissingToolError naming python, 127", err, res.ExitCode)
				}
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %s to fail", d)
			}
			assertGone(t, env.target.Client, env.ns, s.RunID)
		})
	}
}

// A credential from a local source and a secret param reach the script's env
// through the run's Secret, never appear in the Pod or its events, and are
// redacted from the output; a Secret ref is resolved by the kubelet.
func TestRunnerSecretsReachScriptNotPod(t *testing.T) {
	env := newRunnerEnv(t)
	ctx := context.Background()
	const local, param, ref = "loc-SECRET-d41d8cd9", "par-SECRET-8f00b204", "ref-SECRET-e9800998"
	if _, err := env.target.Client.CoreV1().Secrets(env.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Data:       map[string][]byte{"password": []byte(ref)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := spec("secrets", cluster.BusyboxImage, runner.InterpreterSh, `
echo "token=$API_TOKEN"
echo "param=$CSCRIPT_PARAM_ADMIN_PASS" >&2
echo "ref=$DB_PASSWORD"
printf %s "$API_TOKEN" | sha256sum
printf %s "$CSCRIPT_PARAM_ADMIN_PASS" | sha256sum
printf %s "$DB_PASSWORD" | sha256sum
`)
	s.Credentials = []runner.Credential{
		{Name: "API_TOKEN", Value: local},
		{Name: "DB_PASSWORD", SecretRef: &runner.SecretKeyRef{Name: "db", Key: "password"}},
	}
	s.SecretParams = map[string]string{"admin-pass": param}
	s.Redact = []string{local, param, ref}

	var podJSON, secretName string
	var stdout, stderr syncBuffer
	r := env.runner(&stdout, &stderr)
	r.OnEvent = func(e kube.Event) {
		if e.Phase != kube.PhaseScript {
			return
		}
		p, err := env.target.Client.CoreV1().Pods(env.ns).Get(ctx, e.Pod, metav1.GetOptions{})
		if err != nil {
			t.Errorf("get pod: %v", err)
			return
		}
		b, _ := json.Marshal(p)
		podJSON = string(b)
		for _, ref := range p.Spec.Containers[0].Env {
			if ref.Name == "API_TOKEN" {
				secretName = ref.ValueFrom.SecretKeyRef.Name
			}
		}
		sec, err := env.target.Client.CoreV1().Secrets(env.ns).Get(ctx, secretName, metav1.GetOptions{})
		if err != nil {
			t.Errorf("run secret: %v", err)
			return
		}
		if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != p.UID {
			t.Errorf("run secret owners = %+v, want the pod %s", sec.OwnerReferences, p.UID)
		}
	}
	res, err := r.Run(ctx, s)
	if err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, stderr.String())
	}
	out := stdout.String()
	for _, v := range []string{local, param, ref} {
		sum := sha256.Sum256([]byte(v))
		if !strings.Contains(out, hex.EncodeToString(sum[:])) {
			t.Errorf("the script did not get %q: stdout %q", v, out)
		}
		for _, where := range []string{out, stderr.String(), podJSON} {
			if strings.Contains(where, v) {
				t.Errorf("secret value %q appears in %q", v, where)
			}
		}
	}
	if !strings.Contains(out, "token=***\n") || !strings.Contains(out, "ref=***\n") || stderr.String() != "param=***\n" {
		t.Errorf("output not redacted: stdout %q stderr %q", out, stderr.String())
	}
	if podJSON == "" || secretName == "" {
		t.Fatal("the pod was never inspected")
	}
	events, err := env.target.Client.CoreV1().Events(env.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(events)
	for _, v := range []string{local, param, ref} {
		if strings.Contains(string(b), v) {
			t.Errorf("secret value %q appears in the namespace's events", v)
		}
	}
	assertGone(t, env.target.Client, env.ns, s.RunID)
	_ = res
}

// Cancelling the context while the script runs (Ctrl-C) deletes the Pod and
// the Secret and reports the signal.
func TestRunnerCancelLeavesNothing(t *testing.T) {
	env := newRunnerEnv(t)
	for _, tt := range []struct {
		name        string
		sig         syscall.Signal
		waitDeleted bool
		force       bool
	}{
		{"sigint", syscall.SIGINT, false, false},
		{"sigterm waits for deletion", syscall.SIGTERM, true, false},
		{"double ctrl-c", syscall.SIGINT, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := spec("cancel", cluster.BusyboxImage, runner.InterpreterSh, "echo started; sleep 60; echo never\n")
			s.Credentials = []runner.Credential{{Name: "TOKEN", Value: "cancel-SECRET"}}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			started := make(chan struct{})
			var once sync.Once
			stdout := writerFunc(func(p []byte) (int, error) {
				if bytes.Contains(p, []byte("started")) {
					once.Do(func() { close(started) })
				}
				return len(p), nil
			})
			r := env.runner(stdout, io.Discard)
			r.WaitDeleted = tt.waitDeleted
			force := make(chan struct{})
			r.Force = force
			done := make(chan struct{})
			var res *kube.Result
			var err error
			go func() {
				defer close(done)
				res, err = r.Run(ctx, s)
			}()
			select {
			case <-started:
			case <-time.After(60 * time.Second):
				cancel(nil)
				<-done
				t.Fatalf("the script never started: %v", err)
			}
			if tt.force {
				close(force)
			}
			stopAt := time.Now()
			cancel(runner.SignalCause(tt.sig))
			<-done
			t.Logf("Run returned %s after the signal: %v", time.Since(stopAt).Round(time.Millisecond), err)
			var ie *runner.InterruptedError
			if !errors.As(err, &ie) || res.ExitCode != 128+int(tt.sig) || res.Phase != kube.PhaseScript {
				t.Fatalf("err = %v, exit %d, phase %s; want interrupted %d in script", err, res.ExitCode, res.Phase, 128+int(tt.sig))
			}
			if tt.waitDeleted {
				if left := leftovers(t, env.target.Client, env.ns, s.RunID); len(left) > 0 {
					t.Errorf("left behind right after Run: %v", left)
				}
			}
			assertGone(t, env.target.Client, env.ns, s.RunID)
		})
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRunnerTimeout(t *testing.T) {
	env := newRunnerEnv(t)
	s := spec("timeout", cluster.BusyboxImage, runner.InterpreterSh, "sleep 60\n")
	s.Timeout = 8 * time.Second
	start := time.Now()
	res, err := env.runner(io.Discard, io.Discard).Run(context.Background(), s)
	var se *runner.ScriptError
	if !errors.As(err, &se) || se.Reason != runner.ReasonDeadlineExceeded || res.ExitCode != 137 {
		t.Fatalf("err = %v (exit %d), want DeadlineExceeded 137", err, res.ExitCode)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}
	assertGone(t, env.target.Client, env.ns, s.RunID)
}

func TestRunnerOOMKilled(t *testing.T) {
	env := newRunnerEnv(t)
	s := spec("oom", cluster.DebianImage, runner.InterpreterBash, "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}\n")
	s.Resources.Limits = map[string]string{"memory": "48Mi"}
	res, err := env.runner(io.Discard, io.Discard).Run(context.Background(), s)
	var se *runner.ScriptError
	if !errors.As(err, &se) || se.Reason != runner.ReasonOOMKilled || res.ExitCode != 137 {
		t.Fatalf("err = %v (exit %d), want OOMKilled 137", err, res.ExitCode)
	}
	if !strings.Contains(err.Error(), "OOMKilled") || !strings.Contains(err.Error(), "48Mi") {
		t.Errorf("message %q does not name OOMKilled and the limit", err)
	}
	assertGone(t, env.target.Client, env.ns, s.RunID)
}

func TestRunnerExclusiveLease(t *testing.T) {
	env := newRunnerEnv(t)
	first := spec("exclusive", cluster.BusyboxImage, runner.InterpreterSh, "echo holding; sleep 20\n")
	first.Exclusive = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	holding := make(chan struct{})
	var once sync.Once
	r1 := env.runner(writerFunc(func(p []byte) (int, error) {
		once.Do(func() { close(holding) })
		return len(p), nil
	}), io.Discard)
	done := make(chan error, 1)
	go func() {
		_, err := r1.Run(ctx, first)
		done <- err
	}()
	select {
	case <-holding:
	case err := <-done:
		t.Fatalf("first run ended early: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("first run never started")
	}
	second := spec("exclusive", cluster.BusyboxImage, runner.InterpreterSh, "echo second\n")
	second.Exclusive = true
	second.User = "other"
	res, err := env.runner(io.Discard, io.Discard).Run(context.Background(), second)
	var le *runner.LockedError
	if !errors.As(err, &le) || !strings.HasPrefix(le.Holder, "e2e@e2e/"+first.RunID) || res.ExitCode != 125 {
		t.Fatalf("err = %v, want *LockedError held by the first run", err)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("first run was not interrupted")
	}
	// Released: a third run goes through.
	third := spec("exclusive", cluster.BusyboxImage, runner.InterpreterSh, "echo third\n")
	third.Exclusive = true
	if _, err := env.runner(io.Discard, io.Discard).Run(context.Background(), third); err != nil {
		t.Fatalf("run after release: %v", err)
	}
}

// A file goes up, the script copies it, and the copy comes down with the
// same sha256, through the transfer package, on two images.
func TestRunnerFilesUpAndDown(t *testing.T) {
	env := newRunnerEnv(t)
	for _, img := range []struct{ image, interp string }{
		{cluster.BusyboxImage, runner.InterpreterSh},
		{cluster.DebianImage, runner.InterpreterBash},
	} {
		t.Run(filepath.Base(img.image), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := make([]byte, 8<<20+123)
			if _, err := rand.Read(data); err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, "in.bin")
			if err := os.WriteFile(in, data, 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.bin")
			s := spec("files", img.image, img.interp, "mkdir -p out && cp in/data.bin out/copy.bin && sha256sum out/copy.bin\n")
			s.Uploads = []runner.FileCopy{{Local: in, Remote: "in/data.bin"}}
			s.Downloads = []runner.FileCopy{{Local: out, Remote: "out/copy.bin"}}
			var stdout syncBuffer
			res, err := env.runner(&stdout, io.Discard).Run(context.Background(), s)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := sha256.Sum256(data)
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(got) != want {
				t.Errorf("downloaded sha256 %x, want %x", sha256.Sum256(got), want)
			}
			if !strings.Contains(stdout.String(), hex.EncodeToString(want[:])) {
				t.Errorf("the script saw a different file: %q", stdout.String())
			}
			if len(res.Uploads) != 1 || res.Uploads[0].Result.Bytes != int64(len(data)) || len(res.Downloads) != 1 || res.Downloads[0].Result.Bytes != int64(len(data)) {
				t.Errorf("transfer results: up %+v down %+v", res.Uploads, res.Downloads)
			}
			assertGone(t, env.target.Client, env.ns, s.RunID)
		})
	}
}

// A user who may create Pods but not exec into them is stopped before
// anything is created, with the missing permission named.
func TestRunnerPreflightNamesMissingPermission(t *testing.T) {
	env := newRunnerEnv(t)
	ctx := context.Background()
	cs := env.target.Client
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "no-exec"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "get", "list", "watch", "delete"}},
			{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews"}, Verbs: []string{"create"}},
		},
	}
	if _, err := cs.RbacV1().Roles(env.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user := "cscript-e2e-no-exec"
	if _, err := cs.RbacV1().RoleBindings(env.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "no-exec"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "no-exec"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(env.target.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	limited, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := spec("no-exec", cluster.BusyboxImage, runner.InterpreterSh, "true\n")
	r := &kube.Runner{Client: limited, Config: cfg, Namespace: env.ns}
	// RBAC objects take effect within a moment.
	var res *kube.Result
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err = r.Run(ctx, s)
		var pe *runner.PermissionError
		if errors.As(err, &pe) && pe.Resource == "pods" && pe.Subresource == "exec" && pe.Verb == "create" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("err = %v, want *PermissionError for create pods/exec", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// cscript's own failure around the script: 125 for run (the README's
	// table); the message names the permission.
	if res.ExitCode != 125 || !strings.Contains(err.Error(), "pods/exec") {
		t.Errorf("exit code %d (%v), want 125 naming pods/exec", res.ExitCode, err)
	}
	if left := leftovers(t, cs, env.ns, s.RunID); len(left) > 0 {
		t.Errorf("created despite the missing permission: %v", left)
	}
}

// What a killed cscript leaves behind (a Pod and its Secret past their
// expiry) is removed by GC; a live run's Pod is kept.
func TestRunnerGC(t *testing.T) {
	env := newRunnerEnv(t)
	ctx := context.Background()
	cs := env.target.Client
	mk := func(script string, created time.Time) (*corev1.Pod, *corev1.Secret) {
		s := spec(script, cluster.BusyboxImage, runner.InterpreterSh, "true\n")
		s.Credentials = []runner.Credential{{Name: "T", Value: "gc-SECRET"}}
		s.Expiry = time.Minute
		pod, secret, err := kube.BuildPod(s, env.ns, created, "gc")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Secrets(env.ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Pods(env.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return pod, secret
	}
	oldPod, oldSecret := mk("abandoned", time.Now().Add(-time.Hour))
	livePod, _ := mk("live", time.Now())

	dry, err := kube.GC(ctx, cs, env.ns, 0, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pod/" + env.ns + "/" + oldPod.Name, "secret/" + env.ns + "/" + oldSecret.Name}
	if strings.Join(dry, ",") != strings.Join(want, ",") {
		t.Errorf("dry run = %v, want %v", dry, want)
	}
	if _, err := cs.CoreV1().Pods(env.ns).Get(ctx, oldPod.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("dry run deleted the pod: %v", err)
	}
	got, err := kube.GC(ctx, cs, env.ns, 0, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("GC = %v, want %v", got, want)
	}
	if _, err := cs.CoreV1().Secrets(env.ns).Get(ctx, oldSecret.Name, metav1.GetOptions{}); err == nil {
		t.Error("the abandoned secret is still there")
	}
	p, err := cs.CoreV1().Pods(env.ns).Get(ctx, livePod.Name, metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the live pod was deleted: %v", err)
	}
}
