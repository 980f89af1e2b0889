package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/store"
)

// runResource runs cscript in-process with the real command tree, except
// that lifecycle scripts run as local processes (lifecycle.ProcessExecutor):
// the real example scripts, their real output, and the real state files of
// a docker deck under $XDG_STATE_HOME.
func (e *env) runResource(ctx context.Context, args ...string) result {
	e.t.Helper()
	return e.runResourceErr(ctx, &bytes.Buffer{}, args...)
}

// cancelOn is a stderr that cancels a context once it has seen text.
type cancelOn struct {
	bytes.Buffer
	text   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	n, err := c.Buffer.Write(p)
	if strings.Contains(c.String(), c.text) {
		c.cancel()
	}
	return n, err
}

func (e *env) runResourceErr(ctx context.Context, errb interface {
	io.Writer
	String() string
}, args ...string) result {
	e.t.Helper()
	var out bytes.Buffer
	a := newApp(BuildInfo{Version: "test"}, strings.NewReader(""), &out, errb)
	cliApp := a.cli()
	deps := resourceDeps{executor: func(_ *cli.Context, _ *store.Deck, out io.Writer) (lifecycle.Executor, error) {
		return &lifecycle.ProcessExecutor{Stream: out}, nil
	}}
	replaced := false
	for i, c := range cliApp.Commands {
		if c.Name == "resource" {
			cliApp.Commands[i] = a.resourceCommandWith(deps)
			replaced = true
		}
	}
	if !replaced {
		e.t.Fatal("no resource command in the command tree")
	}
	code := a.report(cliApp.RunContext(ctx, interspersed(cliApp, append([]string{"cscript"}, args...))))
	return result{out: out.String(), err: errb.String(), code: code}
}

