//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/test/cluster"
	"github.com/moby/moby/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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
	h.file("conf-timeout.yaml", "name: conf-timeout\nimage: shell\ninterpreter: sh\ntimeout: 8s\nscript: |\n  echo started\n  sleep 120\n")
	h.file("conf-oom.yaml", `name: conf-oom
image: python
interpreter: python
resources:
  limits: {memory: 48Mi}
script: |
  print('allocating', flush=True)
  b = bytearray(512 * 1024 * 1024)
  print('survived', len(b))
`)
	h.file("conf-excl.yaml", "name: conf-excl\nimage: shell\ninterpreter: sh\nexclusive: true\nscript: |\n  echo holding\n  sleep 30\n")
	h.file("conf-sleep.yaml", "name: conf-sleep\nimage: shell\ninterpreter: sh\nscript: |\n  echo started\n  sleep 120\n")
	h.file("conf-live.yaml", "name: conf-live\nimage: shell\ninterpreter: sh\nscript: |\n  echo line-1\n  sleep 5\n  echo line-2\n  exit 4\n")
	if err := os.WriteFile(filepath.Join(h.dir, "in.txt"), []byte("conformance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.must("validate")

	eng, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	type backend struct {
		name      string
		deck      string
		args      []string
		files     bool // uploads and downloads
		stdin     bool // -i
		split     bool // stdout and stderr kept apart
		detach    bool // --detach, then runs attach
		exclusive bool // exclusive: true (a Lease)
	}
	backends := []backend{
		{name: "pod", deck: "e2e", args: []string{"--deck", "e2e"}, files: true, stdin: true, split: true, exclusive: true},
		{name: "job", deck: "e2e", args: []string{"--deck", "e2e", "--mode", "job"}, detach: true, exclusive: true},
		{name: "docker", deck: "dock", args: []string{"--deck", "dock"}, files: true, stdin: true, split: true, detach: true},
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

			// nothingLeft waits until the run left nothing: no Pod, Job,
			// Secret or Lease of cscript's in the namespace, no container.
			nothingLeft := func(what, runID string) {
				t.Helper()
				deadline := time.Now().Add(time.Minute)
				for {
					var left []string
					if b.name == "docker" {
						left = dockerLeftovers(t, eng, runID)
					} else {
						left = conformanceObjects(t, cs, ns)
					}
					if len(left) == 0 {
						return
					}
					if time.Now().After(deadline) {
						t.Errorf("%s: left behind: %v", what, left)
						return
					}
					time.Sleep(250 * time.Millisecond)
				}
			}

			// A timeout is named as such: 137, DeadlineExceeded.
			res = run("conf-timeout")
			if res.Code != 137 || !strings.Contains(res.Stderr, "timeout") {
				t.Errorf("timeout: exit %d, want 137 naming the timeout\nstderr: %s", res.Code, res.Stderr)
			}
			if rec := h.record(cliMustRunID(t, res)); rec.Reason != "DeadlineExceeded" {
				t.Errorf("timeout: record reason %q, want DeadlineExceeded", rec.Reason)
			}

			// Out of memory is named: 137, OOMKilled, the limit said.
			res = run("conf-oom")
			if res.Code != 137 || !strings.Contains(res.Stderr, "out of memory") || !strings.Contains(res.Stderr, "48Mi") {
				t.Errorf("oom: exit %d, want 137 saying out of memory (limit 48Mi)\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
			}
			if rec := h.record(cliMustRunID(t, res)); rec.Reason != "OOMKilled" {
				t.Errorf("oom: record reason %q, want OOMKilled", rec.Reason)
			}

			// An exclusive script is refused while another run holds it;
			// a backend without the Lease refuses exclusive itself.
			if b.exclusive {
				holder := h.start(append([]string{"run", "conf-excl"}, b.args...)...)
				if !holder.waitOutput("holding", 2*time.Minute) {
					t.Fatalf("exclusive: the first run did not start\nstderr: %s", holder.stderr.String())
				}
				res = run("conf-excl")
				if res.Code != 125 || !strings.Contains(res.Stderr, "locked") {
					t.Errorf("exclusive: second run exit %d, want 125 (locked)\nstderr: %s", res.Code, res.Stderr)
				}
				holder.signal(syscall.SIGINT)
				if r := holder.wait(2 * time.Minute); r.Code != 130 {
					t.Errorf("exclusive: the holder exited %d after SIGINT, want 130", r.Code)
				}
			} else if res = run("conf-excl"); res.Code != 2 || !strings.Contains(res.Stderr, "exclusive: true: not available") {
				t.Errorf("exclusive on %s: exit %d, want 2 (refused)\nstderr: %s", b.name, res.Code, res.Stderr)
			}

			// Ctrl-C and SIGTERM to cscript: 128+N, nothing left behind.
			for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
				p := h.start(append([]string{"run", "conf-sleep"}, b.args...)...)
				if !p.waitOutput("started", 2*time.Minute) {
					t.Fatalf("%s: the script did not start\nstderr: %s", sig, p.stderr.String())
				}
				p.signal(sig)
				r := p.wait(2 * time.Minute)
				if r.Code != 128+int(sig) {
					t.Errorf("%s: exit %d, want %d\nstderr: %s", sig, r.Code, 128+int(sig), r.Stderr)
				}
				nothingLeft(sig.String(), cliMustRunID(t, r))
			}

			// --detach, then runs attach streams the output live.
			res = run("conf-live", "--detach")
			if b.detach {
				if res.Code != 0 {
					t.Fatalf("--detach: exit %d\nstderr: %s", res.Code, res.Stderr)
				}
				id := cliMustRunID(t, res)
				p := h.start("runs", "attach", id)
				if !p.waitOutput("line-1", 2*time.Minute) {
					t.Fatalf("runs attach printed no line-1\nstdout: %s\nstderr: %s", p.stdout.String(), p.stderr.String())
				}
				if strings.Contains(p.stdout.String(), "line-2") {
					t.Errorf("runs attach did not stream: line-2 came with line-1\nstdout: %s", p.stdout.String())
				}
				r := p.wait(2 * time.Minute)
				if r.Code != 4 || !strings.Contains(r.Stdout, "line-2") {
					t.Errorf("runs attach: exit %d, want 4 with line-2\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
				}
				if rec := h.record(id); rec.State != history.StateFailed || rec.ExitCode != 4 {
					t.Errorf("record after attach: state %s exit %d", rec.State, rec.ExitCode)
				}
				nothingLeft("runs attach", id)
			} else if res.Code != 2 || !strings.Contains(res.Stderr, "--detach: not available") {
				t.Errorf("--detach on %s: exit %d, want 2 (refused)\nstderr: %s", b.name, res.Code, res.Stderr)
			}

			// gc removes what a SIGKILLed cscript left.
			p := h.start(append([]string{"run", "conf-sleep"}, b.args...)...)
			if !p.waitOutput("started", 2*time.Minute) {
				t.Fatalf("kill: the script did not start\nstderr: %s", p.stderr.String())
			}
			p.signal(syscall.SIGKILL)
			killed := p.wait(time.Minute)
			id := cliMustRunID(t, killed)
			if b.name == "docker" {
				if left := dockerLeftovers(t, eng, id); len(left) == 0 {
					t.Errorf("a SIGKILLed cscript left no container: the gc case proves nothing")
				}
				h.must("gc", "--deck", b.deck)
			} else {
				if left := conformanceObjects(t, cs, ns); len(left) == 0 {
					t.Errorf("a SIGKILLed cscript left nothing: the gc case proves nothing")
				}
				h.must("gc", "--deck", b.deck, "--older-than", "1s")
			}
			nothingLeft("gc after SIGKILL", id)

			if b.name == "docker" {
				for _, rec := range records(t, h) {
					if left := dockerLeftovers(t, eng, rec.ID); len(left) != 0 {
						t.Errorf("containers left by run %s: %v", rec.ID, left)
					}
				}
			}
		})
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
	// Every record the suite made is finished: nothing is left running
	// (the SIGKILLed runs show as abandoned).
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

// conformanceObjects lists cscript's Pods, Jobs, Secrets and Leases in ns
// (labelled managed-by=cscript; run records, ConfigMaps, are not listed).
func conformanceObjects(t testing.TB, cs kubernetes.Interface, ns string) []string {
	t.Helper()
	out := cscriptObjects(t, cs, ns)
	sel := metav1.ListOptions{LabelSelector: runner.LabelManagedBy + "=" + runner.ManagedByValue}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	for _, j := range jobs.Items {
		out = append(out, "job/"+j.Name)
	}
	leases, err := cs.CoordinationV1().Leases(ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("list leases: %v", err)
	}
	for _, l := range leases.Items {
		out = append(out, "lease/"+l.Name)
	}
	return out
}
