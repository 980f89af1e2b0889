package kube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/runner"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/transfer"
)

const (
	testNS  = "team-a"
	testPod = "cscript-hello-abc123"
)

// harness is a Runner on a fake clientset whose Pod goes through the states
// a test queues, with an executor that behaves like the setup script and a
// script the test chooses.
type harness struct {
	t       *testing.T
	cs      *fake.Clientset
	runner  *Runner
	watcher *watch.FakeWatcher
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	exec    *fakeExec
	files   *fakeFiles
	events  []Phase
	denied  map[string]bool // "verb resource/sub" the SSAR reactor denies
	ctx     context.Context
	cancel  context.CancelCauseFunc

	mu      sync.Mutex
	actions []string // "verb resource" in order, from the reactors
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, cs: fake.NewSimpleClientset(), denied: map[string]bool{}}
	h.ctx, h.cancel = context.WithCancelCause(context.Background())
	t.Cleanup(func() { h.cancel(nil) })
	h.watcher = watch.NewFakeWithChanSize(32, false)

	h.cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		key := ra.Verb + " " + ra.Resource
		if ra.Subresource != "" {
			key += "/" + ra.Subresource
		}
		r.Status.Allowed = !h.denied[key]
		if !r.Status.Allowed {
			r.Status.Reason = "RBAC: no rule"
		}
		return true, r, nil
	})
	// The fake tracker does not assign UIDs or resource versions.
	h.cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		p.UID = "pod-uid-1"
		p.ResourceVersion = "1"
		return false, nil, nil
	})
	// Calls made with the run's context fail once it is cancelled, as a real
	// client's do; deletes come from cleanup's own context and go through.
	h.cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		h.mu.Lock()
		h.actions = append(h.actions, a.GetVerb()+" "+a.GetResource().Resource)
		h.mu.Unlock()
		if h.ctx.Err() != nil && a.GetVerb() != "delete" {
			return true, nil, h.ctx.Err()
		}
		return false, nil, nil
	})
	h.cs.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if h.ctx.Err() != nil {
			return true, nil, h.ctx.Err()
		}
		return true, h.watcher, nil
	})

	h.exec = &fakeExec{script: func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		fmt.Fprintln(stdout, "hello")
		return nil
	}}
	h.files = &fakeFiles{}
	h.runner = &Runner{
		Client:             h.cs,
		Namespace:          testNS,
		Stdout:             &h.stdout,
		Stderr:             &h.stderr,
		Host:               "laptop",
		Now:                func() time.Time { return testNow },
		Suffix:             func() string { return "abc123" },
		NewExecutor:        func(*corev1.Pod) Executor { return h.exec },
		Files:              h.files,
		ConfigErrorGrace:   50 * time.Millisecond,
		UnschedulableGrace: 80 * time.Millisecond,
		OnEvent: func(e Event) {
			h.mu.Lock()
			h.events = append(h.events, e.Phase)
			h.mu.Unlock()
		},
	}
	return h
}

// queue sends Pod states to the watch, each a change of the created Pod.
func (h *harness) queue(states ...func(*corev1.Pod)) {
	for i, f := range states {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: testPod, Namespace: testNS, ResourceVersion: fmt.Sprint(i + 2)}}
		f(p)
		h.watcher.Modify(p)
	}
}

func pending(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }

func running(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func waiting(reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
	}
}

func unschedulable(p *corev1.Pod) {
	p.Status.Phase = corev1.PodPending
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}
}

func (h *harness) run(spec runner.Spec) (*Result, error) {
	return h.runner.Run(h.ctx, spec)
}

// assertCleanedUp checks that nothing of the run is left in the fake cluster.
func (h *harness) assertCleanedUp() {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), testNS, testPod); !apierrors.IsNotFound(err) {
		h.t.Errorf("pod %s still exists (err %v)", testPod, err)
	}
	secrets, _ := h.cs.CoreV1().Secrets(testNS).List(ctx, metav1.ListOptions{})
	leases, _ := h.cs.CoordinationV1().Leases(testNS).List(ctx, metav1.ListOptions{})
	for _, s := range secrets.Items {
		if s.Labels[runner.LabelManagedBy] == runner.ManagedByValue {
			h.t.Errorf("secret %s still exists", s.Name)
		}
	}
	for _, l := range leases.Items {
		if l.Labels[runner.LabelManagedBy] == runner.ManagedByValue {
			h.t.Errorf("lease %s still exists", l.Name)
		}
	}
}

