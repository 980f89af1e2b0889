package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/cscript-dev/cscript/credentials"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

var (
	flagKubeconfig  = &cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig `FILE` (default: $KUBECONFIG, then ~/.kube/config)"}
	flagContext     = &cli.StringFlag{Name: "context", Usage: "kubeconfig `CONTEXT` (overrides the deck's)"}
	flagNamespace   = &cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "`NAMESPACE` (overrides the deck's)"}
	flagYes         = &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask before running on a protected deck"}
	flagInteractive = &cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "pass stdin to the script"}
	flagCompress    = &cli.BoolFlag{Name: "compress", Usage: "gzip file transfers (when the image has gzip)"}
	flagPod         = &cli.BoolFlag{Name: "pod", Usage: "print the Pod (and the run's Secret, data redacted) that a run would create"}
	flagVerbose     = &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print each phase of the run on stderr"}
	flagKeepRuns    = &cli.IntFlag{Name: "keep-runs", Value: history.DefaultKeep, Usage: "how many run records to keep", EnvVars: []string{"CSCRIPT_KEEP_RUNS"}}
)

func targetFlags() []cli.Flag { return []cli.Flag{flagKubeconfig, flagContext, flagNamespace} }

func (a *app) runCommand() *cli.Command {
	flags := append(valuesFlags(), targetFlags()...)
	flags = append(flags, flagYes, flagInteractive, flagCompress, flagVerbose, flagKeepRuns)
	return &cli.Command{
		Name:         "run",
		Usage:        "run a script in a one-off Pod (or Docker container) of the deck's target",
		ArgsUsage:    "NAME",
		Flags:        flags,
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			return runExitError(a.run(c))
		},
	}
}

// runExitError keeps the exit codes that belong to the script (its own code,
// 126, 127, 128+N) and turns every other failure into 125, so that a script's
// exit code is never mistaken for one of cscript's.
func runExitError(err error) error {
	var (
		script      *runner.ScriptError
		interrupted *runner.InterruptedError
		noTool      *runner.MissingToolError
		cannotExec  *runner.CannotExecError
	)
	if err == nil || errors.As(err, &script) || errors.As(err, &interrupted) || errors.As(err, &noTool) || errors.As(err, &cannotExec) {
		return err
	}
	return &runFailedError{err: err}
}

// runFailedError is cscript's own failure during `run`: exit code 125.
type runFailedError struct{ err error }

func (e *runFailedError) Error() string { return e.err.Error() }
func (e *runFailedError) Unwrap() error { return e.err }
func (e *runFailedError) ExitCode() int { return ExitRunFailed }

func (a *app) run(c *cli.Context) error {
	ref, err := scriptArg(c)
	if err != nil {
		return err
	}
	r, err := a.resolve(c, ref)
	if err != nil {
		return err
	}
	start := a.now()
	runID := history.NewRunID(start)
	user := userName(r.lib)
	out, err := a.render(r, templates.RunData{ID: runID, User: user})
	if err != nil {
		return err
	}
	if r.deck != nil && r.deck.Backend == "docker" {
		return fmt.Errorf("deck %s uses the docker backend, which `cscript run` does not support yet: use a kubernetes deck", r.deck.Name)
	}
	target, err := runner.LoadTarget(a.targetOptions(c, r.deck))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Err, "%s %s in %s (context %s, namespace %s), run %s\n", a.io.paint("1", "▶"), r.script.Name, deckName(r.deck), target.Context, target.Namespace, runID)
	if err := a.confirmProtected(c, r.deck, target); err != nil {
		return err
	}
	spec, err := a.buildSpec(c, r, out, runID, user, true)
	if err != nil {
		return err
	}
	spec.Stdin = c.Bool(flagInteractive.Name)
	spec.Compress = c.Bool(flagCompress.Name)

	hist, err := a.history(c)
	if err != nil {
		return err
	}
	hist.Redactor = redact.New(spec.Redact...)
	rec := &history.Record{
		ID: runID, Script: r.script.Name, Library: r.script.Source.Library, LibraryCommit: spec.LibraryCommit,
		Deck: deckName(r.deck), Backend: history.BackendKubernetes, Mode: history.ModePod,
		Context: target.Context, Namespace: target.Namespace, Image: spec.Image, User: user, Start: start,
	}
	hrun, err := hist.Begin(rec)
	if err != nil {
		return err
	}
	_ = hrun.SaveArtifact(history.ArtifactScript, []byte(spec.Body))

	rn := &runner.Runner{
		Client:    target.Client,
		Config:    target.Config,
		Namespace: target.Namespace,
		Stdout:    io.MultiWriter(a.io.Out, hrun.Output()),
		Stderr:    io.MultiWriter(a.io.Err, hrun.Stderr()),
		Stdin:     a.io.In,
		Force:     a.info.Force,
		Host:      hostName(),
		Now:       a.now,
	}
	if a.io.progress() {
		rn.Progress = func(string) io.Writer { return a.io.Err }
	}
	if c.Bool(flagVerbose.Name) {
		rn.OnEvent = func(e runner.Event) {
			fmt.Fprintf(a.io.Err, "%s %6.3fs %s %s\n", a.io.paint("2", "·"), e.Time.Sub(start).Seconds(), e.Phase, e.Message)
		}
	}
	res, runErr := rn.Run(c.Context, spec)
	a.finishRecord(hrun, rec, res, runErr)
	if runErr != nil {
		if rec.State != history.StateSucceeded {
			fmt.Fprintf(a.io.Err, "%s run %s failed; its trace: cscript trace %s\n", a.io.paint("31", "✗"), runID, runID)
		}
		return runErr
	}
	return nil
}

