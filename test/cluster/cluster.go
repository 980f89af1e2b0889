// Package cluster gives tests a real Kubernetes cluster and Docker engine:
// the one the user chose (KUBECONFIG, DOCKER_HOST) when it answers, otherwise
// the single-node cluster that the script next to this file starts on this
// machine (see README.md).
//
// A test that needs a cluster and cannot get one fails when the CI
// environment variable is "true" (or "1") or CSCRIPT_E2E_REQUIRE is set, and
// is skipped with the reason otherwise.
package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Images the harness loads into the cluster and the Docker engine.
const (
	BusyboxImage  = "docker.io/library/busybox:1.36"
	DebianImage   = "docker.io/library/debian:bookworm-slim"
	PythonImage   = "docker.io/library/python:3.11-slim"
	PostgresImage = "docker.io/library/postgres:15"
	// HostileImage is busybox (sh is dash) whose tar, asked to create an
	// archive, prints a malicious one instead: $HOSTILE_TAR, else the content
	// of /etc/hostile-tar, else "dotdot". The choices are the archives of
	// test/cluster/build/hostile: dotdot, absolute, symlink-absolute,
	// symlink-relative, symlink-dangling, hardlink-absolute,
	// hardlink-relative, device, block, fifo. Each starts with a harmless
	// ok.txt.
	HostileImage = "cscript.test/hostile:1"
)

// Script returns the path of the harness script (test/cluster/cluster).
func Script() string {
	return filepath.Join(ModuleRoot(), "test", "cluster", "cluster")
}

// ModuleRoot returns the repository's root: from this file's path, or, in a binary built with
// -trimpath (`make unit` and `make e2e` build the tests like the release; this file's path is
// then its import path), the first directory upwards from the working directory that holds the
// module's go.mod. Failing both, it returns the working directory: what is then missing below it
// names the problem.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	wd, err := os.Getwd()
	if err != nil {
		wd = "."
	}
	return moduleRoot(file, wd)
}

// moduleRoot is ModuleRoot for this file's compiled-in path and the working directory wd.
func moduleRoot(file, wd string) string {
	if filepath.IsAbs(file) {
		return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == module {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
}

// module is this repository's module path.
const module = "github.com/cscript-dev/cscript"

// modulePath returns the module path a go.mod declares.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// Required reports whether a missing cluster must fail a test rather than
// skip it: in CI, or when CSCRIPT_E2E_REQUIRE is set.
func Required() bool {
	ci := os.Getenv("CI")
	return ci == "true" || ci == "1" || os.Getenv("CSCRIPT_E2E_REQUIRE") != ""
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (not in CI: skipping; set CSCRIPT_E2E_REQUIRE=1 to fail instead)", args...)
}

var (
	upMu  sync.Mutex
	upEnv = map[string]map[string]string{} // subcommand -> its exported env, once it succeeded
)

// harness runs `cluster SUBCOMMAND` once per test binary and returns the
// variables of `cluster env` afterwards.
func harness(subcommand string) (map[string]string, error) {
	upMu.Lock()
	defer upMu.Unlock()
	if env, ok := upEnv[subcommand]; ok {
		return env, nil
	}
	var out bytes.Buffer
	cmd := exec.Command("bash", Script(), subcommand)
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(&out, os.Stderr) // progress of a cold start is worth seeing
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w after %s:\n%s", Script(), subcommand, err,
			time.Since(start).Round(time.Second), tail(out.String(), 120))
	}
	envOut, err := exec.Command("bash", Script(), "env").Output()
	if err != nil {
		return nil, fmt.Errorf("%s env: %w", Script(), err)
	}
	env := parseExports(envOut)
	upEnv[subcommand] = env
	return env, nil
}

