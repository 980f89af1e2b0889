// Package docker runs one rendered cluster script in a one-off container of
// a Docker engine (the Engine API through the official Go SDK; DOCKER_HOST
// honoured): files in, the script with live output, files out, and the
// container removed afterwards, always.
//
// The script and the uploads reach the container through the Engine's
// archive API (CopyToContainer) before it starts, and downloads leave it
// through CopyFromContainer after it has exited (the archive API works on
// stopped containers). A bind mount would only work when the engine runs on
// this machine; the archive API works with a remote DOCKER_HOST too. So the
// script is not a read-only mount but a file of mode 0444 owned by nobody,
// in a directory of mode 0555 of its own, at /work/.cscript/script (as in
// pod mode); the container is hardened like the Pod (every capability
// dropped, no-new-privileges), so even root in it cannot change the script.
//
// Spec.Stdin reaches the script through the container's own stdin (the
// attach stream), and Spec.Detach leaves the container running once it
// started; Attach follows it later (`cscript runs attach`).
//
// Docker has no secret store: every value of Spec.Env, secret ones
// included, is part of the container's configuration (visible to `docker
// inspect` on that engine while the container exists; it is removed at the
// end of the run). Secret values are hidden from the output with
// Spec.Redact.
package docker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/transfer"
)

// Defaults of a Spec.
const (
	DefaultWorkDir = "/work"
	DefaultMemory  = 512 << 20
	DefaultTimeout = runner.DefaultTimeout
	// MaxOutput caps Result.Output; the end of the output is kept.
	MaxOutput = runner.MaxOutput
	// ScriptDir and ScriptName are where the script is in the working
	// directory: .cscript/script, as in pod mode.
	ScriptDir  = ".cscript"
	ScriptName = "script"
)

// Labels cscript puts on its containers (the runner's names, so one label
// selects cscript's objects everywhere).
const (
	LabelManagedBy = runner.LabelManagedBy
	ManagedByValue = runner.ManagedByValue
	LabelRunID     = runner.LabelRunID
	LabelScript    = runner.LabelScript
	// LabelDeadline is when a detached run's script must have ended
	// (RFC 3339): Attach stops it there.
	LabelDeadline = "cscript.dev/deadline"
	// LabelExpires is when `cscript gc` may remove the container.
	LabelExpires = runner.AnnotationExpires
	// LabelSecretEnv names the env vars whose values are secret (comma
	// separated): Attach hides their values from the output.
	LabelSecretEnv = "cscript.dev/secret-env"
)

// Phases of a run, reported in errors and Result.Phase.
const (
	PhaseCreate   = "create"
	PhaseUpload   = "upload"
	PhaseScript   = "script"
	PhaseDownload = "download"
	PhaseCleanup  = "cleanup"
)

// FileCopy copies between a local path and a path inside the container; a
// relative Remote is relative to the working directory.
type FileCopy = runner.FileCopy

