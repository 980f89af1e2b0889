//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/test/cluster"
)

// Faults 1 and 2 of the reliability suite: signals to the real cscript
// binary at any moment of a run, and a cscript killed outright.

// relFilesScript uploads a file, sleeps, copies it and downloads the copy: a
// run with every phase. It has a credential, so the run has a Secret too.
const relFilesScript = `name: rel-files
description: reliability - upload, a script of about 1.5 s, download.
image: shell
interpreter: sh
timeout: %s
credentials:
  - name: REL_TOKEN
    fromEnv: REL_TOKEN
params:
  - name: in
  - name: out
files:
  upload:
    - from: "{{ .Params.in }}"
      to: /work/in.bin
  download:
    - from: /work/out.bin
      to: "{{ .Params.out }}"
script: |
  echo script-started
  sleep 1.5
  cp /work/in.bin /work/out.bin
  echo script-done
`

// relSleepScript prints a marker and sleeps long.
const relSleepScript = `name: rel-sleep
description: reliability - a marker, then a long sleep.
image: shell
interpreter: sh
timeout: %s
credentials:
  - name: REL_TOKEN
    fromEnv: REL_TOKEN
script: |
  echo script-started
  sleep 300
  echo never
`

// relHome is a home with the reliability scripts and a 4 MiB input file.
type relHome struct {
	*cliHome
	in  string
	sum [32]byte
	// seen are the ids of the runs checked so far.
	seen map[string]bool
}