// finishRecord completes the run record from the runner's result.
func (a *app) finishRecord(hrun *history.Run, rec *history.Record, res *runner.Result, runErr error) {
	if res != nil {
		rec.Pod = res.PodName
		rec.ExitCode = res.ExitCode
		rec.Reason = res.Reason
		rec.End = res.End
		for _, t := range res.Uploads {
			rec.Uploads = append(rec.Uploads, transferRecord(t.Local, t.Remote, t))
		}
		for _, t := range res.Downloads {
			rec.Downloads = append(rec.Downloads, transferRecord(t.Remote, t.Local, t))
		}
		if d := res.Diagnostics; d != nil {
			_ = hrun.SaveArtifact(history.ArtifactPod, []byte(d.PodYAML))
			_ = hrun.SaveArtifact(history.ArtifactEvents, []byte(d.Events))
			_ = hrun.SaveArtifact(history.ArtifactContainers, []byte(d.ContainerStatuses))
		}
	}
	if runErr != nil {
		rec.Message = runErr.Error()
		rec.ExitCode = ExitCodeOf(runExitError(runErr))
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
		fmt.Fprintf(a.io.Err, "warning: the run record was not saved completely: %v\n", err)
	}
}

func transferRecord(from, to string, t runner.Transferred) history.TransferRecord {
	tr := history.TransferRecord{From: from, To: to}
	if t.Result != nil {
		tr.Bytes, tr.SHA256 = t.Result.Bytes, t.Result.SHA256
	}
	return tr
}

func (a *app) history(c *cli.Context) (*history.Store, error) {
	dir, err := history.DefaultDir()
	if err != nil {
		return nil, err
	}
	return history.Open(dir, c.Int(flagKeepRuns.Name))
}

func (a *app) targetOptions(c *cli.Context, deck *store.Deck) runner.TargetOptions {
	o := runner.TargetOptions{
		Kubeconfig: c.String(flagKubeconfig.Name),
		Context:    c.String(flagContext.Name),
		Namespace:  c.String(flagNamespace.Name),
	}
	if deck != nil {
		o.DeckContext, o.DeckNamespace = deck.Context, deck.Namespace
	}
	return o
}

// confirmProtected makes the user type the deck's name before a run on a protected deck.
func (a *app) confirmProtected(c *cli.Context, deck *store.Deck, target *runner.Target) error {
	if deck == nil || !deck.Protected || c.Bool(flagYes.Name) {
		return nil
	}
	if !a.io.interactive() {
		return &refusedError{msg: fmt.Sprintf("deck %s is protected: run from a terminal and confirm, or pass --yes", deck.Name)}
	}
	answer, err := a.io.ask(fmt.Sprintf("Deck %s is protected (context %s, namespace %s). Type the deck's name to run: ", deck.Name, target.Context, target.Namespace))
	if err != nil {
		return err
	}
	if strings.TrimSpace(answer) != deck.Name {
		return &refusedError{msg: fmt.Sprintf("not confirmed: you typed %q, not %q; nothing was run", answer, deck.Name)}
	}
	return nil
}

