package kube

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/runner"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/transfer"
)

// Phase is a step of a run, in order.
type Phase string

// The phases of a run.
const (
	PhasePreflight Phase = "preflight" // permission checks
	PhaseLock      Phase = "lock"      // the exclusive Lease
	PhaseCreate    Phase = "create"    // the Secret and the Pod
	PhaseStart     Phase = "start"     // waiting for the container to run
	PhaseSetup     Phase = "setup"     // interpreter check and script upload
	PhaseUpload    Phase = "upload"    // Spec.Uploads
	PhaseScript    Phase = "script"    // the script itself
	PhaseDownload  Phase = "download"  // Spec.Downloads
	PhaseCleanup   Phase = "cleanup"   // deleting what the run created
)

// Event reports that a run entered a phase.
type Event struct {
	Phase   Phase
	Time    time.Time
	Pod     string
	Message string
}

// FileTransfer moves files in and out of the running container. The default
// is the transfer package. All transfers of one run get the same
// Options.Tools.
type FileTransfer interface {
	Upload(ctx context.Context, ex Executor, c runner.FileCopy, opts transfer.Options) (*transfer.Result, error)
	Download(ctx context.Context, ex Executor, c runner.FileCopy, opts transfer.Options) (*transfer.Result, error)
}

// TransferFiles is the FileTransfer of the transfer package.
type TransferFiles struct{}

var _ FileTransfer = TransferFiles{}

// Upload is transfer.Upload.
func (TransferFiles) Upload(ctx context.Context, ex Executor, c runner.FileCopy, opts transfer.Options) (*transfer.Result, error) {
	return transfer.Upload(ctx, ex, transfer.LocalPath(c.Local), transfer.RemotePath(c.Remote), opts)
}

// Download is transfer.Download.
func (TransferFiles) Download(ctx context.Context, ex Executor, c runner.FileCopy, opts transfer.Options) (*transfer.Result, error) {
	return transfer.Download(ctx, ex, transfer.RemotePath(c.Remote), transfer.LocalPath(c.Local), opts)
}

// Runner runs Specs in one namespace. Build one per run in the commands
// layer; only Client and Namespace are required.
type Runner struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string

	Stdout, Stderr io.Writer // the script's output, redacted; nil discards
	Stdin          io.Reader // passed to the script when Spec.Stdin

	// Progress returns where a transfer's progress bar goes, or nil for none.
	Progress func(label string) io.Writer
	// TransferAgent returns cscript's transfer agent for a container
	// architecture (agentbin.For); nil transfers with the image's own tools.
	// See transfer.Options.Agent.
	TransferAgent func(arch string) []byte
	// OnEvent is told when each phase starts. It must not block.
	OnEvent func(Event)
	// OnSecrets is told secret values the runner learns during a run (the
	// values behind Secret refs), for the caller's own redaction.
	OnSecrets func(values []string)
	// Force, when it delivers (or is closed), makes cleanup delete the Pod
	// with grace period 0: the caller's second Ctrl-C.
	Force <-chan struct{}
	// Host names this machine in the Lease holder (user@host/run-id).
	Host string

	// Now is the clock for names, annotations and the Lease; nil: time.Now.
	Now func() time.Time
	// Suffix makes the random part of the Pod name; nil: 6 random [a-z0-9].
	Suffix func() string
	// NewExecutor execs in the run's Pod; nil: a PodExecutor (WebSocket,
	// falling back to SPDY) built from Client and Config.
	NewExecutor func(pod *corev1.Pod) Executor
	// Files moves Spec.Uploads and Spec.Downloads; nil: TransferFiles.
	Files FileTransfer

	// SkipPreflight skips the permission checks (one round trip).
	SkipPreflight bool
	// ConfigErrorGrace is how long CreateContainerConfigError (or
	// CreateContainerError) may last before the run fails; 0: 3 s.
	ConfigErrorGrace time.Duration
	// UnschedulableGrace is how long the Pod may stay unschedulable (a node
	// not ready yet, a taint being removed) before the run fails; 0: 5 s.
	UnschedulableGrace time.Duration
	// WaitDeleted makes cleanup wait until the Pod is gone (bounded by
	// CleanupTimeout), deleting with grace 0 if Force delivers meanwhile.
	WaitDeleted bool
	// CleanupTimeout bounds cleanup; 0: 30 s.
	CleanupTimeout time.Duration
}

