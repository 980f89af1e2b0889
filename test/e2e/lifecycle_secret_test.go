//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

	"github.com/cscript-dev/cscript/test/cluster"
)

// lcSecretScript is formatted per event: every event's script echoes the
// four credentials (a script's fromEnv, fromCommand and Kubernetes Secret
// ref, and the deck's fromEnv) in clear, on stderr and as base64, then
// ends as the event's LAST says (a failing update: trace.txt and the
// resource's error traceback get the values too).
const lcSecretScript = `name: lc-secret-EVENT
description: e2e - a lifecycle event that echoes its credentials.
image: shell
interpreter: sh
credentials:
  - {name: FROM_ENV, fromEnv: LC_SECRET_ENV}
  - {name: FROM_CMD, fromCommand: "cat TOKEN_FILE"}
  - {name: FROM_REF, secret: {name: lc-db, key: password}}
script: |
  for v in "$FROM_ENV" "$FROM_CMD" "$FROM_REF" "$DECK_TOKEN"; do
    echo "plain: $v"
    echo "stderr: $v" >&2
    printf '%s' "$v" | base64
  done
  env | grep -E '^(FROM_|DECK_)' >&2
  LAST
`

// TestLifecycleSecretHygiene runs create, a failing update, pull and terminate of a lifecycle
// resource on a Kubernetes deck (each event a Job) whose scripts and deck
// carry credentials and echo them: no form of any value appears in the Job
// or Pod specs (every version the watch saw), the terminal, the run history
// (output.log, trace.txt, run.json), the team records or the resource's
// state ConfigMap, and each event did get the values (they were shown
// masked).
func TestLifecycleSecretHygiene(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "lc-secret")
	h := newCLIHome(t, ns)
	ctx := context.Background()

	values := map[string]string{
		"fromEnv":     randomToken(t, 24),
		"fromCommand": randomToken(t, 24),
		"secretRef":   randomToken(t, 24),
		"deckEnv":     randomToken(t, 24),
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "lc-db"},
		Data:       map[string][]byte{"password": []byte(values["secretRef"])},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(h.root, "token")
	if err := os.WriteFile(tokenFile, []byte(values["fromCommand"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.setenv("LC_SECRET_ENV", values["fromEnv"])
	h.setenv("LC_DECK_ENV", values["deckEnv"])
	h.file("decks/lc.yaml", "namespace: "+ns+"\ncredentials:\n  - {name: DECK_TOKEN, fromEnv: LC_DECK_ENV}\n")
	pull := base64.StdEncoding.EncodeToString([]byte(`{"report":[{"header":"Status","body":"fine"}]}`))
	last := map[string]string{"create": "echo lc-backend-1", "pull": "echo " + pull, "terminate": "echo done",
		"update": `echo "failing with $FROM_CMD $DECK_TOKEN" >&2; exit 3`}
	for ev, l := range last {
		body := strings.NewReplacer("EVENT", ev, "TOKEN_FILE", tokenFile, "LAST", l).Replace(lcSecretScript)
		h.file("lc-secret/"+ev+".yaml", body)
	}
	h.file("lc-secret/lifecycle.yaml", "kind: Lifecycle\nname: lc-secret\ndescription: e2e - events with credentials.\n"+
		"scripts:\n  create: lc-secret-create\n  update: lc-secret-update\n  pull: lc-secret-pull\n  terminate: lc-secret-terminate\n")

	// Every version of every Job and Pod in the namespace while the events run.
	var mu sync.Mutex
	var objects []string
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	pw, err := cs.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jw, err := cs.BatchV1().Jobs(ns).Watch(wctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var watchers sync.WaitGroup
	seen := map[string]int{}
	for kind, w := range map[string]watch.Interface{"pod": pw, "job": jw} {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					continue
				}
				b, _ := json.Marshal(ev.Object)
				mu.Lock()
				objects = append(objects, string(b))
				seen[kind]++
				mu.Unlock()
			}
		}()
	}

	where := map[string]string{}
	for _, args := range [][]string{
		{"resource", "create", "r1", "--lifecycle", "lc-secret", "--deck", "lc"},
		{"resource", "update", "r1", "--deck", "lc", "--limit", "cpu=2"},
		{"resource", "pull", "r1", "--deck", "lc"},
		{"resource", "terminate", "r1", "--deck", "lc"},
	} {
		res := h.run(append([]string{"--kube-verbosity", "8"}, args...)...)
		if want := map[bool]int{true: 1, false: 0}[args[1] == "update"]; res.Code != want {
			t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), res.Code, lastLines(res.Stderr, 40))
		}
		where["terminal of "+args[1]] = res.Stdout + res.Stderr
		show := h.must("resource", "show", "r1", "--deck", "lc", "-o", "json")
		// The event got every value (four lines shown masked).
		if n := strings.Count(show.Stdout, "plain: ***"); n < 4 {
			t.Errorf("after %s the resource's last output shows %d masked values, want at least 4:\n%s", args[1], n, show.Stdout)
		}
		where["resource show after "+args[1]] = show.Stdout + show.Stderr
	}
	stop()
	pw.Stop()
	jw.Stop()
	watchers.Wait()
	mu.Lock()
	if seen["pod"] == 0 || seen["job"] == 0 {
		t.Errorf("the watches saw %d Pod and %d Job versions; the events run as Jobs", seen["pod"], seen["job"])
	}
	where["job and pod versions"] = strings.Join(objects, "\n")
	mu.Unlock()

	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, cm := range cms.Items {
		if cm.Labels["cscript.dev/record"] == "run" {
			records++
		}
	}
	if records < 4 {
		t.Errorf("%d team records in the namespace, want one per event", records)
	}
	b, _ := json.Marshal(cms)
	where["config maps (team records, resource state)"] = string(b)
	events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(events)
	where["events"] = string(b)

	kinds := map[string]int{}
	err = filepath.WalkDir(h.stateDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		kinds[filepath.Base(p)]++
		where["state "+strings.TrimPrefix(p, h.stateDir())] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if kinds["output.log"] < 4 || kinds["run.json"] < 4 || kinds["trace.txt"] < 1 {
		t.Errorf("the run history holds %v, want output.log and run.json of each event and the failed update's trace.txt", kinds)
	}
	for name, v := range values {
		for place, text := range where {
			if leak := leakOf(v, text); leak != "" {
				t.Errorf("%s (%s) appears in %s as %q", name, v, place, leak)
			}
		}
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
}
