package docker

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
)

// ErrContainerNotFound is Attach's error for a container that no longer
// exists.
var ErrContainerNotFound = fail.New(fail.NotFound, "no container for the run")

// AttachOptions tune Attach.
type AttachOptions struct {
	// Redact lists values to hide beyond the container's secret env
	// values (LabelSecretEnv), which Attach finds itself.
	Redact []string
	// Keep leaves the container in place.
	Keep bool
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Attach follows the container ref (an ID or a name) of a run started with
// Spec.Detach: its output from the start to stdout and stderr (redacted
// with the values of its secret env vars), until it exits or its deadline
// (LabelDeadline) passes; then it removes the container (unless
// opts.Keep). The errors are Run's; a container that is gone is a
// *runner.RunError wrapping ErrContainerNotFound.
func Attach(ctx context.Context, eng Engine, ref string, opts AttachOptions, stdout, stderr io.Writer) (*Result, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	spec := Spec{Now: now}
	res := &Result{Start: now(), ContainerID: ref}
	st := &run{eng: eng, spec: spec, res: res, tail: runner.NewTailBuffer(MaxOutput), phase: PhaseScript}
	ins, err := eng.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			err = fmt.Errorf("container %s: %w (removed by `cscript gc`, or followed already)", ref, ErrContainerNotFound)
		}
		return st.finish(&runner.RunError{Op: "find container", Err: err}, true)
	}
	c := ins.Container
	st.id = c.ID
	res.ContainerID, res.ContainerName = c.ID, strings.TrimPrefix(c.Name, "/")
	if c.Config != nil {
		st.spec.Image = c.Config.Image
		st.spec.Script = c.Config.Labels[LabelScript]
		st.spec.Redact = append(append([]string(nil), opts.Redact...), secretValues(c.Config.Env, c.Config.Labels[LabelSecretEnv])...)
	}
	st.spec.Memory = -1
	if c.HostConfig != nil && c.HostConfig.Memory > 0 {
		st.spec.Memory = c.HostConfig.Memory
	}
	deadline := time.Time{}
	if c.Config != nil {
		deadline, _ = time.Parse(time.RFC3339, c.Config.Labels[LabelDeadline])
	}
	runCtx, cancel := context.WithCancel(ctx)
	if !deadline.IsZero() {
		st.spec.Timeout = deadline.Sub(res.Start)
		cancel()
		runCtx, cancel = context.WithDeadline(ctx, deadline)
	}
	err = st.follow(runCtx, stdout, stderr)
	cancel()
	if err != nil {
		msg := "the run exceeded its deadline"
		if !deadline.IsZero() {
			msg += " of " + deadline.UTC().Format(time.RFC3339)
		}
		err = runner.Classify(ctx, runCtx, err, st.phase, PhaseScript, msg, nil)
	}
	return st.finish(err, opts.Keep)
}

// follow copies the container's log, from its start, while waiting for its
// exit.
func (st *run) follow(ctx context.Context, stdout, stderr io.Writer) error {
	logs, err := st.eng.ContainerLogs(ctx, st.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return &runner.RunError{Op: "follow the container's log", Err: err}
	}
	defer logs.Close()
	red := redact.New(st.spec.Redact...)
	outW := red.Writer(io.MultiWriter(orDiscard(stdout), st.tail))
	errW := red.Writer(io.MultiWriter(orDiscard(stderr), st.tail))
	if sameWriter(stdout, stderr) {
		errW = outW
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(outW, errW, logs)
		copied <- err
	}()
	flush := func() {
		_ = outW.Close()
		if errW != outW {
			_ = errW.Close()
		}
	}
	return st.wait(ctx, func() { logs.Close() }, copied, flush)
}

// secretValues are the values of the env vars names lists (comma
// separated).
func secretValues(env []string, names string) []string {
	if names == "" {
		return nil
	}
	secret := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		secret[n] = true
	}
	var out []string
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && secret[k] && v != "" {
			out = append(out, v)
		}
	}
	return out
}
