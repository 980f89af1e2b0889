//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/cscript-dev/cscript/test/cluster"
)

// Bad input 6 and 7 of the reliability suite: values that look like shell
// reach the script and the file transfers as data, and credentials never
// show up anywhere, even with client-go logging everything.

// relInjectScript echoes its params back in hex (byte for byte), uses one as
// a file name both ways, and looks for the files the payloads would create.
const relInjectScript = `name: rel-inject
description: reliability - params that look like shell, as data and as file names.
image: debian
interpreter: bash
params:
  - name: text
  - name: fname
  - name: dir
env:
  TEXT: "{{ .Params.text }}"
files:
  upload:
    - from: "{{ .Params.dir }}/{{ .Params.fname }}"
      to: "/work/in/{{ .Params.fname }}"
  download:
    - from: "/work/out/{{ .Params.fname }}"
      to: "{{ .Params.dir }}/down/{{ .Params.fname }}"
script: |
  text={{ .Params.text | shellquote }}
  fname={{ .Params.fname | shellquote }}
  hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
  echo "text-hex=$(hexof "$text")"
  echo "env-hex=$(hexof "$TEXT")"
  echo "fname-hex=$(hexof "$fname")"
  echo "in-sha=$(sha256sum < "/work/in/$fname" | cut -d' ' -f1)"
  mkdir -p /work/out && cp -- "/work/in/$fname" "/work/out/$fname"
  for m in /tmp/cscript-pwned-* /work/pwned-* /work/in/pwned-* /work/out/pwned-* /pwned-*; do
    if [ -e "$m" ]; then echo "MARKER $m"; fi
  done
  echo markers-checked
`

// TestReliabilityInjection renders values full of shell syntax into a
// script with shellquote, into env and into file paths (a local file whose
// name has them, uploaded, copied and downloaded to such a name): they
// arrive byte for byte, and no file the payloads would create appears, in
// the Pod or locally.
func TestReliabilityInjection(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-inject")
	h := newCLIHome(t, ns)
	h.file("rel/inject.yaml", relInjectScript)
	tag := randomToken(t, 8)
	local := filepath.Join(h.root, "local")

	// Payloads: quotes, command substitution both ways, ;, |, &&, newlines,
	// globs, variables, a template of cscript's own, a leading dash.
	text := "it's \"quoted\" $(touch /tmp/cscript-pwned-" + tag + "-1) `touch /tmp/cscript-pwned-" + tag + "-2`; " +
		"touch /tmp/cscript-pwned-" + tag + "-3 | touch /tmp/cscript-pwned-" + tag + "-4 && touch " + local + "/pwned-" + tag + "-5\n" +
		"second line $HOME ${PATH} \\ * ? ~ # {{ .Params.text }} %s %d\n\ttabbed '\"'\"' end"
	names := []string{
		"f'n\"$(touch pwned-" + tag + "-6)`touch pwned-" + tag + "-7`;touch pwned-" + tag + "-8|touch pwned-" + tag + "-9 &\nnl *?[x] {{x}}.bin",
		"-rf $(touch pwned-" + tag + "-10) --help '",
	}
	setText := "a'b\"c$(touch /tmp/cscript-pwned-" + tag + "-11);d|e`touch /tmp/cscript-pwned-" + tag + "-12` && f"
	setName := "a'b\"c$(touch pwned-" + tag + "-13);d|e`touch pwned-" + tag + "-14` && f"

	check := func(t *testing.T, args []string, text, fname string) {
		t.Helper()
		if err := os.MkdirAll(local, 0o755); err != nil {
			t.Fatal(err)
		}
		data := []byte("content of " + fname + "\n" + randomToken(t, 32))
		if err := os.WriteFile(filepath.Join(local, fname), data, 0o600); err != nil {
			t.Fatalf("a local file named %q: %v", fname, err)
		}
		res := h.run(args...)
		if res.Code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.Code, res.Stdout, res.Stderr)
		}
		got := map[string]string{}
		for _, l := range strings.Split(res.Stdout, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				got[k] = v
			}
		}
		sum := sha256.Sum256(data)
		for k, want := range map[string]string{
			"text-hex":  hex.EncodeToString([]byte(text)),
			"env-hex":   hex.EncodeToString([]byte(text)),
			"fname-hex": hex.EncodeToString([]byte(fname)),
			"in-sha":    hex.EncodeToString(sum[:]),
		} {
			if got[k] != want {
				a, _ := hex.DecodeString(got[k])
				t.Errorf("%s: the script got %q, want %q", k, a, mustUnhex(want))
			}
		}
		if !strings.Contains(res.Stdout, "markers-checked") || strings.Contains(res.Stdout, "MARKER ") {
			t.Errorf("payload markers in the Pod:\n%s", res.Stdout)
		}
		down, err := os.ReadFile(filepath.Join(local, "down", fname))
		if err != nil || string(down) != string(data) {
			t.Errorf("download to %q: %v, content %q", filepath.Join(local, "down", fname), err, down)
		}
	}

	for i, fname := range names {
		t.Run(fmt.Sprintf("values file %d", i), func(t *testing.T) {
			vals, err := yaml.Marshal(map[string]string{"text": text, "fname": fname, "dir": local})
			if err != nil {
				t.Fatal(err)
			}
			vf := filepath.Join(h.root, fmt.Sprintf("values-%d.yaml", i))
			if err := os.WriteFile(vf, vals, 0o600); err != nil {
				t.Fatal(err)
			}
			check(t, []string{"run", "rel-inject", "--deck", "e2e", "-f", vf}, text, fname)
		})
	}
	t.Run("set-string", func(t *testing.T) {
		check(t, []string{"run", "rel-inject", "--deck", "e2e", "--set-string", "text=" + setText,
			"--set-string", "fname=" + setName, "--set-string", "dir=" + local}, setText, setName)
	})

	// Nothing the payloads name exists, locally either.
	for _, pattern := range []string{"/tmp/cscript-pwned-" + tag + "-*", filepath.Join(local, "pwned-*"), filepath.Join(local, "down", "pwned-*"), filepath.Join(h.dir, "pwned-*")} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			t.Errorf("payload markers created locally: %v", m)
		}
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
}