func (h *harness) did(action string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.actions {
		if a == action {
			return true
		}
	}
	return false
}

// fakeExec answers the setup script like a real shell would, and runs the
// test's script function for the script itself.
type fakeExec struct {
	mu          sync.Mutex
	calls       [][]string
	missing     bool   // the interpreter is not in the image
	noShell     bool   // sh itself is not in the image
	memEvents   string // what the cgroup memory.events cat prints
	setupHook   func(ctx context.Context)
	script      func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error
	gotScript   string
	interpreter string
	env         map[string]string // the container's env, for printenv
}

func (f *fakeExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f.mu.Lock()
	f.calls = append(f.calls, cmd)
	f.mu.Unlock()
	switch {
	case f.noShell:
		return errors.New(`command terminated with error: exec: "sh": executable file not found in $PATH`)
	case len(cmd) > 3 && cmd[2] == setupScript:
		if f.setupHook != nil {
			f.setupHook(ctx)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if f.missing {
			fmt.Fprintln(stdout, "cscript-setup missing")
			return utilexec.CodeExitError{Err: errors.New("exit 127"), Code: 127}
		}
		b, _ := io.ReadAll(stdin)
		f.gotScript = string(b)
		sum := sha256.Sum256(b)
		f.interpreter = "/usr/bin/" + cmd[4]
		fmt.Fprintf(stdout, "cscript-setup ok %s %d %s\n", f.interpreter, len(b), hex.EncodeToString(sum[:]))
		return nil
	case len(cmd) > 6 && cmd[2] == runScript:
		if f.missing {
			fmt.Fprintln(stderr, "cscript-setup: missing")
			return utilexec.CodeExitError{Err: errors.New("exit 127"), Code: 127}
		}
		b, _ := io.ReadAll(stdin)
		f.gotScript = string(b)
		sum := sha256.Sum256(b)
		if fmt.Sprint(len(b)) != cmd[4] || hex.EncodeToString(sum[:]) != cmd[5] {
			fmt.Fprintf(stderr, "cscript-setup: size %d %x\n", len(b), sum)
			return utilexec.CodeExitError{Err: errors.New("exit 125"), Code: 125}
		}
		f.interpreter = cmd[6]
		return fakeReportExit(f.script(ctx, nil, stdout, stderr), stderr)
	case len(cmd) == 5 && cmd[2] == scriptWrapper:
		if cmd[4] != f.interpreter {
			return fmt.Errorf("fakeExec: script run with %s, setup found %s", cmd[4], f.interpreter)
		}
		return fakeReportExit(f.script(ctx, stdin, stdout, stderr), stderr)
	case len(cmd) > 3 && cmd[2] == printEnvScript:
		for _, n := range cmd[4:] {
			fmt.Fprintf(stdout, "%s\x00", f.env[n])
		}
		return nil
	case len(cmd) == 3 && strings.Contains(cmd[2], "memory.events"):
		fmt.Fprint(stdout, f.memEvents)
		return nil
	}
	return fmt.Errorf("fakeExec: unexpected command %q", cmd)
}

// fakeReportExit does what the wrappers' reportExit does when the script ends
// by itself (an exit status): the trailer on stderr. A broken stream or a
// cancelled context has none.
func fakeReportExit(err error, stderr io.Writer) error {
	var ce utilexec.CodeExitError
	switch {
	case errors.Is(err, errCutOff):
		return nil
	case err == nil:
		fmt.Fprintf(stderr, "%s%d\n", exitTrailer, 0)
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "%s%d\n", exitTrailer, ce.Code)
	}
	return err
}

