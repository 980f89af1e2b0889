//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/test/cluster"
)

// These tests drive the real cscript binary as a subprocess against the real
// cluster (and Docker engine), each with its own XDG home and namespace, using
// the example library that `cscript init` creates. They use the subprocess
// helpers of helpers_reliability_test.go (newCLIHome, cliProc, …).

// Scripts the tests add to the library next to the examples.
const (
	cliKillScript = `name: cli-kill
description: e2e - the shell kills itself with SIGKILL.
image: debian
interpreter: bash
script: |
  echo "about to be killed"
  kill -9 $$
`
	cliSleepScript = `name: cli-sleep
description: e2e - prints a marker, then sleeps 30 s.
image: shell
interpreter: sh
script: |
  echo "cli-sleep-marker"
  sleep 30
  echo "not interrupted"
`
	// cliMissingImageScript names an image that does not exist in a registry
	// on loopback (nothing listens on port 1), so the pull fails without
	// traffic leaving the machine; docker.io/library/does-not-exist:1 fails
	// the same way, after a DNS lookup.
	cliMissingImageScript = `name: cli-missing-image
description: e2e - an image that does not exist.
image: 127.0.0.1:1/library/does-not-exist:1
interpreter: sh
script: echo never
`
	// cliBigFileScript is formatted with the script's name and image.
	cliBigFileScript = `name: %s
description: e2e - the sha256 of an uploaded file, copied back for download.
image: %s
interpreter: sh
timeout: 10m
params:
  - name: in
    type: file
    required: true
  - name: out
    required: true
files:
  upload:
    - from: "{{ .Params.in }}"
      to: /work/in.bin
  download:
    - from: /work/out.bin
      to: "{{ .Params.out }}"
script: |
  sha256sum /work/in.bin
  cp /work/in.bin /work/out.bin
`
)

// cliNamespaceObjects lists every Pod, Secret and Job in ns, whoever made
// them, except the names in keep ("pod/postgres").
func cliNamespaceObjects(t testing.TB, cs kubernetes.Interface, ns string, keep ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		out = append(out, "pod/"+p.Name)
	}
	secrets, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	for _, s := range secrets.Items {
		out = append(out, "secret/"+s.Name)
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	for _, j := range jobs.Items {
		out = append(out, "job/"+j.Name)
	}
	var left []string
	for _, o := range out {
		kept := false
		for _, k := range keep {
			kept = kept || o == k
		}
		if !kept {
			left = append(left, o)
		}
	}
	sort.Strings(left)
	return left
}

// cliAwaitNamespaceEmpty waits up to timeout until ns holds no Pod, Secret or
// Job but those in keep, and returns how long that took.
func cliAwaitNamespaceEmpty(t testing.TB, cs kubernetes.Interface, ns string, timeout time.Duration, keep ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		left := cliNamespaceObjects(t, cs, ns, keep...)
		if len(left) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("left behind in namespace %s after %s: %v", ns, timeout, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cliRunRecords lists every run record with `cscript runs -o json`, newest first.
func cliRunRecords(h *cliHome) []history.Record {
	h.t.Helper()
	res := h.must("runs", "-o", "json", "--limit", "0")
	var recs []history.Record
	if err := json.Unmarshal([]byte(res.Stdout), &recs); err != nil {
		h.t.Fatalf("runs -o json: %v\n%s", err, res.Stdout)
	}
	return recs
}

// cliMustRunID is the run id cscript announced on stderr.
func cliMustRunID(t testing.TB, res cliResult) string {
	t.Helper()
	id := runIDOf(res.Stderr)
	if id == "" {
		t.Fatalf("no run id on stderr:\n%s", res.Stderr)
	}
	return id
}

func cliDeck(ns string, extra string) string {
	return fmt.Sprintf("description: e2e\nnamespace: %s\n%s", ns, extra)
}

// 1. The script's exit code is cscript's, and the run record's; nothing is left.
func TestCLIHelloExitCodes(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-hello")
	h := newCLIHome(t, ns)
	h.file("cli-kill.yaml", cliKillScript)

	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"exit 0", []string{"run", "hello", "--deck", "e2e", "--set", "who=O'Brien \"the tester\""}, 0, `hi, O'Brien "the tester"! This is cscript-hello-`},
		{"exit 3", []string{"run", "hello", "--deck", "e2e", "--set", "code=3"}, 3, "hi, world!"},
		{"killed", []string{"run", "cli-kill", "--deck", "e2e"}, 137, "about to be killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.run(tt.args...)
			if res.Code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.Code, tt.code, res.Stdout, res.Stderr)
			}
			if !strings.Contains(res.Stdout, tt.out) {
				t.Errorf("stdout %q does not contain %q", res.Stdout, tt.out)
			}
			id := cliMustRunID(t, res)
			rec := h.record(id)
			if rec.ExitCode != tt.code || rec.Namespace != ns || rec.Deck != "e2e" {
				t.Errorf("record: exit %d namespace %s deck %s, want %d %s e2e", rec.ExitCode, rec.Namespace, rec.Deck, tt.code, ns)
			}
			wantState := history.StateFailed
			if tt.code == 0 {
				wantState = history.StateSucceeded
			}
			if rec.State != wantState {
				t.Errorf("record state %s, want %s", rec.State, wantState)
			}
			took := cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
			t.Logf("exit %d in %s; namespace empty %s later", res.Code, res.Wall.Round(time.Millisecond), took.Round(time.Millisecond))
		})
	}
	// The same codes through `cscript runs -o json`.
	var got []int
	for _, r := range cliRunRecords(h) {
		got = append(got, r.ExitCode)
	}
	sort.Ints(got)
	if fmt.Sprint(got) != "[0 3 137]" {
		t.Errorf("runs -o json exit codes %v, want [0 3 137]", got)
	}
}