// Transferred is one finished file copy.
type Transferred struct {
	runner.FileCopy
	Result *transfer.Result
}

// Result describes a run, finished or not. Run returns it with every error
// once the Pod name is known.
type Result struct {
	PodName    string
	SecretName string // "" when the run had no Secret
	Namespace  string
	ExitCode   int    // the exit code the caller should exit with
	Reason     string // for a failed script: Error, OOMKilled, DeadlineExceeded, Evicted
	Phase      Phase  // the phase the run ended in (failed or was interrupted in)
	Start, End time.Time
	Uploads    []Transferred
	Downloads  []Transferred
	// Diagnostics are collected for a run that failed after its Pod was
	// created (not for an interrupted one), before the Pod was deleted.
	Diagnostics *Diagnostics
	// CleanupErr is a failure to delete what the run created; it is also
	// returned as the run's error when the run itself succeeded.
	CleanupErr error
}

// run is the state of one Run.
type run struct {
	r      *Runner
	spec   runner.Spec
	res    *Result
	phase  Phase
	pod    *corev1.Pod
	secret *corev1.Secret

	podSent, secretSent bool // a create was attempted: cleanup deletes by name
	lock                *lock
	exec                Executor
	interp              string // the interpreter's path, once setup found it
	// tools is what transfers learn about the container (its tools, the
	// agent installed into it): the first transfer probes it, the later ones
	// of both phases reuse it.
	tools       transfer.Tools
	noAgentSaid bool // an event said why the agent is not used
}

// Run runs spec: preflight, lock, create, wait, set up, upload, script,
// download, and cleanup, which always happens. Output goes to Stdout and
// Stderr as it comes, redacted. The error, when not nil, says its kind
// (fail.Kind): *ScriptError, *InterruptedError (when ctx was cancelled;
// the signal comes from context.Cause, see SignalCause), *StartError,
// *MissingToolError, *PermissionError, *LockedError or *RunError.
func (r *Runner) Run(ctx context.Context, spec runner.Spec) (*Result, error) {
	start := r.now()
	res := &Result{Namespace: r.Namespace, Start: start}
	pod, secret, err := BuildPod(spec, r.Namespace, start, r.suffix())
	if err != nil {
		res.End = r.now()
		res.ExitCode = exitRunFailed
		return res, &runner.RunError{Op: "build pod", Err: err}
	}
	res.PodName = pod.Name
	if secret != nil {
		res.SecretName = secret.Name
	}
	st := &run{r: r, spec: spec, res: res, pod: pod, secret: secret}

	runCtx, cancel := runner.Deadline(ctx, spec, 0)
	err = st.steps(runCtx)
	cancel()
	err = st.classify(ctx, runCtx, err)
	res.Phase = st.phase

	if runner.WantDiagnostics(err, st.podSent) {
		res.Diagnostics = st.diagnose()
	}
	res.CleanupErr = st.cleanup()
	err = runner.WithCleanup(err, res.CleanupErr)
	res.End = r.now()
	res.setOutcome(err)
	return res, err
}

func (st *run) enter(p Phase, msg string) {
	st.phase = p
	if st.r.OnEvent != nil {
		st.r.OnEvent(Event{Phase: p, Time: st.r.now(), Pod: st.res.PodName, Message: msg})
	}
}