// parseExports reads `export KEY=value` lines.
func parseExports(b []byte) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = strings.Trim(v, `'"`)
		}
	}
	return env
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// reachable loads a kubeconfig exactly like kubectl does with KUBECONFIG set
// (a list of files is merged) and asks the server for its version.
func reachable(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.Precedence = filepath.SplitList(kubeconfig)
	rules.ExplicitPath = ""
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	probe := rest.CopyConfig(cfg)
	probe.Timeout = 10 * time.Second
	cs, err := kubernetes.NewForConfig(probe)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", kubeconfig, err)
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("cluster of %s does not answer: %w", kubeconfig, err)
	}
	return cfg, nil
}

// Kubeconfig returns the path of a kubeconfig whose current context is a
// reachable cluster: $KUBECONFIG when it is set and its cluster answers
// (nothing is started then), otherwise the harness's own cluster, started
// with `cluster up` (idempotent; cold it builds Kubernetes, so give `go test`
// a -timeout of 30m or run `test/cluster/cluster up` first).
func Kubeconfig(t testing.TB) string {
	t.Helper()
	path, _ := kubeconfig(t)
	return path
}

func kubeconfig(t testing.TB) (string, *rest.Config) {
	t.Helper()
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		cfg, err := reachable(kc)
		if err == nil {
			return kc, cfg
		}
		t.Logf("KUBECONFIG is set but unusable (%v); starting the harness cluster", err)
	}
	env, err := harness("up")
	if err != nil {
		unavailable(t, "no Kubernetes cluster: %v", err)
	}
	kc := env["KUBECONFIG"]
	cfg, err := reachable(kc)
	if err != nil {
		unavailable(t, "harness cluster is up but unusable: %v", err)
	}
	return kc, cfg
}

// RESTConfig returns a client configuration for the cluster of Kubeconfig.
func RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	_, cfg := kubeconfig(t)
	return cfg
}

// Clientset returns a clientset for the cluster of Kubeconfig.
func Clientset(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(RESTConfig(t))
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs
}

// Namespace creates a fresh namespace named after prefix, waits until its
// default service account exists (Pods are refused before that) and deletes
// it when the test ends.
func Namespace(t testing.TB, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: prefix + "-",
			Labels:       map[string]string{"app.kubernetes.io/part-of": "cscript-e2e"},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		zero := int64(0)
		err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s: no default service account: %v", ns.Name, err)
	}
	return ns.Name
}

// DockerHost returns a DOCKER_HOST value for a reachable Docker engine:
// $DOCKER_HOST when it is set and answers, otherwise the harness's own dockerd
// (started with `cluster docker-up`, which needs no Kubernetes).
func DockerHost(t testing.TB) string {
	t.Helper()
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		err := pingDocker(h)
		if err == nil {
			return h
		}
		t.Logf("DOCKER_HOST is set but unusable (%v); starting the harness dockerd", err)
	}
	env, err := harness("docker-up")
	if err != nil {
		unavailable(t, "no Docker engine: %v", err)
	}
	h := env["DOCKER_HOST"]
	if err := pingDocker(h); err != nil {
		unavailable(t, "harness dockerd is up but unusable: %v", err)
	}
	return h
}

func pingDocker(host string) error {
	c, err := client.New(client.WithHost(host))
	if err != nil {
		return fmt.Errorf("docker client for %s: %w", host, err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("docker engine at %s does not answer: %w", host, err)
	}
	return nil
}

// Kubectl returns the path of a kubectl to compare against: $CSCRIPT_TEST_KUBECTL,
// else the kubectl of the leg the harness runs (`cluster env`), else the first on PATH.
func Kubectl(t testing.TB) string {
	t.Helper()
	if k := os.Getenv("CSCRIPT_TEST_KUBECTL"); k != "" {
		return k
	}
	if out, err := exec.Command("bash", Script(), "env").Output(); err == nil {
		if k := parseExports(out)["CSCRIPT_TEST_KUBECTL"]; k != "" {
			if _, err := os.Stat(k); err == nil {
				return k
			}
		}
	}
	k, err := exec.LookPath("kubectl")
	if err != nil {
		unavailable(t, "no kubectl: run %s up, or set CSCRIPT_TEST_KUBECTL", Script())
	}
	return k
}
