package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"
	dockerbackend "github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/transfer"
	"github.com/cscript-dev/cscript/transfer/agentbin"
)

// Progress hears how a run goes. The CLI writes it to the terminal; the
// web UI sends it as server-sent events. Calls come from the run's
// goroutines and must not block for long.
type Progress interface {
	// Started is told once the run has its record: what runs where.
	Started(RunStart)
	// Phase is told when the run enters a phase.
	Phase(PhaseEvent)
	// Output is a chunk of the script's stdout or stderr, redacted. p is
	// valid only during the call.
	Output(s Stream, p []byte)
	// Transfer returns where the progress of a file transfer named label
	// goes: a transfer.Meter is told the bytes moved, another writer gets
	// a bar drawn on it (a terminal), nil shows nothing.
	Transfer(label string) io.Writer
}

// Stream names an output stream of the script.
type Stream string

// The script's output streams. A Job's or a container's output is one
// stream: stdout.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// RunStart says what a run that started runs where. ID is "" for a
// lifecycle script whose record could not be begun.
type RunStart struct {
	ID, Script, Deck, Where string
	// Event and Resource name the lifecycle event a script runs for.
	Event, Resource string
	Start           time.Time
}

// PhaseEvent is a run entering a phase: preflight, lock, create, start,
// setup, upload, script, download, cleanup (kube.Phase's names).
type PhaseEvent struct {
	Phase   string
	Time    time.Time
	Message string
}

// RunResult is what became of a run.
type RunResult struct {
	// Record is the run's record as saved (state, exit code, reason,
	// transfers).
	Record history.Record
	// Detached: a Job was started and left running (RunOptions.Detach).
	Detached bool
}

// ExecuteRun runs a plan: its team record prepared (and refused when the
// deck requires it and it cannot be written), the local run record begun,
// the backend (Pod, Job or Docker) run with output and progress to prog,
// the records finished with the outcome. Cancelling ctx stops the run as
// Ctrl-C does: the backend cleans up on a context of its own, and the
// records say the run was interrupted. The result is nil when the run
// never started. A Plan runs once (its run id is its record's).
func (c *Configuration) ExecuteRun(ctx context.Context, p *Plan, prog Progress) (*RunResult, error) {
	team, err := c.teamHistory(ctx, p.Target, p.Deck) // nil on Docker
	if err != nil {
		return nil, err
	}
	hist, err := c.History(p.opts.KeepRuns)
	if err != nil {
		return nil, err
	}
	// One redactor for the record, the Kubernetes client's log and what the
	// runner learns during the run (the values behind Secret refs).
	hist.Redactor = c.secrets()
	rec := p.Record
	hrun, err := hist.Begin(&rec)
	if err != nil {
		return nil, err
	}
	prog.Started(RunStart{ID: rec.ID, Script: p.Script.Name, Deck: deckName(p.Deck), Where: p.Where, Start: rec.Start})
	_ = hrun.SaveArtifact(history.ArtifactScript, []byte(p.Spec.Body))
	if err := team.begin(ctx, hrun, &rec, p.Spec.Body); err != nil {
		return nil, err
	}
	stdout := io.MultiWriter(streamWriter{prog, Stdout}, hrun.Output())
	stderr := io.MultiWriter(streamWriter{prog, Stderr}, hrun.Stderr())
	var b backend
	switch {
	case p.Docker():
		b = dockerRun{}
	case p.opts.Mode == history.ModeJob:
		b = jobRun{rn: c.KubeRunner(p.Target, stdout, stderr, prog), detach: p.opts.Detach}
	default:
		b = podRun{rn: c.KubeRunner(p.Target, stdout, stderr, prog)}
	}
	o, runErr := b.run(ctx, p.Spec, stdout, stderr)
	c.finishRecord(hrun, &rec, o, runErr)
	team.finish(ctx, &rec)
	return &RunResult{Record: rec, Detached: o.detached}, runErr
}

// streamWriter hands what a backend writes to a Progress.
type streamWriter struct {
	p Progress
	s Stream
}

func (w streamWriter) Write(b []byte) (int, error) {
	w.p.Output(w.s, b)
	return len(b), nil
}

// KubeRunner is a kube.Runner on target with the script's output to stdout
// and stderr and its phases and transfers to prog.
func (c *Configuration) KubeRunner(target *kube.Target, stdout, stderr io.Writer, prog Progress) *kube.Runner {
	rn := &kube.Runner{
		Client:    target.Client,
		Config:    target.Config,
		Namespace: target.Namespace,
		Stdout:    stdout,
		Stderr:    stderr,
		Stdin:     c.Stdin,
		Force:     c.Force,
		Host:      c.host(),
		Now:       c.now,
		OnSecrets: func(v []string) { c.secrets().Add(v...) },
		Progress:  prog.Transfer,
		OnEvent: func(e kube.Event) {
			prog.Phase(PhaseEvent{Phase: string(e.Phase), Time: e.Time, Message: e.Message})
		},
	}
	if c.getenv("CSCRIPT_TRANSFER_AGENT") != "off" {
		rn.TransferAgent = agentbin.For
	}
	return rn
}

// backend runs a spec; the kube and docker backends behind one call.
type backend interface {
	run(ctx context.Context, spec runner.Spec, stdout, stderr io.Writer) (outcome, error)
}

// outcome is what any backend reports about a run, for its record.
type outcome struct {
	name               string // Pod, Job or container
	exitCode           int
	reason             string
	end                time.Time
	uploads, downloads []history.TransferRecord
	diag               *kube.Diagnostics
	detached           bool
}