// steps does everything up to cleanup.
func (st *run) steps(ctx context.Context) error {
	r, spec := st.r, st.spec
	if _, err := ExecTransportFromEnv(); err != nil {
		return err // before anything is created
	}
	if !r.SkipPreflight {
		st.enter(PhasePreflight, "")
		if err := Preflight(ctx, r.Client, r.Namespace, Permissions(spec)); err != nil {
			return err
		}
	}
	if spec.Exclusive {
		st.enter(PhaseLock, LeaseName(spec.Script))
		holder := fmt.Sprintf("%s@%s/%s", first(spec.User, "unknown"), first(r.Host, "unknown"), spec.RunID)
		l, err := acquireLease(ctx, r.Client, r.Namespace, spec.Script, spec.RunID, holder, spec.EffectiveTimeout()+deadlineMargin, r.now())
		if err != nil {
			return err
		}
		st.lock = l
	}

	st.enter(PhaseCreate, st.pod.Name)
	if err := st.create(ctx); err != nil {
		return err
	}

	st.enter(PhaseStart, spec.Image)
	running, err := r.waitRunning(ctx, st.pod)
	if running != nil {
		st.pod = running
	}
	if err != nil {
		return err
	}
	st.exec = r.executor(st.pod)

	// The values of Secret refs are known only now; the script's output is
	// redacted with them too.
	refs, err := r.secretRefValues(ctx, spec, st.exec)
	if err != nil {
		return orLost("read the values of the Secret refs (to redact them)", err)
	}
	if len(refs) > 0 {
		st.spec.Redact = append(append([]string(nil), st.spec.Redact...), refs...)
		if r.OnSecrets != nil {
			r.OnSecrets(refs)
		}
	}

	// Without uploads or stdin, one exec checks the interpreter, writes and
	// verifies the script and runs it: each exec costs 100–200 ms. Otherwise
	// the check and the script upload come first, so a 200 MB upload is not
	// sent into an image without the interpreter, and the script's stdin is
	// free for the terminal.
	combined := !spec.Stdin && len(spec.Uploads) == 0
	if !combined {
		st.enter(PhaseSetup, "")
		if err := st.setup(ctx); err != nil {
			return err
		}
		if err := st.transfers(ctx, spec.Uploads, PhaseUpload, &st.res.Uploads); err != nil {
			return err
		}
	}

	st.enter(PhaseScript, "")
	if err := st.script(ctx, combined); err != nil {
		return err
	}

	if len(spec.Downloads) > 0 {
		return st.transfers(ctx, spec.Downloads, PhaseDownload, &st.res.Downloads)
	}
	return nil
}

// create creates the Secret (if any), then the Pod, then makes the Pod the
// Secret's owner. The Secret comes first so the kubelet finds it when it
// starts the container; the owner reference is a backstop for cleanup.
//
// An interrupt does not cancel the creates: a create cancelled in flight may
// still happen on the server after cleanup's delete found nothing there,
// and leave the object behind (measured: a Ctrl-C during create left the
// Secret about one time in ten). They are short; createTimeout bounds them,
// and the run stops right after them when ctx is done.
func (st *run) create(ctx context.Context) error {
	c := st.r.Client.CoreV1()
	runCtx := ctx
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	if st.secret != nil {
		st.secretSent = true
		if _, err := c.Secrets(st.r.Namespace).Create(withoutBodies(ctx), st.secret, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create secret %s: %w", st.secret.Name, err)
		}
	}
	st.podSent = true
	created, err := c.Pods(st.r.Namespace).Create(ctx, st.pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod %s: %w", st.pod.Name, err)
	}
	st.pod = created
	if st.secret != nil {
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":%q,"uid":%q}]}}`,
			created.Name, created.UID)
		// Best effort: cleanup deletes the Secret by name and gc finds it by
		// label; the owner reference only covers a cscript killed mid-run.
		_, _ = c.Secrets(st.r.Namespace).Patch(withoutBodies(ctx), st.secret.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	}
	return runCtx.Err()
}

// createTimeout bounds the creation of the run's Secret and Pod.
const createTimeout = 30 * time.Second

