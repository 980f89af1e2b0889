//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/test/cluster"
	"github.com/moby/moby/client"
)

// One table of cases run against every backend through the real CLI: a Pod
// (pod mode), a Job (--mode job) and a Docker container. Each case says what
// every backend must do; where a backend cannot carry a request out, the
// case asserts the refusal (exit 2 before anything runs), never a silent
// no-op.
func TestConformance(t *testing.T) {
	t.Parallel()
	host := cluster.DockerHost(t)
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "conformance")
	h := newCLIHome(t, ns)
	h.setenv("DOCKER_HOST", host)
	h.setenv("CONF_TOKEN", "tok-CONFORMANCE-8f3a1c")
	h.file("decks/dock.yaml", "description: the Docker engine\nbackend: docker\nvalues:\n  greeting: hi\n")
	h.file("conf-exit.yaml", `name: conf-exit
image: shell
interpreter: sh
params:
  - {name: code, type: int, default: 0}
script: |
  echo out-line
  echo err-line >&2
  exit {{ .Params.code }}
`)
	h.file("conf-kill.yaml", "name: conf-kill\nimage: shell\ninterpreter: sh\nscript: |\n  echo before\n  kill -9 $$\n")
	h.file("conf-nopy.yaml", "name: conf-nopy\nimage: shell\ninterpreter: python\nscript: |\n  print('never')\n")
	h.file("conf-secret.yaml", `name: conf-secret
image: shell
interpreter: sh
credentials:
  - {name: TOKEN, fromEnv: CONF_TOKEN}
script: |
  echo "token=$TOKEN"
`)
	h.file("conf-files.yaml", `name: conf-files
image: shell
interpreter: sh
params:
  - {name: in, type: file}
files:
  upload:
    - {from: "{{ .Params.in }}", to: in.txt}
  download:
    - {from: out.txt, to: out.txt}
script: |
  tr a-z A-Z < in.txt > out.txt
`)
	h.file("conf-stdin.yaml", "name: conf-stdin\nimage: shell\ninterpreter: sh\nscript: |\n  read line\n  echo \"got $line\"\n")
	if err := os.WriteFile(filepath.Join(h.dir, "in.txt"), []byte("conformance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.must("validate")

	type backend struct {
		name  string
		args  []string
		files bool // uploads and downloads
		stdin bool // -i
		split bool // stdout and stderr kept apart
	}
	backends := []backend{
		{name: "pod", args: []string{"--deck", "e2e"}, files: true, stdin: true, split: true},
		{name: "job", args: []string{"--deck", "e2e", "--mode", "job"}},
		{name: "docker", args: []string{"--deck", "dock"}, files: true, split: true},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			run := func(args ...string) cliResult {
				t.Helper()
				return h.run(append(append([]string{"run"}, args...), b.args...)...)
			}
			for _, code := range []int{0, 3} {
				res := run("conf-exit", "--set", "code="+strconv.Itoa(code))
				if res.Code != code || !strings.Contains(res.Stdout, "out-line") {
					t.Errorf("exit %d: got exit %d\nstdout: %s\nstderr: %s", code, res.Code, res.Stdout, res.Stderr)
				}
				if b.split && (strings.Contains(res.Stdout, "err-line") || !strings.Contains(res.Stderr, "err-line")) {
					t.Errorf("stderr not kept apart from stdout:\nstdout: %s\nstderr: %s", res.Stdout, res.Stderr)
				}
				rec := h.record(cliMustRunID(t, res))
				if rec.ExitCode != code {
					t.Errorf("record of exit %d: %d", code, rec.ExitCode)
				}
			}

			if res := run("conf-kill"); res.Code != 137 {
				t.Errorf("killed by SIGKILL: exit %d, want 137\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
			}

			if res := run("conf-nopy"); res.Code != 127 || !strings.Contains(res.Stderr, "python") {
				t.Errorf("no interpreter: exit %d, want 127 naming python\nstderr: %s", res.Code, res.Stderr)
			}

			res := run("conf-secret")
			if res.Code != 0 || strings.Contains(res.Stdout+res.Stderr, "tok-CONFORMANCE-8f3a1c") || !strings.Contains(res.Stdout, "token=***") {
				t.Errorf("secret: exit %d, want the token masked\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
			}
			if logs := h.must("runs", "logs", cliMustRunID(t, res)).Stdout; strings.Contains(logs, "tok-CONFORMANCE-8f3a1c") {
				t.Errorf("secret in the run's log: %s", logs)
			}

			res = run("conf-files", "--set", "in=in.txt")
			if b.files {
				got, err := os.ReadFile(filepath.Join(h.dir, "out.txt"))
				if res.Code != 0 || err != nil || string(got) != "CONFORMANCE\n" {
					t.Errorf("files: exit %d, out.txt %q (%v)\nstderr: %s", res.Code, got, err, res.Stderr)
				}
				rec := h.record(cliMustRunID(t, res))
				if len(rec.Uploads) != 1 || len(rec.Downloads) != 1 || rec.Downloads[0].Verified == "" {
					t.Errorf("files: record uploads %+v downloads %+v, want one each, verified", rec.Uploads, rec.Downloads)
				}
				os.Remove(filepath.Join(h.dir, "out.txt"))
			} else if res.Code != 2 || !strings.Contains(res.Stderr, "files (uploads and downloads): not available") {
				t.Errorf("files on %s: exit %d, want 2 (refused)\nstderr: %s", b.name, res.Code, res.Stderr)
			}

			res = runWithStdin(t, h, "from-stdin\n", append([]string{"run", "conf-stdin", "-i"}, b.args...)...)
			if b.stdin {
				if res.Code != 0 || !strings.Contains(res.Stdout, "got from-stdin") {
					t.Errorf("-i: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
				}
			} else if res.Code != 2 || !strings.Contains(res.Stderr, "-i (stdin to the script): not available") {
				t.Errorf("-i on %s: exit %d, want 2 (refused)\nstderr: %s", b.name, res.Code, res.Stderr)
			}

			if b.name == "docker" {
				eng, err := client.New(client.WithHost(host))
				if err != nil {
					t.Fatal(err)
				}
				defer eng.Close()
				for _, rec := range records(t, h) {
					if left := dockerLeftovers(t, eng, rec.ID); len(left) != 0 {
						t.Errorf("containers left by run %s: %v", rec.ID, left)
					}
				}
			}
		})
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
	// Every record the suite made is finished: nothing is left running.
	for _, rec := range records(t, h) {
		if rec.State == history.StateRunning {
			t.Errorf("run %s (%s) is still running", rec.ID, rec.Script)
		}
	}
}

// runWithStdin runs cscript with stdin to its end.
func runWithStdin(t *testing.T, h *cliHome, stdin string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Env, cmd.Dir, cmd.Stdin = h.env, h.dir, strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("cscript %v: %v", args, err)
	}
	return res
}

// records lists the home's run records.
func records(t *testing.T, h *cliHome) []history.Record {
	t.Helper()
	out := h.must("runs", "-o", "json").Stdout
	var recs []history.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("runs -o json: %v\n%s", err, out)
	}
	return recs
}