// Engine is the part of the Docker SDK's client a run uses.
type Engine interface {
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, container string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerAttach(ctx context.Context, container string, options client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	ContainerWait(ctx context.Context, container string, options client.ContainerWaitOptions) client.ContainerWaitResult
	ContainerInspect(ctx context.Context, container string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerKill(ctx context.Context, container string, options client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerRemove(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerStatPath(ctx context.Context, container string, options client.ContainerStatPathOptions) (client.ContainerStatPathResult, error)
	CopyToContainer(ctx context.Context, container string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error)
	CopyFromContainer(ctx context.Context, container string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ContainerLogs(ctx context.Context, container string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
}

var _ Engine = (*client.Client)(nil)

// NewClient connects to the engine the environment names (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION; the local socket
// otherwise), negotiating the API version on first use.
func NewClient() (*client.Client, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return c, nil
}

// Spec is one run, already rendered.
type Spec struct {
	RunID  string // label value, optional
	Script string // used in the container's name and labels
	// Name is the container's name; "" makes cscript-<script>-<random>.
	Name        string
	Image       string
	Interpreter string // bash, sh or python (python3, else python)
	Body        string // the rendered script
	// Env is the container's environment, plain and secret values alike
	// (Docker has no secret store; see the package comment).
	Env map[string]string
	// WorkDir is the working directory, where the script is; "" is /work.
	WorkDir string
	// Memory is the memory limit in bytes (swap included: no swap); 0 is
	// DefaultMemory, negative is no limit.
	Memory int64
	// Timeout bounds the whole run; 0 is DefaultTimeout.
	Timeout   time.Duration
	Uploads   []FileCopy // before the script starts
	Downloads []FileCopy // after it exited 0
	// MaxDownload bounds each download (transfer.ExtractOptions.MaxBytes):
	// 0 is transfer.DefaultMaxDownload, negative is no limit.
	MaxDownload int64
	// Labels are added to the container's; the managed-by, run-id and
	// script labels are always set.
	Labels map[string]string
	// Redact lists secret values to hide from the output.
	Redact []string
	// NoPull makes a missing image an error instead of pulling it.
	NoPull bool
	// Stdin is passed to the script through the container's stdin; nil:
	// no stdin.
	Stdin io.Reader
	// Detach returns once the container started, leaving it to run:
	// nothing is downloaded, and Attach follows it later.
	Detach bool
	// SecretEnv names the Env entries whose values are secret, so that
	// Attach can hide them (they are in Redact for Run).
	SecretEnv []string
	// Now is the clock for the deadline and expiry labels; nil: time.Now.
	Now func() time.Time
}

// Transferred is one finished file copy.
type Transferred struct {
	FileCopy
	Result *transfer.Result
}

// Result describes a run, finished or not. Run returns it with every error
// once the container exists.
type Result struct {
	ContainerID   string
	ContainerName string
	ExitCode      int    // the exit code the caller should exit with
	Reason        string // for a failed script: Error, OOMKilled, DeadlineExceeded
	Phase         string // the phase the run ended in
	Start, End    time.Time
	// Output is the combined, redacted output; only its last MaxOutput
	// bytes when OutputTruncated.
	Output          string
	OutputTruncated bool
	Uploads         []Transferred
	Downloads       []Transferred
	// CleanupErr is a failure to remove the container; it is also returned
	// as the run's error when the run itself succeeded.
	CleanupErr error
	// Detached says that Run returned once the container started
	// (Spec.Detach); the container runs on.
	Detached bool
}

func (s Spec) workDir() string {
	if s.WorkDir != "" {
		return path.Clean(s.WorkDir)
	}
	return DefaultWorkDir
}

func (s Spec) memory() int64 {
	switch {
	case s.Memory < 0:
		return 0
	case s.Memory == 0:
		return DefaultMemory
	}
	return s.Memory
}

func (s Spec) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

// ScriptPath is where the script is in a container whose working directory
// is workDir ("": DefaultWorkDir).
func ScriptPath(workDir string) string {
	return path.Join(Spec{WorkDir: workDir}.workDir(), ScriptDir, ScriptName)
}

func (s Spec) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Spec) remote(p string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(s.workDir(), p)
}

func validate(s Spec) error {
	switch {
	case s.Image == "":
		return fmt.Errorf("script %s has no image", s.Script)
	case !path.IsAbs(s.workDir()):
		return fmt.Errorf("script %s: work dir %q is not absolute", s.Script, s.WorkDir)
	}
	switch s.Interpreter {
	case runner.InterpreterBash, runner.InterpreterSh, runner.InterpreterPython:
	default:
		return fmt.Errorf("script %s: unknown interpreter %q (want bash, sh or python)", s.Script, s.Interpreter)
	}
	switch {
	case s.Detach && len(s.Downloads) > 0:
		return fmt.Errorf("script %s: a detached run downloads nothing: leave --detach out to get its files", s.Script)
	case s.Detach && s.Stdin != nil:
		return fmt.Errorf("script %s: a detached run has no stdin: leave -i or --detach out", s.Script)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("script %s: %q is not a valid env var name", s.Script, k)
		}
	}
	return nil
}

// Config is the container configuration of spec: the interpreter on the
// script as the command, the working directory, env, labels and the memory
// limit. It has no side effects.
func Config(spec Spec) (*container.Config, *container.HostConfig) {
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[LabelManagedBy] = ManagedByValue
	if spec.RunID != "" {
		labels[LabelRunID] = spec.RunID
	}
	if spec.Script != "" {
		labels[LabelScript] = spec.Script
	}
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+spec.Env[k])
	}
	if len(spec.SecretEnv) > 0 {
		names := append([]string(nil), spec.SecretEnv...)
		sort.Strings(names)
		labels[LabelSecretEnv] = strings.Join(names, ",")
	}
	cfg := &container.Config{
		Image:        spec.Image,
		Cmd:          runner.InterpreterCommand(spec.Interpreter, ScriptPath(spec.WorkDir)),
		Entrypoint:   []string{}, // the image's entrypoint would wrap the interpreter
		WorkingDir:   spec.workDir(),
		Env:          env,
		Labels:       labels,
		AttachStdout: true,
		AttachStderr: true,
	}
	if spec.Stdin != nil {
		// The script's stdin is the attach stream's, closed at its end.
		cfg.AttachStdin, cfg.OpenStdin, cfg.StdinOnce = true, true, true
	}
	// Hardened like the Pod: no capabilities, no privilege escalation
	// (setuid binaries do not gain any).
	host := &container.HostConfig{
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
	}
	if m := spec.memory(); m > 0 {
		host.Resources.Memory = m
		host.Resources.MemorySwap = m
	}
	return cfg, host
}

// run is the state of one Run.
type run struct {
	eng   Engine
	spec  Spec
	res   *Result
	id    string
	phase string
	tail  *runner.TailBuffer
	// detached: the container was started and left running (Spec.Detach).
	detached bool
}

// Run runs spec in a new container of the engine: create (pulling the image
// when missing, unless NoPull), copy the script and the uploads in, start
// with stdout and stderr streamed (redacted) to stdout and stderr (the same
// writer for both gives the combined output), wait, copy the downloads out
// when the script exited 0, and remove the container, always (force, on a
// context of its own). The error, when not nil, says its kind (fail.Kind):
// *runner.ScriptError (the script's exit code; OOMKilled and
// DeadlineExceeded named, both 137), *runner.InterruptedError (ctx
// cancelled; see runner.SignalCause), *runner.MissingToolError (127: no
// interpreter in the image), *runner.CannotExecError (126) or
// *runner.RunError (125: everything else); an engine that cannot be reached
// is of kind fail.Unavailable (a run's exit code is 125 all the same).
func Run(ctx context.Context, eng Engine, spec Spec, stdout, stderr io.Writer) (*Result, error) {
	res := &Result{Start: spec.now()}
	st := &run{eng: eng, spec: spec, res: res, tail: runner.NewTailBuffer(MaxOutput)}
	err := validate(spec)
	if err == nil {
		runCtx, cancel := context.WithTimeout(ctx, spec.timeout())
		err = st.steps(runCtx, stdout, stderr)
		err = st.classify(ctx, runCtx, err)
		cancel()
	} else {
		err = &runner.RunError{Op: "check spec", Err: err}
	}
	return st.finish(err, st.detached && err == nil)
}

// finish removes the container (unless keep), and fills in the result.
func (st *run) finish(err error, keep bool) (*Result, error) {
	res := st.res
	res.Phase = st.phase
	if st.id != "" && !keep {
		res.CleanupErr = st.remove()
		err = runner.WithCleanup(err, res.CleanupErr)
	}
	res.Output, res.OutputTruncated = st.tail.Tail()
	res.End = st.spec.now()
	if client.IsErrConnectionFailed(err) {
		// The engine cannot be reached (the client keeps no net error to see).
		err = fail.Wrap(fail.Unavailable, err)
	}
	res.Detached = keep && err == nil && st.detached
	var c runner.Result
	c.Finish(err)
	res.ExitCode, res.Reason = c.ExitCode, c.Reason
	return res, err
}

func (st *run) steps(ctx context.Context, stdout, stderr io.Writer) error {
	spec := st.spec
	st.phase = PhaseCreate
	if err := st.create(ctx); err != nil {
		return err
	}
	if err := st.copyScript(ctx); err != nil {
		return &runner.RunError{Op: "copy the script", Err: err}
	}
	if len(spec.Uploads) > 0 {
		st.phase = PhaseUpload
		for _, c := range spec.Uploads {
			r, err := upload(ctx, st.eng, st.id, transfer.LocalPath(c.Local), spec.remote(c.Remote))
			if err != nil {
				return &runner.RunError{Op: "upload " + c.Local, Err: err}
			}
			st.res.Uploads = append(st.res.Uploads, Transferred{FileCopy: c, Result: r})
		}
	}
	st.phase = PhaseScript
	if spec.Detach {
		if _, err := st.eng.ContainerStart(ctx, st.id, client.ContainerStartOptions{}); err != nil {
			return startError(err, st.spec)
		}
		st.detached = true
		return nil
	}
	if err := st.script(ctx, stdout, stderr); err != nil {
		return err
	}
	if len(spec.Downloads) > 0 {
		st.phase = PhaseDownload
		for _, c := range spec.Downloads {
			r, err := download(ctx, st.eng, st.id, spec.remote(c.Remote), transfer.LocalPath(c.Local), spec.MaxDownload)
			if err != nil {
				return &runner.RunError{Op: "download " + c.Remote, Err: err}
			}
			st.res.Downloads = append(st.res.Downloads, Transferred{FileCopy: c, Result: r})
		}
	}
	return nil
}

// create creates the container, pulling its image first when the engine
// does not have it.
func (st *run) create(ctx context.Context) error {
	cfg, host := Config(st.spec)
	deadline := st.spec.now().Add(st.spec.timeout())
	cfg.Labels[LabelDeadline] = deadline.UTC().Format(time.RFC3339)
	cfg.Labels[LabelExpires] = deadline.Add(15 * time.Minute).UTC().Format(time.RFC3339)
	name := st.spec.Name
	if name == "" {
		name = containerName(st.spec.Script)
	}
	opts := client.ContainerCreateOptions{Config: cfg, HostConfig: host, Name: name}
	created, err := st.eng.ContainerCreate(ctx, opts)
	if err != nil && cerrdefs.IsNotFound(err) && !st.spec.NoPull && ctx.Err() == nil {
		if perr := pull(ctx, st.eng, st.spec.Image); perr != nil {
			return &runner.RunError{Op: "pull image " + st.spec.Image, Err: perr}
		}
		created, err = st.eng.ContainerCreate(ctx, opts)
	}
	if err != nil {
		return &runner.RunError{Op: "create container", Err: err}
	}
	st.id = created.ID
	st.res.ContainerID, st.res.ContainerName = created.ID, name
	return nil
}

func pull(ctx context.Context, eng Engine, image string) error {
	resp, err := eng.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

// script attaches to the container, starts it, streams its output and waits
// for it to exit.
func (st *run) script(ctx context.Context, stdout, stderr io.Writer) error {
	stdin := st.spec.Stdin != nil
	att, err := st.eng.ContainerAttach(ctx, st.id, client.ContainerAttachOptions{Stream: true, Stdin: stdin, Stdout: true, Stderr: true})
	if err != nil {
		return &runner.RunError{Op: "attach to container", Err: err}
	}
	defer att.Close()
	red := redact.New(st.spec.Redact...)
	outW := red.Writer(io.MultiWriter(orDiscard(stdout), st.tail))
	errW := red.Writer(io.MultiWriter(orDiscard(stderr), st.tail))
	if sameWriter(stdout, stderr) {
		errW = outW // one stream: keep the order of what was written
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(outW, errW, att.Reader)
		copied <- err
	}()
	flush := func() {
		_ = outW.Close()
		if errW != outW {
			_ = errW.Close()
		}
	}

	if stdin {
		// The container's own stdin, as `docker run -i` gives it: what the
		// reader gives from the moment of the attach (the engine holds it
		// until the script reads), then its end (StdinOnce closes the
		// script's stdin). Not waited for: a terminal's stdin may never
		// end.
		go func() {
			_, _ = io.Copy(att.Conn, st.spec.Stdin)
			_ = att.CloseWrite()
		}()
	}
	if _, err := st.eng.ContainerStart(ctx, st.id, client.ContainerStartOptions{}); err != nil {
		att.Close()
		<-copied
		flush()
		return startError(err, st.spec)
	}
	return st.wait(ctx, func() { att.Close() }, copied, flush)
}

// wait waits for the started container to exit while its output is copied
// (copied delivers when the copy ended; closeStream ends it), and says how
// the script ended.
func (st *run) wait(ctx context.Context, closeStream func(), copied chan error, flush func()) error {
	// Asked once the container has started: "not-running" then means its
	// exit, and a script that has already ended is not missed.
	wait := st.eng.ContainerWait(ctx, st.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})

	var code int64
	select {
	case <-ctx.Done():
		st.kill()
		closeStream()
		<-copied
		flush()
		return ctx.Err()
	case err := <-wait.Error:
		closeStream()
		<-copied
		flush()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &runner.RunError{Op: "wait for container", Err: err}
	case w := <-wait.Result:
		code = w.StatusCode
		if w.Error != nil && w.Error.Message != "" {
			closeStream()
			<-copied
			flush()
			return &runner.RunError{Op: "wait for container", Err: errors.New(w.Error.Message)}
		}
	}
	// The attach stream ends when the container's output does; do not
	// wait for it forever.
	select {
	case <-copied:
	case <-time.After(30 * time.Second):
		closeStream()
		<-copied
	}
	flush()
	reason := ""
	if code != 0 && st.oomKilled(ctx, code) {
		reason = runner.ReasonOOMKilled
	}
	memory := ""
	if m := st.spec.memory(); m > 0 {
		memory = formatBytes(m)
	}
	return runner.ExitError(runner.Exit{Code: int(code), Reason: reason, Output: st.tail.String(), Memory: memory, Image: st.spec.Image})
}

// startError names what a container that could not start lacks.
func startError(err error, spec Spec) error {
	msg := err.Error()
	if strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") {
		cmd := runner.InterpreterCommand(spec.Interpreter, "")
		return &runner.MissingToolError{Tool: cmd[0], Image: spec.Image}
	}
	if strings.Contains(msg, "permission denied") {
		return &runner.CannotExecError{Message: msg}
	}
	return &runner.RunError{Op: "start container", Err: err}
}

// kill stops the script at once; remove follows.
func (st *run) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = st.eng.ContainerKill(ctx, st.id, client.ContainerKillOptions{Signal: "KILL"})
}