// setupScript finds the interpreter (the first of "$@" the image has),
// writes the script from stdin to ScriptPath and reports what it got. The
// shell stays alive after cat, so the exec's stdin is read to the end (see
// docs/exec-stdin.md: the CRI cuts stdin once the process's stdout closes).
const setupScript = `i=
for c in "$@"; do
  if p=$(command -v "$c" 2>/dev/null); then i=$p; break; fi
done
if [ -z "$i" ]; then echo "cscript-setup missing"; exit 127; fi
mkdir -p ` + WorkDir + `/.cscript || exit 1
cat > ` + ScriptPath + ` || exit 1
n=$(wc -c < ` + ScriptPath + `)
s=-
if command -v sha256sum >/dev/null 2>&1; then s=$(sha256sum ` + ScriptPath + `); s=${s%% *}; fi
echo "cscript-setup ok $i $n $s"
`

// interpreterCandidates are the commands tried for an interpreter, in order.
func interpreterCandidates(interp string) []string {
	if interp == runner.InterpreterPython {
		return []string{"python3", "python"}
	}
	return []string{interp}
}

// setup checks the interpreter and uploads the script in one exec, and
// verifies the script's size and sha256 (when the image has sha256sum).
func (st *run) setup(ctx context.Context) error {
	cands := interpreterCandidates(st.spec.Interpreter)
	stdout := newCappedBuffer(maxSetupOutput)
	stderr := runner.NewTailBuffer(maxStderrKept)
	cmd := append([]string{"sh", "-c", setupScript, "sh"}, cands...)
	err := st.exec.Exec(ctx, cmd, strings.NewReader(st.spec.Body), stdout, stderr)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if stdout.over {
		return &runner.RunError{Op: "set up the script", Err: stdout.tooLarge("the setup script")}
	}
	errText, _ := stderr.Tail()
	fields := strings.Fields(lastLine(stdout.String(), "cscript-setup "))
	switch {
	case len(fields) >= 2 && fields[1] == "missing":
		return &runner.MissingToolError{Tool: strings.Join(cands, " or "), Image: st.spec.Image}
	case len(fields) == 5 && fields[1] == "ok":
		st.interp = fields[2]
		n, _ := strconv.ParseInt(fields[3], 10, 64)
		sum := sha256.Sum256([]byte(st.spec.Body))
		want := hex.EncodeToString(sum[:])
		if n != int64(len(st.spec.Body)) || (fields[4] != "-" && fields[4] != want) {
			return &runner.RunError{Op: "upload script", Err: &transfer.VerifyError{
				Path: ScriptPath, Reason: "the script arrived damaged",
				WantBytes: int64(len(st.spec.Body)), GotBytes: n, WantSHA256: want, GotSHA256: fields[4],
			}}
		}
		return nil
	}
	if err == nil {
		err = errors.New("no report from the setup script")
	}
	if execNotFound(err, errText) {
		return &runner.MissingToolError{Tool: "sh", Image: st.spec.Image}
	}
	msg := strings.TrimSpace(errText)
	if msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	return &runner.RunError{Op: "set up the script", Err: err}
}

// execNotFound says whether an exec failed because its command is not in the
// image (runc: `exec: "sh": executable file not found in $PATH`).
func execNotFound(err error, stderr string) bool {
	s := err.Error() + " " + stderr
	return strings.Contains(s, "executable file not found") || strings.Contains(s, "no such file or directory")
}

func lastLine(out, prefix string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return lines[i]
		}
	}
	return ""
}

