package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cscript-dev/cscript/runner"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
)

// Job mode runs the script as the main process of a Kubernetes Job's Pod
// instead of through exec: the rendered script sits in a Secret (scripts may
// embed values) mounted read-only at /work/script, the working directory
// /work is a writable emptyDir, and the output is the Pod's log. There is no
// file transfer in Job mode. The Pod spec comes from BuildPod, so the
// securityContext, env, credentials and labels are those of pod mode.

// Defaults and paths of Job mode.
const (
	// DefaultJobDeadline is the Job's activeDeadlineSeconds when neither
	// JobOptions.ActiveDeadline nor Spec.Timeout is set: the one default
	// timeout of every backend and mode.
	DefaultJobDeadline = runner.DefaultTimeout
	// DefaultJobTTL is the Job's ttlSecondsAfterFinished when
	// JobOptions.TTLAfterFinished is zero: the backstop that deletes a
	// detached (or abandoned) Job, its Pod and its Secret.
	DefaultJobTTL = time.Hour
	// JobScriptPath is where the script is mounted in a Job's container.
	JobScriptPath = WorkDir + "/script"

	// jobScriptKey is the script's key in the run Secret. Env var names
	// never contain a dot followed by lower case in practice; a clash is
	// refused by BuildJob.
	jobScriptKey  = "cscript.script"
	jobScriptFile = "script"
	jobScriptVol  = "script"
	jobLogGrace   = 30 * time.Second // how long the log may trail the container's end
)

// ErrJobNotFound is AttachJob's error for a run id without a Job.
var ErrJobNotFound = fail.New(fail.NotFound, "no job for the run")

// JobOptions tune RunJob and AttachJob.
type JobOptions struct {
	// ActiveDeadline is the Job's activeDeadlineSeconds (counted from the
	// Job's start, image pull included). Zero: Spec.Timeout when set, else
	// DefaultJobDeadline.
	ActiveDeadline time.Duration
	// TTLAfterFinished is the Job's ttlSecondsAfterFinished. Zero:
	// DefaultJobTTL.
	TTLAfterFinished time.Duration
	// Detach makes RunJob return once the Job exists, leaving it to run;
	// AttachJob follows it later. Cleanup is then left to the TTL (the Job
	// owns its Secret, so both go) and `cscript gc`.
	Detach bool
	// CombinedOutput receives the Pod's log (stdout and stderr together) as
	// it comes, redacted. nil discards it; JobResult.Output keeps its end.
	CombinedOutput io.Writer
	// Redact lists more values to hide from the output, beyond
	// Spec.Redact; AttachJob has no Spec, so this is its only list.
	Redact []string
	// KeepJob makes AttachJob leave the Job, its Pod and its Secret in
	// place (for `runs logs`); RunJob ignores it.
	KeepJob bool
	// Labels are added to the Job's and its Pod's (a lifecycle event's
	// resource and event); cscript's own labels are kept.
	Labels map[string]string
}

// JobResult describes a Job-mode run, finished or not. RunJob and AttachJob
// return it with every error once the Job name is known.
type JobResult struct {
	RunID      string
	JobName    string
	PodName    string // "" until the Job's Pod exists
	SecretName string
	Namespace  string
	ExitCode   int    // the exit code the caller should exit with
	Reason     string // for a failed script: Error, OOMKilled, DeadlineExceeded, Evicted
	Phase      Phase  // the phase the run ended in (failed or was interrupted in)
	Start, End time.Time
	// Output is the run's combined, redacted output; only its last
	// runner.MaxOutput bytes when OutputTruncated.
	Output          string
	OutputTruncated bool
	// LogErr is a failure to read the Pod's log; the run's result does not
	// depend on it, but Output may be incomplete.
	LogErr error
	// Detached says that RunJob returned without waiting (JobOptions.Detach).
	Detached bool
	// Diagnostics are collected for a run that failed after its Pod
	// existed (not for an interrupted one), before it was deleted.
	Diagnostics *Diagnostics
	// CleanupErr is a failure to delete what the run created; it is also
	// returned as the run's error when the run itself succeeded.
	CleanupErr error
}

func (o JobOptions) deadline(spec runner.Spec) time.Duration {
	switch {
	case o.ActiveDeadline > 0:
		return o.ActiveDeadline
	case spec.Timeout > 0:
		return spec.Timeout
	}
	return DefaultJobDeadline
}

func (o JobOptions) ttl() time.Duration {
	if o.TTLAfterFinished > 0 {
		return o.TTLAfterFinished
	}
	return DefaultJobTTL
}

