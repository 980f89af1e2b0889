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
	b := c.backend(p.Docker(), p.opts.Mode, p.Target, prog)
	res, runErr := b.Run(ctx, p.Spec, runner.RunOptions{Stdout: stdout, Stderr: stderr, Stdin: c.Stdin, Detach: p.opts.Detach})
	c.finishRecord(hrun, &rec, res, runErr)
	team.finish(ctx, &rec)
	return &RunResult{Record: rec, Detached: res.Detached}, runErr
}

// backend is the runner.Backend of a run: a Docker container, a Job or a
// Pod on target, with phases and transfers told to prog. Every run (and
// every lifecycle script) goes through it.
func (c *Configuration) backend(docker bool, mode string, target *kube.Target, prog Progress) runner.Backend {
	switch {
	case docker:
		return dockerbackend.Backend{Now: c.now}
	case mode == history.ModeJob:
		return kube.JobBackend{Runner: c.KubeRunner(target, nil, nil, prog)}
	}
	return kube.PodBackend{Runner: c.KubeRunner(target, nil, nil, prog)}
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

// finishRecord completes the run record from the backend's outcome.
func (c *Configuration) finishRecord(hrun *history.Run, rec *history.Record, o runner.Result, runErr error) {
	rec.Pod, rec.ContainerID, rec.ExitCode, rec.Reason, rec.End = o.Name, o.ID, o.ExitCode, o.Reason, o.End
	if rec.End.IsZero() {
		rec.End = c.now()
	}
	rec.Uploads, rec.Downloads = nil, nil
	for _, t := range o.Uploads {
		rec.Uploads = append(rec.Uploads, transferRecord(t.Local, t.Remote, t.Result))
	}
	for _, t := range o.Downloads {
		rec.Downloads = append(rec.Downloads, transferRecord(t.Remote, t.Local, t.Result))
	}
	if d := o.Diagnostics; d != nil {
		_ = hrun.SaveArtifact(history.ArtifactPod, []byte(d.PodYAML))
		_ = hrun.SaveArtifact(history.ArtifactEvents, []byte(d.Events))
		_ = hrun.SaveArtifact(history.ArtifactContainers, []byte(d.ContainerStatuses))
	}
	if o.Detached {
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