func (e *env) mustResource(args ...string) result {
	e.t.Helper()
	r := e.runResource(context.Background(), args...)
	if r.code != 0 {
		e.t.Fatalf("cscript %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

func (e *env) showResource(name string) *lifecycle.Resource {
	e.t.Helper()
	r := e.mustResource("resource", "show", name, "--deck", "dock", "-o", "json")
	var res lifecycle.Resource
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		e.t.Fatalf("show -o json: %v\n%s", err, r.out)
	}
	return &res
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestResourceLifecycle(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	if err := os.WriteFile(filepath.Join(e.lib(), "decks", "dock.yaml"), []byte("backend: docker\nvalues: {region: eu}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRun("validate")

	// Usage errors.
	if r := e.runResource(context.Background(), "resource", "create", "vm1", "--lifecycle", "demo-vm"); r.code != ExitUsage || !strings.Contains(r.err, "--deck") {
		t.Errorf("create without --deck: %d %q", r.code, r.err)
	}
	if r := e.runResource(context.Background(), "resource", "create", "vm1", "--deck", "dock"); r.code != ExitUsage || !strings.Contains(r.err, "--lifecycle") {
		t.Errorf("create without --lifecycle: %d %q", r.code, r.err)
	}
	if r := e.runResource(context.Background(), "resource", "create", "vm1", "--deck", "dock", "--lifecycle", "demo-vm", "--limit", "cpu=many"); r.code != ExitUsage {
		t.Errorf("bad --limit: %d %q", r.code, r.err)
	}
	if r := e.runResource(context.Background(), "resource", "create", "vm1", "--deck", "dock", "--lifecycle", "nope"); r.code != ExitNotFound {
		t.Errorf("unknown lifecycle: %d %q", r.code, r.err)
	}
	if r := e.runResource(context.Background(), "resource", "update", "ghost", "--deck", "dock"); r.code != ExitNotFound {
		t.Errorf("update of a missing resource: %d %q", r.code, r.err)
	}

	// A dry run runs the script and records nothing.
	r := e.mustResource("resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "large", "--dry-run")
	if !strings.Contains(r.err, "dry run: nothing was recorded") || !strings.Contains(r.out, "backend_id:") || !strings.Contains(r.out, "zone: demo-1") {
		t.Errorf("dry run output:\nstdout: %s\nstderr: %s", r.out, r.err)
	}
	if r := e.mustResource("resource", "list", "--deck", "dock", "-o", "json"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("a dry run recorded something: %s", r.out)
	}

	// create → OK with the backend id and metadata recorded.
	r = e.mustResource("resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock", "--plan", "small", "--attr", "owner=ann", "--limit", "ram=2048")
	if !strings.HasPrefix(r.out, "vm1: OK, backend id ") || !strings.Contains(r.err, "creating vm1 for ann with plan small") {
		t.Errorf("create:\nstdout: %s\nstderr: %s", r.out, r.err)
	}
	vm := e.showResource("vm1")
	if vm.State != lifecycle.StateOK || !uuidRE.MatchString(vm.BackendID) || vm.Plan != "small" {
		t.Errorf("after create: %+v", vm)
	}
	if d := cmp.Diff(map[string]any{"cpu": 1.0, "ram": 2048.0, "zone": "demo-1"}, vm.BackendMetadata); d != "" {
		t.Errorf("metadata (-want +got):\n%s", d)
	}
	if len(vm.Endpoints) != 2 || vm.Lifecycle != "local/demo-vm" || vm.Deck != "dock" {
		t.Errorf("endpoints %v lifecycle %q deck %q", vm.Endpoints, vm.Lifecycle, vm.Deck)
	}
	if _, err := os.Stat(filepath.Join(e.root, "state_home", "cscript", "resources", "dock", "vm1.json")); err != nil {
		t.Errorf("the state file of a docker deck: %v", err)
	}
	if r := e.runResource(context.Background(), "resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", "dock"); r.code != ExitConflict {
		t.Errorf("create of an existing resource: %d %q", r.code, r.err)
	}

	// pull records usages and the report.
	r = e.mustResource("resource", "pull", "vm1", "--deck", "dock")
	if !strings.Contains(r.out, "vm1: OK, 2 usages, 2 report sections") {
		t.Errorf("pull: %s %s", r.out, r.err)
	}
	vm = e.showResource("vm1")
	if d := cmp.Diff([]lifecycle.Usage{{Type: "cpu", Amount: 10}, {Type: "ram", Amount: 2048}}, vm.Usages); d != "" {
		t.Errorf("usages (-want +got):\n%s", d)
	}

	// A failing update → ERRED with the traceback.
	r = e.runResource(context.Background(), "resource", "update", "vm1", "--deck", "dock", "--plan", "large")
	if r.code != ExitError || !strings.Contains(r.err, "✗ update vm1: ERRED") {
		t.Errorf("failing update: %d\n%s", r.code, r.err)
	}
	text := e.mustResource("resource", "show", "vm1", "--deck", "dock").out
	for _, want := range []string{"State:       ERRED", "Error: ", "Traceback (the whole output):", "RuntimeError: the demo backend cannot resize", "Endpoints:", "Usages (", "Report (", "running in zone demo-1", "History:"} {
		if !strings.Contains(text, want) {
			t.Errorf("show lacks %q:\n%s", want, text)
		}
	}
	if vm = e.showResource("vm1"); vm.Plan != "small" {
		t.Errorf("a failed update changed the plan to %q", vm.Plan)
	}

	// Every script run has a run record, as `cscript run`'s do.
	var recs []history.Record
	if err := json.Unmarshal([]byte(e.mustRun("runs", "-o", "json").out), &recs); err != nil {
		t.Fatal(err)
	}
	byEvent := map[string]history.Record{}
	dryRuns := 0
	for _, rec := range recs {
		if rec.DryRun {
			dryRuns++
			continue
		}
		byEvent[rec.Event] = rec
	}
	if c, u := byEvent["create"], byEvent["update"]; len(recs) != 4 || dryRuns != 1 || c.Resource != "vm1" || c.State != history.StateSucceeded || c.Deck != "dock" ||
		c.Mode != history.ModeDocker || u.State != history.StateFailed || u.ExitCode == 0 || u.Script != "demo-vm-update" {
		t.Errorf("run records (dry run, create, pull, update): %+v", recs)
	}
	if logs := e.mustRun("runs", "logs", byEvent["create"].ID).out; !strings.Contains(logs, "creating vm1 for ann with plan small") {
		t.Errorf("runs logs of the create: %q", logs)
	}
	if tr := e.mustRun("trace", byEvent["update"].ID).out; !strings.Contains(tr, "RuntimeError: the demo backend cannot resize") {
		t.Errorf("trace of the failed update: %q", tr)
	}
	if list := e.mustRun("runs").out; !strings.Contains(list, "(update vm1)") || !strings.Contains(list, "(create vm1, dry run)") {
		t.Errorf("runs:\n%s", list)
	}

	// A second resource whose create prints only an id; pull --all skips
	// what has no pull script and brings vm1 back to OK.
	e.mustResource("resource", "create", "id1", "--lifecycle", "demo-id", "--deck", "dock")
	if id := e.showResource("id1"); !uuidRE.MatchString(id.BackendID) || id.BackendMetadata != nil {
		t.Errorf("demo-id: backend id %q metadata %v", id.BackendID, id.BackendMetadata)
	}
	r = e.mustResource("resource", "pull", "--all", "--deck", "dock")
	if !strings.Contains(r.err, "id1: lifecycle demo-id has no pull script: skipped") {
		t.Errorf("pull --all: %s", r.err)
	}
	if vm = e.showResource("vm1"); vm.State != lifecycle.StateOK || vm.ErrorMessage != "" || vm.ErrorTraceback != "" {
		t.Errorf("a successful pull after ERRED: %s %q", vm.State, vm.ErrorMessage)
	}

	// pull --every stops cleanly when the context ends while it waits for
	// the next pull (cancelled once it says when that is).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stopped := &cancelOn{text: "next pull at", cancel: cancel}
	if r := e.runResourceErr(ctx, stopped, "resource", "pull", "vm1", "--deck", "dock", "--every", "1h"); r.code != 0 || !strings.Contains(r.err, "next pull at") {
		t.Errorf("pull --every: %d\n%s", r.code, r.err)
	}
	if ctx.Err() != context.Canceled {
		t.Errorf("pull --every ended by %v, want by its cancelled context", ctx.Err())
	}

	// terminate → TERMINATED.
	e.mustResource("resource", "terminate", "vm1", "--deck", "dock")
	r = e.mustResource("resource", "list", "--deck", "dock")
	if !regexp.MustCompile(`(?m)^vm1\s+TERMINATED\s+local/demo-vm\s+small`).MatchString(r.out) || !regexp.MustCompile(`(?m)^id1\s+OK\s+local/demo-id`).MatchString(r.out) {
		t.Errorf("list:\n%s", r.out)
	}
	if r := e.runResource(context.Background(), "resource", "pull", "vm1", "--deck", "dock"); r.code != ExitConflict {
		t.Errorf("pull of a terminated resource: %d %q", r.code, r.err)
	}
	var events []string
	for _, h := range e.showResource("vm1").History {
		events = append(events, string(h.Event)+":"+string(h.State))
	}
	if d := cmp.Diff([]string{"create:OK", "pull:OK", "update:ERRED", "pull:OK", "pull:OK", "terminate:TERMINATED"}, events); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}
}

// TestValidateLifecycles: `cscript validate` reports a lifecycle definition's
// problems with file:line:col.
func TestValidateLifecycles(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	bad := "kind: Lifecycle\nname: broken\nscripts:\n  create: no-such-script\n"
	if err := os.WriteFile(filepath.Join(e.lib(), "lifecycle", "broken.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "validate")
	if r.code != ExitInvalid || !strings.Contains(r.err, filepath.Join("lifecycle", "broken.yaml")+`:4:11: script "no-such-script" is not a valid script`) {
		t.Errorf("validate: %d\n%s", r.code, r.err)
	}
}

// A lifecycle script's run record is redacted like run's: a credential the
// script prints shows as the mask in `runs logs`.
func TestResourceRunRecordIsRedacted(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	t.Setenv("CSCRIPT_TEST_TOKEN", "s3cr3t-t0ken-value")
	files := map[string]string{
		filepath.Join("decks", "dock.yaml"): "backend: docker\n",
		"sec.yaml":                          "kind: Lifecycle\nname: sec\nscripts:\n  create: sec-create\n",
		"sec-create.yaml": "name: sec-create\nimage: shell\ninterpreter: sh\n" +
			"credentials:\n  - name: TOKEN\n    fromEnv: CSCRIPT_TEST_TOKEN\n" +
			"script: |\n  echo \"token is $TOKEN\"\n  echo id-123\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(e.lib(), name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.mustRun("validate")
	e.mustResource("resource", "create", "s1", "--lifecycle", "sec", "--deck", "dock")
	logs := e.mustRun("runs", "logs", "last").out
	if strings.Contains(logs, "s3cr3t-t0ken-value") || !strings.Contains(logs, "token is ***") {
		t.Errorf("runs logs of the create: %q; want the token masked", logs)
	}
}

// The error cscript ends with can carry text the script printed (here the
// last line of a create script's output): it is redacted like the output.
func TestFinalErrorIsRedacted(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	t.Setenv("CSCRIPT_TEST_TOKEN", "s3cr3t-t0ken-value")
	files := map[string]string{
		filepath.Join("decks", "dock.yaml"): "backend: docker\n",
		"sec.yaml":                          "kind: Lifecycle\nname: sec\nscripts:\n  create: sec-create\n",
		"sec-create.yaml": "name: sec-create\nimage: shell\ninterpreter: sh\n" +
			"credentials:\n  - name: TOKEN\n    fromEnv: CSCRIPT_TEST_TOKEN\n" +
			"script: |\n  echo \"the id is $TOKEN\"\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(e.lib(), name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.mustRun("validate")
	r := e.runResource(context.Background(), "resource", "create", "s1", "--lifecycle", "sec", "--deck", "dock")
	if r.code == 0 {
		t.Fatalf("a create whose last line has 4 words succeeded: %q", r.err)
	}
	// The script's own output goes through the executor, a local process
	// here (the real ones redact it); what cscript itself prints must not
	// show the token: the ✗ line and the final error.
	var final bool
	for _, line := range strings.Split(r.err, "\n") {
		if !strings.HasPrefix(line, "cscript: ") && !strings.HasPrefix(line, "✗ ") {
			continue
		}
		final = final || strings.HasPrefix(line, "cscript: ")
		if strings.Contains(line, "s3cr3t-t0ken-value") || !strings.Contains(line, "***") {
			t.Errorf("cscript printed the token: %q", line)
		}
	}
	if !final {
		t.Errorf("no final error in %q", r.err)
	}
}