func seconds(d time.Duration) int64 { return int64(math.Ceil(d.Seconds())) }

// BuildJob builds the run's Job and the Secret that holds the script (and the
// run's local credentials and secret params, as in pod mode). It has no side
// effects. The Job's Pod template is BuildPod's Pod with the script as the
// container's command; the Secret has no owner yet (the runner makes the Job
// its owner once it exists, so that the Job's TTL removes it too).
func BuildJob(spec runner.Spec, ns string, now time.Time, suffix string, opts JobOptions) (*batchv1.Job, *corev1.Secret, error) {
	if len(spec.Uploads) > 0 || len(spec.Downloads) > 0 {
		return nil, nil, fmt.Errorf("script %s: job mode does not copy files; use pod mode for uploads and downloads", spec.Script)
	}
	if spec.Stdin {
		return nil, nil, fmt.Errorf("script %s: job mode cannot pass stdin to the script", spec.Script)
	}
	pod, secret, err := BuildPod(spec, ns, now, suffix)
	if err != nil {
		return nil, nil, err
	}
	deadline := opts.deadline(spec)
	// gc may remove the Job once it can no longer be running.
	expires := now.Add(deadline + deadlineMargin + 15*time.Minute).UTC().Format(time.RFC3339)
	pod.Annotations[runner.AnnotationExpires] = expires

	if secret == nil {
		secret = &corev1.Secret{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{
				Name:      pod.Name,
				Namespace: ns,
				Labels:    copyMap(pod.Labels),
			},
			Type:      corev1.SecretTypeOpaque,
			Immutable: ptr(true),
			Data:      map[string][]byte{},
		}
	}
	secret.Annotations = map[string]string{runner.AnnotationExpires: expires}
	if _, ok := secret.Data[jobScriptKey]; ok {
		return nil, nil, fmt.Errorf("script %s: env var %s clashes with the script's key in the run secret", spec.Script, jobScriptKey)
	}
	secret.Data[jobScriptKey] = []byte(spec.Body)

	for k, v := range opts.Labels {
		if _, ours := pod.Labels[k]; !ours && len(validation.IsQualifiedName(k)) == 0 {
			pod.Labels[k] = labelValue(v)
		}
	}

	ps := *pod.Spec.DeepCopy()
	ps.ActiveDeadlineSeconds = nil // the Job's deadline governs
	c := &ps.Containers[0]
	c.Command = runner.InterpreterCommand(spec.Interpreter, JobScriptPath)
	c.Args = nil
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{
		Name: jobScriptVol, MountPath: JobScriptPath, SubPath: jobScriptFile, ReadOnly: true,
	})
	ps.Volumes = append(ps.Volumes, corev1.Volume{
		Name: jobScriptVol,
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  secret.Name,
			Items:       []corev1.KeyToPath{{Key: jobScriptKey, Path: jobScriptFile}},
			DefaultMode: ptr(int32(0o444)),
		}},
	})

	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        pod.Name,
			Namespace:   ns,
			Labels:      copyMap(pod.Labels),
			Annotations: copyMap(pod.Annotations),
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr(int32(0)),
			ActiveDeadlineSeconds:   ptr(seconds(deadline)),
			TTLSecondsAfterFinished: ptr(int32(min(seconds(opts.ttl()), math.MaxInt32))),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyMap(pod.Labels), Annotations: copyMap(pod.Annotations)},
				Spec:       ps,
			},
		},
	}
	return job, secret, nil
}