func newRelHome(t *testing.T, ns, timeout string) *relHome {
	t.Helper()
	h := newCLIHome(t, ns)
	h.setenv("REL_TOKEN", "rel-token-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	h.file("rel/files.yaml", fmt.Sprintf(relFilesScript, timeout))
	h.file("rel/sleep.yaml", fmt.Sprintf(relSleepScript, timeout))
	data := make([]byte, 4<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(h.root, "in.bin")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return &relHome{cliHome: h, in: in, sum: sha256.Sum256(data), seen: map[string]bool{}}
}

// filesArgs are the arguments of a rel-files run writing to out.
func (h *relHome) filesArgs(out string) []string {
	return []string{"run", "rel-files", "--deck", "e2e", "-v", "--set-string", "in=" + h.in, "--set-string", "out=" + out}
}

// interruptOutcome is what one interrupted run looked like.
type interruptOutcome struct {
	delay    time.Duration
	phase    string // the last phase -v reported before the end
	code     int
	exitedIn time.Duration // from the signal to the process's end
	late     bool          // the run had finished when the signal came
	early    bool          // the signal came before cscript's handler (nothing started)
	id       string
}

// checkInterrupted asserts what an interrupted run must leave at once: exit
// code 128+sig, a record "interrupted", no file at the download's
// destination and no temporary file beside it. It returns the run's id; the
// caller checks that no Pod or Secret of it remains.
func checkInterrupted(t *testing.T, h *relHome, res cliResult, sig syscall.Signal, out string) string {
	t.Helper()
	want := 128 + int(sig)
	if res.Code != want || res.Signaled {
		t.Errorf("exit code %d (killed by the signal: %t), want %d\nstderr:\n%s", res.Code, res.Signaled, want, res.Stderr)
	}
	id := runIDOf(res.Stderr)
	if id == "" {
		// Interrupted before the first line: the newest record is this run's.
		recs := cliRunRecords(h.cliHome)
		if len(recs) == 0 || h.seen[recs[0].ID] {
			t.Fatalf("no record of the run (stderr %q)", res.Stderr)
		}
		id = recs[0].ID
	}
	h.seen[id] = true
	rec := h.record(id)
	if rec.State != history.StateInterrupted || rec.ExitCode != want || rec.Reason != history.ReasonInterrupted {
		t.Errorf("run record: state %q, exit %d, reason %q; want %q, %d, %q (message %q)",
			rec.State, rec.ExitCode, rec.Reason, history.StateInterrupted, want, history.ReasonInterrupted, rec.Message)
	}
	if rec.End.IsZero() {
		t.Errorf("run record has no end: %+v", rec)
	}
	if out != "" {
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("the download's destination exists after an interrupted run (stat: %v)", err)
		}
		if left := localLeftovers(t, filepath.Dir(out)); len(left) > 0 {
			t.Errorf("temporary files left beside the destination: %v", left)
		}
	}
	return id
}

// TestReliabilityInterrupts sends SIGINT to 30 runs at random moments between
// start and finish (seeded; the seed is logged and can be replayed with
// CSCRIPT_E2E_SEED) and to 10 runs just as they create their Secret and Pod,
// then SIGTERM and SIGHUP once each during the script, then a double Ctrl-C.
// No Pod or Secret may remain of any of them.
func TestReliabilityInterrupts(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-int")

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CSCRIPT_E2E_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CSCRIPT_E2E_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with CSCRIPT_E2E_SEED=%d)", seed, seed)
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	const workers, runs, createRuns = 5, 30, 10
	homes := make([]*relHome, workers)
	for i := range homes {
		homes[i] = newRelHome(t, ns, "2m")
	}

	// A calibration run: the whole run works, and how long it takes bounds
	// the moments to interrupt at.
	calOut := filepath.Join(homes[0].root, "cal", "out.bin")
	cal := homes[0].run(homes[0].filesArgs(calOut)...)
	if cal.Code != 0 {
		t.Fatalf("calibration run: exit %d\n%s", cal.Code, cal.Stderr)
	}
	homes[0].seen[runIDOf(cal.Stderr)] = true
	if got, err := os.ReadFile(calOut); err != nil || sha256.Sum256(got) != homes[0].sum {
		t.Fatalf("calibration download differs (err %v)", err)
	}
	t.Logf("calibration run: %s; phases:\n%s", cal.Wall.Round(time.Millisecond), phaseLines(cal.Stderr))
	span := cal.Wall

	// Where each phase starts and ends in the calibration run.
	windows := phaseWindows(t, cal.Stderr)
	anchors := []string{string(kube.PhaseStart), string(kube.PhaseSetup), string(kube.PhaseUpload), string(kube.PhaseScript), string(kube.PhaseDownload)}

	var jobs []interruptJob
	for i := 0; i < runs; i++ {
		j := interruptJob{name: fmt.Sprintf("sigint-%02d", i)}
		if i%3 == 0 {
			// Any moment from 30 ms (cscript has its signal handlers) to
			// the end of a typical run.
			j.delay = 30*time.Millisecond + time.Duration(rng.Int64N(int64(span)))
		} else {
			// Any moment of one phase: Pod start, setup, upload, the
			// script, or the download (under load a phase takes longer
			// than in the calibration run, so every moment is reachable).
			// The phases take turns, so each gets its share of the runs
			// whatever the seed; only the moment within it is random.
			j.after = anchors[(i-i/3-1)%len(anchors)]
			j.delay = time.Duration(rng.Int64N(int64(windows[j.after]) + 1))
		}
		jobs = append(jobs, j)
	}
	for i := 0; i < createRuns; i++ {
		jobs = append(jobs, interruptJob{name: fmt.Sprintf("sigint-create-%02d", i), after: string(kube.PhaseCreate), delay: time.Duration(i%5) * 5 * time.Millisecond})
	}
	outcomes := make([]interruptOutcome, len(jobs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(jobs); i += workers {
				t.Run(jobs[i].name, func(t *testing.T) {
					interruptOnce(t, homes[w], i, jobs[i], &outcomes[i])
				})
			}
		}(w)
	}
	wg.Wait()

	phases := map[string]int{}
	late := 0
	for i, o := range outcomes {
		phases[o.phase]++
		if o.late {
			late++
		}
		note := map[bool]string{true: " (the run had finished)"}[o.late] + map[bool]string{true: " (before cscript's handler: nothing started)"}[o.early]
		t.Logf("%-17s SIGINT %4dms after %-8s (at %4dms) in %-9s → exit %d, %4dms later%s", jobs[i].name, jobs[i].delay.Milliseconds(), orStart(jobs[i].after), o.delay.Milliseconds(), o.phase, o.code, o.exitedIn.Milliseconds(), note)
	}
	t.Logf("phases interrupted: %v", phases)
	if late > runs/5 {
		t.Errorf("%d of %d signals came after the run had finished: the delays do not cover the run", late, runs)
	}
	for _, p := range []kube.Phase{kube.PhaseCreate, kube.PhaseStart, kube.PhaseUpload, kube.PhaseScript, kube.PhaseDownload} {
		if phases[string(p)] == 0 {
			t.Errorf("no run was interrupted during %s", p)
		}
	}

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			h := homes[0]
			p := h.start("run", "rel-sleep", "--deck", "e2e")
			if !p.waitOutput("script-started", 90*time.Second) {
				t.Fatalf("the script never started:\n%s", p.wait(time.Minute).Stderr)
			}
			at := time.Now()
			p.signal(sig)
			res := p.wait(time.Minute)
			t.Logf("%s: exit %d after %s", sig, res.Code, time.Since(at).Round(time.Millisecond))
			assertGone(t, cs, ns, checkInterrupted(t, h, res, sig, ""))
		})
	}

	t.Run("double ctrl-c", func(t *testing.T) {
		h := homes[1]
		p := h.start("run", "rel-sleep", "--deck", "e2e")
		if !p.waitOutput("script-started", 90*time.Second) {
			t.Fatalf("the script never started:\n%s", p.wait(time.Minute).Stderr)
		}
		id := runIDOf(p.stderr.String())
		at := time.Now()
		p.signal(syscall.SIGINT)
		time.Sleep(50 * time.Millisecond)
		p.signal(syscall.SIGINT)
		res := p.wait(time.Minute)
		took := time.Since(at)
		t.Logf("double ctrl-c: exit %d after %s", res.Code, took.Round(time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("cscript took %s to end after a double Ctrl-C", took)
		}
		// Deleted with grace period 0: gone from the API at once.
		deadline := time.Now().Add(5 * time.Second)
		for len(leftovers(t, cs, ns, id)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("still there 5 s after a double Ctrl-C: %v", leftovers(t, cs, ns, id))
			}
			time.Sleep(100 * time.Millisecond)
		}
		checkInterrupted(t, h, res, syscall.SIGINT, "")
	})

	// Nothing of any run remains once the Pods' grace periods have passed.
	start := time.Now()
	assertNamespaceClean(t, cs, ns, 60*time.Second)
	for i, o := range outcomes {
		if o.id != "" {
			if left := leftovers(t, cs, ns, o.id); len(left) > 0 {
				t.Errorf("%s: left behind: %v", jobs[i].name, left)
			}
		}
	}
	t.Logf("all gone %s after the last run", time.Since(start).Round(100*time.Millisecond))
}

