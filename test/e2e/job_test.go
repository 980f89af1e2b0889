//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/test/cluster"
)

// These tests run Job mode against the real cluster: a real Job
// controller, kubelet and log stream.

type jobEnv struct {
	cs kubernetes.Interface
	ns string
	r  *kube.Runner
}

func newJobEnv(t *testing.T) *jobEnv {
	t.Helper()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "job")
	return &jobEnv{cs: cs, ns: ns, r: &kube.Runner{
		Client:    cs,
		Config:    cluster.RESTConfig(t),
		Namespace: ns,
		Host:      "e2e",
	}}
}

var jobSeq struct {
	sync.Mutex
	n int
}

func jobSpec(script, image, interp, body string) runner.Spec {
	jobSeq.Lock()
	jobSeq.n++
	n := jobSeq.n
	jobSeq.Unlock()
	return runner.Spec{
		RunID:       fmt.Sprintf("e2e-job-%d-%d", time.Now().UnixNano(), n),
		Script:      script,
		User:        "e2e",
		Deck:        "test",
		Image:       image,
		Interpreter: interp,
		Body:        body,
		Timeout:     2 * time.Minute,
	}
}

// jobLeftovers lists the Jobs, Pods and Secrets of a run that still exist.
func jobLeftovers(t *testing.T, cs kubernetes.Interface, ns, runID string) []string {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{runner.LabelRunID: runID}).String()}
	ctx := context.Background()
	var out []string
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		out = append(out, "job/"+j.Name)
	}
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