// JobPermissions lists what a Job-mode run of spec needs: create, watch and
// delete Jobs, watch and delete Pods, read their logs, create and delete
// Secrets, and Leases when the script is exclusive.
func JobPermissions(spec runner.Spec) []Permission {
	perms := []Permission{
		{Verb: "create", Group: "batch", Resource: "jobs"},
		{Verb: "watch", Group: "batch", Resource: "jobs"},
		{Verb: "delete", Group: "batch", Resource: "jobs"},
		{Verb: "watch", Resource: "pods"},
		{Verb: "delete", Resource: "pods"},
		{Verb: "get", Resource: "pods", Subresource: "log"},
		{Verb: "create", Resource: "secrets"},
		{Verb: "delete", Resource: "secrets"},
	}
	if spec.Exclusive {
		perms = append(perms,
			Permission{Verb: "create", Group: "coordination.k8s.io", Resource: "leases"},
			Permission{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases"})
	}
	return perms
}

// jobRun is the state of one RunJob or AttachJob.
type jobRun struct {
	r        *Runner
	opts     JobOptions
	res      *JobResult
	phase    Phase
	runLabel string // the run-id label value
	image    string
	interp   string
	memory   string // the memory limit, for an OOM message

	job    *batchv1.Job
	secret *corev1.Secret

	jobSent, secretSent bool
	lock                *lock
	kill                bool // cleanup deletes with grace period 0

	red *redact.Redactor
	out *redact.Writer
	buf *runner.TailBuffer
}

// RunJob runs spec as a Kubernetes Job: preflight, lock, create the Secret
// and the Job, watch the Job and its Pod to completion while following the
// Pod's log into opts.CombinedOutput, then delete the Job, its Pods and the
// Secret, always (on a context of its own). With opts.Detach it returns as
// soon as the Job exists. The error, when not nil, says its kind
// (fail.Kind): *ScriptError (the script's own exit code; OOMKilled, DeadlineExceeded
// and Evicted named), *InterruptedError, *StartError (the image cannot be
// pulled, the Pod cannot be scheduled), *MissingToolError,
// *CannotExecError, *PermissionError, *LockedError or *RunError.
func (r *Runner) RunJob(ctx context.Context, spec runner.Spec, opts JobOptions) (*JobResult, error) {
	start := r.now()
	res := &JobResult{RunID: spec.RunID, Namespace: r.Namespace, Start: start}
	job, secret, err := BuildJob(spec, r.Namespace, start, r.suffix(), opts)
	if err != nil {
		res.End = r.now()
		res.ExitCode = exitRunFailed
		return res, &runner.RunError{Op: "build job", Err: err}
	}
	res.JobName, res.SecretName = job.Name, secret.Name
	redactions := append(append([]string(nil), spec.Redact...), opts.Redact...)
	// The values behind Secret refs, when the user may read them (a Job has
	// no exec to read them from the container): a script that prints one
	// would otherwise show it.
	// A Job has no exec to read them from the container: a user who may not
	// read the Secrets cannot have them hidden, and the run is refused
	// rather than shown in clear.
	refs, err := r.secretRefValues(ctx, spec, nil)
	if err != nil {
		res.End = r.now()
		res.ExitCode = exitRunFailed
		return res, &runner.RunError{Op: "read the values of the Secret refs (to hide them from the output)",
			Err: fmt.Errorf("%w; job mode cannot read them from the container: run in pod mode, or get permission to read these Secrets", err)}
	}
	if len(refs) > 0 {
		redactions = append(redactions, refs...)
		if r.OnSecrets != nil {
			r.OnSecrets(refs)
		}
	}
	jr := r.newJobRun(res, opts, redactions)
	jr.runLabel = labelValue(spec.RunID)
	jr.job, jr.secret = job, secret
	jr.image, jr.interp = spec.Image, spec.Interpreter
	if q, ok := spec.Resources.Limits["memory"]; ok {
		jr.memory = q
	}

	runCtx, cancel := context.WithTimeout(ctx, opts.deadline(spec)+deadlineMargin)
	defer cancel()
	err = jr.create(runCtx, spec)
	if err == nil && opts.Detach {
		// The Lease, if any, stays held until it expires: the Job runs on.
		res.Detached = true
		res.Phase = jr.phase
		res.End = r.now()
		return res, nil
	}
	if err == nil {
		err = jr.follow(runCtx)
	}
	return jr.finish(ctx, runCtx, err, true)
}

// AttachJob follows the Job of a run started with JobOptions.Detach (found
// by its run-id label in the Runner's namespace): it waits for the Pod,
// follows its log into opts.CombinedOutput to the end, and then deletes the
// Job, its Pods and its Secret (unless opts.KeepJob). A run without a Job is
// a *RunError wrapping ErrJobNotFound. Errors are those of RunJob.
func (r *Runner) AttachJob(ctx context.Context, runID string, opts JobOptions) (*JobResult, error) {
	res := &JobResult{RunID: runID, Namespace: r.Namespace, Start: r.now()}
	jr := r.newJobRun(res, opts, opts.Redact)
	jr.runLabel = labelValue(runID)
	list, err := r.Client.BatchV1().Jobs(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: jr.selector()})
	if err != nil {
		res.End, res.ExitCode = r.now(), exitRunFailed
		return res, &runner.RunError{Op: "find job", Err: err}
	}
	if len(list.Items) == 0 {
		res.End, res.ExitCode = r.now(), exitRunFailed
		return res, &runner.RunError{Op: "find job", Err: fmt.Errorf("run %s in namespace %s: %w", runID, r.Namespace, ErrJobNotFound)}
	}
	sort.Slice(list.Items, func(i, j int) bool {
		return list.Items[j].CreationTimestamp.Before(&list.Items[i].CreationTimestamp)
	})
	job := list.Items[0]
	jr.job, jr.jobSent = &job, true
	res.JobName = job.Name
	c := job.Spec.Template.Spec.Containers
	if len(c) > 0 {
		jr.image = c[0].Image
		if q, ok := c[0].Resources.Limits[corev1.ResourceMemory]; ok {
			jr.memory = q.String()
		}
	}
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Name == jobScriptVol && v.Secret != nil {
			res.SecretName = v.Secret.SecretName
			jr.secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: v.Secret.SecretName}}
			jr.secretSent = true
		}
	}
	// The run's secret values, so that what the Job prints is redacted as
	// when the run started: the run Secret's credentials and secret params,
	// and the values behind the Job's Secret refs. Fail closed: a run whose
	// secrets cannot be read is not shown.
	values, err := r.jobSecretValues(ctx, &job, res.SecretName)
	if err != nil {
		res.End, res.ExitCode = r.now(), exitRunFailed
		return res, &runner.RunError{Op: "read the run's secret values (to hide them)", Err: err}
	}
	jr.red.Add(values...)
	if r.OnSecrets != nil && len(values) > 0 {
		r.OnSecrets(values)
	}
	deadline := DefaultJobDeadline
	if job.Spec.ActiveDeadlineSeconds != nil {
		deadline = time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second
	}
	runCtx, cancel := context.WithTimeout(ctx, deadline+deadlineMargin)
	defer cancel()
	err = jr.follow(runCtx)
	return jr.finish(ctx, runCtx, err, !opts.KeepJob)
}