type fakeFiles struct {
	mu        sync.Mutex
	uploads   []runner.FileCopy
	downloads []runner.FileCopy
	hook      func(ctx context.Context, what string) error
	noAgent   string // Result.NoAgent of every transfer
}

func (f *fakeFiles) Upload(ctx context.Context, ex Executor, c runner.FileCopy, opts transfer.Options) (*transfer.Result, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if f.hook != nil {
		if err := f.hook(ctx, "upload"); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, c)
	f.mu.Unlock()
	return &transfer.Result{Bytes: 10, Files: 1, Verified: transfer.VerifiedSHA256, NoAgent: f.noAgent}, nil
}

func (f *fakeFiles) Download(ctx context.Context, ex Executor, c runner.FileCopy, opts transfer.Options) (*transfer.Result, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if f.hook != nil {
		if err := f.hook(ctx, "download"); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.downloads = append(f.downloads, c)
	f.mu.Unlock()
	return &transfer.Result{Bytes: 20, Files: 1, Verified: transfer.VerifiedSHA256, NoAgent: f.noAgent}, nil
}

func TestRunSuccess(t *testing.T) {
	h := newHarness(t)
	spec := fullSpec()
	spec.Script = "hello"
	spec.Exclusive = true
	spec.Uploads = []runner.FileCopy{{Local: "dump.sql", Remote: "in/dump.sql"}}
	spec.Downloads = []runner.FileCopy{{Local: "out.txt", Remote: "out.txt"}}
	h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		fmt.Fprintln(stdout, "token is tok-SUPERSECRET-1")
		fmt.Fprintln(stderr, "pass hunter2-SUPERSECRET")
		return nil
	}
	h.queue(pending, running)

	res, err := h.run(spec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 0 || res.PodName != testPod || res.SecretName != testPod || h.exec.interpreter != "/usr/bin/bash" {
		t.Errorf("result = %+v", res)
	}
	if got, want := h.stdout.String(), "token is ***\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := h.stderr.String(), "pass ***\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if h.exec.gotScript != spec.Body {
		t.Errorf("uploaded script = %q, want %q", h.exec.gotScript, spec.Body)
	}
	if diff := cmp.Diff(spec.Uploads, h.files.uploads); diff != "" {
		t.Errorf("uploads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(spec.Downloads, h.files.downloads); diff != "" {
		t.Errorf("downloads (-want +got):\n%s", diff)
	}
	if len(res.Uploads) != 1 || len(res.Downloads) != 1 || res.Downloads[0].Result.Bytes != 20 {
		t.Errorf("transfers in result: %+v %+v", res.Uploads, res.Downloads)
	}
	wantPhases := []Phase{PhasePreflight, PhaseLock, PhaseCreate, PhaseStart, PhaseSetup, PhaseUpload, PhaseUpload, PhaseScript, PhaseDownload, PhaseDownload, PhaseCleanup}
	if diff := cmp.Diff(wantPhases, h.events); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
	// The Secret exists before the Pod, and is then owned by it.
	h.mu.Lock()
	order := strings.Join(h.actions, ",")
	h.mu.Unlock()
	if i, j := strings.Index(order, "create secrets"), strings.Index(order, "create pods"); i < 0 || j < 0 || i > j {
		t.Errorf("want secret created before pod, got actions %s", order)
	}
	if !h.did("patch secrets") {
		t.Errorf("secret never patched with its owner: %s", order)
	}
	if res.Diagnostics != nil {
		t.Errorf("diagnostics for a successful run: %+v", res.Diagnostics)
	}
	h.assertCleanedUp()
}

func TestRunPreflightChecks(t *testing.T) {
	tests := []struct {
		name     string
		spec     func(runner.Spec) runner.Spec
		wantSSAR []string
	}{
		{"plain", func(s runner.Spec) runner.Spec { return s }, []string{"create pods", "watch pods", "delete pods", "create pods/exec"}},
		{"secret and lease", func(s runner.Spec) runner.Spec {
			s.Credentials = []runner.Credential{{Name: "T", Value: "v"}}
			s.Exclusive = true
			return s
		}, []string{"create pods", "watch pods", "delete pods", "create pods/exec", "create secrets", "delete secrets", "create leases", "delete leases"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Permissions(tt.spec(minimalSpec())) {
				s := p.Verb + " " + p.Resource
				if p.Subresource != "" {
					s += "/" + p.Subresource
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tt.wantSSAR, got); diff != "" {
				t.Errorf("permissions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunPermissionDenied(t *testing.T) {
	h := newHarness(t)
	h.denied["create pods/exec"] = true
	_, err := h.run(minimalSpec())
	var pe *runner.PermissionError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PermissionError", err)
	}
	if pe.Subresource != "exec" || pe.Verb != "create" || pe.Namespace != testNS || fail.KindOf(err) != fail.Refused {
		t.Errorf("PermissionError = %+v", pe)
	}
	if !strings.Contains(err.Error(), "cannot create pods/exec in namespace team-a") {
		t.Errorf("message = %q", err)
	}
	if h.did("create pods") {
		t.Error("a pod was created despite the missing permission")
	}
}

func TestRunStartFailures(t *testing.T) {
	tests := []struct {
		name       string
		states     []func(*corev1.Pod)
		wantReason string
		wantMsg    string
	}{
		{"image pull", []func(*corev1.Pod){pending, waiting("ErrImagePull", `failed to pull image "nope:1": not found`)}, "ErrImagePull", "not found"},
		{"pull backoff", []func(*corev1.Pod){waiting("ContainerCreating", ""), waiting("ImagePullBackOff", "Back-off pulling image")}, "ImagePullBackOff", "Back-off"},
		{"never pull", []func(*corev1.Pod){waiting("ErrImageNeverPull", "image not present")}, "ErrImageNeverPull", "not present"},
		{"invalid name", []func(*corev1.Pod){waiting("InvalidImageName", "bad ref")}, "InvalidImageName", "bad ref"},
		{"unschedulable", []func(*corev1.Pod){unschedulable}, "Unschedulable", "Insufficient memory"},
		{"config error persists", []func(*corev1.Pod){waiting("CreateContainerConfigError", `secret "db" not found`)}, "CreateContainerConfigError", `secret "db" not found`},
		{"exits at once", []func(*corev1.Pod){func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "StartError", Message: `exec: "sh": executable file not found`, ExitCode: 128}}}}
		}}, "StartError", "executable file not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.queue(tt.states...)
			start := time.Now()
			res, err := h.run(minimalSpec())
			var se *runner.StartError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *StartError", err)
			}
			if se.Reason != tt.wantReason || !strings.Contains(se.Message, tt.wantMsg) || se.Pod != testPod {
				t.Errorf("StartError = %+v, want reason %s and message containing %q", se, tt.wantReason, tt.wantMsg)
			}
			if res.ExitCode != 125 || fail.ExitCode(se) != 125 {
				t.Errorf("exit code %d, want 125", res.ExitCode)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s to fail", d)
			}
			if res.Diagnostics == nil {
				t.Error("no diagnostics for a failed start")
			}
			h.assertCleanedUp()
		})
	}
}

