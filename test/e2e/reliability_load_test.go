//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/test/cluster"
)

// Load 9 of the reliability suite: concurrent runs on the one-node cluster,
// and (CSCRIPT_E2E_SOAK=1, `make soak`) a long series of runs.

// relTokenScript prints its token on every line, so that output crossing
// from one run into another shows.
const relTokenScript = `name: rel-token
description: reliability - a token printed many times.
image: shell
interpreter: sh
params:
  - name: token
  - name: lines
    type: int
    default: 2000
script: |
  t={{ .Params.token | shellquote }}
  i=0
  while [ $i -lt {{ .Params.lines }} ]; do echo "$t $i"; i=$((i+1)); done
  echo "$t stderr" >&2
`

// checkTokenOutput asserts that a run printed its own token's lines, in
// order, and nothing else.
func checkTokenOutput(t *testing.T, token string, lines int, res cliResult) {
	t.Helper()
	var want strings.Builder
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&want, "%s %d\n", token, i)
	}
	if res.Stdout != want.String() {
		got := strings.Split(res.Stdout, "\n")
		t.Errorf("%s: stdout differs: %d lines, first %q, last %q", token, len(got), got[0], got[max(0, len(got)-2)])
	}
	for _, l := range strings.Split(res.Stderr, "\n") {
		if strings.HasPrefix(l, "tok-") && l != token+" stderr" {
			t.Errorf("%s: stderr has another run's line %q", token, l)
		}
	}
	if !strings.Contains(res.Stderr, token+" stderr\n") {
		t.Errorf("%s: stderr lacks the script's line:\n%s", token, res.Stderr)
	}
}

// TestReliabilityConcurrentRuns starts 20 runs at once from one home: all
// succeed, each with its own Pod and record, and no output crosses.
func TestReliabilityConcurrentRuns(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-load")
	h := newCLIHome(t, ns)
	h.file("rel/token.yaml", relTokenScript)

	const runs, lines = 20, 2000
	results := make([]cliResult, runs)
	tokens := make([]string, runs)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range runs {
		tokens[i] = fmt.Sprintf("tok-%02d-%s", i, randomToken(t, 6))
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.start("run", "rel-token", "--deck", "e2e", "--set-string", "token="+tokens[i]).wait(5 * time.Minute)
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent runs in %s", runs, time.Since(start).Round(100*time.Millisecond))

	ids := map[string]string{}
	for i, res := range results {
		if res.Code != 0 {
			t.Errorf("%s: exit %d\n%s", tokens[i], res.Code, lastLines(res.Stderr, 5))
			continue
		}
		checkTokenOutput(t, tokens[i], lines, res)
		ids[runIDOf(res.Stderr)] = tokens[i]
	}
	if len(ids) != runs {
		t.Errorf("%d distinct run ids for %d runs", len(ids), runs)
	}

	// Every run has its own record, Pod and output log.
	recs := cliRunRecords(h)
	pods := map[string]bool{}
	for _, rec := range recs {
		token, ok := ids[rec.ID]
		if !ok {
			continue
		}
		if rec.State != history.StateSucceeded || pods[rec.Pod] || rec.Pod == "" {
			t.Errorf("record %s: state %s, pod %q (seen before: %t)", rec.ID, rec.State, rec.Pod, pods[rec.Pod])
		}
		pods[rec.Pod] = true
		log := h.must("runs", "logs", rec.ID).Stdout
		if n := strings.Count(log, token+" "); n != lines+1 || strings.Count(log, "tok-") != lines+1 {
			t.Errorf("output log of %s: %d lines of its token, %d of any; its end:\n%s", rec.ID, n, strings.Count(log, "tok-"), log[max(0, len(log)-200):])
		}
	}
	if len(pods) != runs {
		t.Errorf("%d distinct pods in the records of %d runs", len(pods), runs)
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
}

// TestReliabilitySoak runs 200 runs one after the other (CSCRIPT_E2E_SOAK=1;
// `make soak`): no Pod is left, and neither run time nor cscript's memory
// grows from the first 20 runs to the last 20.
func TestReliabilitySoak(t *testing.T) {
	if os.Getenv("CSCRIPT_E2E_SOAK") == "" {
		t.Skip("the soak test runs with CSCRIPT_E2E_SOAK=1 (make soak)")
	}
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-soak")
	h := newCLIHome(t, ns)
	h.file("rel/token.yaml", relTokenScript)

	const runs, window, lines = 200, 20, 200
	walls := make([]time.Duration, runs)
	rss := make([]int64, runs)
	start := time.Now()
	for i := range runs {
		token := fmt.Sprintf("tok-%03d", i)
		res := h.run("run", "rel-token", "--deck", "e2e", "--set-string", "token="+token, "--set", fmt.Sprintf("lines=%d", lines))
		if res.Code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, res.Code, lastLines(res.Stderr, 5))
		}
		checkTokenOutput(t, token, lines, res)
		walls[i], rss[i] = res.Wall, res.MaxRSSKiB
		if (i+1)%50 == 0 {
			left := cscriptObjects(t, cs, ns)
			t.Logf("%d runs in %s; cscript objects in the namespace now: %d", i+1, time.Since(start).Round(time.Second), len(left))
			if len(left) > 4 {
				t.Errorf("after %d runs, %d cscript objects remain: %v", i+1, len(left), left)
			}
		}
	}
	assertNamespaceClean(t, cs, ns, time.Minute)

	firstWall, lastWall := median(walls[:window]), median(walls[runs-window:])
	firstRSS, lastRSS := slices.Max(rss[:window]), slices.Max(rss[runs-window:])
	t.Logf("median wall time: first %d runs %s, last %d %s; max RSS: first %d KiB, last %d KiB",
		window, firstWall.Round(time.Millisecond), window, lastWall.Round(time.Millisecond), firstRSS, lastRSS)
	if lastWall > firstWall*3/2+300*time.Millisecond {
		t.Errorf("run time grew: median %s for the first %d runs, %s for the last %d", firstWall, window, lastWall, window)
	}
	if lastRSS > firstRSS*5/4+8<<10 {
		t.Errorf("cscript's memory grew: max RSS %d KiB in the first %d runs, %d KiB in the last %d", firstRSS, window, lastRSS, window)
	}
	if recs := cliRunRecords(h); len(recs) != history.DefaultKeep && len(recs) != runs {
		t.Errorf("%d run records after %d runs (keep %d)", len(recs), runs, history.DefaultKeep)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