// interruptJob says when to interrupt a run: delay after its start, or
// after cscript reports the phase after (-v).
type interruptJob struct {
	name  string
	after string
	delay time.Duration
}

func orStart(phase string) string {
	if phase == "" {
		return "start"
	}
	return phase
}

// phaseWindows returns how long each phase lasted in a run's -v output.
func phaseWindows(t *testing.T, stderr string) map[string]time.Duration {
	t.Helper()
	var names []string
	var at []time.Duration
	for _, m := range phaseAt.FindAllStringSubmatch(stderr, -1) {
		if len(names) > 0 && names[len(names)-1] == m[2] {
			continue // the same phase again, for the next file
		}
		sec, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m[2])
		at = append(at, time.Duration(sec*float64(time.Second)))
	}
	w := map[string]time.Duration{}
	for i := 0; i+1 < len(names); i++ {
		w[names[i]] += at[i+1] - at[i]
	}
	for _, p := range []kube.Phase{kube.PhaseStart, kube.PhaseSetup, kube.PhaseUpload, kube.PhaseScript, kube.PhaseDownload} {
		if w[string(p)] <= 0 {
			t.Fatalf("no %s phase in the calibration run:\n%s", p, stderr)
		}
	}
	return w
}

var phaseAt = regexp.MustCompile(`(?m)^· +([0-9.]+)s (\w+)`)

