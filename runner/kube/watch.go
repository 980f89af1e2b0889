package kube

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/cscript-dev/cscript/runner"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// Waiting reasons that will not go away by waiting: the run fails at once.
var fatalWaiting = map[string]bool{
	"ErrImagePull":      true,
	"ImagePullBackOff":  true,
	"ErrImageNeverPull": true,
	"InvalidImageName":  true,
}

// Waiting reasons that can be transient (a Secret that appears a moment
// later, a container runtime slow under load): the run fails when one lasts
// for ConfigErrorGrace.
var transientWaiting = map[string]bool{
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
}

// Defaults of Runner.ConfigErrorGrace and Runner.UnschedulableGrace: the
// run core's, the same in pod and job mode.
const (
	DefaultConfigErrorGrace   = runner.ConfigErrorGrace
	DefaultUnschedulableGrace = runner.UnschedulableGrace
)

// waitRunning watches the Pod until its container runs. It fails fast with a
// *StartError when the Pod cannot start: at once for image problems, after a
// few seconds for problems that can clear by themselves (a node that is not
// ready yet, a Secret that is about to appear).
func (r *Runner) waitRunning(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := r.Client.CoreV1().Pods(pod.Namespace)
	var w watch.Interface
	defer func() {
		if w != nil {
			w.Stop()
		}
	}()
	var problem *runner.StartError // the transient problem being timed
	var timer <-chan time.Time
	cur := pod
	for {
		if running, err := startState(cur); running || err != nil {
			return cur, r.withEventMessage(ctx, err)
		}
		if p := transientProblem(cur); p == nil {
			problem, timer = nil, nil
		} else {
			if problem == nil || problem.Reason != p.Reason {
				timer = time.After(r.grace(p.Reason))
			}
			problem = p
		}

		if w == nil {
			var err error
			w, err = pods.Watch(ctx, metav1.ListOptions{
				FieldSelector:   fields.OneTermEqualSelector("metadata.name", pod.Name).String(),
				ResourceVersion: cur.ResourceVersion,
			})
			if err != nil {
				if ctx.Err() != nil {
					return cur, ctx.Err()
				}
				return cur, fmt.Errorf("watch pod %s: %w", pod.Name, err)
			}
		}

		var ev watch.Event
		var ok bool
		select {
		case <-ctx.Done():
			return cur, ctx.Err()
		case <-timer:
			return cur, r.withEventMessage(ctx, problem)
		case ev, ok = <-w.ResultChan():
		}
		if !ok || ev.Type == watch.Error {
			// The watch ended or its resource version expired: start a new
			// one from the Pod as it is now.
			w.Stop()
			w = nil
			got, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				if ctx.Err() != nil {
					return cur, ctx.Err()
				}
				if apierrors.IsNotFound(err) {
					return cur, &runner.StartError{Pod: pod.Name, Reason: "Deleted", Message: "the pod was deleted before it started"}
				}
				return cur, fmt.Errorf("get pod %s: %w", pod.Name, err)
			}
			cur = got
			continue
		}
		switch ev.Type {
		case watch.Deleted:
			return cur, &runner.StartError{Pod: pod.Name, Reason: "Deleted", Message: "the pod was deleted before it started"}
		case watch.Added, watch.Modified:
			if p, ok := ev.Object.(*corev1.Pod); ok {
				cur = p
			}
		}
	}
}

// startState says whether the Pod's container runs, or why it never will.
func startState(pod *corev1.Pod) (bool, error) {
	if pod.DeletionTimestamp != nil {
		return false, &runner.StartError{Pod: pod.Name, Reason: "Deleted", Message: "the pod is being deleted"}
	}
	cs := containerStatus(pod)
	if cs != nil {
		if cs.State.Running != nil {
			return true, nil
		}
		if t := cs.State.Terminated; t != nil {
			msg := t.Message
			if msg == "" {
				msg = fmt.Sprintf("the container exited with code %d before the script started", t.ExitCode)
			}
			return false, &runner.StartError{Pod: pod.Name, Reason: t.Reason, Message: msg}
		}
		if w := cs.State.Waiting; w != nil && fatalWaiting[w.Reason] {
			return false, &runner.StartError{Pod: pod.Name, Reason: w.Reason, Message: w.Message}
		}
	}
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		reason := pod.Status.Reason
		if reason == "" {
			reason = string(pod.Status.Phase)
		}
		return false, &runner.StartError{Pod: pod.Name, Reason: reason, Message: pod.Status.Message}
	}
	return false, nil
}

// transientProblem is what keeps the Pod from starting that may clear by
// itself: Unschedulable, or a transient waiting reason.
func transientProblem(pod *corev1.Pod) *runner.StartError {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return &runner.StartError{Pod: pod.Name, Reason: corev1.PodReasonUnschedulable, Message: c.Message}
		}
	}
	if w := waitingReason(pod); w != nil && transientWaiting[w.Reason] {
		return &runner.StartError{Pod: pod.Name, Reason: w.Reason, Message: w.Message}
	}
	return nil
}

func (r *Runner) grace(reason string) time.Duration {
	return runner.StartGrace(reason, r.UnschedulableGrace, r.ConfigErrorGrace)
}

func containerStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == ContainerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func waitingReason(pod *corev1.Pod) *corev1.ContainerStateWaiting {
	if cs := containerStatus(pod); cs != nil {
		return cs.State.Waiting
	}
	return nil
}

// withEventMessage adds the Pod's latest warning event to a StartError that
// has no message of its own.
func (r *Runner) withEventMessage(ctx context.Context, err error) error {
	se, ok := err.(*runner.StartError)
	if !ok || se.Message != "" {
		return err
	}
	events, lerr := r.podEvents(ctx, se.Pod)
	if lerr != nil {
		return err
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Type == corev1.EventTypeWarning {
			se.Message = events[i].Message
			break
		}
	}
	return se
}

// podEvents lists the events about a Pod, oldest first.
func (r *Runner) podEvents(ctx context.Context, pod string) ([]corev1.Event, error) {
	list, err := r.Client.CoreV1().Events(r.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": pod, "involvedObject.kind": "Pod"}.String(),
	})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	events := list.Items
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	return events, nil
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}