func (r *Runner) newJobRun(res *JobResult, opts JobOptions, secrets []string) *jobRun {
	buf := runner.NewTailBuffer(runner.MaxOutput)
	w := io.Writer(buf)
	if opts.CombinedOutput != nil {
		w = io.MultiWriter(opts.CombinedOutput, buf)
	}
	red := redact.New(secrets...)
	return &jobRun{r: r, opts: opts, res: res, buf: buf, red: red, out: red.Writer(w)}
}

func (jr *jobRun) selector() string {
	return labels.SelectorFromSet(labels.Set{runner.LabelManagedBy: runner.ManagedByValue, runner.LabelRunID: jr.runLabel}).String()
}

func (jr *jobRun) enter(p Phase, msg string) {
	jr.phase = p
	if jr.r.OnEvent != nil {
		name := jr.res.PodName
		if name == "" {
			name = jr.res.JobName
		}
		jr.r.OnEvent(Event{Phase: p, Time: jr.r.now(), Pod: name, Message: msg})
	}
}

// create does the preflight, takes the Lease and creates the Secret, then
// the Job, then makes the Job the Secret's owner.
func (jr *jobRun) create(ctx context.Context, spec runner.Spec) error {
	r := jr.r
	if !r.SkipPreflight {
		jr.enter(PhasePreflight, "")
		if err := Preflight(ctx, r.Client, r.Namespace, JobPermissions(spec)); err != nil {
			return err
		}
	}
	if spec.Exclusive {
		jr.enter(PhaseLock, LeaseName(spec.Script))
		holder := fmt.Sprintf("%s@%s/%s", first(spec.User, "unknown"), first(r.Host, "unknown"), spec.RunID)
		l, err := acquireLease(ctx, r.Client, r.Namespace, spec.Script, spec.RunID, holder, jr.opts.deadline(spec)+deadlineMargin, r.now())
		if err != nil {
			return err
		}
		jr.lock = l
	}
	jr.enter(PhaseCreate, jr.job.Name)
	// Not cancelled by an interrupt, as in run.create: a create cancelled in
	// flight may land after cleanup's delete.
	runCtx := ctx
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	jr.secretSent = true
	if _, err := r.Client.CoreV1().Secrets(r.Namespace).Create(withoutBodies(ctx), jr.secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create secret %s: %w", jr.secret.Name, err)
	}
	jr.jobSent = true
	created, err := r.Client.BatchV1().Jobs(r.Namespace).Create(ctx, jr.job, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create job %s: %w", jr.job.Name, err)
	}
	jr.job = created
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":%q,"uid":%q}]}}`,
		created.Name, created.UID)
	// Best effort: cleanup deletes the Secret by name and gc by label; the
	// owner reference lets the Job's TTL take the Secret with it.
	_, _ = r.Client.CoreV1().Secrets(r.Namespace).Patch(withoutBodies(ctx), jr.secret.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	return runCtx.Err()
}

