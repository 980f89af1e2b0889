//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cscript-dev/cscript/commands"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/lifecycle/kubestate"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/test/cluster"
)

// These tests run the example lifecycle definitions (examples/lifecycle)
// through the real `cscript resource` commands: as Kubernetes Jobs on the
// real cluster with the state in ConfigMaps, and as containers of the real
// Docker engine with the state in local files. Same definitions, same
// checks.

type cscriptEnv struct {
	t    *testing.T
	root string
}

// newCscriptEnv isolates cscript's config, data and state in a temp dir and
// creates the example library with `cscript init`.
func newCscriptEnv(t *testing.T) *cscriptEnv {
	t.Helper()
	root := t.TempDir()
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(v, filepath.Join(root, strings.ToLower(strings.TrimPrefix(v, "XDG_"))))
	}
	t.Setenv("HOME", root)
	gitconfig := filepath.Join(root, "gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[user]\n\tname = E2E User\n\temail = e2e@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", gitconfig)
	if err := os.WriteFile(filepath.Join(root, ".gitconfig"), []byte("[user]\n\tname = E2E User\n\temail = e2e@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CSCRIPT_DECK", "")
	e := &cscriptEnv{t: t, root: root}
	e.must("init")
	return e
}

func (e *cscriptEnv) lib() string { return filepath.Join(e.root, "data_home", "cscript", "library") }