// buildSpec turns a rendered definition into what the runner runs. With
// readLocal false, local credential sources are not read (for --pod).
func (a *app) buildSpec(c *cli.Context, r *resolved, out *templates.Rendered, runID, user string, readLocal bool) (runner.Spec, error) {
	s := out.Script
	commit, _ := store.HeadCommit(r.lib.Library.Root)
	spec := runner.Spec{
		RunID: runID, Script: s.Name, Library: s.Source.Library, LibraryCommit: commit, Deck: deckName(r.deck), User: user,
		Image: s.Image, Interpreter: s.Interpreter, ServiceAccount: s.ServiceAccount,
		Body: out.Body, Env: s.Env, Timeout: s.Timeout.Duration,
		RunAsNonRoot: s.RunAsNonRoot, Exclusive: s.Exclusive,
		Redact: append([]string(nil), out.Secrets...),
	}
	var deckCreds []store.Credential
	if r.deck != nil {
		deckCreds = r.deck.Credentials
	}
	for _, cr := range credentials.Merge(s.Credentials, deckCreds) {
		rc := runner.Credential{Name: cr.Name}
		switch {
		case cr.Secret != nil:
			rc.SecretRef = &runner.SecretKeyRef{Name: cr.Secret.Name, Key: cr.Secret.Key}
		case readLocal:
			v, err := credentials.Read(c.Context, cr, a.io.getenv)
			if err != nil {
				return spec, err
			}
			rc.Value = v
			spec.Redact = append(spec.Redact, v)
		default:
			rc.Value = "(read at run time)"
		}
		spec.Credentials = append(spec.Credentials, rc)
	}
	for _, p := range s.Params {
		if p.Secret {
			if spec.SecretParams == nil {
				spec.SecretParams = map[string]string{}
			}
			spec.SecretParams[p.Name] = fmt.Sprint(out.Params[p.Name])
		}
	}
	for _, f := range s.Files.Upload {
		spec.Uploads = append(spec.Uploads, runner.FileCopy{Local: f.From, Remote: f.To})
	}
	for _, f := range s.Files.Download {
		spec.Downloads = append(spec.Downloads, runner.FileCopy{Local: f.To, Remote: f.From})
	}
	res, err := resources(s.Resources)
	if err != nil {
		return spec, err
	}
	spec.Resources = res
	return spec, nil
}

func resources(r store.Resources) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	conv := func(m map[string]string) (corev1.ResourceList, error) {
		if len(m) == 0 {
			return nil, nil
		}
		l := corev1.ResourceList{}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			q, err := resource.ParseQuantity(m[k])
			if err != nil {
				return nil, fmt.Errorf("resources: %s: %q is not a quantity (e.g. 500m, 256Mi)", k, m[k])
			}
			l[corev1.ResourceName(k)] = q
		}
		return l, nil
	}
	var err error
	if out.Requests, err = conv(r.Requests); err != nil {
		return out, err
	}
	out.Limits, err = conv(r.Limits)
	return out, err
}

// printPod prints the Pod and Secret a run would create (render --pod).
func (a *app) printPod(c *cli.Context, r *resolved, out *templates.Rendered) error {
	spec, err := a.buildSpec(c, r, out, "render", userName(r.lib), false)
	if err != nil {
		return err
	}
	ns := "default"
	if r.deck != nil && r.deck.Namespace != "" {
		ns = r.deck.Namespace
	}
	if t, err := runner.LoadTarget(a.targetOptions(c, r.deck)); err == nil {
		ns = t.Namespace
	}
	pod, secret, err := runner.BuildPod(spec, ns, a.now(), "xxxxxx")
	if err != nil {
		return err
	}
	docs := []any{pod}
	if secret != nil {
		s := secret.DeepCopy()
		for k := range s.Data {
			s.Data[k] = []byte("***")
		}
		for k := range s.StringData {
			s.StringData[k] = "***"
		}
		docs = append(docs, s)
	}
	red := redact.New(spec.Redact...)
	for i, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(a.io.Out, "---")
		}
		if _, err := a.io.Out.Write(red.Bytes(b)); err != nil {
			return err
		}
	}
	return nil
}

func deckName(d *store.Deck) string {
	if d == nil {
		return ""
	}
	return d.Name
}

func hostName() string {
	h, _ := os.Hostname()
	return h
}