// follow watches the Job and its Pod until the script has ended and its log
// has been read to the end.
func (jr *jobRun) follow(ctx context.Context) error {
	jr.enter(PhaseStart, jr.image)
	w := &jobWatch{jr: jr}
	defer w.stop()
	if err := w.podsFrom(ctx); err != nil {
		return err
	}
	if err := w.jobFrom(ctx); err != nil {
		return err
	}
	logs := &logFollower{}
	defer logs.stopAndWait()

	// A start problem that may clear by itself (unschedulable, a
	// configuration error) has the grace it has in pod mode (Runner.grace).
	var transient *runner.StartError
	var transientTimer, logTimer <-chan time.Time
	for {
		pod := w.pod
		if pod != nil && jr.res.PodName != pod.Name {
			jr.res.PodName = pod.Name
		}
		// The Job failed without the Pod telling why (it is gone).
		if err := jobFailure(w.job, pod, jr.res.JobName); err != nil {
			if !logs.started || logs.isDone() {
				return err
			}
			// Let the log end first, but not for long.
			if logTimer == nil {
				logTimer = time.After(5 * time.Second)
			}
		}
		if w.jobGone {
			return &runner.RunError{Op: "follow job", Err: fmt.Errorf("job %s was deleted", jr.res.JobName)}
		}
		if pod != nil {
			if err := podStartFailure(pod); err != nil {
				return jr.r.withEventMessage(ctx, err)
			}
			if p := transientProblem(pod); p == nil {
				transient, transientTimer = nil, nil
			} else {
				if transient == nil || transient.Reason != p.Reason {
					transientTimer = time.After(jr.r.grace(p.Reason))
				}
				transient = p
			}
			cs := containerStatus(pod)
			started := cs != nil && (cs.State.Running != nil || cs.State.Terminated != nil)
			if started && !logs.started {
				jr.enter(PhaseScript, "")
				logs.start(ctx, jr.r.Client, pod.Namespace, pod.Name, jr.out)
			}
			if t := terminated(pod); t != nil {
				if logs.isDone() {
					if logs.err != nil {
						jr.res.LogErr = logs.err
					}
					return jr.scriptEnd(pod, t)
				}
				if logTimer == nil {
					logTimer = time.After(jobLogGrace)
				}
			} else if evicted := podEnded(pod); evicted != nil && (!logs.started || logs.isDone()) {
				return evicted
			}
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-transientTimer:
			return jr.r.withEventMessage(ctx, transient)
		case <-logTimer:
			// The log has not ended although the container has: go on with
			// what arrived.
			logs.stopAndWait()
			logTimer = nil
		case <-logs.doneCh():
		case ev, ok := <-w.podEvents():
			if err := w.onPodEvent(ctx, ev, ok); err != nil {
				return err
			}
		case ev, ok := <-w.jobEvents():
			if err := w.onJobEvent(ctx, ev, ok); err != nil {
				return err
			}
		}
	}
}

// scriptEnd turns the container's terminated state into the run's error.
func (jr *jobRun) scriptEnd(pod *corev1.Pod, t *corev1.ContainerStateTerminated) error {
	if t.ExitCode == 0 {
		return nil
	}
	switch t.Reason {
	case "StartError", "ContainerCannotRun":
		// The runtime could not start the command at all.
		if strings.Contains(t.Message, "executable file not found") || strings.Contains(t.Message, "no such file or directory") {
			tool := jr.interp
			if cmd := jobCommandOf(pod); len(cmd) > 0 {
				tool = cmd[0]
			}
			return &runner.MissingToolError{Tool: tool, Image: jr.image}
		}
		return &runner.CannotExecError{Message: strings.TrimSpace(t.Message)}
	}
	return runner.ExitError(runner.Exit{Code: int(t.ExitCode), Reason: t.Reason, Message: t.Message,
		Output: jr.buf.String(), Memory: jr.memory, Image: jr.image})
}

func jobCommandOf(pod *corev1.Pod) []string {
	for _, c := range pod.Spec.Containers {
		if c.Name == ContainerName {
			return c.Command
		}
	}
	return nil
}