// transfers moves files one by one. The first transfer of the run probes the
// image (and installs the agent in the same exec when it can); the others
// reuse what it found.
func (st *run) transfers(ctx context.Context, copies []runner.FileCopy, p Phase, into *[]Transferred) error {
	if len(copies) == 0 {
		return nil
	}
	files := st.r.files()
	st.enter(p, "")
	for _, c := range copies {
		opts := transfer.Options{Compress: st.spec.Compress, Tools: &st.tools, Agent: st.r.TransferAgent, MaxBytes: st.spec.MaxDownload}
		var label string
		var do func(context.Context, Executor, runner.FileCopy, transfer.Options) (*transfer.Result, error)
		if p == PhaseUpload {
			label, do = "upload "+c.Local, files.Upload
		} else {
			label, do = "download "+c.Remote, files.Download
		}
		opts.Label = label
		if st.r.Progress != nil {
			opts.Progress = st.r.Progress(label)
		}
		st.enter(p, label)
		res, err := do(ctx, st.exec, c, opts)
		if err != nil {
			return orLost(label, err)
		}
		if res.NoAgent != "" && !st.noAgentSaid {
			st.noAgentSaid = true
			st.enter(p, label+": with the image's tools, not cscript's agent: "+res.NoAgent)
		}
		*into = append(*into, Transferred{FileCopy: c, Result: res})
	}
	return nil
}

// runScript is setupScript's check and upload followed by the script, for
// one exec. It verifies size ($1) and sha256 ($2, when the image has
// sha256sum) itself; a failure of its own is one stderr line starting with
// setupMarker, written before the script starts.
const runScript = `want_n=$1; want_s=$2; shift 2
i=
for c in "$@"; do
  if p=$(command -v "$c" 2>/dev/null); then i=$p; break; fi
done
if [ -z "$i" ]; then echo "cscript-setup: missing" >&2; exit 127; fi
if ! { mkdir -p ` + WorkDir + `/.cscript && cat > ` + ScriptPath + `; }; then echo "cscript-setup: cannot write" >&2; exit 125; fi
n=$(wc -c < ` + ScriptPath + `)
if [ "$n" -ne "$want_n" ]; then echo "cscript-setup: size $n -" >&2; exit 125; fi
if command -v sha256sum >/dev/null 2>&1; then
  s=$(sha256sum ` + ScriptPath + `); s=${s%% *}
  if [ "$s" != "$want_s" ]; then echo "cscript-setup: size $n $s" >&2; exit 125; fi
fi
"$i" ` + ScriptPath + ` </dev/null
` + reportExit

// scriptWrapper runs the interpreter $1 on the uploaded script (stdin passes
// through) and reports its exit status.
const scriptWrapper = `"$1" ` + ScriptPath + `
` + reportExit

// reportExit ends both wrappers: the script's exit status, in band, as the
// last bytes of stderr (see exitTrailer). An exec stream that ends cleanly
// says nothing, because client-go reports a stream that the API server or
// the kubelet closed (a kubelet restart does) as a success: measured, a
// script cut off by a kubelet restart "exited 0".
const reportExit = `rc=$?
printf '\036cscript-exit %d\n' "$rc" >&2
exit "$rc"
`

// exitTrailer starts the line reportExit prints; \x1e (record separator)
// keeps it apart from anything a script prints.
const exitTrailer = "\x1ecscript-exit "

const setupMarker = "cscript-setup: "