func mustUnhex(s string) string {
	b, _ := hex.DecodeString(s)
	return string(b)
}

// randomToken is n random letters and digits.
func randomToken(t *testing.T, n int) string {
	t.Helper()
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// relSecretScript fails after showing every credential it has, plainly and
// in base64, on stdout and stderr. TOKEN_FILE is the file that fromCommand
// reads.
const relSecretScript = `name: rel-secret
description: reliability - a failing script that shows its credentials.
image: shell
interpreter: sh
credentials:
  - name: FROM_ENV
    fromEnv: REL_SECRET_ENV
  - name: FROM_COMMAND
    fromCommand: "cat TOKEN_FILE"
  - name: FROM_SECRET
    secret:
      name: rel-db
      key: password
params:
  - name: admin_pass
    secret: true
script: |
  for v in "$FROM_ENV" "$FROM_COMMAND" "$FROM_SECRET" "$CSCRIPT_PARAM_ADMIN_PASS"; do
    echo "plain: $v"
    echo "stderr: $v" >&2
    printf '%s' "$v" | base64
    echo "sha: $(printf '%s' "$v" | sha256sum | cut -d' ' -f1)"
  done
  env | grep -E '^(FROM_|CSCRIPT_PARAM_)' >&2
  echo "failing now with $FROM_ENV" >&2
  exit 3
`

// TestReliabilitySecretHygiene runs a failing script that echoes four
// credentials (fromEnv, fromCommand, a Kubernetes Secret ref and a secret
// param) with client-go logging at its highest verbosity, watching the Pod
// while it lives: no part of any value appears in the terminal output, the
// run history (records, logs, traces), the Pod spec and annotations, the
// namespace's events, or the run's team record in the namespace.
func TestReliabilitySecretHygiene(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-secret")
	h := newCLIHome(t, ns)

	values := map[string]string{
		"fromEnv":     randomToken(t, 24),
		"fromCommand": randomToken(t, 24),
		"secretRef":   randomToken(t, 24),
		"secretParam": randomToken(t, 24),
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "rel-db"},
		Data:       map[string][]byte{"password": []byte(values["secretRef"])},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(h.root, "token")
	if err := os.WriteFile(tokenFile, []byte(values["fromCommand"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.setenv("REL_SECRET_ENV", values["fromEnv"])
	h.file("rel/secret.yaml", strings.Replace(relSecretScript, "TOKEN_FILE", tokenFile, 1))
	vf := filepath.Join(h.root, "secret-values.yaml")
	if err := os.WriteFile(vf, []byte("admin_pass: "+values["secretParam"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Every version of every Pod in the namespace while the run lives.
	var mu sync.Mutex
	var pods []string
	wctx, stop := context.WithCancel(ctx)
	w, err := cs.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				continue
			}
			b, _ := json.Marshal(ev.Object)
			mu.Lock()
			pods = append(pods, string(b))
			mu.Unlock()
		}
	}()

	res := h.run("--kube-verbosity", "10", "run", "rel-secret", "--deck", "e2e", "-v", "-f", vf)
	stop()
	w.Stop()
	<-watched
	if res.Code != 3 {
		t.Fatalf("exit %d, want the script's 3\nstderr:\n%s", res.Code, lastLines(res.Stderr, 40))
	}
	// The script had the values (their sha256 went through), they were
	// shown masked, and client-go did log bodies.
	for name, v := range values {
		sum := sha256.Sum256([]byte(v))
		if !strings.Contains(res.Stdout, "sha: "+hex.EncodeToString(sum[:])) {
			t.Errorf("the script did not get %s", name)
		}
	}
	if strings.Count(res.Stdout, "plain: ***") != 4 || strings.Count(res.Stderr, "stderr: ***") != 4 {
		t.Errorf("the values were not shown masked:\n%s", res.Stdout)
	}
	for _, want := range []string{"Request Body", "curlCommand", "(hidden by cscript: Secret data)"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q: is client-go logging at verbosity 10?", want)
		}
	}
	mu.Lock()
	if len(pods) == 0 {
		t.Error("the watch saw no Pod")
	}
	where := map[string]string{
		"stdout":       res.Stdout,
		"stderr":       res.Stderr,
		"pod versions": strings.Join(pods, "\n"),
	}
	mu.Unlock()
	trace := h.run("trace", "last")
	where["cscript trace"] = trace.Stdout + trace.Stderr
	events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(events)
	where["events"] = string(b)
	// The run's team record in the namespace, labels and data.
	records, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "cscript.dev/record=run"})
	if err != nil || len(records.Items) != 1 {
		t.Fatalf("team records: %d, %v; want the run's one", len(records.Items), err)
	}
	b, _ = json.Marshal(records)
	where["team record"] = string(b)
	files := 0
	err = filepath.WalkDir(h.stateDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		where["state "+strings.TrimPrefix(p, h.stateDir())] = string(data)
		return nil
	})
	if err != nil || files < 3 {
		t.Fatalf("the run history: %d files, %v", files, err)
	}
	for name, v := range values {
		for place, text := range where {
			if leak := leakOf(v, text); leak != "" {
				t.Errorf("%s (%s) appears in %s as %q", name, v, place, leak)
			}
		}
	}
	assertNamespaceClean(t, cs, ns, time.Minute)

	// Job mode, detached, then followed by `runs attach` (a process that was
	// told no secret): the same values stay hidden in what attach shows and
	// in everything the history keeps.
	det := h.run("run", "rel-secret", "--deck", "e2e", "--mode", "job", "--detach", "-f", vf)
	if det.Code != 0 {
		t.Fatalf("detach: exit %d\n%s", det.Code, lastLines(det.Stderr, 20))
	}
	id := strings.TrimSpace(det.Stdout)
	att := h.run("runs", "attach", id)
	if att.Code != 3 || strings.Count(att.Stdout+att.Stderr, "plain: ***") != 4 {
		t.Errorf("attach: exit %d, want 3 with the four values masked\nstdout: %s\nstderr: %s", att.Code, att.Stdout, lastLines(att.Stderr, 20))
	}
	where = map[string]string{"detach": det.Stdout + det.Stderr, "attach": att.Stdout + att.Stderr}
	trace = h.run("trace", id)
	where["cscript trace of the attached run"] = trace.Stdout + trace.Stderr
	err = filepath.WalkDir(h.stateDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		where["state "+strings.TrimPrefix(p, h.stateDir())] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	records, err = cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "cscript.dev/record=run"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(records)
	where["team records"] = string(b)
	for name, v := range values {
		for place, text := range where {
			if leak := leakOf(v, text); leak != "" {
				t.Errorf("job mode: %s (%s) appears in %s as %q", name, v, place, leak)
			}
		}
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
}

// leakOf returns the first form of v found in text: any 10 bytes of it, its
// base64, its hex. The values are random, so no 10-byte run of one appears
// by chance.
func leakOf(v, text string) string {
	for i := 0; i+10 <= len(v); i++ {
		if strings.Contains(text, v[i:i+10]) {
			return v[i : i+10]
		}
	}
	for _, enc := range []string{base64.StdEncoding.EncodeToString([]byte(v)), hex.EncodeToString([]byte(v))} {
		for i := 0; i+16 <= len(enc); i += 4 {
			if strings.Contains(text, enc[i:i+16]) {
				return enc[i : i+16]
			}
		}
	}
	return ""
}
