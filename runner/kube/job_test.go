package kube

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/runner"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const jobTestNS = "team-j"

var jobTestNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func jobTestSpec() runner.Spec {
	return runner.Spec{
		RunID:       "20260301T120000-jb01",
		Script:      "hello",
		Deck:        "local",
		User:        "alice",
		Image:       "busybox:1.36",
		Interpreter: runner.InterpreterSh,
		Body:        "echo hello\nexit 3\n",
	}
}

func TestBuildJob(t *testing.T) {
	spec := jobTestSpec()
	spec.Credentials = []runner.Credential{
		{Name: "API_TOKEN", Value: "tok-SECRET"},
		{Name: "PGPASSWORD", SecretRef: &runner.SecretKeyRef{Name: "db", Key: "password"}},
	}
	spec.Resources = runner.Resources{Limits: map[string]string{"memory": "256Mi"}}
	spec.RunAsNonRoot = true
	job, secret, err := BuildJob(spec, jobTestNS, jobTestNow, "x7k2p9", JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod, _, err := BuildPod(spec, jobTestNS, jobTestNow, "x7k2p9")
	if err != nil {
		t.Fatal(err)
	}

	if got, want := job.Name, "cscript-hello-x7k2p9"; got != want {
		t.Errorf("job name %q, want %q", got, want)
	}
	wantLabels := map[string]string{runner.LabelManagedBy: runner.ManagedByValue, runner.LabelRunID: spec.RunID, runner.LabelScript: "hello"}
	for what, got := range map[string]map[string]string{"job": job.Labels, "template": job.Spec.Template.Labels, "secret": secret.Labels} {
		if diff := cmp.Diff(wantLabels, got); diff != "" {
			t.Errorf("%s labels (-want +got):\n%s", what, diff)
		}
	}
	// The default timeout is the run core's, as in pod mode and on Docker.
	if got, want := job.Annotations[runner.AnnotationExpires], "2026-03-01T13:16:00Z"; got != want {
		t.Errorf("expiry %q, want %q (deadline 1h + margin 1m + 15m)", got, want)
	}
	js := job.Spec
	if *js.BackoffLimit != 0 || *js.ActiveDeadlineSeconds != 3600 || *js.TTLSecondsAfterFinished != 3600 {
		t.Errorf("backoffLimit %d, activeDeadlineSeconds %d, ttl %d; want 0, 3600, 3600",
			*js.BackoffLimit, *js.ActiveDeadlineSeconds, *js.TTLSecondsAfterFinished)
	}
	ps := js.Template.Spec
	if ps.ActiveDeadlineSeconds != nil {
		t.Errorf("pod template has its own deadline %d", *ps.ActiveDeadlineSeconds)
	}
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q", ps.RestartPolicy)
	}
	if diff := cmp.Diff(pod.Spec.SecurityContext, ps.SecurityContext); diff != "" {
		t.Errorf("pod securityContext differs from BuildPod's (-pod +job):\n%s", diff)
	}
	c := ps.Containers[0]
	if diff := cmp.Diff(runner.InterpreterCommand("sh", JobScriptPath), c.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pod.Spec.Containers[0].Env, c.Env); diff != "" {
		t.Errorf("env differs from BuildPod's (-pod +job):\n%s", diff)
	}
	if diff := cmp.Diff(pod.Spec.Containers[0].SecurityContext, c.SecurityContext); diff != "" {
		t.Errorf("container securityContext differs from BuildPod's:\n%s", diff)
	}
	wantMounts := []corev1.VolumeMount{
		{Name: "work", MountPath: "/work"},
		{Name: "script", MountPath: "/work/script", SubPath: "script", ReadOnly: true},
	}
	if diff := cmp.Diff(wantMounts, c.VolumeMounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	var vol *corev1.SecretVolumeSource
	for _, v := range ps.Volumes {
		if v.Name == "script" {
			vol = v.Secret
		}
	}
	if vol == nil || vol.SecretName != secret.Name || len(vol.Items) != 1 || vol.Items[0].Key != jobScriptKey || *vol.DefaultMode != 0o444 {
		t.Errorf("script volume %+v", vol)
	}
	// The script and the local credential are in the Secret, not in the Job.
	if got := string(secret.Data[jobScriptKey]); got != spec.Body {
		t.Errorf("secret script %q, want %q", got, spec.Body)
	}
	if got := string(secret.Data["API_TOKEN"]); got != "tok-SECRET" {
		t.Errorf("secret API_TOKEN %q", got)
	}
	if y := job.String(); strings.Contains(y, "tok-SECRET") || strings.Contains(y, "exit 3") {
		t.Errorf("the job holds a secret value or the script body:\n%s", y)
	}
}

func TestBuildJobOptionsAndInterpreters(t *testing.T) {
	tests := []struct {
		name         string
		interp       string
		timeout      time.Duration
		opts         JobOptions
		wantCmd      []string
		wantDeadline int64
		wantTTL      int32
	}{
		{"bash, deadline from options", runner.InterpreterBash, time.Minute, JobOptions{ActiveDeadline: 90 * time.Second, TTLAfterFinished: time.Minute},
			runner.InterpreterCommand("bash", "/work/script"), 90, 60},
		{"python, deadline from the spec's timeout", runner.InterpreterPython, 10 * time.Minute, JobOptions{},
			runner.InterpreterCommand("python", "/work/script"), 600, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := jobTestSpec()
			spec.Interpreter, spec.Timeout = tt.interp, tt.timeout
			job, _, err := BuildJob(spec, jobTestNS, jobTestNow, "a", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantCmd, job.Spec.Template.Spec.Containers[0].Command); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
			if got := *job.Spec.ActiveDeadlineSeconds; got != tt.wantDeadline {
				t.Errorf("deadline %d, want %d", got, tt.wantDeadline)
			}
			if got := *job.Spec.TTLSecondsAfterFinished; got != tt.wantTTL {
				t.Errorf("ttl %d, want %d", got, tt.wantTTL)
			}
		})
	}
}

func TestBuildJobErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*runner.Spec)
		want string
	}{
		{"uploads", func(s *runner.Spec) { s.Uploads = []runner.FileCopy{{Local: "a", Remote: "b"}} }, "job mode does not copy files"},
		{"stdin", func(s *runner.Spec) { s.Stdin = true }, "cannot pass stdin"},
		{"no image", func(s *runner.Spec) { s.Image = "" }, "has no image"},
		{"script key clash", func(s *runner.Spec) { s.Credentials = []runner.Credential{{Name: jobScriptKey, Value: "x"}} }, "clashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := jobTestSpec()
			tt.edit(&spec)
			_, _, err := BuildJob(spec, jobTestNS, jobTestNow, "a", JobOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// jobHarness is a Runner on a fake clientset plus a fake Job controller: when
// the Job is created it creates the Job's Pod, waits until the runner
// watches, and then moves the Pod (and the Job) through the states a test
// gives.
type jobHarness struct {
	t       *testing.T
	cs      *fake.Clientset
	runner  *Runner
	ctx     context.Context
	cancel  context.CancelCauseFunc
	watched chan string // resources the runner started watching
	steps   []func(h *jobHarness)
	wg      sync.WaitGroup
	events  []Phase
	mu      sync.Mutex
}

func newJobHarness(t *testing.T, steps ...func(h *jobHarness)) *jobHarness {
	t.Helper()
	h := &jobHarness{t: t, cs: fake.NewSimpleClientset(), watched: make(chan string, 16), steps: steps}
	h.ctx, h.cancel = context.WithCancelCause(context.Background())
	t.Cleanup(func() {
		h.cancel(nil)
		h.wg.Wait()
	})
	h.cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		r.Status.Allowed = true
		return true, r, nil
	})
	h.cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		j := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		j.UID = "job-uid-1"
		// The controller's Pod exists before the runner lists Pods.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: j.Name + "-p0d00", Namespace: j.Namespace, Labels: copyMap(j.Spec.Template.Labels)},
			Spec:       *j.Spec.Template.Spec.DeepCopy(),
			Status:     corev1.PodStatus{Phase: corev1.PodPending},
		}
		if err := h.cs.Tracker().Add(pod); err != nil {
			t.Errorf("add pod: %v", err)
		}
		h.wg.Add(1)
		go h.control(pod.Name)
		return false, nil, nil
	})
	h.cs.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		gvr := a.GetResource()
		w, err := h.cs.Tracker().Watch(gvr, a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		h.watched <- gvr.Resource
		return true, w, nil
	})
	h.runner = &Runner{
		Client:           h.cs,
		Namespace:        jobTestNS,
		Now:              func() time.Time { return jobTestNow },
		Suffix:           func() string { return "abc123" },
		ConfigErrorGrace: 50 * time.Millisecond,
		OnEvent: func(e Event) {
			h.mu.Lock()
			h.events = append(h.events, e.Phase)
			h.mu.Unlock()
		},
	}
	return h
}