// script execs the interpreter on the script with live, redacted output;
// combined, it also checks the interpreter and uploads the script first.
func (st *run) script(ctx context.Context, combined bool) error {
	red := redact.New(st.spec.Redact...)
	stdout := red.Writer(orDiscard(st.r.Stdout))
	stderr := red.Writer(orDiscard(st.r.Stderr))
	var stdin io.Reader
	if st.spec.Stdin && st.r.Stdin != nil {
		stdin = st.r.Stdin
	}
	cmd := []string{"sh", "-c", scriptWrapper, "sh", st.interp}
	trailer := &trailerFilter{w: stderr}
	var errOut io.Writer = trailer
	var marker *markerFilter
	cands := interpreterCandidates(st.spec.Interpreter)
	if combined {
		sum := sha256.Sum256([]byte(st.spec.Body))
		cmd = append([]string{"sh", "-c", runScript, "sh", strconv.Itoa(len(st.spec.Body)), hex.EncodeToString(sum[:])}, cands...)
		stdin = strings.NewReader(st.spec.Body)
		marker = &markerFilter{w: trailer, marker: []byte(setupMarker)}
		errOut = marker
	}
	err := st.exec.Exec(ctx, cmd, stdin, stdout, errOut)
	// Flush what the filters and the redactor held back, even after a failure.
	if marker != nil {
		_ = marker.Flush()
	}
	_ = trailer.Flush()
	_ = stdout.Close()
	_ = stderr.Close()
	if ctx.Err() != nil {
		return err
	}
	if marker != nil && marker.report() != "" {
		return st.setupFailure(strings.TrimSpace(marker.report()), cands)
	}
	if err == nil {
		switch {
		case trailer.code < 0:
			return &ConnectionLostError{Op: "the script", Err: errors.New("the exec stream ended without the script's exit status: the script may not have finished")}
		case trailer.code > 0:
			err = utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", trailer.code), Code: trailer.code}
		default:
			return nil
		}
	}
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		se := &runner.ScriptError{Code: ce.Code, Reason: runner.ReasonError}
		if ce.Code == 126 {
			return &runner.CannotExecError{Message: fmt.Sprintf("the interpreter exited with 126 on %s", ScriptPath)}
		}
		if ce.Code > 128 {
			st.refineKill(ctx, se)
		}
		return se
	}
	if combined && execNotFound(err, "") {
		return &runner.MissingToolError{Tool: "sh", Image: st.spec.Image}
	}
	// The stream broke: the Pod may have been killed under the script.
	se := &runner.ScriptError{Code: exitSignalBase + 9}
	if st.refineKill(ctx, se) {
		return se
	}
	return orLost("the script", err)
}

// setupFailure turns runScript's report into an error.
func (st *run) setupFailure(report string, cands []string) error {
	f := strings.Fields(strings.TrimPrefix(report, setupMarker))
	switch {
	case len(f) >= 1 && f[0] == "missing":
		return &runner.MissingToolError{Tool: strings.Join(cands, " or "), Image: st.spec.Image}
	case len(f) == 3 && f[0] == "size":
		n, _ := strconv.ParseInt(f[1], 10, 64)
		sum := sha256.Sum256([]byte(st.spec.Body))
		return &runner.RunError{Op: "upload script", Err: &transfer.VerifyError{
			Path: ScriptPath, Reason: "the script arrived damaged",
			WantBytes: int64(len(st.spec.Body)), GotBytes: n, WantSHA256: hex.EncodeToString(sum[:]), GotSHA256: strings.Trim(f[2], "-"),
		}}
	}
	return &runner.RunError{Op: "set up the script", Err: errors.New(report)}
}

// trailerFilter passes a stream through but takes out the line reportExit
// prints (exitTrailer, the status, a newline) and keeps the status in code
// (-1 until seen). It holds back only a tail that may be the start of that
// line.
type trailerFilter struct {
	w    io.Writer
	held []byte
	code int
	seen bool
}