// assertJobGone checks that the Job and the Secret are gone at once and
// waits (a few seconds: the Pod's container has exited) for the Pod.
func assertJobGone(t *testing.T, cs kubernetes.Interface, ns, runID string) {
	t.Helper()
	for _, l := range jobLeftovers(t, cs, ns, runID) {
		if !strings.HasPrefix(l, "pod/") {
			t.Errorf("left behind right after the run: %s", l)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := jobLeftovers(t, cs, ns, runID)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind after the run: %v", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestJobExitCodesAndOutput(t *testing.T) {
	env := newJobEnv(t)
	tests := []struct {
		name, image, interp, body string
		creds                     []runner.Credential
		wantCode                  int
		wantErr                   any
		wantOut                   []string
	}{
		{"hello", cluster.BusyboxImage, "sh", "echo hello from job; echo to-stderr >&2; pwd; ls -l /work/script; touch /work/x && echo writable\n",
			nil, 0, nil, []string{"hello from job", "to-stderr", "/work\n", "r--r--r--", "writable"}},
		{"exit-3", cluster.BusyboxImage, "sh", "echo before exit; exit 3\n", nil, 3, new(*runner.ScriptError), []string{"before exit"}},
		{"py-fail", cluster.PythonImage, "python",
			"import os\nprint('token', os.environ['API_TOKEN'], flush=True)\ndef f():\n    return 1/0\nf()\n",
			[]runner.Credential{{Name: "API_TOKEN", Value: "tok-e2e-SECRET"}}, 1, new(*runner.ScriptError),
			[]string{"token ***", "Traceback (most recent call last):", `File "/work/script", line 5`, "ZeroDivisionError: division by zero"}},
		{"no-python", cluster.BusyboxImage, "python", "print(1)\n", nil, 127, new(*runner.MissingToolError), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := jobSpec(tt.name, tt.image, tt.interp, tt.body)
			spec.Credentials = tt.creds
			for _, c := range tt.creds {
				spec.Redact = append(spec.Redact, c.Value)
			}
			var live bytes.Buffer
			start := time.Now()
			res, err := env.r.RunJob(t.Context(), spec, kube.JobOptions{CombinedOutput: &live, ActiveDeadline: 2 * time.Minute})
			t.Logf("%s: %s, exit %d, err %v", tt.name, time.Since(start).Round(time.Millisecond), res.ExitCode, err)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("run: %v\noutput:\n%s", err, live.String())
			}
			if tt.wantErr != nil && !errors.As(err, tt.wantErr) {
				t.Fatalf("error %T %v, want %T\noutput:\n%s", err, err, tt.wantErr, live.String())
			}
			if res.ExitCode != tt.wantCode {
				t.Errorf("exit code %d, want %d", res.ExitCode, tt.wantCode)
			}
			if res.Output != live.String() {
				t.Errorf("Result.Output %q differs from the live output %q", res.Output, live.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(res.Output, w) {
					t.Errorf("output lacks %q:\n%s", w, res.Output)
				}
			}
			if strings.Contains(res.Output, "tok-e2e-SECRET") {
				t.Errorf("a secret value reached the output")
			}
			if res.PodName == "" || res.JobName == "" {
				t.Errorf("job %q pod %q", res.JobName, res.PodName)
			}
			assertJobGone(t, env.cs, env.ns, spec.RunID)
		})
	}
}

func TestJobMissingImageFailsFast(t *testing.T) {
	env := newJobEnv(t)
	spec := jobSpec("missing-image", "127.0.0.1:1/cscript/none:1", "sh", "true\n")
	start := time.Now()
	res, err := env.r.RunJob(t.Context(), spec, kube.JobOptions{})
	took := time.Since(start)
	var se *runner.StartError
	if !errors.As(err, &se) || res.ExitCode != 125 {
		t.Fatalf("exit %d err %T %v, want 125 *runner.StartError", res.ExitCode, err, err)
	}
	if took > 15*time.Second {
		t.Errorf("a missing image took %s to fail", took)
	}
	t.Logf("failed in %s: %v", took.Round(time.Millisecond), err)
	assertJobGone(t, env.cs, env.ns, spec.RunID)
}

func TestJobDetachAndAttach(t *testing.T) {
	env := newJobEnv(t)
	spec := jobSpec("detached", cluster.BusyboxImage, "sh", "for i in 1 2 3; do echo tick $i; sleep 1; done; exit 4\n")
	res, err := env.r.RunJob(t.Context(), spec, kube.JobOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Detached {
		t.Errorf("not detached: %+v", res)
	}
	j, err := env.cs.BatchV1().Jobs(env.ns).Get(t.Context(), res.JobName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the detached job: %v", err)
	}
	if *j.Spec.BackoffLimit != 0 || j.Spec.TTLSecondsAfterFinished == nil || j.Spec.ActiveDeadlineSeconds == nil {
		t.Errorf("job spec %+v", j.Spec)
	}

	var out bytes.Buffer
	got, err := env.r.AttachJob(t.Context(), spec.RunID, kube.JobOptions{CombinedOutput: &out})
	var se *runner.ScriptError
	if !errors.As(err, &se) || got.ExitCode != 4 {
		t.Fatalf("attach: exit %d err %v", got.ExitCode, err)
	}
	if !strings.Contains(out.String(), "tick 1\ntick 2\ntick 3\n") {
		t.Errorf("attached output %q", out.String())
	}
	assertJobGone(t, env.cs, env.ns, spec.RunID)
}

func TestJobDeadline(t *testing.T) {
	env := newJobEnv(t)
	spec := jobSpec("deadline", cluster.BusyboxImage, "sh", "echo started; sleep 120\n")
	start := time.Now()
	res, err := env.r.RunJob(t.Context(), spec, kube.JobOptions{ActiveDeadline: 5 * time.Second})
	t.Logf("deadline after %s: %v", time.Since(start).Round(time.Millisecond), err)
	var se *runner.ScriptError
	if !errors.As(err, &se) || res.Reason != runner.ReasonDeadlineExceeded || res.ExitCode != 137 {
		t.Errorf("exit %d reason %q err %v, want 137 %s", res.ExitCode, res.Reason, err, runner.ReasonDeadlineExceeded)
	}
	if !strings.Contains(res.Output, "started") {
		t.Errorf("output %q", res.Output)
	}
	assertJobGone(t, env.cs, env.ns, spec.RunID)
}
