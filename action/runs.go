package action

import (
	"context"
	"io"
	"os"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
)

// RunInfo is a run of this machine's history and where its files are.
type RunInfo struct {
	Record *history.Record
	// Dir holds the run's files: run.json, output.log, the script, the
	// Pod, events and container statuses, the failure trace.
	Dir  string
	hist *history.Store
}

// GetRun finds a run of the local history by id, an unambiguous prefix,
// or "last" ("" too).
func (c *Configuration) GetRun(id string) (*RunInfo, error) {
	hist, err := c.History(0)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = "last"
	}
	rec, err := hist.Get(id)
	if err != nil {
		return nil, err
	}
	return &RunInfo{Record: rec, Dir: hist.Dir(rec.ID), hist: hist}, nil
}

// Artifact opens one of the run's files by name: history.LogFile (the
// output, both streams), history.ArtifactTrace, history.ArtifactScript,
// ArtifactPod, ArtifactEvents, ArtifactContainers. A file the run does not
// have is fs.ErrNotExist.
func (r *RunInfo) Artifact(name string) (io.ReadCloser, error) {
	p := r.hist.ArtifactPath(r.Record.ID, name)
	if p == "" {
		return nil, fail.Errorf(fail.Invalid, "run %s: %q is not a file of a run", r.Record.ID, name)
	}
	return os.Open(p)
}

// AttachOptions say which detached run to follow.
type AttachOptions struct {
	ID string // a run id, a prefix or "last" ("" too)
	// Kubeconfig is the file to reach the run's context with; "": the
	// default.
	Kubeconfig string
	KeepRuns   int
}

// AttachRun follows a detached run (run --mode job --detach, or --detach on
// a Docker deck) to its end: its output to prog, then its local and team
// records finished and the Job or container cleaned up. Cancelling ctx
// stops following as Ctrl-C does.
func (c *Configuration) AttachRun(ctx context.Context, o AttachOptions, prog Progress) (*RunResult, error) {
	hist, err := c.History(o.KeepRuns)
	if err != nil {
		return nil, err
	}
	// The run's secret values reach the redactor when the runner reads
	// them (OnSecrets), before any output: the output, output.log, the
	// trace and run.json are redacted as when the run started.
	hist.Redactor = c.secrets()
	id := o.ID
	if id == "" {
		id = "last"
	}
	hrun, rec, err := hist.Resume(id)
	if err != nil {
		return nil, err
	}
	var target *kube.Target
	var b runner.Backend
	switch rec.Mode {
	case history.ModeJob:
		target, err = kube.LoadTarget(kube.TargetOptions{Kubeconfig: o.Kubeconfig, Context: rec.Context, Namespace: rec.Namespace})
		if err != nil {
			return nil, err
		}
		b = c.backend(false, rec.Mode, target, prog)
	case history.ModeDocker:
		b = c.backend(true, rec.Mode, nil, prog)
	}
	at, ok := b.(runner.Attacher)
	if !ok {
		return nil, fail.Errorf(fail.Usage, "run %s ran in %s mode: only detached runs (--mode job --detach, or --detach on a Docker deck) can be attached", rec.ID, rec.Mode)
	}
	out := io.MultiWriter(streamWriter{prog, Stdout}, hrun.Output())
	errOut := io.MultiWriter(streamWriter{prog, Stderr}, hrun.Stderr())
	if rec.Mode == history.ModeJob {
		errOut = out // a Job's output is one stream
	}
	res, runErr := at.Attach(ctx, runner.AttachOptions{RunID: rec.ID, Ref: rec.ContainerID, Stdout: out, Stderr: errOut})
	if res.Name == "" {
		res.Name, res.ID = rec.Pod, rec.ContainerID
	}
	c.finishRecord(hrun, rec, res, runErr)
	if target != nil {
		c.teamAttached(ctx, target, rec)
	}
	return &RunResult{Record: *rec}, runErr
}
