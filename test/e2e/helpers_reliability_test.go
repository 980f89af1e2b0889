//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/test/cluster"
)

// Helpers of the reliability suite (reliability_*_test.go): the real cscript
// binary run as a subprocess, so that signals, exit codes and memory are the
// real ones, each test with its own XDG home and a deck pinning its namespace.

// cscriptBuild is the binary built once per test binary when CSCRIPT_BIN is
// not set (make e2e sets it).
var cscriptBuild struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cscriptBuild.dir != "" {
		_ = os.RemoveAll(cscriptBuild.dir)
	}
	os.Exit(code)
}

// moduleRoot is the repository's root.
func moduleRoot() string { return cluster.ModuleRoot() }

// cscriptBinary returns $CSCRIPT_BIN, or builds cscript once into a temporary
// directory removed when the tests end.
func cscriptBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CSCRIPT_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatalf("CSCRIPT_BIN: %v", err)
		}
		return abs
	}
	b := &cscriptBuild
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "cscript-e2e-bin-*")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "cscript")
		cmd := exec.Command("go", "build", "-o", b.path, ".")
		cmd.Dir = moduleRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatalf("build cscript: %v", b.err)
	}
	return b.path
}

// cliHome is an isolated cscript installation: config, library, run history
// and cache under one temp dir, a library made by `cscript init`, and the deck
// "e2e" pinned to the test's namespace.
type cliHome struct {
	t          testing.TB
	bin        string
	root       string
	kubeconfig string
	ns         string
	env        []string
	// dir is the working directory of every cscript process.
	dir string
}

// newCLIHome makes a home for cscript that runs against namespace ns.
func newCLIHome(t testing.TB, ns string) *cliHome {
	t.Helper()
	root := t.TempDir()
	h := &cliHome{t: t, bin: cscriptBinary(t), root: root, kubeconfig: cluster.Kubeconfig(t), ns: ns, dir: filepath.Join(root, "cwd")}
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gitconfig := filepath.Join(root, "gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[user]\n\tname = E2E User\n\temail = e2e@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "CSCRIPT_"), strings.HasPrefix(k, "GIT_"),
			k == "HOME", k == "KUBECONFIG", k == "DOCKER_HOST":
			continue
		}
		h.env = append(h.env, kv)
	}
	h.env = append(h.env,
		"HOME="+root,
		"XDG_CONFIG_HOME="+filepath.Join(root, "config"),
		"XDG_DATA_HOME="+filepath.Join(root, "data"),
		"XDG_STATE_HOME="+filepath.Join(root, "state"),
		"XDG_CACHE_HOME="+filepath.Join(root, "cache"),
		"KUBECONFIG="+h.kubeconfig,
		"GIT_CONFIG_GLOBAL="+gitconfig,
		"GIT_CONFIG_NOSYSTEM=1",
		"NO_COLOR=1",
	)
	h.must("init")
	h.file("decks/e2e.yaml", fmt.Sprintf("description: the reliability suite's namespace\nnamespace: %s\nvalues:\n  greeting: hi\n", ns))
	return h
}

// lib is the library `cscript init` made.
func (h *cliHome) lib() string { return filepath.Join(h.root, "data", "cscript", "library") }

// stateDir holds the run history.
func (h *cliHome) stateDir() string { return filepath.Join(h.root, "state", "cscript") }

// file writes a file of the library.
func (h *cliHome) file(rel, body string) {
	h.t.Helper()
	p := filepath.Join(h.lib(), rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// setenv adds a variable to the environment of every later cscript process.
func (h *cliHome) setenv(k, v string) { h.env = append(h.env, k+"="+v) }

// cliResult is one finished cscript process.
type cliResult struct {
	Stdout, Stderr string
	Code           int  // 128+N when killed by signal N
	Signaled       bool // killed by a signal (not an exit with 128+N)
	Wall           time.Duration
	MaxRSSKiB      int64
}

// cliProc is a running cscript process.
type cliProc struct {
	h              *cliHome
	args           []string
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	start          time.Time
	done           chan struct{}
	res            cliResult
}

// start starts cscript with args; stdin is empty.
func (h *cliHome) start(args ...string) *cliProc {
	h.t.Helper()
	p := &cliProc{h: h, args: args, done: make(chan struct{})}
	p.cmd = exec.Command(h.bin, args...)
	p.cmd.Env = h.env
	p.cmd.Dir = h.dir
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		h.t.Fatalf("start cscript: %v", err)
	}
	go func() {
		defer close(p.done)
		err := p.cmd.Wait()
		p.res = cliResult{Stdout: p.stdout.String(), Stderr: p.stderr.String(), Wall: time.Since(p.start)}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			p.res.Code = -1
			p.res.Stderr += "\n(wait: " + err.Error() + ")"
			return
		}
		st := p.cmd.ProcessState
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.res.Code = 128 + int(ws.Signal())
			p.res.Signaled = true
		} else {
			p.res.Code = st.ExitCode()
		}
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			p.res.MaxRSSKiB = ru.Maxrss
		}
	}()
	// Never leave a process behind a failed test.
	h.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// signal sends sig; it reports false when the process had already exited.
func (p *cliProc) signal(sig syscall.Signal) bool {
	select {
	case <-p.done:
		return false
	default:
	}
	return p.cmd.Process.Signal(sig) == nil
}

// exited reports whether the process has ended.
func (p *cliProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end, killing it after timeout.
func (p *cliProc) wait(timeout time.Duration) cliResult {
	p.h.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.h.t.Fatalf("cscript %s did not end within %s; stderr:\n%s", strings.Join(p.args, " "), timeout, p.res.Stderr)
	}
	return p.res
}

