//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cscript-dev/cscript/internal/gitserver"
	"github.com/cscript-dev/cscript/runner/kube"
)

const (
	busybox       = "docker.io/library/busybox:1.36"
	transferPod   = "bench-transfer"
	transferCtr   = "main"
	remoteDataDir = "/data"
)

// bench holds what the benchmarks share: the cluster client, the scratch
// directory and the processes it started.
type bench struct {
	cfg    config
	res    *Results
	log    io.Writer
	target *kube.Target

	nsReady     bool
	pod         *kube.PodExecutor // the transfer Pod, once started
	runHome     *home             // cscript home with the small "bench" library
	genHome     *home             // cscript home with the generated git library
	baseRun     *home             // the same homes for the baseline build (-baseline)
	baseGen     *home
	git         *gitserver.Server
	helloMedian time.Duration // median cscript run hello, once measured
}

func newBench(ctx context.Context, cfg config, res *Results, log io.Writer) (*bench, error) {
	t, err := kube.LoadTarget(kube.TargetOptions{Kubeconfig: cfg.Kubeconfig, Namespace: cfg.Namespace})
	if err != nil {
		return nil, err
	}
	return &bench{cfg: cfg, res: res, log: log, target: t}, nil
}

// close deletes the namespace (and so every Pod the benchmarks made) and
// stops the git daemon.
func (b *bench) close() {
	if b.git != nil {
		b.git.Stop()
	}
	if b.nsReady {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := b.target.Client.CoreV1().Namespaces().Delete(ctx, b.cfg.Namespace, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			fmt.Fprintf(b.log, "bench: delete namespace %s: %v\n", b.cfg.Namespace, err)
		}
	}
}

// clusterGone says whether err looks like the API server or the kubelet
// going away rather than a failure of what is measured.
func clusterGone(err error) bool {
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset by peer", "close 1006", "unexpected EOF", "was refused", "http2: client connection lost"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// reset waits (up to 10 minutes) until the API server answers and the node
// is Ready, then deletes the benchmark's namespace so that the next
// benchmark starts from a fresh one.
func (b *bench) reset(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		ready := false
		if nodes, err := b.target.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
			for _, n := range nodes.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready = true
					}
				}
			}
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the test cluster did not come back within 10 minutes")
		}
		if err := sleep(ctx, 5*time.Second); err != nil {
			return err
		}
	}
	if b.nsReady {
		nss := b.target.Client.CoreV1().Namespaces()
		if err := nss.Delete(ctx, b.cfg.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		for {
			if _, err := nss.Get(ctx, b.cfg.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("namespace %s still there after 10 minutes", b.cfg.Namespace)
			}
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
		}
	}
	b.nsReady, b.pod = false, nil
	return nil
}

// namespace creates the benchmark's namespace (fresh) and waits for its
// default service account, without which no Pod is admitted.
func (b *bench) namespace(ctx context.Context) error {
	if b.nsReady {
		return nil
	}
	nss := b.target.Client.CoreV1().Namespaces()
	for {
		_, err := nss.Get(ctx, b.cfg.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if err != nil {
			return err
		}
		// Left over from an interrupted run: delete it and wait.
		_ = nss.Delete(ctx, b.cfg.Namespace, metav1.DeleteOptions{})
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.cfg.Namespace}}
	if _, err := nss.Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	b.nsReady = true
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := b.target.Client.CoreV1().ServiceAccounts(b.cfg.Namespace).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s: no default service account after a minute: %w", b.cfg.Namespace, err)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// transferPod starts (once) a busybox Pod that sleeps, with an emptyDir at
// /data like the runner's /work, and returns an executor into it.
func (b *bench) transferPod(ctx context.Context) (*kube.PodExecutor, error) {
	if b.pod != nil {
		return b.pod, nil
	}
	if err := b.namespace(ctx); err != nil {
		return nil, err
	}
	pods := b.target.Client.CoreV1().Pods(b.cfg.Namespace)
	zero, no := int64(0), false
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: transferPod},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &zero,
			AutomountServiceAccountToken:  &no,
			Containers: []corev1.Container{{
				Name:            transferCtr,
				Image:           busybox,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"sleep", "86400"},
				VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: remoteDataDir}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create pod: %w", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := pods.Get(ctx, transferPod, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if p.Status.Phase == corev1.PodRunning {
			break
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded || time.Now().After(deadline) {
			return nil, fmt.Errorf("pod %s did not start: phase %s", transferPod, p.Status.Phase)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	b.pod = &kube.PodExecutor{Client: b.target.Client, Config: b.target.Config, Namespace: b.cfg.Namespace, Pod: transferPod, Container: transferCtr}
	return b.pod, nil
}

// sh runs a shell command in the transfer Pod and returns its stdout.
func (b *bench) sh(ctx context.Context, script string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := append([]string{"sh", "-c", script, "sh"}, args...)
	if err := b.pod.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return out.String(), fmt.Errorf("exec %q: %w: %s", script, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// kubectl returns a Command running the reference kubectl.
func (b *bench) kubectl(args ...string) Command {
	return Command{Args: append([]string{b.cfg.Kubectl}, args...), Env: []string{"KUBECONFIG=" + b.cfg.Kubeconfig}}
}

// home is a throwaway cscript home: its own config, libraries, cache and run
// history, so that nothing of the user's is read or changed.
type home struct {
	dir   string
	cache string // XDG_CACHE_HOME
	env   []string
}

func newHome(dir string) (*home, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	h := &home{dir: dir}
	for _, v := range []string{"CONFIG", "DATA", "STATE", "CACHE"} {
		p := filepath.Join(dir, strings.ToLower(v))
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, err
		}
		h.env = append(h.env, "XDG_"+v+"_HOME="+p)
		if v == "CACHE" {
			h.cache = p
		}
	}
	h.env = append(h.env, "NO_COLOR=1", "CSCRIPT_DECK=")
	return h, nil
}

// cscript returns a Command running the binary under test in this home.
func (b *bench) cscript(h *home, args ...string) Command {
	return b.cscriptBin(b.cfg.CScript, h, args...)
}

// cscriptBin returns a Command running the cscript binary bin (the one under
// test or the baseline) in this home.
func (b *bench) cscriptBin(bin string, h *home, args ...string) Command {
	env := append([]string{"KUBECONFIG=" + b.cfg.Kubeconfig}, h.env...)
	return Command{Args: append([]string{bin}, args...), Env: env}
}

// compare records this build's sample beside the baseline's: times (lower
// is better) as their medians in the unit given ("s" or "ms").
func (b *bench) compare(bench, metric, unit string, this, base *Sample) {
	scale := float64(time.Second)
	if unit == "ms" {
		scale = float64(time.Millisecond)
	}
	b.res.addComparison(Comparison{Bench: bench, Metric: metric, Unit: unit,
		This: float64(this.Median()) / scale, Base: float64(base.Median()) / scale, Spread: spread(base.Times)})
}

// do runs a command untimed and returns its stdout.
func do(ctx context.Context, c Command) (string, error) {
	t, err := timeCommand(ctx, c)
	if t == nil {
		return "", err
	}
	return t.Stdout, err
}

// git runs git with a fixed identity and no user or system config.
func gitCmd(dir string, args ...string) Command {
	return Command{
		Args: append([]string{"git", "-c", "user.name=Bench Mark", "-c", "user.email=bench@example.invalid", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...),
		Dir:  dir,
		Env:  []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"},
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// output runs a program untimed, for the environment section; "" on error.
func output(args ...string) string {
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(out) > 0 {
			return strings.TrimSpace(string(out))
		}
		return ""
	}
	return strings.TrimSpace(string(out))
}