func TestRunTransientStartProblemsClear(t *testing.T) {
	for name, state := range map[string]func(*corev1.Pod){
		"config error":  waiting("CreateContainerConfigError", `secret "x" not found`),
		"unschedulable": unschedulable,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.queue(state, state, running)
			if _, err := h.run(minimalSpec()); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func TestRunStartErrorUsesEventMessage(t *testing.T) {
	h := newHarness(t)
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: testNS},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: testPod, Namespace: testNS},
		Type:           corev1.EventTypeWarning, Reason: "Failed", Message: "rpc error: manifest unknown",
		LastTimestamp: metav1.NewTime(testNow),
	}
	if _, err := h.cs.CoreV1().Events(testNS).Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.queue(waiting("ErrImagePull", ""))
	res, err := h.run(minimalSpec())
	var se *runner.StartError
	if !errors.As(err, &se) || se.Message != "rpc error: manifest unknown" {
		t.Fatalf("err = %v, want the event's message", err)
	}
	if res.Diagnostics == nil || !strings.Contains(res.Diagnostics.Events, "Warning\tFailed\trpc error: manifest unknown") {
		t.Errorf("diagnostics events = %+v", res.Diagnostics)
	}
	if !strings.Contains(res.Diagnostics.PodYAML, "name: "+testPod) {
		t.Errorf("diagnostics pod yaml = %q", res.Diagnostics.PodYAML)
	}
}

func TestRunScriptExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		memEvents  string
		podStatus  func(*corev1.Pod)
		wantCode   int
		wantReason string
		wantType   string
	}{
		{name: "exit 3", code: 3, wantCode: 3, wantReason: runner.ReasonError, wantType: "script"},
		{name: "killed", code: 137, memEvents: "oom 0\noom_kill 0\n", wantCode: 137, wantReason: runner.ReasonError, wantType: "script"},
		{name: "oom killed", code: 137, memEvents: "oom 1\noom_kill 1\n", wantCode: 137, wantReason: runner.ReasonOOMKilled, wantType: "script"},
		{name: "evicted", code: 137, podStatus: func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.Reason = "Evicted"
			p.Status.Message = "low on memory"
		}, wantCode: 137, wantReason: runner.ReasonEvicted, wantType: "script"},
		{name: "cannot execute", code: 126, wantCode: 126, wantType: "cannot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.queue(running)
			h.exec.memEvents = tt.memEvents
			h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
				if tt.podStatus != nil {
					p, err := h.cs.CoreV1().Pods(testNS).Get(ctx, testPod, metav1.GetOptions{})
					if err != nil {
						return err
					}
					tt.podStatus(p)
					if _, err := h.cs.CoreV1().Pods(testNS).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
						return err
					}
				}
				return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", tt.code), Code: tt.code}
			}
			res, err := h.run(minimalSpec())
			if res.ExitCode != tt.wantCode {
				t.Errorf("exit code %d, want %d (err %v)", res.ExitCode, tt.wantCode, err)
			}
			switch tt.wantType {
			case "script":
				var se *runner.ScriptError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want *ScriptError", err)
				}
				if se.Reason != tt.wantReason || res.Reason != tt.wantReason {
					t.Errorf("reason %q (result %q), want %q", se.Reason, res.Reason, tt.wantReason)
				}
				if tt.wantReason != runner.ReasonError && !strings.Contains(err.Error(), tt.wantReason) {
					t.Errorf("message %q does not name %s", err, tt.wantReason)
				}
			case "cannot":
				var ce *runner.CannotExecError
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want *CannotExecError", err)
				}
			}
			if len(h.files.downloads) != 0 {
				t.Error("downloaded after a failed script")
			}
			if res.Diagnostics == nil {
				t.Error("no diagnostics for a failed script")
			}
			h.assertCleanedUp()
		})
	}
}

func TestRunMissingTools(t *testing.T) {
	for _, tt := range []struct {
		name     string
		set      func(*fakeExec)
		interp   string
		wantTool string
	}{
		{"python", func(f *fakeExec) { f.missing = true }, runner.InterpreterPython, "python3 or python"},
		{"no sh", func(f *fakeExec) { f.noShell = true }, runner.InterpreterBash, "sh"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.queue(running)
			tt.set(h.exec)
			spec := minimalSpec()
			spec.Interpreter = tt.interp
			res, err := h.run(spec)
			var me *runner.MissingToolError
			if !errors.As(err, &me) || me.Tool != tt.wantTool || res.ExitCode != 127 {
				t.Fatalf("err = %v (exit %d), want *MissingToolError for %s, exit 127", err, res.ExitCode, tt.wantTool)
			}
			if !strings.Contains(err.Error(), "busybox:1.36 has no "+tt.wantTool) {
				t.Errorf("message = %q", err)
			}
			h.assertCleanedUp()
		})
	}
}