// remove removes the container (and its anonymous volumes), on a context of
// its own: the run's may be cancelled already.
func (st *run) remove() error {
	return runner.Cleanup(0, func(ctx context.Context) error {
		// Repeated while the engine does not answer.
		err := runner.Retry(ctx, client.IsErrConnectionFailed, func(ctx context.Context) error {
			_, err := st.eng.ContainerRemove(ctx, st.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			return err
		})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove container %s: %w", st.res.ContainerName, err)
		}
		return nil
	})
}

func (st *run) classify(parent, runCtx context.Context, err error) error {
	return runner.Classify(parent, runCtx, err, st.phase, PhaseScript, runner.TimeoutMessage(st.spec.timeout()), nil)
}

var nonName = regexp.MustCompile(`[^a-z0-9_.-]+`)

// containerName is cscript-<script>-<6 random characters>.
func containerName(script string) string {
	s := strings.Trim(nonName.ReplaceAllString(strings.ToLower(script), "-"), "-._")
	if len(s) > 40 {
		s = s[:40]
	}
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	if s == "" {
		return "cscript-" + string(b)
	}
	return "cscript-" + s + "-" + string(b)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGi", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMi", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sameWriter says whether a and b are the same writer (without panicking
// on writers that are not comparable).
func sameWriter(a, b io.Writer) bool {
	if a == nil || b == nil {
		return false
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// oomKilled says whether the kernel's OOM killer ended the container. The
// engine sets State.OOMKilled from containerd's OOM event, which can arrive
// after the exit (seen here under load): a SIGKILL exit (137) of a container
// with a memory limit is asked about again for up to three seconds.
func (st *run) oomKilled(ctx context.Context, code int64) bool {
	ctx = context.WithoutCancel(ctx)
	tries := 1
	if code == 137 && st.spec.memory() > 0 {
		tries = 30
	}
	for i := range tries {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		ins, err := st.eng.ContainerInspect(ctx, st.id, client.ContainerInspectOptions{})
		if err == nil && ins.Container.State != nil && ins.Container.State.OOMKilled {
			return true
		}
	}
	return false
}