// control waits until the runner watches both Pods and Jobs, then plays the
// steps.
func (h *jobHarness) control(pod string) {
	defer h.wg.Done()
	seen := map[string]bool{}
	for !seen["pods"] || !seen["jobs"] {
		select {
		case r := <-h.watched:
			seen[r] = true
		case <-h.ctx.Done():
			return
		case <-time.After(5 * time.Second):
			h.t.Errorf("the runner did not watch pods and jobs (saw %v)", seen)
			return
		}
	}
	for _, step := range h.steps {
		step(h)
	}
}

// setPod changes the Job's Pod's status.
func setPod(f func(p *corev1.Pod)) func(h *jobHarness) {
	return func(h *jobHarness) {
		gvr := corev1.SchemeGroupVersion.WithResource("pods")
		obj, err := h.cs.Tracker().Get(gvr, jobTestNS, "cscript-hello-abc123-p0d00")
		if err != nil {
			h.t.Errorf("get pod: %v", err)
			return
		}
		p := obj.(*corev1.Pod).DeepCopy()
		f(p)
		if err := h.cs.Tracker().Update(gvr, p, jobTestNS); err != nil {
			h.t.Errorf("update pod: %v", err)
		}
	}
}

func setJob(f func(j *batchv1.Job)) func(h *jobHarness) {
	return func(h *jobHarness) {
		gvr := batchv1.SchemeGroupVersion.WithResource("jobs")
		obj, err := h.cs.Tracker().Get(gvr, jobTestNS, "cscript-hello-abc123")
		if err != nil {
			h.t.Errorf("get job: %v", err)
			return
		}
		j := obj.(*batchv1.Job).DeepCopy()
		f(j)
		if err := h.cs.Tracker().Update(gvr, j, jobTestNS); err != nil {
			h.t.Errorf("update job: %v", err)
		}
	}
}

func deletePodStep(h *jobHarness) {
	if err := h.cs.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), jobTestNS, "cscript-hello-abc123-p0d00"); err != nil {
		h.t.Errorf("delete pod: %v", err)
	}
}

func jobRunning(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func jobExited(code int32, reason string) func(p *corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodSucceeded
		if code != 0 {
			p.Status.Phase = corev1.PodFailed
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason},
		}}}
	}
}

func jobWaiting(reason, msg string) func(p *corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg},
		}}}
	}
}

