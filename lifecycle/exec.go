package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/cscript-dev/cscript/runner"
)

// Executor runs one rendered lifecycle script in a one-time container (a
// Kubernetes Job or a Docker container; ProcessExecutor runs it locally). The
// container's working directory is /work and the script is /work/script.
//
// Run returns the result whenever the script ran and exited, whatever its
// exit code; an error means it could not run or did not finish (ctx ended,
// the image could not be pulled, …). A result may come with an error, for
// the output gathered so far.
type Executor interface {
	Run(ctx context.Context, req ExecRequest) (*ExecResult, error)
}

// ExecRequest is a rendered script and everything the container needs.
type ExecRequest struct {
	RunID    string
	Event    Event
	Resource string // the resource's name, for labels
	Script   string // the script's name
	Library  string
	Deck     string
	User     string

	Image          string
	Interpreter    string // bash, sh or python
	ServiceAccount string
	Body           string

	// Env holds plain values: the script's own env, then the contract.
	Env map[string]string
	// SecretEnv holds secret values read locally (credentials, secret params
	// already named as env vars); they never appear in a Pod spec.
	SecretEnv map[string]string
	// SecretRefs are env vars taken from Kubernetes Secrets in the namespace.
	SecretRefs []SecretRef

	Timeout  time.Duration // 0: DefaultTimeout
	Requests map[string]string
	Limits   map[string]string
	Redact   []string
	// Native is the executor's own spec as the commands layer built it (a
	// runner.Spec for Kubernetes), so adapters lose nothing; may be nil.
	Native any
}

// SecretRef is an env var from a key of a Secret.
type SecretRef struct {
	Env, Secret, Key string
}

// ExecResult is how a script ended.
type ExecResult struct {
	Output   string // stdout and stderr combined, in order
	ExitCode int
	RunID    string // the executor's run id, when it made its own
}

// DefaultTimeout bounds an event whose script sets no timeout: the run
// core's one default, as for `cscript run` on every backend.
const DefaultTimeout = runner.DefaultTimeout

func (r ExecRequest) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// ProcessExecutor runs a script as a local process: the script is written to
// Dir/script (a fresh temp dir when Dir is empty) and run there with the
// interpreter, with only the request's env (and PATH, HOME). It keeps the
// container contract apart from the image: for tests and for trying
// a lifecycle on one's own machine.
type ProcessExecutor struct {
	Dir string
	// Interpreters maps an interpreter to a program; nil: bash, sh, python3.
	Interpreters map[string]string
	// Stream, when set, also gets the output as it comes.
	Stream io.Writer
}

var _ Executor = (*ProcessExecutor)(nil)

// Run runs req.Body and waits; ctx ending kills the process group.
func (p *ProcessExecutor) Run(ctx context.Context, req ExecRequest) (*ExecResult, error) {
	dir := p.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "cscript-lifecycle-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte(req.Body), 0o500); err != nil {
		return nil, fmt.Errorf("write the script: %w", err)
	}
	prog := map[string]string{"bash": "bash", "sh": "sh", "python": "python3"}[req.Interpreter]
	if p.Interpreters != nil {
		prog = p.Interpreters[req.Interpreter]
	}
	if prog == "" {
		return nil, fmt.Errorf("interpreter %q is not known", req.Interpreter)
	}
	ctx, cancel := context.WithTimeout(ctx, req.timeout())
	defer cancel()
	cmd := exec.Command(prog, script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for _, m := range []map[string]string{req.Env, req.SecretEnv} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cmd.Env = append(cmd.Env, k+"="+m[k])
		}
	}
	var out lockedBuffer
	var w io.Writer = &out
	if p.Stream != nil {
		w = &lockedWriter{w: io.MultiWriter(&out, p.Stream)}
	}
	cmd.Stdout, cmd.Stderr = w, w
	newProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", prog, err)
	}
	group := groupOf(cmd)
	defer group.release()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		group.kill()
		<-done
		return &ExecResult{Output: out.String(), ExitCode: -1}, fmt.Errorf("script stopped: %w", context.Cause(ctx))
	}
	res := &ExecResult{Output: out.String(), RunID: req.RunID}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int(ws.Signal())
		}
	default:
		return res, err
	}
	return res, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lockedBuffer lets stdout and stderr share one buffer, in order.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
