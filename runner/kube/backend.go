package kube

import (
	"context"

	"github.com/cscript-dev/cscript/runner"
)

// PodBackend runs specs in one-off Pods (pod mode): the runner.Backend of
// Runner.Run.
type PodBackend struct{ Runner *Runner }

// JobBackend runs specs as Kubernetes Jobs (--mode job): the runner.Backend
// and runner.Attacher of Runner.RunJob and Runner.AttachJob.
type JobBackend struct{ Runner *Runner }

var (
	_ runner.Backend  = PodBackend{}
	_ runner.Attacher = JobBackend{}
)

// Capabilities are runner.KubernetesPod's.
func (PodBackend) Capabilities() runner.Capabilities { return runner.KubernetesPod }

// Run runs spec in a one-off Pod (Runner.Run) with the output to opts'
// writers and opts.Stdin to the script when spec.Stdin.
func (b PodBackend) Run(ctx context.Context, spec runner.Spec, opts runner.RunOptions) (runner.Result, error) {
	if err := b.Capabilities().Check(spec, runner.Request{Detach: opts.Detach}); err != nil {
		return runner.Result{}, err
	}
	rn := *b.Runner
	if opts.Stdout != nil {
		rn.Stdout = opts.Stdout
	}
	if opts.Stderr != nil {
		rn.Stderr = opts.Stderr
	}
	if opts.Stdin != nil {
		rn.Stdin = opts.Stdin
	}
	res, err := rn.Run(ctx, spec)
	return res.Common(), err
}

// Common is the result in the run core's terms.
func (res *Result) Common() runner.Result {
	if res == nil {
		return runner.Result{}
	}
	return runner.Result{
		Name: res.PodName, ExitCode: res.ExitCode, Reason: res.Reason, Phase: string(res.Phase),
		Start: res.Start, End: res.End, Uploads: common(res.Uploads), Downloads: common(res.Downloads),
		Diagnostics: res.Diagnostics, CleanupErr: res.CleanupErr,
	}
}

func common(ts []Transferred) []runner.Transferred {
	var out []runner.Transferred
	for _, t := range ts {
		out = append(out, runner.Transferred{FileCopy: t.FileCopy, Result: t.Result})
	}
	return out
}

// Capabilities are runner.KubernetesJob's.
func (JobBackend) Capabilities() runner.Capabilities { return runner.KubernetesJob }

// Run runs spec as a Job (Runner.RunJob): its one stream of output goes to
// opts.Stdout; opts.Detach leaves it running once it exists.
func (b JobBackend) Run(ctx context.Context, spec runner.Spec, opts runner.RunOptions) (runner.Result, error) {
	if err := b.Capabilities().Check(spec, runner.Request{Detach: opts.Detach}); err != nil {
		return runner.Result{}, err
	}
	res, err := b.Runner.RunJob(ctx, spec, JobOptions{Detach: opts.Detach, CombinedOutput: opts.Stdout, Labels: opts.Labels})
	return res.Common(), err
}

// Attach follows a detached Job (Runner.AttachJob) found by opts.RunID.
func (b JobBackend) Attach(ctx context.Context, opts runner.AttachOptions) (runner.Result, error) {
	res, err := b.Runner.AttachJob(ctx, opts.RunID, JobOptions{CombinedOutput: opts.Stdout, Redact: opts.Redact, KeepJob: opts.Keep})
	return res.Common(), err
}

// Common is the result in the run core's terms.
func (res *JobResult) Common() runner.Result {
	if res == nil {
		return runner.Result{}
	}
	return runner.Result{
		Name: res.JobName, ExitCode: res.ExitCode, Reason: res.Reason, Phase: string(res.Phase),
		Start: res.Start, End: res.End, Output: res.Output, OutputTruncated: res.OutputTruncated,
		Detached: res.Detached, Diagnostics: res.Diagnostics, CleanupErr: res.CleanupErr,
	}
}