// assertGone checks that no Job, Pod or Secret of the run is left.
func (h *jobHarness) assertGone() {
	h.t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: runner.LabelManagedBy + "=" + runner.ManagedByValue}
	jobs, _ := h.cs.BatchV1().Jobs(jobTestNS).List(ctx, sel)
	pods, _ := h.cs.CoreV1().Pods(jobTestNS).List(ctx, sel)
	secrets, _ := h.cs.CoreV1().Secrets(jobTestNS).List(ctx, sel)
	if n := len(jobs.Items) + len(pods.Items) + len(secrets.Items); n != 0 {
		h.t.Errorf("left behind: %d jobs, %d pods, %d secrets", len(jobs.Items), len(pods.Items), len(secrets.Items))
	}
}

func TestRunJobOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		steps      []func(*jobHarness)
		wantCode   int
		wantReason string
		wantErr    any // a pointer to the error type wanted, nil for none
		wantOutput bool
	}{
		{"exit 0", []func(*jobHarness){setPod(jobRunning), setPod(jobExited(0, "Completed"))}, 0, "", nil, true},
		{"exit 3", []func(*jobHarness){setPod(jobRunning), setPod(jobExited(3, "Error"))}, 3, runner.ReasonError, new(*runner.ScriptError), true},
		{"terminated at once", []func(*jobHarness){setPod(jobExited(3, "Error"))}, 3, runner.ReasonError, new(*runner.ScriptError), true},
		{"oom", []func(*jobHarness){setPod(jobRunning), setPod(jobExited(137, runner.ReasonOOMKilled))}, 137, runner.ReasonOOMKilled, new(*runner.ScriptError), true},
		{"image pull", []func(*jobHarness){setPod(jobWaiting("ErrImagePull", "pull access denied"))}, 125, "", new(*runner.StartError), false},
		{"config error lasts", []func(*jobHarness){setPod(jobWaiting("CreateContainerConfigError", `secret "db" not found`))}, 125, "", new(*runner.StartError), false},
		// One step: the exit and its message appear together, as the kubelet
		// writes them (a step between would be an exit without a message).
		{"interpreter not in image", []func(*jobHarness){setPod(func(p *corev1.Pod) {
			jobExited(128, "StartError")(p)
			p.Status.ContainerStatuses[0].State.Terminated.Message = `exec: "sh": executable file not found in $PATH`
		})}, 127, "", new(*runner.MissingToolError), true},
		{"deadline", []func(*jobHarness){setPod(jobRunning), deletePodStep, setJob(func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonDeadlineExceeded}}
		})}, 137, runner.ReasonDeadlineExceeded, new(*runner.ScriptError), true},
		{"job deleted", []func(*jobHarness){func(h *jobHarness) {
			_ = h.cs.Tracker().Delete(batchv1.SchemeGroupVersion.WithResource("jobs"), jobTestNS, "cscript-hello-abc123")
		}}, 125, "", new(*runner.RunError), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newJobHarness(t, tt.steps...)
			var live bytes.Buffer
			res, err := h.runner.RunJob(h.ctx, jobTestSpec(), JobOptions{CombinedOutput: &live})
			h.wg.Wait()
			if tt.wantErr == nil && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.wantErr != nil && !errors.As(err, tt.wantErr) {
				t.Fatalf("error %T %v, want %T", err, err, tt.wantErr)
			}
			if res.ExitCode != tt.wantCode || res.Reason != tt.wantReason {
				t.Errorf("exit code %d reason %q, want %d %q (err %v)", res.ExitCode, res.Reason, tt.wantCode, tt.wantReason, err)
			}
			if res.JobName != "cscript-hello-abc123" || res.SecretName != "cscript-hello-abc123" {
				t.Errorf("job %q secret %q", res.JobName, res.SecretName)
			}
			// The fake clientset's log is "fake logs".
			if tt.wantOutput && (res.Output != "fake logs" || live.String() != "fake logs") {
				t.Errorf("output %q, live %q, want %q", res.Output, live.String(), "fake logs")
			}
			if err != nil && res.Diagnostics == nil {
				t.Errorf("no diagnostics for a failed run")
			}
			h.assertGone()
		})
	}
}