func (e *cscriptEnv) deck(name, body string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.lib(), "decks", name+".yaml"), []byte(body), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *cscriptEnv) run(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	var out, errb bytes.Buffer
	code = commands.Main(context.Background(), commands.BuildInfo{Version: "e2e"}, append([]string{"cscript"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func (e *cscriptEnv) must(args ...string) (stdout, stderr string) {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("cscript %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out, errs
}

func (e *cscriptEnv) show(name, deck string) *lifecycle.Resource {
	e.t.Helper()
	out, _ := e.must("resource", "show", name, "--deck", deck, "-o", "json")
	var r lifecycle.Resource
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		e.t.Fatalf("show -o json: %v\n%s", err, out)
	}
	return &r
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// lifecycleScenario is the same sequence on any deck.
func lifecycleScenario(t *testing.T, e *cscriptEnv, deck string) {
	// create → OK with the backend id and metadata recorded.
	out, errs := e.must("resource", "create", "vm1", "--lifecycle", "demo-vm", "--deck", deck, "--plan", "small", "--attr", "owner=ann")
	if !strings.HasPrefix(out, "vm1: OK, backend id ") || !strings.Contains(errs, "creating vm1 for ann with plan small") {
		t.Errorf("create:\nstdout: %s\nstderr: %s", out, errs)
	}
	vm := e.show("vm1", deck)
	if vm.State != lifecycle.StateOK || !uuidPattern.MatchString(vm.BackendID) {
		t.Fatalf("after create: state %s backend id %q", vm.State, vm.BackendID)
	}
	if vm.BackendMetadata["zone"] != "demo-1" || vm.BackendMetadata["cpu"] != 1.0 || len(vm.Endpoints) != 2 || vm.Endpoints[1].Name != "console" {
		t.Errorf("metadata %v endpoints %v", vm.BackendMetadata, vm.Endpoints)
	}
	// The contract reached the container: the definition's env entry and the creator.
	if !strings.Contains(vm.LastOutput, "create of vm1 in "+deck) {
		t.Errorf("output of create: %q", vm.LastOutput)
	}

	// A create script that prints only an id.
	e.must("resource", "create", "id1", "--lifecycle", "demo-id", "--deck", deck)
	if id := e.show("id1", deck); !uuidPattern.MatchString(id.BackendID) || !strings.Contains(id.LastOutput, "creating id1 for e2e@example.com in project "+deck) {
		t.Errorf("demo-id: %q\n%s", id.BackendID, id.LastOutput)
	}

	// pull records usages and the report.
	e.must("resource", "pull", "vm1", "--deck", deck)
	vm = e.show("vm1", deck)
	if len(vm.Usages) != 2 || vm.Usages[0] != (lifecycle.Usage{Type: "cpu", Amount: 10}) || vm.Usages[1] != (lifecycle.Usage{Type: "ram", Amount: 1024}) {
		t.Errorf("usages = %+v", vm.Usages)
	}
	if len(vm.Report) != 2 || vm.Report[0].Body != "running in zone demo-1" || vm.Report[1].Body != vm.BackendID {
		t.Errorf("report = %+v", vm.Report)
	}

	// A failing update → ERRED with the traceback.
	_, errs, code := e.run("resource", "update", "vm1", "--deck", deck, "--plan", "large")
	if code != commands.ExitError || !strings.Contains(errs, "update vm1: ERRED") {
		t.Errorf("failing update: exit %d\n%s", code, errs)
	}
	vm = e.show("vm1", deck)
	if vm.State != lifecycle.StateErred || vm.ErrorMessage == "" || vm.Plan != "small" {
		t.Errorf("after update: %s %q plan %q", vm.State, vm.ErrorMessage, vm.Plan)
	}
	for _, want := range []string{"Traceback (most recent call last)", "RuntimeError: the demo backend cannot resize " + vm.BackendID} {
		if !strings.Contains(vm.ErrorTraceback, want) {
			t.Errorf("traceback lacks %q:\n%s", want, vm.ErrorTraceback)
		}
	}

	// A successful pull returns it to OK; terminate → TERMINATED.
	e.must("resource", "pull", "vm1", "--deck", deck)
	if vm = e.show("vm1", deck); vm.State != lifecycle.StateOK || vm.ErrorMessage != "" {
		t.Errorf("pull after ERRED: %s %q", vm.State, vm.ErrorMessage)
	}
	e.must("resource", "terminate", "vm1", "--deck", deck)
	vm = e.show("vm1", deck)
	if vm.State != lifecycle.StateTerminated || !strings.Contains(vm.LastOutput, "deleting vm1 (backend id "+vm.BackendID) {
		t.Errorf("after terminate: %s %q", vm.State, vm.LastOutput)
	}
	out, _ = e.must("resource", "list", "--deck", deck)
	if !regexp.MustCompile(`(?m)^vm1\s+TERMINATED`).MatchString(out) || !regexp.MustCompile(`(?m)^id1\s+OK`).MatchString(out) {
		t.Errorf("list:\n%s", out)
	}
}

func TestLifecycleKubernetesJobs(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "lifecycle")
	t.Setenv("KUBECONFIG", cluster.Kubeconfig(t))
	e := newCscriptEnv(t)
	e.deck("e2e-k8s", "namespace: "+ns+"\n")
	lifecycleScenario(t, e, "e2e-k8s")

	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, kubestate.ConfigMapName("vm1"), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the state ConfigMap: %v", err)
	}
	if cm.Labels[runner.LabelManagedBy] != "cscript" || cm.Labels[kubestate.LabelKind] != "resource" {
		t.Errorf("labels %v", cm.Labels)
	}
	// Every Job, Pod and Secret of the events was deleted (Pods may take a
	// moment to go after their Job).
	sel := metav1.ListOptions{LabelSelector: runner.LabelManagedBy + "=" + runner.ManagedByValue}
	var left []string
	for deadline := time.Now().Add(60 * time.Second); ; {
		left = nil
		jobs, err := cs.BatchV1().Jobs(ns).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs.Items {
			left = append(left, "job/"+j.Name)
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			left = append(left, "pod/"+p.Name)
		}
		secrets, err := cs.CoreV1().Secrets(ns).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets.Items {
			left = append(left, "secret/"+s.Name)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(left) > 0 {
		t.Errorf("left after the events: %v", left)
	}
}

func TestLifecycleDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", cluster.DockerHost(t))
	e := newCscriptEnv(t)
	e.deck("e2e-docker", "backend: docker\n")
	lifecycleScenario(t, e, "e2e-docker")
	if _, err := os.Stat(filepath.Join(e.root, "state_home", "cscript", "resources", "e2e-docker", "vm1.json")); err != nil {
		t.Errorf("the local state file: %v", err)
	}
}