func TestRunTimeout(t *testing.T) {
	h := newHarness(t)
	h.queue(running)
	h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		<-ctx.Done()
		return ctx.Err()
	}
	spec := minimalSpec()
	spec.Timeout = 100 * time.Millisecond
	res, err := h.run(spec)
	var se *runner.ScriptError
	if !errors.As(err, &se) || se.Reason != runner.ReasonDeadlineExceeded || res.ExitCode != 137 {
		t.Fatalf("err = %v (exit %d), want DeadlineExceeded 137", err, res.ExitCode)
	}
	h.assertCleanedUp()
}

func TestRunStdin(t *testing.T) {
	for _, on := range []bool{false, true} {
		h := newHarness(t)
		h.queue(running)
		h.runner.Stdin = strings.NewReader("input")
		var got []byte
		h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
			if stdin != nil {
				got, _ = io.ReadAll(stdin)
			}
			return nil
		}
		spec := minimalSpec()
		spec.Stdin = on
		if _, err := h.run(spec); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "input", false: ""}[on]; string(got) != want {
			t.Errorf("Stdin=%v: script read %q, want %q", on, got, want)
		}
	}
}

// Cancelling the context at any phase deletes the Pod, the Secret and the
// Lease, and reports the signal.
func TestRunCancelAtEachPhase(t *testing.T) {
	phases := []Phase{PhasePreflight, PhaseLock, PhaseCreate, PhaseStart, PhaseSetup, PhaseUpload, PhaseScript, PhaseDownload}
	for _, phase := range phases {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(fmt.Sprintf("%s/%s", phase, sig), func(t *testing.T) {
				h := newHarness(t)
				spec := fullSpec()
				spec.Script = "hello"
				spec.Exclusive = true
				spec.Uploads = []runner.FileCopy{{Local: "a", Remote: "a"}}
				spec.Downloads = []runner.FileCopy{{Local: "b", Remote: "b"}}
				cancel := func() { h.cancel(runner.SignalCause(sig)) }
				h.runner.OnEvent = func(e Event) {
					if e.Phase == phase {
						cancel()
					}
				}
				h.queue(pending)
				if phase != PhaseStart {
					h.queue(running)
				}
				h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
					if phase != PhaseScript {
						return nil
					}
					<-ctx.Done()
					return fmt.Errorf("stream closed: %w", ctx.Err())
				}
				res, err := h.run(spec)
				var ie *runner.InterruptedError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want *InterruptedError", err)
				}
				if want := 128 + int(sig); res.ExitCode != want || ie.ExitCode() != want {
					t.Errorf("exit code %d, want %d", res.ExitCode, want)
				}
				if res.Phase != phase {
					t.Errorf("interrupted in phase %s, want %s", res.Phase, phase)
				}
				if res.Diagnostics != nil {
					t.Error("diagnostics collected for an interrupted run")
				}
				h.assertCleanedUp()
			})
		}
	}
}

// A Pod create that reaches the server although the client gave up (the
// context was cancelled mid-request) is still deleted.
func TestRunCancelDuringPodCreate(t *testing.T) {
	h := newHarness(t)
	h.cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if err := h.cs.Tracker().Add(p); err != nil {
			t.Error(err)
		}
		h.cancel(nil)
		return true, nil, context.Canceled
	})
	_, err := h.run(minimalSpec())
	var ie *runner.InterruptedError
	if !errors.As(err, &ie) || ie.ExitCode() != 130 {
		t.Fatalf("err = %v, want interrupted 130", err)
	}
	h.assertCleanedUp()
}

func TestRunForceDeletesWithGraceZero(t *testing.T) {
	for _, force := range []bool{false, true} {
		h := newHarness(t)
		ch := make(chan struct{})
		if force {
			close(ch)
		}
		h.runner.Force = ch
		var grace *int64
		h.cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			grace = a.(k8stesting.DeleteAction).GetDeleteOptions().GracePeriodSeconds
			return false, nil, nil
		})
		h.queue(running)
		h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
			h.cancel(nil)
			return ctx.Err()
		}
		if _, err := h.run(minimalSpec()); err == nil {
			t.Fatal("no error from an interrupted run")
		}
		switch {
		case force && (grace == nil || *grace != 0):
			t.Errorf("forced: grace = %v, want 0", grace)
		case !force && grace != nil:
			t.Errorf("not forced: grace = %d, want the default", *grace)
		}
		h.assertCleanedUp()
	}
}

