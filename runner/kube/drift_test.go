package kube

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/runner"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// The run's lifecycle is written once (runner/outcome.go): what the
// issue found drifting between pod and job mode holds in both now.

// An unschedulable Pod has the same grace in pod and job mode: the run
// fails after it, not at once.
func TestUnschedulableGraceInEveryMode(t *testing.T) {
	const grace = 400 * time.Millisecond
	modes := map[string]func(t *testing.T) error{
		"pod": func(t *testing.T) error {
			h := newHarness(t)
			h.runner.UnschedulableGrace = grace
			h.queue(unschedulable)
			_, err := h.run(minimalSpec())
			h.assertCleanedUp()
			return err
		},
		"job": func(t *testing.T) error {
			h := newJobHarness(t, setPod(unschedulable))
			h.runner.UnschedulableGrace = grace
			_, err := h.runner.RunJob(h.ctx, jobTestSpec(), JobOptions{})
			h.wg.Wait()
			h.assertGone()
			return err
		},
	}
	for name, run := range modes {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := run(t)
			took := time.Since(start)
			var se *runner.StartError
			if !errors.As(err, &se) || se.Reason != runner.ReasonUnschedulable {
				t.Fatalf("err = %v, want a StartError Unschedulable", err)
			}
			if took < grace {
				t.Errorf("failed after %s, before the grace of %s", took, grace)
			}
			if took > grace+3*time.Second {
				t.Errorf("failed after %s, long after the grace of %s", took, grace)
			}
		})
	}
}

// Both grace defaults are the run core's in every mode.
func TestStartGraceDefaultsAreTheCore(t *testing.T) {
	r := &Runner{}
	if g := r.grace(runner.ReasonUnschedulable); g != runner.UnschedulableGrace {
		t.Errorf("unschedulable grace %s, want %s", g, runner.UnschedulableGrace)
	}
	if g := r.grace("CreateContainerConfigError"); g != runner.ConfigErrorGrace {
		t.Errorf("config error grace %s, want %s", g, runner.ConfigErrorGrace)
	}
}

// Cleanup repeats every delete while the API server does not answer, in
// pod and in job mode.
func TestCleanupRetriesTransientErrorsInEveryMode(t *testing.T) {
	failing := func(cs interface {
		PrependReactor(verb, resource string, reaction k8stesting.ReactionFunc)
	}, resources ...string) func() map[string]int {
		var mu sync.Mutex
		fails := map[string]int{}
		for _, res := range resources {
			cs.PrependReactor("delete", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				defer mu.Unlock()
				if fails[res] < 3 {
					fails[res]++
					return true, nil, refused
				}
				return false, nil, nil
			})
		}
		return func() map[string]int {
			mu.Lock()
			defer mu.Unlock()
			out := map[string]int{}
			for k, v := range fails {
				out[k] = v
			}
			return out
		}
	}
	t.Run("pod", func(t *testing.T) {
		h := newHarness(t)
		h.queue(running)
		fails := failing(h.cs, "pods", "secrets")
		spec := fullSpec()
		spec.Exclusive = false
		spec.Uploads, spec.Downloads = nil, nil
		if _, err := h.run(spec); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if f := fails(); f["pods"] != 3 || f["secrets"] != 3 {
			t.Errorf("failed deletes %v, want 3 of each before they went through", f)
		}
		h.assertCleanedUp()
	})
	t.Run("job", func(t *testing.T) {
		h := newJobHarness(t, setPod(jobRunning), setPod(jobExited(0, "Completed")))
		fails := failing(h.cs, "jobs", "pods", "secrets")
		res, err := h.runner.RunJob(h.ctx, jobTestSpec(), JobOptions{})
		h.wg.Wait()
		if err != nil {
			t.Fatalf("RunJob: %v (cleanup %v)", err, res.CleanupErr)
		}
		if f := fails(); f["jobs"] != 3 || f["pods"] != 3 || f["secrets"] != 3 {
			t.Errorf("failed deletes %v, want 3 of each before they went through", f)
		}
		h.assertGone()
	})
}

// One default timeout for every mode: a Pod's and a Job's deadlines come
// from runner.DefaultTimeout.
func TestOneDefaultTimeoutInEveryMode(t *testing.T) {
	spec := jobTestSpec()
	spec.Timeout = 0
	pod, _, err := BuildPod(spec, jobTestNS, jobTestNow, "abc123")
	if err != nil {
		t.Fatal(err)
	}
	job, _, err := BuildJob(spec, jobTestNS, jobTestNow, "abc123", JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := int64((runner.DefaultTimeout + deadlineMargin).Seconds())
	if got := *pod.Spec.ActiveDeadlineSeconds; got != want {
		t.Errorf("pod deadline %ds, want %ds", got, want)
	}
	if got := job.Spec.ActiveDeadlineSeconds; got == nil || *got != int64(runner.DefaultTimeout.Seconds()) {
		t.Errorf("job deadline %v, want %ds", got, int64(runner.DefaultTimeout.Seconds()))
	}
}