// finish classifies the error, collects diagnostics, cleans up (when asked)
// and fills in the result.
func (jr *jobRun) finish(parent, runCtx context.Context, err error, cleanup bool) (*JobResult, error) {
	_ = jr.out.Close() // flush what the redactor held back
	res := jr.res
	res.Output, res.OutputTruncated = jr.buf.Tail()
	err = jr.classify(parent, runCtx, err)
	res.Phase = jr.phase

	if runner.WantDiagnostics(err, res.PodName != "") {
		ctx, cancel := context.WithTimeout(context.Background(), runner.DiagnosticsTimeout)
		d, derr := jr.r.Diagnose(ctx, res.PodName)
		cancel()
		if derr != nil {
			d = &Diagnostics{Error: derr.Error()}
		}
		res.Diagnostics = d
	}
	if cleanup {
		// A script past its deadline is killed, not asked to stop: a shell
		// as pid 1 ignores SIGTERM and would hold its Pod for the whole
		// grace period.
		var se *runner.ScriptError
		jr.kill = errors.As(err, &se) && se.Reason == runner.ReasonDeadlineExceeded
		res.CleanupErr = jr.cleanup()
		err = runner.WithCleanup(err, res.CleanupErr)
	}
	res.End = jr.r.now()
	var c runner.Result
	c.Finish(err)
	res.ExitCode, res.Reason = c.ExitCode, c.Reason
	return res, err
}

func (jr *jobRun) classify(parent, runCtx context.Context, err error) error {
	return runner.Classify(parent, runCtx, err, string(jr.phase), string(PhaseScript), jr.deadlineMessage(), nil)
}

// deadlineMessage says the Job exceeded its deadline.
func (jr *jobRun) deadlineMessage() string {
	if jr.job != nil && jr.job.Spec.ActiveDeadlineSeconds != nil {
		return runner.TimeoutMessage(time.Duration(*jr.job.Spec.ActiveDeadlineSeconds) * time.Second)
	}
	return "the run exceeded its timeout"
}