// waitOutput waits until stdout or stderr contains s; it reports false if
// the process ended or timeout passed first.
func (p *cliProc) waitOutput(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.stdout.String(), s) || strings.Contains(p.stderr.String(), s) {
			return true
		}
		if p.exited() {
			return strings.Contains(p.stdout.String(), s) || strings.Contains(p.stderr.String(), s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// run runs cscript to its end (at most 5 minutes).
func (h *cliHome) run(args ...string) cliResult {
	h.t.Helper()
	return h.start(args...).wait(5 * time.Minute)
}

// runEnv is run with extra environment variables (KEY=VALUE).
func (h *cliHome) runEnv(env []string, args ...string) cliResult {
	h.t.Helper()
	withEnv := *h
	withEnv.env = append(append([]string(nil), h.env...), env...)
	return withEnv.run(args...)
}

// must runs cscript and fails the test unless it exits 0.
func (h *cliHome) must(args ...string) cliResult {
	h.t.Helper()
	res := h.run(args...)
	if res.Code != 0 {
		h.t.Fatalf("cscript %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.Code, res.Stdout, res.Stderr)
	}
	return res
}

var runIDLine = regexp.MustCompile(`, run ([0-9A-Za-z_.-]+)\n`)

// runIDOf finds the run id in the first line cscript prints on stderr.
func runIDOf(stderr string) string {
	if m := runIDLine.FindStringSubmatch(stderr); m != nil {
		return m[1]
	}
	return ""
}

// record reads a run's record with `cscript runs show ID -o json`.
func (h *cliHome) record(id string) history.Record {
	h.t.Helper()
	res := h.must("runs", "show", id, "-o", "json")
	var rec history.Record
	if err := json.Unmarshal([]byte(res.Stdout), &rec); err != nil {
		h.t.Fatalf("runs show -o json: %v\n%s", err, res.Stdout)
	}
	return rec
}

// phaseLine matches what -v prints when a phase starts.
var phaseLine = regexp.MustCompile(`(?m)^· +[0-9.]+s (\w+)`)

// lastPhase is the last phase -v reported on stderr ("" before any).
func lastPhase(stderr string) string {
	m := phaseLine.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		return ""
	}
	// The cleanup event is reported as the run ends; the phase before it is
	// the one the run was in.
	for i := len(m) - 1; i >= 0; i-- {
		if m[i][1] != string(kube.PhaseCleanup) {
			return m[i][1]
		}
	}
	return m[len(m)-1][1]
}

// cscriptObjects lists the Pods and Secrets labelled managed-by=cscript in
// ns (Pods being deleted included), as "pod/NAME" and "secret/NAME".
func cscriptObjects(t testing.TB, cs kubernetes.Interface, ns string) []string {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{runner.LabelManagedBy: runner.ManagedByValue}).String()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	pods, err := cs.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		out = append(out, "pod/"+p.Name)
	}
	secrets, err := cs.CoreV1().Secrets(ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	for _, s := range secrets.Items {
		out = append(out, "secret/"+s.Name)
	}
	sort.Strings(out)
	return out
}

// assertNamespaceClean waits up to timeout until ns holds no Pod or Secret of
// cscript's.
func assertNamespaceClean(t testing.TB, cs kubernetes.Interface, ns string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := cscriptObjects(t, cs, ns)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind in %s after %s: %v", ns, timeout, left)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitClusterHealthy waits until the API server answers, the node's kubelet
// has renewed its Lease after since and the node is Ready and untainted, then
// runs a Pod to the end, so that the tests after a fault test find a working
// cluster.
func waitClusterHealthy(t *testing.T, cs kubernetes.Interface, since time.Time) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ok, why := nodeReady(cs, since)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not become healthy again: %s", why)
		}
		time.Sleep(500 * time.Millisecond)
	}
	ns := cluster.Namespace(t, cs, "rel-health")
	pod := newPod("health", cluster.BusyboxImage, "sh", "-c", "echo healthy")
	term, logs := runPod(t, cs, ns, pod)
	if term.ExitCode != 0 || logs != "healthy\n" {
		t.Fatalf("health pod: exit %d, logs %q", term.ExitCode, logs)
	}
	t.Logf("cluster healthy again %s after the fault", time.Since(since).Round(100*time.Millisecond))
}

func nodeReady(cs kubernetes.Interface, since time.Time) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "list nodes: " + err.Error()
	}
	if len(nodes.Items) == 0 {
		return false, "no nodes"
	}
	for _, n := range nodes.Items {
		// The kubelet renews its Lease every 10 s; the status heartbeat in
		// the conditions may be minutes old.
		lease, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, "node lease: " + err.Error()
		}
		if lease.Spec.RenewTime == nil || !lease.Spec.RenewTime.After(since) {
			return false, fmt.Sprintf("node %s: lease not renewed since %s", n.Name, since.Format(time.RFC3339))
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return false, fmt.Sprintf("node %s not Ready: %+v", n.Name, n.Status.Conditions)
		}
		for _, taint := range n.Spec.Taints {
			if taint.Effect == corev1.TaintEffectNoSchedule || taint.Effect == corev1.TaintEffectNoExecute {
				return false, fmt.Sprintf("node %s tainted %s", n.Name, taint.Key)
			}
		}
	}
	return true, ""
}

// harness runs `test/cluster/cluster ARGS…` (stop/start/restart a component).
func harnessCmd(t testing.TB, args ...string) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command("bash", append([]string{cluster.Script()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("cluster %s: %s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
}

// localLeftovers lists what a download left next to its destination: the
// temporary directories it extracts into.
func localLeftovers(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".cscript-") {
			out = append(out, e.Name())
		}
	}
	return out
}