// cliPostgres is the fixture's PostgreSQL server in one namespace.
type cliPostgres struct {
	ns, password, ip string
}

// cliStartPostgres creates the Secret and the Pod of test/fixtures/postgres.yaml in ns.
func cliStartPostgres(t *testing.T, cs kubernetes.Interface, ns string) *cliPostgres {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(moduleRoot(), "test", "fixtures", "postgres.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(raw, &pod); err != nil {
		t.Fatalf("postgres.yaml: %v", err)
	}
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		t.Fatal(err)
	}
	pg := &cliPostgres{ns: ns, password: "pw-" + hex.EncodeToString(pw)}
	ctx := context.Background()
	_, err = cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "postgres"},
		StringData: map[string]string{"password": pg.password},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret: %v", err)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create postgres pod: %v", err)
	}
	return pg
}

// wait waits until the server is Ready and records its Pod IP.
func (pg *cliPostgres) wait(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var last *corev1.Pod
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(pg.ns).Get(ctx, "postgres", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.Status.PodIP != "" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("postgres in %s not Ready: %v; status %+v", pg.ns, err, last.Status)
	}
	pg.ip = last.Status.PodIP
}

// psql runs one SQL command in the server's Pod through the harness kubectl
// (no stdin: exec stdin is not reliable on containerd) and returns its
// unaligned output.
func (pg *cliPostgres) psql(t *testing.T, kubectl, kubeconfig, db, sql string) string {
	t.Helper()
	cmd := exec.Command(kubectl, "--kubeconfig", kubeconfig, "-n", pg.ns, "exec", "postgres", "--",
		"env", "PGPASSWORD="+pg.password, "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db,
		"-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql in %s: %v\n%s", pg.ns, err, out)
	}
	return strings.TrimSpace(string(out))
}

// The rows hold quotes, backslashes, unicode, newlines, tabs, NULLs, arrays and JSON.
const cliSeedSQL = `create table items(id int primary key, name text not null, note text, amount numeric(12,2),
  created timestamptz, tags text[], doc jsonb);
insert into items
select i,
  format('item %s: it''s a "quoted" \back\slash, ünïcødé ✓ 日本語 🐘 %s', i, md5(i::text)),
  case when i % 7 = 0 then null when i % 11 = 0 then E'multi\nline\ttab ''q''' else repeat(md5((i * 31)::text), i % 4) end,
  i * 1.25,
  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute 7 seconds',
  array['a', 'b''' || i, 'c"'],
  jsonb_build_object('i', i, 's', 'x''y"z\', 'u', 'ü')
from generate_series(1, 10000) i`

const cliRowsSQL = `select count(*) || ' ' || md5(string_agg(t::text, E'\n' order by id)) from items t`