func TestRunJobInterrupted(t *testing.T) {
	h := newJobHarness(t, setPod(jobRunning), func(h *jobHarness) {
		// Wait until the runner follows the log, then stop it as SIGTERM would.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			h.mu.Lock()
			n := len(h.events)
			last := Phase("")
			if n > 0 {
				last = h.events[n-1]
			}
			h.mu.Unlock()
			if last == PhaseScript {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		h.cancel(runner.SignalCause(syscall.SIGTERM))
	})
	res, err := h.runner.RunJob(h.ctx, jobTestSpec(), JobOptions{})
	h.wg.Wait()
	var ie *runner.InterruptedError
	if !errors.As(err, &ie) {
		t.Fatalf("error %T %v, want *InterruptedError", err, err)
	}
	if res.ExitCode != 143 {
		t.Errorf("exit code %d, want 143", res.ExitCode)
	}
	h.assertGone()
}

func TestRunJobDetachThenAttach(t *testing.T) {
	h := newJobHarness(t, setPod(jobRunning), setPod(jobExited(0, "Completed")))
	spec := jobTestSpec()
	res, err := h.runner.RunJob(h.ctx, spec, JobOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Detached || res.RunID != spec.RunID {
		t.Errorf("result %+v", res)
	}
	ctx := context.Background()
	if _, err := h.cs.BatchV1().Jobs(jobTestNS).Get(ctx, res.JobName, metav1.GetOptions{}); err != nil {
		t.Errorf("detached job: %v", err)
	}
	sec, err := h.cs.CoreV1().Secrets(jobTestNS).Get(ctx, res.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("detached secret: %v", err)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].Kind != "Job" || sec.OwnerReferences[0].Name != res.JobName {
		t.Errorf("secret owners %+v, want the job", sec.OwnerReferences)
	}

	var out bytes.Buffer
	got, err := h.runner.AttachJob(h.ctx, spec.RunID, JobOptions{CombinedOutput: &out})
	h.wg.Wait()
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	if got.JobName != res.JobName || got.SecretName != res.SecretName || got.ExitCode != 0 || out.String() != "fake logs" {
		t.Errorf("attach result %+v, output %q", got, out.String())
	}
	h.assertGone()

	_, err = h.runner.AttachJob(h.ctx, spec.RunID, JobOptions{})
	if !errors.Is(err, ErrJobNotFound) {
		t.Errorf("attach to a finished run: %v, want ErrJobNotFound", err)
	}
}

func TestRunJobRedactsOutput(t *testing.T) {
	h := newJobHarness(t, setPod(jobRunning), setPod(jobExited(0, "Completed")))
	spec := jobTestSpec()
	spec.Redact = []string{"logs"}
	var live bytes.Buffer
	res, err := h.runner.RunJob(h.ctx, spec, JobOptions{CombinedOutput: &live})
	h.wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != "fake ***" || live.String() != "fake ***" {
		t.Errorf("output %q live %q, want the secret masked", res.Output, live.String())
	}
}

func TestMissingInterpreter(t *testing.T) {
	tests := []struct {
		code     int
		out      string
		wantTool string
		wantOK   bool
	}{
		{127, "cscript: the image has no python3 or python\n", "python3 or python", true},
		{127, "hello\ncscript: the image has no python3 or python", "python3 or python", true},
		{127, "sh: foo: not found\n", "", false},
		{1, "cscript: the image has no python3 or python\n", "", false},
	}
	for _, tt := range tests {
		tool, ok := runner.MissingInterpreter(tt.code, tt.out)
		if tool != tt.wantTool || ok != tt.wantOK {
			t.Errorf("MissingInterpreter(%d, %q) = %q, %v; want %q, %v", tt.code, tt.out, tool, ok, tt.wantTool, tt.wantOK)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := runner.NewTailBuffer(10)
	for i := 0; i < 7; i++ {
		b.Write([]byte("abc"))
	}
	if got, truncated := b.Tail(); got != "cabcabcabc" || !truncated {
		t.Errorf("tail %q truncated %v", got, truncated)
	}
	small := runner.NewTailBuffer(10)
	small.Write([]byte("hi"))
	if got, truncated := small.Tail(); got != "hi" || truncated {
		t.Errorf("small %q %v", got, truncated)
	}
}

func TestGCJobs(t *testing.T) {
	mk := func(name, expires string, created time.Time) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: jobTestNS, CreationTimestamp: metav1.NewTime(created),
			Labels:      map[string]string{runner.LabelManagedBy: runner.ManagedByValue},
			Annotations: map[string]string{runner.AnnotationExpires: expires},
		}}
	}
	cs := fake.NewSimpleClientset(
		mk("expired", "2026-03-01T11:00:00Z", jobTestNow.Add(-2*time.Hour)),
		mk("fresh", "2026-03-01T13:00:00Z", jobTestNow.Add(-time.Minute)),
		mk("old", "2026-03-02T13:00:00Z", jobTestNow.Add(-48*time.Hour)),
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "not-ours", Namespace: jobTestNS, CreationTimestamp: metav1.NewTime(jobTestNow.Add(-72 * time.Hour))}},
	)
	got, err := GCJobs(context.Background(), cs, "", 24*time.Hour, jobTestNow, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"job/team-j/expired", "job/team-j/old"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	left, _ := cs.BatchV1().Jobs(jobTestNS).List(context.Background(), metav1.ListOptions{})
	var names []string
	for _, j := range left.Items {
		names = append(names, j.Name)
	}
	if diff := cmp.Diff([]string{"fresh", "not-ours"}, names); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
}