func (f *trailerFilter) Write(p []byte) (int, error) {
	if !f.seen {
		f.code = -1
		f.seen = true
	}
	f.held = append(f.held, p...)
	out := f.held[:0:0]
	for {
		i := bytes.IndexByte(f.held, exitTrailer[0])
		if i < 0 {
			out = append(out, f.held...)
			f.held = f.held[:0]
			break
		}
		out = append(out, f.held[:i]...)
		rest := f.held[i:]
		if len(rest) < len(exitTrailer) && bytes.HasPrefix([]byte(exitTrailer), rest) {
			f.held = append(f.held[:0], rest...) // may be the trailer: wait
			break
		}
		if !bytes.HasPrefix(rest, []byte(exitTrailer)) {
			out = append(out, rest[0])
			f.held = append(f.held[:0], rest[1:]...)
			continue
		}
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			if len(rest) > len(exitTrailer)+12 {
				out = append(out, rest[0]) // too long for a status: not ours
				f.held = append(f.held[:0], rest[1:]...)
				continue
			}
			f.held = append(f.held[:0], rest...)
			break
		}
		code, err := strconv.Atoi(string(rest[len(exitTrailer):nl]))
		if err != nil {
			out = append(out, rest[0])
			f.held = append(f.held[:0], rest[1:]...)
			continue
		}
		f.code = code
		f.held = append(f.held[:0], rest[nl+1:]...)
	}
	if len(out) > 0 {
		if _, err := f.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what is held back: at the end, it is not the trailer.
func (f *trailerFilter) Flush() error {
	if !f.seen {
		f.code = -1
		f.seen = true
	}
	if len(f.held) == 0 {
		return nil
	}
	_, err := f.w.Write(f.held)
	f.held = nil
	return err
}

// markerFilter passes a stream through unless it starts with marker; then it
// keeps it in captured instead, its first maxSetupFailure bytes.
type markerFilter struct {
	w        io.Writer
	marker   []byte
	head     []byte
	state    int // 0 undecided, 1 passing through, 2 capturing
	captured bytes.Buffer
}

func (f *markerFilter) Write(p []byte) (int, error) {
	switch f.state {
	case 1:
		return f.w.Write(p)
	case 2:
		f.capture(p)
		return len(p), nil
	}
	f.head = append(f.head, p...)
	if len(f.head) < len(f.marker) && bytes.HasPrefix(f.marker, f.head) {
		return len(p), nil
	}
	head := f.head
	f.head = nil
	if bytes.HasPrefix(head, f.marker) {
		f.state = 2
		f.capture(head)
		return len(p), nil
	}
	f.state = 1
	if _, err := f.w.Write(head); err != nil {
		return 0, err
	}
	return len(p), nil
}

// capture keeps p, up to maxSetupFailure bytes in all.
func (f *markerFilter) capture(p []byte) {
	if room := maxSetupFailure - f.captured.Len(); room > 0 {
		f.captured.Write(p[:min(len(p), room)])
	}
}

// report is what was captured.
func (f *markerFilter) report() string { return f.captured.String() }

// Flush writes what is held back while undecided.
func (f *markerFilter) Flush() error {
	if f.state == 0 && len(f.head) > 0 {
		f.state = 1
		_, err := f.w.Write(f.head)
		f.head = nil
		return err
	}
	return nil
}

// refineKill names why a script was killed (OOMKilled, DeadlineExceeded,
// Evicted) from the Pod's status and the container's memory cgroup. It says
// whether it found a reason.
func (st *run) refineKill(ctx context.Context, se *runner.ScriptError) bool {
	pod, err := st.r.Client.CoreV1().Pods(st.r.Namespace).Get(ctx, st.pod.Name, metav1.GetOptions{})
	if err == nil {
		switch pod.Status.Reason {
		case runner.ReasonDeadlineExceeded, runner.ReasonEvicted:
			se.Reason, se.Message = pod.Status.Reason, pod.Status.Message
			return true
		}
		if cs := containerStatus(pod); cs != nil && cs.State.Terminated != nil && cs.State.Terminated.Reason == runner.ReasonOOMKilled {
			se.Reason, se.Message = runner.ReasonOOMKilled, st.memoryMessage()
			return true
		}
		if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
			return false
		}
	}
	// The container still runs: the kernel may have killed only the script.
	out := newCappedBuffer(maxProbeOutput)
	_ = st.exec.Exec(ctx, []string{"sh", "-c", "cat /sys/fs/cgroup/memory.events 2>/dev/null || cat /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null"}, nil, out, io.Discard)
	if out.over {
		return false // not the files asked for
	}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			se.Reason, se.Message = runner.ReasonOOMKilled, st.memoryMessage()
			return true
		}
	}
	return false
}

func (st *run) memoryMessage() string {
	return runner.OOMMessage(st.spec.Resources.Limits["memory"])
}

// classify turns an error into the typed error the caller sees.
func (st *run) classify(parent, runCtx context.Context, err error) error {
	return runner.Classify(parent, runCtx, err, string(st.phase), string(PhaseScript),
		runner.TimeoutMessage(st.spec.EffectiveTimeout()), orLost)
}