// interruptOnce runs rel-files, sends SIGINT as job says and checks what the
// run left at once.
func interruptOnce(t *testing.T, h *relHome, i int, job interruptJob, o *interruptOutcome) {
	out := filepath.Join(h.root, fmt.Sprintf("out-%02d", i), "out.bin")
	p := h.start(h.filesArgs(out)...)
	delay := job.delay
	if job.after != "" {
		if !p.waitOutput("s "+job.after+" ", 2*time.Minute) {
			t.Fatalf("phase %s was never reported:\n%s", job.after, p.wait(time.Minute).Stderr)
		}
		time.Sleep(delay)
		delay = time.Since(p.start)
	} else {
		time.Sleep(delay - time.Since(p.start))
	}
	at := time.Now()
	sent := p.signal(syscall.SIGINT)
	res := p.wait(2 * time.Minute)
	*o = interruptOutcome{delay: delay, phase: lastPhase(res.Stderr), code: res.Code, exitedIn: time.Since(at), id: runIDOf(res.Stderr)}
	if o.phase == "" {
		o.phase = "(before)"
	}
	switch {
	case res.Signaled && res.Code == 130 && strings.TrimSpace(res.Stderr) == "":
		// The signal came before cscript installed its handler (the process
		// was still starting): it died of it, and nothing was created.
		o.early = true
		if recs := cliRunRecords(h.cliHome); len(recs) > 0 && !h.seen[recs[0].ID] {
			t.Errorf("a run killed before its handler left a record: %+v", recs[0])
		}
		return
	case !sent || res.Code == 0:
		// The run ended before the signal could stop it: it must be
		// complete, with a verified file.
		o.late = true
		if res.Code != 0 {
			t.Fatalf("the run ended by itself with exit %d:\n%s", res.Code, res.Stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil || sha256.Sum256(got) != h.sum {
			t.Errorf("a run that exited 0 left no complete download (err %v)", err)
		}
		h.seen[o.id] = true
		if rec := h.record(o.id); rec.State != history.StateSucceeded {
			t.Errorf("exit 0 but the record says %q", rec.State)
		}
		return
	}
	if o.exitedIn > 15*time.Second {
		t.Errorf("cscript took %s to end after SIGINT", o.exitedIn)
	}
	o.id = checkInterrupted(t, h, res, syscall.SIGINT, out)
}

// phaseLines are the -v lines of stderr.
func phaseLines(stderr string) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "· ") {
			out = append(out, "  "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReliabilitySIGKILL kills cscript during the script: its Pod and Secret
// stay; `cscript gc --older-than 1s` removes them. Separately, a Pod left
// behind ends by itself at its activeDeadlineSeconds.
func TestReliabilitySIGKILL(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)

	t.Run("gc removes what is left", func(t *testing.T) {
		t.Parallel()
		ns := cluster.Namespace(t, cs, "rel-kill")
		h := newRelHome(t, ns, "2m")
		p := h.start("run", "rel-sleep", "--deck", "e2e")
		if !p.waitOutput("script-started", 90*time.Second) {
			t.Fatalf("the script never started:\n%s", p.wait(time.Minute).Stderr)
		}
		id := runIDOf(p.stderr.String())
		p.signal(syscall.SIGKILL)
		if res := p.wait(time.Minute); res.Code != 137 {
			t.Fatalf("exit %d after SIGKILL, want 137", res.Code)
		}
		time.Sleep(2 * time.Second)
		left := leftovers(t, cs, ns, id)
		sort.Strings(left)
		if len(left) != 2 || !strings.HasPrefix(left[0], "pod/") || !strings.HasPrefix(left[1], "secret/") {
			t.Fatalf("after SIGKILL: %v, want the run's Pod and Secret still there", left)
		}
		dry := h.must("gc", "--deck", "e2e", "--dry-run")
		if !strings.Contains(dry.Stdout, "nothing to collect") {
			t.Errorf("gc without --older-than would collect a live run's Pod before its expiry:\n%s", dry.Stdout)
		}
		res := h.must("gc", "--deck", "e2e", "--older-than", "1s")
		for _, l := range left {
			kind, name, _ := strings.Cut(l, "/")
			if !strings.Contains(res.Stdout, "deleted "+kind+"/"+ns+"/"+name) {
				t.Errorf("gc output does not name %s:\n%s", l, res.Stdout)
			}
		}
		assertGone(t, cs, ns, id)
		// Nothing could finish the killed run's record, but its owner lock
		// died with the process: it reads as abandoned.
		if rec := h.record(id); rec.State != history.StateAbandoned || rec.Reason != history.ReasonAbandoned {
			t.Errorf("record of the killed run: %s (%s), want %s", rec.State, rec.Reason, history.StateAbandoned)
		}
		if res := h.must("runs"); !strings.Contains(res.Stdout, "abandoned") {
			t.Errorf("`cscript runs` does not show the killed run as abandoned:\n%s", res.Stdout)
		}
	})

	t.Run("the pod ends at its deadline", func(t *testing.T) {
		t.Parallel()
		ns := cluster.Namespace(t, cs, "rel-deadline")
		// The timeout must leave room for the Pod to start and the script to
		// print its marker: 3 s was too little on Kubernetes 1.37 with
		// containerd 2 at load 20 (the run timed out before the script ran).
		h := newRelHome(t, ns, "10s")
		p := h.start("run", "rel-sleep", "--deck", "e2e")
		if !p.waitOutput("script-started", 90*time.Second) {
			t.Fatalf("the script never started:\n%s", p.wait(time.Minute).Stderr)
		}
		id := runIDOf(p.stderr.String())
		p.signal(syscall.SIGKILL)
		p.wait(time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{runner.LabelRunID: id}).String()})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("the run's pod: %v, %d pods", err, len(pods.Items))
		}
		pod := pods.Items[0]
		deadline := *pod.Spec.ActiveDeadlineSeconds
		t.Logf("activeDeadlineSeconds %d", deadline)
		start := time.Now()
		ended := waitPod(ctx, t, cs, ns, pod.Name, func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
		})
		age := time.Since(pod.CreationTimestamp.Time)
		t.Logf("the pod ended after %s (waited %s): %s %s", age.Round(time.Second), time.Since(start).Round(time.Second), ended.Status.Phase, ended.Status.Reason)
		if ended.Status.Phase != corev1.PodFailed || ended.Status.Reason != runner.ReasonDeadlineExceeded {
			t.Errorf("pod ended %s/%s, want Failed/DeadlineExceeded", ended.Status.Phase, ended.Status.Reason)
		}
		if age > time.Duration(deadline)*time.Second+30*time.Second {
			t.Errorf("the pod ended %s after its creation, activeDeadlineSeconds is %d", age, deadline)
		}
		h.must("gc", "--deck", "e2e", "--older-than", "1s")
		assertGone(t, cs, ns, id)
	})
}