// 2. db-dump from one namespace, db-restore into another, the rows compared.
func TestCLIPostgresDumpRestore(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	kubectl := cluster.Kubectl(t)
	nsA := cluster.Namespace(t, cs, "cli-pg-a")
	nsB := cluster.Namespace(t, cs, "cli-pg-b")
	h := newCLIHome(t, nsA)
	h.file("decks/a.yaml", cliDeck(nsA, ""))
	h.file("decks/b.yaml", cliDeck(nsB, ""))

	a := cliStartPostgres(t, cs, nsA)
	b := cliStartPostgres(t, cs, nsB)
	a.wait(t, cs)
	b.wait(t, cs)
	for _, pg := range []*cliPostgres{a, b} {
		pg.psql(t, kubectl, h.kubeconfig, "postgres", "create database app")
	}
	a.psql(t, kubectl, h.kubeconfig, "app", cliSeedSQL)
	want := a.psql(t, kubectl, h.kubeconfig, "app", cliRowsSQL)
	if !strings.HasPrefix(want, "10000 ") {
		t.Fatalf("rows in a: %q", want)
	}

	dump := filepath.Join(t.TempDir(), "dump.sql.gz")
	dumpRes := h.run("run", "db-dump", "--deck", "a", "--set", "db.host="+a.ip, "--set", "out="+dump)
	if dumpRes.Code != 0 {
		t.Fatalf("db-dump: exit %d\nstdout: %s\nstderr: %s", dumpRes.Code, dumpRes.Stdout, dumpRes.Stderr)
	}
	st, err := os.Stat(dump)
	if err != nil {
		t.Fatalf("no dump: %v", err)
	}
	restoreRes := h.run("run", "db-restore", "--deck", "b", "--set", "db.host="+b.ip, "--set", "dump="+dump)
	if restoreRes.Code != 0 {
		t.Fatalf("db-restore: exit %d\nstdout: %s\nstderr: %s", restoreRes.Code, restoreRes.Stdout, restoreRes.Stderr)
	}
	got := b.psql(t, kubectl, h.kubeconfig, "app", cliRowsSQL)
	if got != want {
		t.Errorf("rows in b %q, want those of a %q", got, want)
	}
	t.Logf("dump %d bytes; db-dump %s, db-restore %s; rows %s", st.Size(), dumpRes.Wall.Round(time.Millisecond), restoreRes.Wall.Round(time.Millisecond), got)

	// The runs' records say where they ran and what they moved.
	recs := cliRunRecords(h)
	if len(recs) != 2 {
		t.Fatalf("%d run records, want 2", len(recs))
	}
	for _, r := range recs {
		if r.State != history.StateSucceeded {
			t.Errorf("run %s (%s): %s", r.ID, r.Script, r.State)
		}
		switch r.Script {
		case "db-dump":
			if r.Namespace != nsA || len(r.Downloads) != 1 || r.Downloads[0].Bytes != st.Size() {
				t.Errorf("db-dump record: namespace %s, downloads %+v", r.Namespace, r.Downloads)
			}
		case "db-restore":
			if r.Namespace != nsB || len(r.Uploads) != 1 || r.Uploads[0].Bytes != st.Size() {
				t.Errorf("db-restore record: namespace %s, uploads %+v", r.Namespace, r.Uploads)
			}
		}
	}

	// The passwords never show: not in cscript's output, not in its history.
	outputs := dumpRes.Stdout + dumpRes.Stderr + restoreRes.Stdout + restoreRes.Stderr
	for _, pg := range []*cliPostgres{a, b} {
		if strings.Contains(outputs, pg.password) {
			t.Errorf("the password of %s appears in cscript's output", pg.ns)
		}
	}
	err = filepath.WalkDir(h.stateDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b2, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, pg := range []*cliPostgres{a, b} {
			if strings.Contains(string(b2), pg.password) {
				t.Errorf("the password of %s appears in %s", pg.ns, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cliAwaitNamespaceEmpty(t, cs, nsA, 20*time.Second, "pod/postgres", "secret/postgres")
	cliAwaitNamespaceEmpty(t, cs, nsB, 20*time.Second, "pod/postgres", "secret/postgres")
}

// 3. A python failure keeps its traceback, and the run dir is private.
func TestCLIPythonFailureTrace(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-py")
	h := newCLIHome(t, ns)

	res := h.run("run", "py-fail", "--deck", "e2e")
	if res.Code == 0 || res.Code >= 125 {
		t.Fatalf("py-fail: exit %d, want the script's own non-zero code\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "reading the configuration") {
		t.Errorf("stdout: %q", res.Stdout)
	}
	id := cliMustRunID(t, res)
	trace := h.must("trace", "last")
	for _, want := range []string{"Traceback (most recent call last)", "KeyError", "'missing'", id} {
		if !strings.Contains(trace.Stdout, want) {
			t.Errorf("trace last does not contain %q:\n%s", want, trace.Stdout)
		}
	}
	dir := filepath.Join(h.stateDir(), "runs", id)
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %v, want 0700", dir, st.Mode().Perm())
	}
	for _, name := range []string{history.ArtifactTrace, history.ArtifactPod, history.ArtifactEvents} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("run dir: %v", err)
			continue
		}
		if st.Mode().Perm() != 0o600 || st.Size() == 0 {
			t.Errorf("%s: mode %v, %d bytes; want 0600 and not empty", name, st.Mode().Perm(), st.Size())
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v readable by others", e.Name(), info.Mode().Perm())
		}
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
}

// cliRandomFile writes size random bytes to path and returns their sha256.
func cliRandomFile(t *testing.T, path string, size int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, sum), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

func cliFileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// 4. 200 MB up and down, verified, on Debian and busybox, with and without --compress.
func TestCLIBigFileUpAndDown(t *testing.T) {
	t.Parallel()
	const size = 200 << 20
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-big")
	h := newCLIHome(t, ns)
	h.file("cli-big-debian.yaml", fmt.Sprintf(cliBigFileScript, "cli-big-debian", "debian"))
	h.file("cli-big-shell.yaml", fmt.Sprintf(cliBigFileScript, "cli-big-shell", "shell"))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.bin")
	want := cliRandomFile(t, in, size)

	tests := []struct {
		script   string
		compress bool
		via      string // who did the container's side
	}{
		{"cli-big-debian", false, "agent"},
		{"cli-big-debian", true, "agent"},
		{"cli-big-shell", false, "agent"},
		{"cli-big-shell", true, "agent"},
		// Without the agent: the image's sh, tar and sha256sum.
		{"cli-big-shell", false, "image"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s compress=%v via=%s", tt.script, tt.compress, tt.via), func(t *testing.T) {
			out := filepath.Join(dir, "out.bin")
			args := []string{"run", tt.script, "--deck", "e2e", "--set", "in=" + in, "--set", "out=" + out}
			if tt.compress {
				args = append(args, "--compress")
			}
			var res cliResult
			if tt.via == "image" {
				res = h.runEnv([]string{"CSCRIPT_TRANSFER_AGENT=off"}, args...)
			} else {
				res = h.run(args...)
			}
			if res.Code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
			}
			// The script saw the same bytes.
			if !strings.Contains(res.Stdout, want+"  /work/in.bin") {
				t.Errorf("in the container: %q, want sha256 %s", res.Stdout, want)
			}
			st, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := cliFileSHA256(t, out); got != want || st.Size() != size {
				t.Errorf("downloaded %d bytes sha256 %s, want %d bytes %s", st.Size(), got, int64(size), want)
			}
			if left := localLeftovers(t, dir); len(left) != 0 {
				t.Errorf("temporary files left next to the download: %v", left)
			}
			rec := h.record(cliMustRunID(t, res))
			if len(rec.Uploads) != 1 || rec.Uploads[0].Bytes != size || len(rec.Downloads) != 1 || rec.Downloads[0].Bytes != size {
				t.Errorf("record transfers: up %+v, down %+v", rec.Uploads, rec.Downloads)
			}
			for _, tr := range append(rec.Uploads, rec.Downloads...) {
				if tr.SHA256 != want || tr.Verified != "sha256" || tr.Via != tt.via || tr.Compressed != tt.compress {
					t.Errorf("record %+v, want sha256 %s verified, via %s, compressed %v", tr, want, tt.via, tt.compress)
				}
			}
			if err := os.Remove(out); err != nil {
				t.Fatal(err)
			}
			t.Logf("200 MB up and down in %s", res.Wall.Round(time.Millisecond))
		})
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
}

// 5. A missing image fails fast, with the image and the reason named.
func TestCLIMissingImageFailsFast(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-img")
	h := newCLIHome(t, ns)
	h.file("cli-missing-image.yaml", cliMissingImageScript)

	res := h.run("run", "cli-missing-image", "--deck", "e2e")
	if res.Code != 125 {
		t.Fatalf("exit %d, want 125\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	if res.Wall >= 10*time.Second {
		t.Errorf("took %s, want under 10 s", res.Wall)
	}
	if !strings.Contains(res.Stderr, "does-not-exist") {
		t.Errorf("stderr does not name the image:\n%s", res.Stderr)
	}
	lower := strings.ToLower(res.Stderr)
	if !strings.Contains(lower, "errimagepull") && !strings.Contains(lower, "imagepullbackoff") && !strings.Contains(lower, "pull") {
		t.Errorf("stderr does not give the reason:\n%s", res.Stderr)
	}
	t.Logf("failed in %s: %s", res.Wall.Round(time.Millisecond), strings.TrimSpace(res.Stderr))
	cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
}

// 6. A protected deck runs only when confirmed; without a terminal that is --yes.
func TestCLIProtectedDeck(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-prot")
	h := newCLIHome(t, ns)
	h.file("decks/prod.yaml", cliDeck(ns, "protected: true\n"))

	res := h.run("run", "hello", "--deck", "prod")
	if res.Code != 125 {
		t.Fatalf("without --yes: exit %d, want 125\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "protected") || strings.Contains(res.Stdout, "hi, world") {
		t.Errorf("without --yes:\nstdout: %s\nstderr: %s", res.Stdout, res.Stderr)
	}
	if left := cliNamespaceObjects(t, cs, ns); len(left) != 0 {
		t.Errorf("created although refused: %v", left)
	}
	if recs := cliRunRecords(h); len(recs) != 0 {
		t.Errorf("a refused run left records: %+v", recs)
	}

	res = h.run("run", "hello", "--deck", "prod", "--yes")
	if res.Code != 0 || !strings.Contains(res.Stdout, "hello, world! This is") {
		t.Fatalf("with --yes: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
}

// 7. Ctrl-C during the script: exit 130, nothing left, the record says interrupted.
func TestCLIInterrupt(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-int")
	h := newCLIHome(t, ns)
	h.file("cli-sleep.yaml", cliSleepScript)

	p := h.start("run", "cli-sleep", "--deck", "e2e")
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(p.stdout.String(), "cli-sleep-marker") {
		if p.exited() || time.Now().After(deadline) {
			res := p.wait(time.Second)
			t.Fatalf("no marker on stdout (exit %d)\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(cliNamespaceObjects(t, cs, ns)) == 0 {
		t.Fatal("the script runs, but its Pod is not in the namespace")
	}
	sent := time.Now()
	if !p.signal(syscall.SIGINT) {
		t.Fatal("cscript ended before the signal")
	}
	res := p.wait(60 * time.Second)
	exitAfter := time.Since(sent)
	if res.Code != 130 {
		t.Fatalf("exit %d, want 130\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	if strings.Contains(res.Stdout, "not interrupted") {
		t.Errorf("the script went on: %s", res.Stdout)
	}
	gone := cliAwaitNamespaceEmpty(t, cs, ns, 10*time.Second)
	t.Logf("exit 130 %s after SIGINT; namespace empty %s after that", exitAfter.Round(time.Millisecond), gone.Round(time.Millisecond))
	rec := h.record(cliMustRunID(t, res))
	if rec.State != history.StateInterrupted || rec.ExitCode != 130 {
		t.Errorf("record: state %s exit %d, want interrupted 130", rec.State, rec.ExitCode)
	}
}

// 8. The Docker backend through the CLI.
func TestCLIDockerDeck(t *testing.T) {
	t.Parallel()
	host := cluster.DockerHost(t)
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-docker")
	h := newCLIHome(t, ns)
	h.setenv("DOCKER_HOST", host)
	h.file("decks/dock.yaml", "description: the Docker engine\nbackend: docker\nvalues:\n  greeting: ahoy\n")
	eng, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	res := h.run("run", "hello", "--deck", "dock", "--set", "code=3")
	if res.Code != 3 || !strings.Contains(res.Stdout, "ahoy, world! This is") {
		t.Fatalf("hello: exit %d, want 3\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	id := cliMustRunID(t, res)
	if rec := h.record(id); rec.Backend != history.BackendDocker || rec.ExitCode != 3 {
		t.Errorf("record: backend %s exit %d", rec.Backend, rec.ExitCode)
	}
	if left := dockerLeftovers(t, eng, id); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}

	res = h.run("run", "py-fail", "--deck", "dock")
	if res.Code == 0 || res.Code >= 125 {
		t.Fatalf("py-fail: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	id = cliMustRunID(t, res)
	trace := h.must("trace", id)
	for _, want := range []string{"Traceback (most recent call last)", "KeyError"} {
		if !strings.Contains(trace.Stdout, want) {
			t.Errorf("trace does not contain %q:\n%s", want, trace.Stdout)
		}
	}
	if left := dockerLeftovers(t, eng, id); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
	if left := cliNamespaceObjects(t, cs, ns); len(left) != 0 {
		t.Errorf("a Docker deck touched the cluster: %v", left)
	}
}

// 9. --mode job, attached and detached.
func TestCLIJobMode(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "cli-job")
	h := newCLIHome(t, ns)

	res := h.run("run", "hello", "--deck", "e2e", "--mode", "job", "--set", "code=3")
	if res.Code != 3 || !strings.Contains(res.Stdout, "hi, world! This is") {
		t.Fatalf("job: exit %d, want 3\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	if rec := h.record(cliMustRunID(t, res)); rec.Mode != history.ModeJob || rec.ExitCode != 3 {
		t.Errorf("record: mode %s exit %d", rec.Mode, rec.ExitCode)
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 30*time.Second)

	res = h.run("run", "hello", "--deck", "e2e", "--mode", "job", "--detach", "--set", "code=5", "--set", "who=detached")
	if res.Code != 0 {
		t.Fatalf("detach: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	id := strings.TrimSpace(res.Stdout)
	if id == "" || id != runIDOf(res.Stderr) {
		t.Fatalf("detach printed %q, want the run id of\n%s", res.Stdout, res.Stderr)
	}
	if rec := h.record(id); rec.State != history.StateRunning {
		t.Errorf("detached record state %s, want running", rec.State)
	}
	att := h.run("runs", "attach", id)
	if att.Code != 5 || !strings.Contains(att.Stdout, "hi, detached! This is") {
		t.Fatalf("attach: exit %d, want 5\nstdout: %s\nstderr: %s", att.Code, att.Stdout, att.Stderr)
	}
	if rec := h.record(id); rec.State != history.StateFailed || rec.ExitCode != 5 {
		t.Errorf("attached record: state %s exit %d, want failed 5", rec.State, rec.ExitCode)
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 30*time.Second)

	// A detached run whose Job somebody deleted: its record stays running
	// (retention never removes it by age) until `cscript gc` finds the Job
	// gone and closes it.
	res = h.run("run", "hello", "--deck", "e2e", "--mode", "job", "--detach", "--set", "who=gone")
	if res.Code != 0 {
		t.Fatalf("detach: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	gone := strings.TrimSpace(res.Stdout)
	if g := h.run("gc", "--deck", "e2e"); g.Code != 0 || strings.Contains(g.Stdout, gone) {
		t.Fatalf("gc while the Job runs: exit %d\nstdout: %s\nstderr: %s", g.Code, g.Stdout, g.Stderr)
	}
	if rec := h.record(gone); rec.State != history.StateRunning {
		t.Fatalf("after gc with the Job alive: state %s, want running", rec.State)
	}
	bg := metav1.DeletePropagationBackground
	if err := cs.BatchV1().Jobs(ns).DeleteCollection(t.Context(), metav1.DeleteOptions{PropagationPolicy: &bg},
		metav1.ListOptions{LabelSelector: "cscript.dev/run-id=" + gone}); err != nil {
		t.Fatal(err)
	}
	g := h.run("gc", "--deck", "e2e")
	if g.Code != 0 || !strings.Contains(g.Stdout, "run record "+gone) {
		t.Fatalf("gc after the Job was deleted: exit %d\nstdout: %s\nstderr: %s", g.Code, g.Stdout, g.Stderr)
	}
	if rec := h.record(gone); rec.State != history.StateAbandoned || rec.Reason != history.ReasonGone {
		t.Errorf("after gc: state %s reason %q, want abandoned (%s)", rec.State, rec.Reason, history.ReasonGone)
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 60*time.Second)
}