// cleanup deletes the Job (its Pods go with it), the Pods themselves (the
// garbage collector may be slow), the Secret and the Lease, on a context of
// its own.
func (jr *jobRun) cleanup() error {
	r := jr.r
	prev := jr.phase
	jr.enter(PhaseCleanup, "")
	jr.phase = prev
	force := jr.kill || r.forced()
	return runner.Cleanup(r.CleanupTimeout, func(ctx context.Context) error {
		var errs []error
		if jr.jobSent {
			// Repeated while the API server does not answer, as the Pod's
			// and the Secret's deletes are.
			err := retryTransient(ctx, func(ctx context.Context) error {
				o := metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}
				if force || r.forced() {
					o.GracePeriodSeconds = ptr(int64(0))
				}
				return r.Client.BatchV1().Jobs(r.Namespace).Delete(ctx, jr.res.JobName, o)
			})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete job %s: %w", jr.res.JobName, err))
			}
		}
		var podNames []string
		if jr.jobSent {
			var pods *corev1.PodList
			err := retryTransient(ctx, func(ctx context.Context) error {
				var err error
				pods, err = r.Client.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: jr.selector()})
				return err
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("list pods of job %s: %w", jr.res.JobName, err))
			} else {
				for _, p := range pods.Items {
					podNames = append(podNames, p.Name)
					if err := r.deletePod(ctx, p.Name, force); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
		if jr.secretSent {
			if err := r.deleteSecret(ctx, jr.secret.Name); err != nil {
				errs = append(errs, err)
			}
		}
		if jr.lock != nil {
			if err := jr.lock.release(ctx, r.Client); err != nil {
				errs = append(errs, err)
			}
		}
		if r.WaitDeleted && len(errs) == 0 {
			for _, p := range podNames {
				if err := r.waitGone(ctx, p); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
		return errors.Join(errs...)
	})
}

// jobFailure is the error of a Job whose Failed condition is set, when its
// Pod does not explain the failure itself (it is gone or never ran).
func jobFailure(job *batchv1.Job, pod *corev1.Pod, name string) error {
	if job == nil {
		return nil
	}
	for _, c := range job.Status.Conditions {
		if (c.Type != batchv1.JobFailed && c.Type != batchv1.JobFailureTarget) || c.Status != corev1.ConditionTrue {
			continue
		}
		if c.Reason == batchv1.JobReasonDeadlineExceeded {
			msg := "the run exceeded its timeout"
			if job.Spec.ActiveDeadlineSeconds != nil {
				msg = runner.TimeoutMessage(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second)
			}
			return runner.TimeoutError(msg)
		}
		if pod != nil && terminated(pod) != nil {
			return nil // the Pod's exit code says it better
		}
		if c.Type != batchv1.JobFailed {
			return nil // wait for the Pod or the final condition
		}
		return &runner.RunError{Op: "job", Err: fmt.Errorf("job %s failed: %s: %s", name, c.Reason, c.Message)}
	}
	return nil
}

// podStartFailure says why a Job's Pod will never start, like startState
// does in pod mode; a terminated container is not a failure here, and an
// unschedulable Pod has its grace (transientProblem).
func podStartFailure(pod *corev1.Pod) error {
	if w := waitingReason(pod); w != nil && fatalWaiting[w.Reason] {
		return &runner.StartError{Pod: pod.Name, Reason: w.Reason, Message: w.Message}
	}
	return nil
}

func terminated(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	if cs := containerStatus(pod); cs != nil {
		return cs.State.Terminated
	}
	return nil
}

// podEnded is the error of a Pod that failed without its container
// terminating by itself (evicted, or killed at its deadline).
func podEnded(pod *corev1.Pod) error {
	if pod.Status.Phase != corev1.PodFailed {
		return nil
	}
	reason := pod.Status.Reason
	if reason == "" {
		reason = runner.ReasonError
	}
	return &runner.ScriptError{Code: exitSignalBase + 9, Reason: reason, Message: pod.Status.Message}
}

// jobWatch holds a watch on the Job and one on its Pods, re-established when
// they end.
type jobWatch struct {
	jr      *jobRun
	pw, jw  watch.Interface
	pod     *corev1.Pod
	job     *batchv1.Job
	jobGone bool
}

func (w *jobWatch) stop() {
	if w.pw != nil {
		w.pw.Stop()
	}
	if w.jw != nil {
		w.jw.Stop()
	}
}

func (w *jobWatch) podEvents() <-chan watch.Event {
	if w.pw == nil {
		return nil
	}
	return w.pw.ResultChan()
}

func (w *jobWatch) jobEvents() <-chan watch.Event {
	if w.jw == nil {
		return nil
	}
	return w.jw.ResultChan()
}

// podsFrom lists the run's Pods and watches them from there.
func (w *jobWatch) podsFrom(ctx context.Context) error {
	r := w.jr.r
	pods := r.Client.CoreV1().Pods(r.Namespace)
	sel := metav1.ListOptions{LabelSelector: w.jr.selector()}
	list, err := pods.List(ctx, sel)
	if err != nil {
		return fmt.Errorf("list pods of job %s: %w", w.jr.res.JobName, err)
	}
	for i := range list.Items {
		w.setPod(&list.Items[i])
	}
	sel.ResourceVersion = list.ResourceVersion
	if w.pw != nil {
		w.pw.Stop()
	}
	w.pw, err = pods.Watch(ctx, sel)
	if err != nil {
		w.pw = nil
		return fmt.Errorf("watch pods of job %s: %w", w.jr.res.JobName, err)
	}
	return nil
}

// jobFrom gets the Job and watches it from there.
func (w *jobWatch) jobFrom(ctx context.Context) error {
	r, name := w.jr.r, w.jr.res.JobName
	jobs := r.Client.BatchV1().Jobs(r.Namespace)
	job, err := jobs.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		w.jobGone = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", name, err)
	}
	w.job = job
	if w.jw != nil {
		w.jw.Stop()
	}
	w.jw, err = jobs.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
		ResourceVersion: job.ResourceVersion,
	})
	if err != nil {
		w.jw = nil
		return fmt.Errorf("watch job %s: %w", name, err)
	}
	return nil
}

// setPod keeps the newest of the run's Pods (a Job with backoffLimit 0 has
// one; a replacement after an eviction may follow).
func (w *jobWatch) setPod(p *corev1.Pod) {
	if p.Labels[runner.LabelRunID] != w.jr.runLabel {
		return
	}
	if w.pod == nil || w.pod.Name == p.Name || w.pod.CreationTimestamp.Before(&p.CreationTimestamp) {
		w.pod = p
	}
}

func (w *jobWatch) onPodEvent(ctx context.Context, ev watch.Event, ok bool) error {
	if !ok || ev.Type == watch.Error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return w.podsFrom(ctx)
	}
	p, isPod := ev.Object.(*corev1.Pod)
	if !isPod {
		return nil
	}
	switch ev.Type {
	case watch.Added, watch.Modified:
		w.setPod(p)
	case watch.Deleted:
		// Keep its last state: it may say how the script ended.
		if w.pod != nil && w.pod.Name == p.Name {
			w.pod = p
		}
	}
	return nil
}