func TestRunLeaseHeld(t *testing.T) {
	h := newHarness(t)
	holder := "bob@desk/run-1"
	secs := int32(3600)
	since := metav1.NewMicroTime(testNow.Add(-time.Minute))
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "cscript-hello", Namespace: testNS},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &since, RenewTime: &since},
	}
	if _, err := h.cs.CoordinationV1().Leases(testNS).Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := minimalSpec()
	spec.Exclusive = true
	res, err := h.run(spec)
	var le *runner.LockedError
	if !errors.As(err, &le) || le.Holder != holder || res.ExitCode != 125 {
		t.Fatalf("err = %v, want *LockedError held by %s", err, holder)
	}
	if !strings.Contains(err.Error(), "held by bob@desk/run-1 since 2026-03-01T11:59:00Z") {
		t.Errorf("message = %q", err)
	}
	if h.did("create pods") {
		t.Error("a pod was created while the lease was held")
	}
	if _, err := h.cs.CoordinationV1().Leases(testNS).Get(context.Background(), "cscript-hello", metav1.GetOptions{}); err != nil {
		t.Errorf("someone else's lease was removed: %v", err)
	}
}

func TestRunLeaseExpiredIsTakenOver(t *testing.T) {
	h := newHarness(t)
	holder := "bob@desk/run-1"
	secs := int32(60)
	old := metav1.NewMicroTime(testNow.Add(-time.Hour))
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "cscript-hello", Namespace: testNS, Labels: map[string]string{runner.LabelManagedBy: runner.ManagedByValue}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &old, RenewTime: &old},
	}
	if _, err := h.cs.CoordinationV1().Leases(testNS).Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var heldBy string
	h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		l, err := h.cs.CoordinationV1().Leases(testNS).Get(ctx, "cscript-hello", metav1.GetOptions{})
		if err != nil {
			return err
		}
		heldBy = *l.Spec.HolderIdentity
		return nil
	}
	h.queue(running)
	spec := minimalSpec()
	spec.Exclusive = true
	if _, err := h.run(spec); err != nil {
		t.Fatal(err)
	}
	if want := "alice@laptop/" + spec.RunID; heldBy != want {
		t.Errorf("lease held by %q during the run, want %q", heldBy, want)
	}
	h.assertCleanedUp()
}

func TestSignalOf(t *testing.T) {
	tests := []struct {
		cause error
		want  syscall.Signal
	}{
		{nil, syscall.SIGINT},
		{context.Canceled, syscall.SIGINT},
		{runner.SignalCause(syscall.SIGHUP), syscall.SIGHUP},
		{errors.New("terminated signal received"), syscall.SIGTERM},
		{errors.New("hangup signal received"), syscall.SIGHUP},
		{errors.New("interrupt signal received"), syscall.SIGINT},
	}
	for _, tt := range tests {
		if got := runner.SignalOf(tt.cause); got != tt.want {
			t.Errorf("runner.SignalOf(%v) = %v, want %v", tt.cause, got, tt.want)
		}
	}
	if got := (&runner.InterruptedError{Signal: syscall.SIGHUP}).ExitCode(); got != 129 {
		t.Errorf("SIGHUP exit code %d, want 129", got)
	}
}

