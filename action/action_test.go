package action

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// testClock is the tests' one time: never compared with the real clock.
var testClock = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// home is an isolated cscript home with the example library created by
// InitLibrary, and a Configuration on it.
type home struct {
	t   *testing.T
	c   *Configuration
	log bytes.Buffer
	env map[string]string
	lib string
}

func newHome(t *testing.T) *home {
	t.Helper()
	root := t.TempDir()
	for _, x := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(x, filepath.Join(root, strings.ToLower(strings.TrimPrefix(x, "XDG_"))))
	}
	t.Setenv("HOME", root)
	gitconfig := filepath.Join(root, ".gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[user]\n\tname = Test User\n\temail = test@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", gitconfig)
	h := &home{t: t, env: map[string]string{}}
	h.c = &Configuration{
		Now:     func() time.Time { return testClock },
		Secrets: redact.New(),
		Getenv:  func(k string) string { return h.env[k] },
		Log:     &bufLog{w: &h.log},
		Host:    "testhost",
	}
	res, err := h.c.InitLibrary(InitOptions{})
	if err != nil {
		t.Fatalf("InitLibrary: %v", err)
	}
	h.lib = res.Dir
	return h
}

// file writes a file of the library.
func (h *home) file(name, body string) {
	h.t.Helper()
	p := filepath.Join(h.lib, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// prompter answers from a list and records what it was asked.
type prompter struct {
	answers []string
	asked   []string
}

func (p *prompter) CanAsk() bool { return true }

func (p *prompter) ConfirmDeck(_ context.Context, c DeckConfirmation) (string, error) {
	return p.next("deck " + c.Deck)
}

func (p *prompter) Param(_ context.Context, sp store.Param, problem error) (string, error) {
	q := "param " + sp.Name
	if problem != nil {
		q += " after " + problem.Error()
	}
	return p.next(q)
}

func (p *prompter) next(q string) (string, error) {
	p.asked = append(p.asked, q)
	if len(p.answers) == 0 {
		return "", errors.New("no more answers")
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

func TestInitAndList(t *testing.T) {
	h := newHome(t)
	res, err := h.c.InitLibrary(InitOptions{})
	if err == nil || res != nil {
		t.Errorf("a second init into the same directory: %v, %v; want an error", res, err)
	}
	list, err := h.c.ListScripts("")
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Scripts) < 5 || list.Scripts[0].Name != "db-dump" || len(list.Problems) != 0 {
		t.Errorf("ListScripts = %+v", list)
	}
	demo, err := h.c.ListScripts("demo")
	if err != nil || len(demo.Scripts) == 0 || len(demo.Scripts) >= len(list.Scripts) {
		t.Errorf("ListScripts(demo) = %+v, %v; want some but not all", demo, err)
	}
	decks, err := h.c.ListDecks()
	if err != nil || len(decks) != 2 || decks[0].Name != "local" {
		t.Errorf("ListDecks = %v, %v", decks, err)
	}
	runs, err := h.c.ListRuns(0)
	if err != nil || runs == nil || len(runs) != 0 {
		t.Errorf("ListRuns of a new home = %v, %v; want an empty list", runs, err)
	}
}

// Values are layered: param defaults < library values < deck values <
// files < the --set family; a --set key nothing reads is a warning.
func TestRenderLayersValues(t *testing.T) {
	h := newHome(t)
	ctx := context.Background()
	greeting := func(v Values) string {
		t.Helper()
		rd, err := h.c.Render(ctx, RenderOptions{Ref: "hello", Values: v})
		if err != nil {
			t.Fatalf("Render %+v: %v", v, err)
		}
		return rd.Out.Script.Env["GREETING"]
	}
	h.file("decks/loud.yaml", "namespace: default\nvalues:\n  greeting: HELLO\n")
	vals := filepath.Join(t.TempDir(), "v.yaml")
	if err := os.WriteFile(vals, []byte("greeting: from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v    Values
		want string
	}{
		{Values{}, "hello"},
		{Values{Deck: "loud"}, "HELLO"},
		{Values{Deck: "loud", Files: []string{vals}}, "from-file"},
		{Values{Deck: "loud", Files: []string{vals}, Maps: []map[string]any{{"greeting": "from-form"}}}, "from-form"},
		{Values{Deck: "loud", Files: []string{vals}, Set: []string{"greeting=from-set"}}, "from-set"},
		{Values{Deck: "loud", Set: []string{"greeting=from-set"}, SetString: []string{"greeting=from-set-string"}}, "from-set-string"},
	} {
		if got := greeting(tc.v); got != tc.want {
			t.Errorf("GREETING with %+v = %q, want %q", tc.v, got, tc.want)
		}
	}
	if h.log.Len() != 0 {
		t.Errorf("warnings for keys the script reads: %s", h.log.String())
	}
	rd, err := h.c.Render(ctx, RenderOptions{Ref: "hello", Values: Values{Deck: "local", Set: []string{"whoo=x", "who=O'Brien"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rd.Out.Body, `'O'\''Brien'`) {
		t.Errorf("the param is not shell-quoted in the body:\n%s", rd.Out.Body)
	}
	if !strings.Contains(h.log.String(), "warning: --set whoo=x: neither a param nor a template of hello uses whoo (did you mean who?)") {
		t.Errorf("no warning for an unused --set key: %q", h.log.String())
	}
	rd, err = h.c.Render(ctx, RenderOptions{Ref: "hello", Values: Values{Deck: "local"}, Pod: true})
	if err != nil || !bytes.Contains(rd.Manifest, []byte("kind: Pod")) || !bytes.Contains(rd.Manifest, []byte("namespace: default")) {
		t.Errorf("Render with Pod: %v\n%s", err, rd.Manifest)
	}
}

// A missing required param is asked for until the answer is valid; without
// a Prompter it is an invalid-input error.
func TestRenderAsksForMissingParams(t *testing.T) {
	h := newHome(t)
	h.file("greet.yaml", "name: greet\nimage: debian\ninterpreter: sh\nparams:\n  - name: times\n    type: int\n    required: true\nscript: echo {{ .Params.times }}\n")
	ctx := context.Background()
	_, err := h.c.Render(ctx, RenderOptions{Ref: "greet"})
	var missing *templates.MissingParamsError
	if !errors.As(err, &missing) || fail.ExitCode(err) != fail.ExitInvalid {
		t.Fatalf("without a prompter: %v, want the missing params (exit 3)", err)
	}
	p := &prompter{answers: []string{"many", "3"}}
	h.c.Prompter = p
	rd, err := h.c.Render(ctx, RenderOptions{Ref: "greet"})
	if err != nil {
		t.Fatal(err)
	}
	if rd.Out.Body != "echo 3" || len(p.asked) != 2 || p.asked[0] != "param times" || !strings.HasPrefix(p.asked[1], "param times after ") {
		t.Errorf("body %q, asked %q", rd.Out.Body, p.asked)
	}
}

// PlanRun checks everything before a run starts: the protected deck's
// confirmation, the backend's capabilities, stdin wanted twice; and it
// reads local credentials into the spec and the redactor.
func TestPlanRunChecks(t *testing.T) {
	h := newHome(t)
	ctx := context.Background()
	h.file("decks/dock.yaml", "backend: docker\nprotected: true\n")
	h.file("cred.yaml", "name: cred\nimage: debian\ninterpreter: sh\ncredentials:\n  - name: TOKEN\n    fromEnv: TEST_TOKEN\nscript: echo $TOKEN\n")
	h.env["TEST_TOKEN"] = "s3cr3t-value"
	h.env["DOCKER_HOST"] = "unix:///test/docker.sock"
	run := RunOptions{Ref: "cred", Values: Values{Deck: "dock"}}

	_, err := h.c.PlanRun(ctx, run)
	if fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), "deck dock is protected") {
		t.Errorf("protected deck without a prompter: %v", err)
	}
	h.c.Prompter = &prompter{answers: []string{"prod"}}
	_, err = h.c.PlanRun(ctx, run)
	if fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), `you typed "prod", not "dock"`) {
		t.Errorf("a wrong confirmation: %v", err)
	}
	h.c.Prompter = &prompter{answers: []string{"dock"}}
	p, err := h.c.PlanRun(ctx, run)
	if err != nil {
		t.Fatalf("confirmed: %v", err)
	}
	if !p.Docker() || p.Target != nil || p.Record.Backend != history.BackendDocker || p.Record.Mode != history.ModeDocker ||
		p.Where != "Docker engine unix:///test/docker.sock" || p.Record.User != "test@example.com" || !p.Start().Equal(testClock) {
		t.Errorf("plan: docker %v, target %v, record %+v, where %q", p.Docker(), p.Target, p.Record, p.Where)
	}
	if len(p.Spec.Credentials) != 1 || p.Spec.Credentials[0].Value != "s3cr3t-value" {
		t.Errorf("credentials: %+v", p.Spec.Credentials)
	}
	h.c.User = "web:alice"
	if p, err = h.c.PlanRun(ctx, RunOptions{Ref: "hello", Values: Values{Deck: "dock"}, Yes: true}); err != nil || p.Record.User != "web:alice" || p.Spec.User != "web:alice" {
		t.Fatalf("Configuration.User: %v, plan %+v", err, p)
	}
	if got := h.c.Secrets.String("token s3cr3t-value"); got != "token ***" {
		t.Errorf("the credential is not redacted after the plan: %q", got)
	}

	run.Yes = true
	for _, tc := range []struct {
		name string
		o    func(RunOptions) RunOptions
		kind fail.Kind
		msg  string
	}{
		{"mode on docker", func(o RunOptions) RunOptions { o.Mode, o.ModeSet = history.ModeJob, true; return o }, fail.Usage, "a Docker deck runs a container"},
		{"unknown mode", func(o RunOptions) RunOptions { o.Mode = "daemon"; return o }, fail.Usage, `--mode "daemon"`},
		{"stdin twice", func(o RunOptions) RunOptions { o.Interactive, o.Values.Files = true, []string{"-"}; return o }, fail.Usage, "both want stdin"},
		{"compress on docker", func(o RunOptions) RunOptions { o.Compress = true; return o }, fail.Usage, "Docker deck"},
		{"stdin on a detached docker run", func(o RunOptions) RunOptions { o.Interactive, o.Detach = true, true; return o }, fail.Usage, "-i with --detach"},
	} {
		_, err := h.c.PlanRun(ctx, tc.o(run))
		if fail.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v (kind %v), want kind %v with %q", tc.name, err, fail.KindOf(err), tc.kind, tc.msg)
		}
	}
}

// A run's record and files are found by id, prefix or "last"; a name that
// is no file of a run is refused, not opened.
func TestGetRun(t *testing.T) {
	h := newHome(t)
	if _, err := h.c.GetRun(""); fail.KindOf(err) != fail.NotFound {
		t.Errorf("GetRun of an empty history: %v, want not found", err)
	}
	hist, err := h.c.History(0)
	if err != nil {
		t.Fatal(err)
	}
	rec := &history.Record{ID: history.NewRunID(testClock), Script: "hello", Start: testClock}
	hrun, err := hist.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := hrun.SaveArtifact(history.ArtifactScript, []byte("echo hi\n")); err != nil {
		t.Fatal(err)
	}
	rec.State, rec.ExitCode, rec.End = history.StateFailed, 3, testClock.Add(time.Second) // a failed run keeps its artifacts
	if err := hrun.Finish(rec); err != nil {
		t.Fatal(err)
	}
	run, err := h.c.GetRun("last")
	if err != nil || run.Record.ID != rec.ID || run.Record.State != history.StateFailed || run.Dir == "" {
		t.Fatalf("GetRun(last) = %+v, %v", run, err)
	}
	f, err := run.Artifact(history.ArtifactScript)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(f)
	f.Close()
	if string(body) != "echo hi\n" {
		t.Errorf("the script artifact: %q", body)
	}
	if _, err := run.Artifact("../../config.yaml"); fail.KindOf(err) != fail.Invalid {
		t.Errorf("Artifact(../../config.yaml): %v, want invalid", err)
	}
	if _, err := run.Artifact(history.ArtifactPod); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a Pod the run does not have: %v", err)
	}
}