// runs attach is told nothing of the run's secrets: AttachJob reads them
// from the run's Secret (and its Secret refs), masks them in what it shows
// and tells OnSecrets, so the record and the log are redacted too.
func TestAttachJobRedactsTheRunsSecrets(t *testing.T) {
	h := newJobHarness(t, setPod(jobRunning), setPod(jobExited(0, "Completed")))
	spec := jobTestSpec()
	spec.Credentials = []runner.Credential{{Name: "TOKEN", Value: "logs"}}
	if _, err := h.runner.RunJob(h.ctx, spec, JobOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	var told []string
	h.runner.OnSecrets = func(v []string) { told = append(told, v...) }
	var out bytes.Buffer
	got, err := h.runner.AttachJob(h.ctx, spec.RunID, JobOptions{CombinedOutput: &out})
	h.wg.Wait()
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	if out.String() != "fake ***" || got.Output != "fake ***" {
		t.Errorf("attach showed %q (output %q), want the run's secret masked", out.String(), got.Output)
	}
	if len(told) != 1 || told[0] != "logs" {
		t.Errorf("OnSecrets got %q, want the run's secret", told)
	}
}

// Job mode cannot read a Secret ref's value from the container: when the
// user may not read the Secret, the run is refused, not shown in clear.
func TestRunJobRefusesUnreadableSecretRefs(t *testing.T) {
	h := newJobHarness(t)
	h.cs.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "db", errors.New("RBAC"))
	})
	spec := jobTestSpec()
	spec.Credentials = []runner.Credential{{Name: "PGPASSWORD", SecretRef: &runner.SecretKeyRef{Name: "db", Key: "password"}}}
	_, err := h.runner.RunJob(h.ctx, spec, JobOptions{})
	if err == nil || !strings.Contains(err.Error(), "to hide them from the output") || !strings.Contains(err.Error(), "run in pod mode") {
		t.Fatalf("RunJob with an unreadable Secret ref: %v", err)
	}
	if jobs, _ := h.cs.BatchV1().Jobs(jobTestNS).List(h.ctx, metav1.ListOptions{}); len(jobs.Items) != 0 {
		t.Errorf("a Job was created: %d", len(jobs.Items))
	}
}
