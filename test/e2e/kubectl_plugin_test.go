//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cscript-dev/cscript/test/cluster"
)

// TestKubectlPlugin installs cscript as kubectl-cscript on the PATH and
// drives it through the harness's real kubectl: `kubectl cscript …` runs
// it, and the --context and -n that a kubectl user types (before the
// command too) choose the cluster and namespace, over the kubeconfig's
// current context (here one that cannot be reached) and the deck's
// namespace (here one that does not exist).
func TestKubectlPlugin(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "kubectl-plugin")
	h := newCLIHome(t, ns)
	kubectl := cluster.Kubectl(t)

	// A kubeconfig whose current context is a dead end; the cluster's own
	// context is there under its name.
	cfg, err := clientcmd.LoadFromFile(h.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	good := cfg.CurrentContext
	cfg.Clusters["dead-end"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}
	cfg.Contexts["dead-end"] = &clientcmdapi.Context{Cluster: "dead-end", AuthInfo: cfg.Contexts[good].AuthInfo}
	cfg.CurrentContext = "dead-end"
	kc := filepath.Join(h.root, "kubeconfig-two-contexts")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}
	h.file("decks/elsewhere.yaml", "description: a namespace that does not exist\nnamespace: no-such-namespace-here\n")

	bin := filepath.Join(h.root, "plugins")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(h.bin, filepath.Join(bin, "kubectl-cscript")); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) cliResult {
		t.Helper()
		cmd := exec.Command(kubectl, args...)
		cmd.Dir = h.dir
		cmd.Env = append(append([]string(nil), h.env...), "KUBECONFIG="+kc, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		res := cliResult{Stdout: out.String(), Stderr: errb.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			res.Code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// kubectl finds the plugin.
	if r := run("plugin", "list"); !strings.Contains(r.Stdout, "kubectl-cscript") {
		t.Fatalf("kubectl plugin list:\n%s%s", r.Stdout, r.Stderr)
	}
	if r := run("cscript", "--help"); r.Code != 0 || !strings.Contains(r.Stdout, "kubectl cscript") {
		t.Errorf("kubectl cscript --help: exit %d\n%s", r.Code, r.Stdout)
	}

	// The flags before the command, and after it.
	for _, args := range [][]string{
		{"cscript", "--context", good, "-n", ns, "run", "hello", "--deck", "elsewhere", "--set", "who=plugin"},
		{"cscript", "run", "hello", "--deck", "elsewhere", "--set", "who=plugin", "--namespace=" + ns, "--context=" + good},
	} {
		r := run(args...)
		if r.Code != 0 || !strings.Contains(r.Stdout, ", plugin! This is") {
			t.Errorf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, lastLines(r.Stderr, 20))
		}
	}
	records, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "cscript.dev/record=run"})
	if err != nil || len(records.Items) != 2 {
		t.Errorf("team records in %s: %d, %v; want the two runs'", ns, len(records.Items), err)
	}

	// Without --context the kubeconfig's current context is used (the dead
	// end): the flag was what chose the cluster.
	if r := run("cscript", "-n", ns, "run", "hello", "--deck", "elsewhere"); r.Code != 125 || !strings.Contains(r.Stderr, "cannot reach the API server at https://127.0.0.1:1") {
		t.Errorf("without --context: exit %d, want 125 naming the dead end\n%s", r.Code, lastLines(r.Stderr, 10))
	}
	// A command that does not reach a cluster says so.
	if r := run("cscript", "-n", ns, "list"); r.Code != 2 || !strings.Contains(r.Stderr, "cscript list takes no -n") {
		t.Errorf("list -n: exit %d\n%s", r.Code, r.Stderr)
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
}