// cleanup deletes what the run created, on a context of its own: the run's
// may be cancelled already.
func (st *run) cleanup() error {
	r := st.r
	prev := st.phase
	st.enter(PhaseCleanup, "")
	st.phase = prev
	return runner.Cleanup(r.CleanupTimeout, func(ctx context.Context) error {
		var errs []error
		if st.podSent {
			if err := r.deletePod(ctx, st.pod.Name, r.forced()); err != nil {
				errs = append(errs, err)
			}
		}
		if st.secretSent {
			if err := r.deleteSecret(ctx, st.secret.Name); err != nil {
				errs = append(errs, err)
			}
		}
		if st.lock != nil {
			if err := st.lock.release(ctx, r.Client); err != nil {
				errs = append(errs, err)
			}
		}
		if st.podSent && r.WaitDeleted && len(errs) == 0 {
			if err := r.waitGone(ctx, st.pod.Name); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// deletePod deletes a Pod, repeating the request while the API server does
// not answer (until ctx ends); force (or a Force that delivers meanwhile)
// deletes with grace period 0.
func (r *Runner) deletePod(ctx context.Context, name string, force bool) error {
	err := retryTransient(ctx, func(ctx context.Context) error {
		opts := metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}
		if force || r.forced() {
			opts.GracePeriodSeconds = ptr(int64(0))
		}
		return r.Client.CoreV1().Pods(r.Namespace).Delete(ctx, name, opts)
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	return nil
}

// deleteSecret deletes the run's Secret, repeating the request while the API
// server does not answer (until ctx ends).
func (r *Runner) deleteSecret(ctx context.Context, name string) error {
	err := retryTransient(ctx, func(ctx context.Context) error {
		return r.Client.CoreV1().Secrets(r.Namespace).Delete(withoutBodies(ctx), name, metav1.DeleteOptions{})
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return nil
}

// waitGone watches until the Pod no longer exists; Force makes it delete the
// Pod again with grace period 0.
func (r *Runner) waitGone(ctx context.Context, name string) error {
	pods := r.Client.CoreV1().Pods(r.Namespace)
	force := r.Force
	for {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait for pod %s to go: %w", name, err)
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: p.ResourceVersion,
		})
		if err != nil {
			return fmt.Errorf("wait for pod %s to go: %w", name, err)
		}
		gone, err := func() (bool, error) {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return false, fmt.Errorf("wait for pod %s to go: %w", name, ctx.Err())
				case <-force:
					force = nil
					if err := r.deletePod(ctx, name, true); err != nil {
						return false, err
					}
				case ev, ok := <-w.ResultChan():
					if !ok {
						return false, nil
					}
					if ev.Type == watch.Deleted {
						return true, nil
					}
				}
			}
		}()
		if gone || err != nil {
			return err
		}
	}
}

func (st *run) diagnose() *Diagnostics {
	ctx, cancel := context.WithTimeout(context.Background(), runner.DiagnosticsTimeout)
	defer cancel()
	d, err := st.r.Diagnose(ctx, st.pod.Name)
	if err != nil {
		return &Diagnostics{Error: err.Error()}
	}
	return d
}

func (r *Runner) forced() bool {
	if r.Force == nil {
		return false
	}
	select {
	case <-r.Force:
		return true
	default:
		return false
	}
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) suffix() string {
	if r.Suffix != nil {
		return r.Suffix()
	}
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

func (r *Runner) executor(pod *corev1.Pod) Executor {
	if r.NewExecutor != nil {
		return r.NewExecutor(pod)
	}
	return &PodExecutor{Client: r.Client, Config: r.Config, Namespace: pod.Namespace, Pod: pod.Name, Container: ContainerName}
}

func (r *Runner) files() FileTransfer {
	if r.Files != nil {
		return r.Files
	}
	return TransferFiles{}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// setOutcome sets the exit code and reason from the run's error.
func (res *Result) setOutcome(err error) {
	var c runner.Result
	c.Finish(err)
	res.ExitCode, res.Reason = c.ExitCode, c.Reason
}
