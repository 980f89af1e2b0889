package commands

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/transfer/agentbin"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/cscript-dev/cscript/credentials"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
	dockerbackend "github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
	"github.com/cscript-dev/cscript/transfer"
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
	flagMode        = &cli.StringFlag{Name: "mode", Value: history.ModePod, Usage: "`pod`: exec the script in a one-off Pod (files in and out); job: run it as a Kubernetes Job"}
	flagDetach      = &cli.BoolFlag{Name: "detach", Usage: "with --mode job: start the Job, print the run id and return; follow with `cscript runs attach ID`"}
	flagMaxDownload = &cli.StringFlag{Name: "max-download", Value: "10Gi", Usage: "stop a file download larger than `SIZE` (like 500Mi or 20Gi; 0: no limit)"}
	flagKeepRuns    = &cli.IntFlag{Name: "keep-runs", Value: history.DefaultKeep, Usage: "how many run records to keep", EnvVars: []string{"CSCRIPT_KEEP_RUNS"}}
)

func targetFlags() []cli.Flag { return []cli.Flag{flagKubeconfig, flagContext, flagNamespace} }

func (a *app) runCommand() *cli.Command {
	flags := append(valuesFlags(), targetFlags()...)
	flags = append(flags, flagYes, flagInteractive, flagCompress, flagMaxDownload, flagVerbose, flagKeepRuns, flagMode, flagDetach)
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

// runExitError keeps the kinds that belong to the script (its own code,
// 126, 127, 128+N) and turns every other failure into 125 (fail.Run), so
// that a script's exit code is never mistaken for one of cscript's.
func runExitError(err error) error { return fail.Run(err) }

func (a *app) run(c *cli.Context) error {
	ref, err := scriptArg(c)
	if err != nil {
		return err
	}
	mode := c.String(flagMode.Name)
	if mode != history.ModePod && mode != history.ModeJob {
		return usageErrorf("--mode %q: use pod (the default) or job", mode)
	}
	maxDownload, err := parseMaxDownload(c.String(flagMaxDownload.Name))
	if err != nil {
		return usageErrorf("--max-download %q: %v", c.String(flagMaxDownload.Name), err)
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
	docker := r.deck != nil && r.deck.Backend == store.BackendDocker
	rec := &history.Record{
		ID: runID, Script: r.script.Name, Library: r.script.Source.Library,
		Deck: deckName(r.deck), Backend: history.BackendKubernetes, Mode: mode, User: user, Start: start,
	}
	var target *kube.Target
	var where string // printed with the run id once the run has a record
	if docker {
		rec.Backend, rec.Mode = history.BackendDocker, history.ModeDocker
		where = fmt.Sprintf("Docker engine %s", orDash(a.io.getenv("DOCKER_HOST")))
	} else {
		if target, err = kube.LoadTarget(a.targetOptions(c, r.deck)); err != nil {
			return err
		}
		rec.Context, rec.Namespace = target.Context, target.Namespace
		where = fmt.Sprintf("context %s, namespace %s", target.Context, target.Namespace)
	}
	a.lastTeamRun(c, target, r.deck, r.script.Name)
	if err := a.confirmDeck(c, r.deck, rec.Context, rec.Namespace); err != nil {
		return err
	}
	spec, err := a.buildSpec(c, r, out, runID, user, true)
	if err != nil {
		return err
	}
	// Before the first request that carries them (the run Secret's POST).
	a.secrets.Add(spec.Redact...)
	spec.Stdin = c.Bool(flagInteractive.Name)
	spec.Compress = c.Bool(flagCompress.Name)
	spec.MaxDownload = maxDownload
	rec.LibraryCommit, rec.Image = spec.LibraryCommit, spec.Image
	caps := runner.KubernetesPod
	switch {
	case docker:
		caps = runner.Docker
	case mode == history.ModeJob:
		caps = runner.KubernetesJob
	}
	if docker && c.IsSet(flagMode.Name) {
		return usageErrorf("--mode %s: a Docker deck runs a container; leave --mode out, or choose a Kubernetes deck", mode)
	}
	if err := caps.Check(spec, runner.Request{Detach: c.Bool(flagDetach.Name)}); err != nil {
		return err
	}

	team, err := a.teamHistory(c, target, r.deck) // nil on Docker; refuses when required and not allowed
	if err != nil {
		return err
	}
	hist, err := a.history(c)
	if err != nil {
		return err
	}
	// One redactor for the record, the Kubernetes client's log and what the
	// runner learns during the run (the values behind Secret refs).
	hist.Redactor = a.secrets
	hrun, err := hist.Begin(rec)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Err, "%s %s in %s (%s), run %s\n", a.io.paint("1", "▶"), r.script.Name, deckName(r.deck), where, runID)
	_ = hrun.SaveArtifact(history.ArtifactScript, []byte(spec.Body))
	if err := team.begin(c.Context, hrun, rec, spec.Body); err != nil {
		return err
	}
	stdout := io.MultiWriter(a.io.Out, hrun.Output())
	stderr := io.MultiWriter(a.io.Err, hrun.Stderr())

	var o outcome
	var runErr error
	switch {
	case docker:
		o, runErr = a.runDocker(c, spec, r.script, stdout, stderr)
	case mode == history.ModeJob:
		o, runErr = a.runJob(c, a.newRunner(c, target, stdout, stderr, start), spec)
	default:
		var res *kube.Result
		res, runErr = a.newRunner(c, target, stdout, stderr, start).Run(c.Context, spec)
		if res != nil {
			o = outcome{name: res.PodName, exitCode: res.ExitCode, reason: res.Reason, end: res.End, diag: res.Diagnostics}
			for _, t := range res.Uploads {
				o.uploads = append(o.uploads, transferRecord(t.Local, t.Remote, t.Result))
			}
			for _, t := range res.Downloads {
				o.downloads = append(o.downloads, transferRecord(t.Remote, t.Local, t.Result))
			}
		}
	}
	a.finishRecord(hrun, rec, o, runErr)
	team.finish(c.Context, rec)
	if runErr != nil {
		if rec.State != history.StateSucceeded {
			fmt.Fprintf(a.io.Err, "%s run %s failed; its trace: cscript trace %s\n", a.io.paint("31", "✗"), runID, runID)
		}
		return withHints(runErr)
	}
	if o.detached {
		fmt.Fprintf(a.io.Out, "%s\n", runID)
		fmt.Fprintf(a.io.Err, "detached: follow it with `cscript runs attach %s`\n", runID)
	}
	return nil
}

// parseMaxDownload reads --max-download: a size such as 500Mi or 20Gi
// (Kubernetes quantity syntax); "0" is no limit (-1), "" the default (0).
func parseMaxDownload(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := runner.ParseBytes(v)
	switch {
	case err != nil || n < 0:
		return 0, errors.New("not a size (like 500Mi or 20Gi; 0 for no limit)")
	case n == 0:
		return -1, nil
	}
	return n, nil
}

// withHints adds to a run's error the flag that changes what caused it.
func withHints(err error) error {
	var tl *transfer.TooLargeError
	if errors.As(err, &tl) {
		return &hintedError{err: err, hint: "raise the limit with --max-download"}
	}
	return err
}

// hintedError is an error with advice after it.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintedError) Unwrap() error { return e.err }

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

func (a *app) newRunner(c *cli.Context, target *kube.Target, stdout, stderr io.Writer, start time.Time) *kube.Runner {
	rn := &kube.Runner{
		Client:    target.Client,
		Config:    target.Config,
		Namespace: target.Namespace,
		Stdout:    stdout,
		Stderr:    stderr,
		Stdin:     a.io.In,
		Force:     a.info.Force,
		Host:      hostName(),
		Now:       a.now,
		OnSecrets: func(v []string) { a.secrets.Add(v...) },
	}
	if a.io.progress() {
		rn.Progress = func(string) io.Writer { return a.io.Err }
	}
	if a.io.getenv("CSCRIPT_TRANSFER_AGENT") != "off" {
		rn.TransferAgent = agentbin.For
	}
	if c.Bool(flagVerbose.Name) {
		rn.OnEvent = func(e kube.Event) {
			fmt.Fprintf(a.io.Err, "%s %6.3fs %s %s\n", a.io.paint("2", "·"), e.Time.Sub(start).Seconds(), e.Phase, e.Message)
		}
	}
	return rn
}

// runJob runs spec as a Kubernetes Job (--mode job).
func (a *app) runJob(c *cli.Context, rn *kube.Runner, spec runner.Spec) (outcome, error) {
	res, err := rn.RunJob(c.Context, spec, kube.JobOptions{
		ActiveDeadline: spec.Timeout,
		Detach:         c.Bool(flagDetach.Name),
		CombinedOutput: rn.Stdout,
	})
	if res == nil {
		return outcome{}, err
	}
	return outcome{name: res.JobName, exitCode: res.ExitCode, reason: res.Reason, end: res.End, diag: res.Diagnostics, detached: res.Detached}, err
}

// runDocker runs spec in a one-off container of the Docker engine (DOCKER_HOST).
func (a *app) runDocker(c *cli.Context, spec runner.Spec, s *store.Script, stdout, stderr io.Writer) (outcome, error) {
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
	res, err := dockerbackend.Run(c.Context, eng, dockerbackend.Spec{
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
func (a *app) finishRecord(hrun *history.Run, rec *history.Record, o outcome, runErr error) {
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
			fmt.Fprintf(a.io.Err, "warning: the run record was not saved: %v\n", err)
		}
		return
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

func (a *app) history(c *cli.Context) (*history.Store, error) {
	dir, err := history.DefaultDir()
	if err != nil {
		return nil, err
	}
	hist, err := history.Open(dir, c.Int(flagKeepRuns.Name))
	if err != nil {
		return nil, err
	}
	hist.Now = a.now
	return hist, nil
}

func (a *app) targetOptions(c *cli.Context, deck *store.Deck) kube.TargetOptions {
	o := kube.TargetOptions{
		Kubeconfig: c.String(flagKubeconfig.Name),
		Context:    c.String(flagContext.Name),
		Namespace:  c.String(flagNamespace.Name),
	}
	if deck != nil {
		o.DeckContext, o.DeckNamespace = deck.Context, deck.Namespace
	}
	return o
}

// confirmProtected is confirmDeck for a Kubernetes target.
func (a *app) confirmProtected(c *cli.Context, deck *store.Deck, target *kube.Target) error {
	return a.confirmDeck(c, deck, target.Context, target.Namespace)
}

// confirmDeck makes the user type the deck's name before a run on a protected deck.
func (a *app) confirmDeck(c *cli.Context, deck *store.Deck, kubeContext, namespace string) error {
	if deck == nil || !deck.Protected || c.Bool(flagYes.Name) {
		return nil
	}
	if !a.io.interactive() {
		return &refusedError{msg: fmt.Sprintf("deck %s is protected: run from a terminal and confirm, or pass --yes", deck.Name)}
	}
	answer, err := a.io.ask(fmt.Sprintf("Deck %s is protected (context %s, namespace %s). Type the deck's name to run: ", deck.Name, orDash(kubeContext), orDash(namespace)))
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
	if readLocal {
		if err := a.checkTrust(r, out); err != nil {
			return spec, err
		}
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
	// An env var whose value carries a secret param goes through the run's
	// Secret like a credential, never into the Pod spec in clear.
	for name, v := range spec.Env {
		if containsAny(v, out.Secrets) {
			if _, dup := credentialNamed(spec.Credentials, name); dup {
				return spec, fmt.Errorf("script %s: env %s carries a secret param and is a credential too: rename one of them", s.Name, name)
			}
			env := maps.Clone(spec.Env)
			delete(env, name)
			spec.Env = env
			spec.Credentials = append(spec.Credentials, runner.Credential{Name: name, Value: v})
			spec.Redact = append(spec.Redact, v)
		}
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
	spec.Resources = runner.Resources{Requests: s.Resources.Requests, Limits: s.Resources.Limits}
	if _, err := kube.ResourceRequirements(spec.Resources); err != nil {
		return spec, err
	}
	return spec, nil
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
	if t, err := kube.LoadTarget(a.targetOptions(c, r.deck)); err == nil {
		ns = t.Namespace
	}
	pod, secret, err := kube.BuildPod(spec, ns, a.now(), "xxxxxx")
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

// containsAny says whether s contains one of the non-empty subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func credentialNamed(creds []runner.Credential, name string) (runner.Credential, bool) {
	for _, c := range creds {
		if c.Name == name {
			return c, true
		}
	}
	return runner.Credential{}, false
}
