package commands

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// render --pod prints what a run would create, as YAML or JSON: the Pod,
// with --mode job the Job, on a Docker deck the container (its env's
// secret values ***, no mounts, the hardening); a mode the deck cannot
// take, or --mode without --pod, is a bad command line.
func TestRenderManifests(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	writeFiles(t, e.lib(), map[string]string{
		"decks/dock.yaml": "backend: docker\nvalues:\n  greeting: ahoy\ncredentials:\n  - name: API_TOKEN\n    fromEnv: MY_API_TOKEN\n",
		"secretive.yaml": "name: secretive\nimage: shell\ninterpreter: sh\n" +
			"params:\n  - name: password\n    secret: true\n  - name: note\n" +
			"env:\n  NOTE: \"{{ .Params.note }}\"\n" +
			"files:\n  upload:\n    - from: ./in.txt\n      to: in.txt\n  download:\n    - from: out.txt\n      to: ./out.txt\n" +
			"script: |\n  echo {{ .Params.password | shellquote }} > /dev/null\n",
	})
	kinds := func(args ...string) string {
		t.Helper()
		out := e.mustRun(append([]string{"render"}, args...)...).out
		var doc struct {
			Kind  string
			Items []struct{ Kind string }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("render %v is not JSON: %v\n%s", args, err, out)
		}
		k := doc.Kind
		for _, i := range doc.Items {
			k += " " + i.Kind
		}
		return k
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"hello", "--deck", "local", "--pod", "-o", "json"}, "Pod"},
		{[]string{"db-dump", "--deck", "staging", "--pod", "-o", "json"}, "Pod"},
		{[]string{"hello", "--deck", "local", "--pod", "--mode", "job", "-o", "json"}, "List Job Secret"},
		{[]string{"secretive", "--deck", "local", "--pod", "-o", "json", "--set", "password=hunter2", "--set", "note=n"}, "List Pod Secret"},
		{[]string{"secretive", "--deck", "dock", "--pod", "-o", "json", "--set", "password=hunter2", "--set", "note=n"}, "DockerContainer"},
	} {
		if got := kinds(c.args...); got != c.want {
			t.Errorf("render %s: kinds %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
	// -o yaml is the default format of --pod.
	if a, b := e.mustRun("render", "hello", "--deck", "local", "--pod").out, e.mustRun("render", "hello", "--deck", "local", "--pod", "-o", "yaml").out; a != b {
		t.Errorf("render --pod and --pod -o yaml differ:\n%s\n---\n%s", a, b)
	}
	var b strings.Builder
	say := func(args ...string) {
		r := e.run("", args...)
		fmt.Fprintf(&b, "$ cscript %s\n%s%s(exit %d)\n", strings.Join(args, " "), r.out, r.err, r.code)
		if strings.Contains(r.out+r.err, "hunter2") {
			t.Errorf("render %v shows the secret param's value", args)
		}
	}
	say("render", "secretive", "--deck", "dock", "--pod", "--set", "password=hunter2", "--set", "note=n")
	say("render", "hello", "--deck", "local", "--pod", "--mode", "job")
	say("render", "hello", "--deck", "dock", "--pod", "--mode", "job")
	say("render", "hello", "--deck", "local", "--pod", "--mode", "cron")
	say("render", "hello", "--deck", "local", "--mode", "job")
	say("render", "secretive", "--deck", "local", "--pod", "--mode", "job", "--set", "password=hunter2", "--set", "note=n")
	say("render", "hello", "--deck", "local", "--pod", "-o", "toml")
	e.golden("render-manifests", b.String())
}