// podRun runs a spec in a one-off Pod.
type podRun struct{ rn *kube.Runner }

func (b podRun) run(ctx context.Context, spec runner.Spec, _, _ io.Writer) (outcome, error) {
	res, err := b.rn.Run(ctx, spec)
	if res == nil {
		return outcome{}, err
	}
	o := outcome{name: res.PodName, exitCode: res.ExitCode, reason: res.Reason, end: res.End, diag: res.Diagnostics}
	for _, t := range res.Uploads {
		o.uploads = append(o.uploads, transferRecord(t.Local, t.Remote, t.Result))
	}
	for _, t := range res.Downloads {
		o.downloads = append(o.downloads, transferRecord(t.Remote, t.Local, t.Result))
	}
	return o, err
}

// jobRun runs a spec as a Kubernetes Job (--mode job).
type jobRun struct {
	rn     *kube.Runner
	detach bool
}

func (b jobRun) run(ctx context.Context, spec runner.Spec, _, _ io.Writer) (outcome, error) {
	res, err := b.rn.RunJob(ctx, spec, kube.JobOptions{
		ActiveDeadline: spec.Timeout,
		Detach:         b.detach,
		CombinedOutput: b.rn.Stdout,
	})
	return jobOutcome(res), err
}

func jobOutcome(res *kube.JobResult) outcome {
	if res == nil {
		return outcome{}
	}
	return outcome{name: res.JobName, exitCode: res.ExitCode, reason: res.Reason, end: res.End, diag: res.Diagnostics, detached: res.Detached}
}

// dockerRun runs a spec in a one-off container of the Docker engine
// (DOCKER_HOST).
type dockerRun struct{}

func (dockerRun) run(ctx context.Context, spec runner.Spec, stdout, stderr io.Writer) (outcome, error) {
	env := map[string]string{}
	for k, v := range spec.Env {
		env[k] = v
	}
	for _, cr := range spec.Credentials {
		if cr.SecretRef != nil {
			return outcome{}, fmt.Errorf("credential %s comes from the Kubernetes Secret %s, which a Docker deck cannot read: give it a local source (fromEnv, fromFile or fromCommand) in the deck", cr.Name, cr.SecretRef.Name)
		}
		env[cr.Name] = cr.Value
	}
	for name, v := range spec.SecretParams {
		env[runner.SecretParamEnv(name)] = v
	}
	memory, err := spec.MemoryLimit()
	if err != nil {
		return outcome{}, err
	}
	eng, err := dockerbackend.NewClient()
	if err != nil {
		return outcome{}, err
	}
	defer eng.Close()
	res, err := dockerbackend.Run(ctx, eng, dockerbackend.Spec{
		RunID: spec.RunID, Script: spec.Script, Image: spec.Image, Interpreter: spec.Interpreter, Body: spec.Body,
		Env: env, Memory: memory, Timeout: spec.Timeout, Uploads: spec.Uploads, Downloads: spec.Downloads, MaxDownload: spec.MaxDownload,
		Redact: spec.Redact,
	}, stdout, stderr)
	if res == nil {
		return outcome{}, err
	}
	o := outcome{name: res.ContainerName, exitCode: res.ExitCode, reason: res.Reason, end: res.End}
	for _, t := range res.Uploads {
		o.uploads = append(o.uploads, transferRecord(t.Local, t.Remote, t.Result))
	}
	for _, t := range res.Downloads {
		o.downloads = append(o.downloads, transferRecord(t.Remote, t.Local, t.Result))
	}
	return o, err
}

// finishRecord completes the run record from the backend's outcome.
func (c *Configuration) finishRecord(hrun *history.Run, rec *history.Record, o outcome, runErr error) {
	rec.Pod, rec.ExitCode, rec.Reason, rec.End = o.name, o.exitCode, o.reason, o.end
	rec.Uploads, rec.Downloads = o.uploads, o.downloads
	if d := o.diag; d != nil {
		_ = hrun.SaveArtifact(history.ArtifactPod, []byte(d.PodYAML))
		_ = hrun.SaveArtifact(history.ArtifactEvents, []byte(d.Events))
		_ = hrun.SaveArtifact(history.ArtifactContainers, []byte(d.ContainerStatuses))
	}
	if o.detached {
		rec.State, rec.Detached = history.StateRunning, true
		if err := hrun.Update(rec); err != nil {
			c.warn(fmt.Sprintf("the run record was not saved: %v", err))
		}
		return
	}
	if runErr != nil {
		rec.Message = runErr.Error()
		rec.ExitCode = fail.ExitCode(fail.Run(runErr))
		var interrupted *runner.InterruptedError
		var scriptErr *runner.ScriptError
		switch {
		case errors.As(runErr, &interrupted):
			rec.State, rec.Reason = history.StateInterrupted, history.ReasonInterrupted
		case errors.As(runErr, &scriptErr):
			rec.State = history.StateFailed
		default:
			rec.State = history.StateFailed
			if rec.Reason == "" {
				rec.Reason = history.ReasonCscript
			}
		}
	}
	if err := hrun.Finish(rec); err != nil {
		c.warn(fmt.Sprintf("the run record was not saved completely: %v", err))
	}
}

func transferRecord(from, to string, r *transfer.Result) history.TransferRecord {
	tr := history.TransferRecord{From: from, To: to}
	if r != nil {
		tr.Bytes, tr.SHA256, tr.Verified, tr.Compressed = r.Bytes, r.SHA256, r.Verified, r.Compressed
		tr.Via, tr.NoAgent = "image", r.NoAgent
		if r.Agent {
			tr.Via = "agent"
		}
	}
	return tr
}
