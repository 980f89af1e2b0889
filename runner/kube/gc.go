package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cscript-dev/cscript/runner"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// GC deletes what cscript left behind in namespace ("" for all namespaces):
// Pods and Secrets labelled managed-by=cscript whose expiry annotation has
// passed or (when olderThan > 0) that were created more than olderThan before
// now, and cscript Leases whose holder's time has run out. It returns what it
// deleted (or would delete, with dryRun) as "pod/NS/NAME", "secret/NS/NAME"
// and "lease/NS/NAME", and keeps going past individual failures.
func GC(ctx context.Context, client kubernetes.Interface, namespace string, olderThan time.Duration, now time.Time, dryRun bool) ([]string, error) {
	sel := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{runner.LabelManagedBy: runner.ManagedByValue}).String()}
	var dry []string
	if dryRun {
		dry = []string{metav1.DryRunAll}
	}
	var deleted []string
	var errs []error
	stale := func(m metav1.Object) bool {
		if t, ok := ExpiresAt(m); ok && !now.Before(t) {
			return true
		}
		created := m.GetCreationTimestamp()
		return olderThan > 0 && !created.IsZero() && now.Sub(created.Time) >= olderThan
	}
	del := func(kind, ns, name string, f func() error) {
		if err := f(); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s %s/%s: %w", kind, ns, name, err))
			return
		}
		deleted = append(deleted, kind+"/"+ns+"/"+name)
	}

	pods, err := client.CoreV1().Pods(namespace).List(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	for _, p := range pods.Items {
		if stale(&p) {
			del("pod", p.Namespace, p.Name, func() error {
				return client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{DryRun: dry})
			})
		}
	}

	// The list carries every run Secret's data: keep it out of client-go's log.
	secrets, err := client.CoreV1().Secrets(namespace).List(withoutBodies(ctx), sel)
	if err != nil {
		return deleted, errors.Join(append(errs, fmt.Errorf("list secrets: %w", err))...)
	}
	for _, s := range secrets.Items {
		if stale(&s) {
			del("secret", s.Namespace, s.Name, func() error {
				return client.CoreV1().Secrets(s.Namespace).Delete(withoutBodies(ctx), s.Name, metav1.DeleteOptions{DryRun: dry})
			})
		}
	}

	leases, err := client.CoordinationV1().Leases(namespace).List(ctx, sel)
	if err != nil {
		return deleted, errors.Join(append(errs, fmt.Errorf("list leases: %w", err))...)
	}
	for _, l := range leases.Items {
		if leaseExpired(&l, now) {
			rv := l.ResourceVersion
			del("lease", l.Namespace, l.Name, func() error {
				return client.CoordinationV1().Leases(l.Namespace).Delete(ctx, l.Name, metav1.DeleteOptions{
					DryRun: dry, Preconditions: &metav1.Preconditions{ResourceVersion: &rv},
				})
			})
		}
	}
	return deleted, errors.Join(errs...)
}

// DetachedJobGone says whether the Job of detached run runID is gone from
// namespace (no Job carries its run-id label). An error means nobody can
// tell; the caller must then keep the run's record as it is.
func DetachedJobGone(ctx context.Context, client kubernetes.Interface, namespace, runID string) (bool, error) {
	sel := labels.SelectorFromSet(labels.Set{runner.LabelManagedBy: runner.ManagedByValue, runner.LabelRunID: labelValue(runID)}).String()
	list, err := client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return false, fmt.Errorf("look for the job of run %s in namespace %s: %w", runID, namespace, err)
	}
	return len(list.Items) == 0, nil
}