func (w *jobWatch) onJobEvent(ctx context.Context, ev watch.Event, ok bool) error {
	if !ok || ev.Type == watch.Error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return w.jobFrom(ctx)
	}
	j, isJob := ev.Object.(*batchv1.Job)
	if !isJob || j.Name != w.jr.res.JobName {
		return nil
	}
	switch ev.Type {
	case watch.Added, watch.Modified:
		w.job = j
	case watch.Deleted:
		w.job, w.jobGone = j, true
	}
	return nil
}

// logFollower copies a Pod's log, followed, into a writer in a goroutine.
type logFollower struct {
	started bool
	done    chan struct{}
	cancel  context.CancelFunc
	err     error
	once    sync.Once
}

func (l *logFollower) start(ctx context.Context, client kubernetes.Interface, ns, pod string, out io.Writer) {
	l.started = true
	l.done = make(chan struct{})
	ctx, l.cancel = context.WithCancel(ctx)
	go func() {
		defer close(l.done)
		stream, err := client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: ContainerName, Follow: true}).Stream(ctx)
		if err != nil {
			l.err = fmt.Errorf("follow log of pod %s: %w", pod, err)
			return
		}
		defer stream.Close()
		if _, err := io.Copy(out, stream); err != nil && ctx.Err() == nil {
			l.err = fmt.Errorf("follow log of pod %s: %w", pod, err)
		}
	}()
}

// doneCh delivers once when the log has ended; nil before it started and
// after it was seen.
func (l *logFollower) doneCh() <-chan struct{} {
	if !l.started || l.isDone() {
		return nil
	}
	return l.done
}

func (l *logFollower) isDone() bool {
	if !l.started {
		return false
	}
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *logFollower) stopAndWait() {
	if !l.started {
		return
	}
	l.once.Do(l.cancel)
	<-l.done
}

// GCJobs deletes cscript's Jobs in namespace ("" for all) whose expiry
// annotation has passed or (when olderThan > 0) that were created more than
// olderThan before now, with their Pods (background propagation). It returns
// what it deleted (or would, with dryRun) as "job/NS/NAME" and keeps going
// past individual failures. GC covers the Pods and Secrets.
func GCJobs(ctx context.Context, client kubernetes.Interface, namespace string, olderThan time.Duration, now time.Time, dryRun bool) ([]string, error) {
	sel := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{runner.LabelManagedBy: runner.ManagedByValue}).String()}
	list, err := client.BatchV1().Jobs(namespace).List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	opts := metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var deleted []string
	var errs []error
	for _, j := range list.Items {
		stale := false
		if t, ok := ExpiresAt(&j); ok && !now.Before(t) {
			stale = true
		}
		if c := j.CreationTimestamp; olderThan > 0 && !c.IsZero() && now.Sub(c.Time) >= olderThan {
			stale = true
		}
		if !stale {
			continue
		}
		err := client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, opts)
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete job %s/%s: %w", j.Namespace, j.Name, err))
			continue
		}
		deleted = append(deleted, "job/"+j.Namespace+"/"+j.Name)
	}
	return deleted, errors.Join(errs...)
}

// jobSecretValues reads the secret values of a Job's run: every value of the
// run Secret (but the script) and the values behind the container's Secret
// refs.
func (r *Runner) jobSecretValues(ctx context.Context, job *batchv1.Job, runSecret string) ([]string, error) {
	keys := map[string][]string{} // secret name → keys
	for _, c := range job.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				keys[ref.Name] = append(keys[ref.Name], ref.Key)
			}
		}
	}
	if runSecret != "" {
		keys[runSecret] = nil // all of it
	}
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	sort.Strings(names)
	var values []string
	for _, name := range names {
		sec, err := r.Client.CoreV1().Secrets(r.Namespace).Get(withoutBodies(ctx), name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get secret %s in namespace %s: %w", name, r.Namespace, err)
		}
		if name == runSecret {
			for k, v := range sec.Data {
				if k != jobScriptKey && len(v) > 0 {
					values = append(values, string(v))
				}
			}
		}
		for _, k := range keys[name] {
			if v := sec.Data[k]; len(v) > 0 {
				values = append(values, string(v))
			}
		}
	}
	return values, nil
}