// Without uploads or stdin, the check, the script upload and the script are
// one exec; the setup's own report never reaches the user's stderr.
func TestRunCombinedExec(t *testing.T) {
	h := newHarness(t)
	h.queue(running)
	h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		fmt.Fprint(stderr, "cscript")
		fmt.Fprint(stderr, "-set")
		fmt.Fprintln(stderr, "up? no, the script's own stderr")
		fmt.Fprintln(stdout, "out")
		return nil
	}
	spec := minimalSpec()
	res, err := h.run(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.exec.calls) != 1 || h.exec.calls[0][2] != runScript {
		t.Errorf("execs = %q, want one combined exec", h.exec.calls)
	}
	if h.exec.gotScript != spec.Body {
		t.Errorf("script = %q, want %q", h.exec.gotScript, spec.Body)
	}
	if got := h.stderr.String(); got != "cscript-setup? no, the script's own stderr\n" {
		t.Errorf("stderr = %q", got)
	}
	if res.ExitCode != 0 || h.stdout.String() != "out\n" {
		t.Errorf("exit %d, stdout %q", res.ExitCode, h.stdout.String())
	}
	wantPhases := []Phase{PhasePreflight, PhaseCreate, PhaseStart, PhaseScript, PhaseCleanup}
	if diff := cmp.Diff(wantPhases, h.events); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
}

func TestMarkerFilter(t *testing.T) {
	tests := []struct {
		name         string
		chunks       []string
		wantOut      string
		wantCaptured string
	}{
		{"script output", []string{"hello\n"}, "hello\n", ""},
		{"marker", []string{"cscript-setup: missing\n"}, "", "cscript-setup: missing\n"},
		{"marker in pieces", []string{"csc", "ript-set", "up: size 3 -\n"}, "", "cscript-setup: size 3 -\n"},
		{"near miss in pieces", []string{"csc", "ripted\n", "more"}, "cscripted\nmore", ""},
		{"short prefix only", []string{"cscr"}, "cscr", ""},
		{"marker later is output", []string{"x", "cscript-setup: missing"}, "xcscript-setup: missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &markerFilter{w: &out, marker: []byte(setupMarker)}
			for _, c := range tt.chunks {
				if n, err := f.Write([]byte(c)); n != len(c) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", c, n, err)
				}
			}
			if err := f.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.wantOut || f.captured.String() != tt.wantCaptured {
				t.Errorf("out %q captured %q, want %q and %q", out.String(), f.captured.String(), tt.wantOut, tt.wantCaptured)
			}
		})
	}
}

func TestRunCancelCombinedScript(t *testing.T) {
	h := newHarness(t)
	h.queue(running)
	h.exec.script = func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		h.cancel(runner.SignalCause(syscall.SIGHUP))
		<-ctx.Done()
		return ctx.Err()
	}
	spec := minimalSpec()
	spec.SecretParams = map[string]string{"p": "v"}
	res, err := h.run(spec)
	var ie *runner.InterruptedError
	if !errors.As(err, &ie) || res.ExitCode != 129 || res.Phase != PhaseScript {
		t.Fatalf("err = %v, exit %d, phase %s; want interrupted 129 in script", err, res.ExitCode, res.Phase)
	}
	h.assertCleanedUp()
}

// When the agent could not be installed, one event (what --verbose prints)
// says why, however many files move.
func TestRunSaysWhyNotTheAgent(t *testing.T) {
	h := newHarness(t)
	h.queue(running)
	h.files.noAgent = "install the agent: no writable directory lets it run"
	var msgs []string
	h.runner.OnEvent = func(e Event) { msgs = append(msgs, e.Message) }
	spec := minimalSpec()
	spec.Uploads = []runner.FileCopy{{Local: "/tmp/a", Remote: "/work/a"}, {Local: "/tmp/b", Remote: "/work/b"}}
	spec.Downloads = []runner.FileCopy{{Remote: "/work/out", Local: "/tmp/out"}}
	res, err := h.run(spec)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, m := range msgs {
		if strings.Contains(m, h.files.noAgent) {
			said = append(said, m)
		}
	}
	if len(said) != 1 || !strings.HasPrefix(said[0], "upload /tmp/a: with the image's tools, not cscript's agent: ") {
		t.Errorf("events about the agent: %q; want one, on the first upload", said)
	}
	if len(res.Downloads) != 1 || res.Downloads[0].Result.NoAgent != h.files.noAgent {
		t.Errorf("downloads %+v: want the reason in the result", res.Downloads)
	}
}
